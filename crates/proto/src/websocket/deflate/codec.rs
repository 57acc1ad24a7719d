//! Compressing and inflating one message (RFC 7692 §7.2): raw deflate, ended
//! by a sync flush whose empty stored block (`00 00 ff ff`) is left off the
//! wire.
//!
//! The zlib state is large (a deflate context with a 15-bit window is about
//! 370 KiB, an inflate one about 50 KiB), so it is made only when a message
//! needs it. Without context takeover nothing is kept between messages: one
//! state per thread serves every connection, reset after each message.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block a sync flush ends with.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Why a compressed message cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// It inflates past the limit.
    #[error("inflated message over the {0}-byte limit")]
    TooBig(usize),
    /// It is not valid deflate data.
    #[error("invalid compressed data")]
    Invalid,
}

/// Compresses the messages one end sends.
#[derive(Debug)]
pub struct Deflater {
    level: u32,
    window_bits: u8,
    /// Kept between messages (context takeover); `None` until the first
    /// message, and always without context takeover (a per-thread state
    /// serves then).
    context: Option<Box<Compress>>,
    takeover: bool,
}

impl Deflater {
    /// A compressor with `level` (0–9) and a window of `window_bits` (9–15);
    /// `takeover`: later messages may refer to earlier ones.
    pub fn new(level: u32, window_bits: u8, takeover: bool) -> Self {
        Self {
            level: level.min(9),
            window_bits: window_bits.clamp(9, 15),
            context: None,
            takeover,
        }
    }

    /// Whether it holds a compression context (memory) now.
    pub fn holds_context(&self) -> bool {
        self.context.is_some()
    }

    /// Appends `payload` compressed to `out`, as a permessage-deflate frame
    /// payload (RSV1 set). Never fails: should zlib refuse, the context is
    /// started afresh and `false` returned, with `out` as it was; send the
    /// message uncompressed then.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        let start = out.len();
        let ok = if self.takeover {
            let (level, bits) = (self.level, self.window_bits);
            let context = self
                .context
                .get_or_insert_with(|| Box::new(new_compress(level, bits)));
            let ok = deflate(context, payload, out);
            if !ok {
                context.reset();
            }
            ok
        } else {
            with_thread_compress(self.level, self.window_bits, |context| {
                let ok = deflate(context, payload, out);
                context.reset();
                ok
            })
        };
        if !ok {
            out.truncate(start);
        }
        ok
    }
}

fn new_compress(level: u32, window_bits: u8) -> Compress {
    Compress::new_with_window_bits(Compression::new(level), false, window_bits)
}

thread_local! {
    /// The compressor of messages sent without context takeover, with the
    /// level and window it was made for.
    static THREAD_COMPRESS: RefCell<Option<(u32, u8, Compress)>> = const { RefCell::new(None) };
    /// The decompressor of messages received without context takeover.
    static THREAD_DECOMPRESS: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

fn with_thread_compress<R>(level: u32, bits: u8, f: impl FnOnce(&mut Compress) -> R) -> R {
    THREAD_COMPRESS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            if !matches!(&*slot, Some((l, b, _)) if *l == level && *b == bits) {
                *slot = Some((level, bits, new_compress(level, bits)));
            }
            match &mut *slot {
                Some((_, _, context)) => f(context),
                None => f(&mut new_compress(level, bits)),
            }
        }
        // Re-entered (never, in practice): a state of its own.
        Err(_) => f(&mut new_compress(level, bits)),
    })
}

/// Runs `payload` through `context` with a sync flush into `out`, leaving off
/// the flush's tail. Whether zlib took it.
fn deflate(context: &mut Compress, payload: &[u8], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let first_in = context.total_in();
    out.reserve(payload.len() / 2 + 64);
    loop {
        let used = usize::try_from(context.total_in() - first_in).unwrap_or(usize::MAX);
        let input = payload.get(used..).unwrap_or_default();
        if out.capacity() - out.len() < 64 {
            out.reserve(out.len().max(256));
        }
        if context
            .compress_vec(input, out, FlushCompress::Sync)
            .is_err()
        {
            return false;
        }
        let used = usize::try_from(context.total_in() - first_in).unwrap_or(usize::MAX);
        // The flush is complete once all is taken and zlib left room over.
        if used >= payload.len() && out.len() < out.capacity() {
            break;
        }
    }
    if out.len() == start {
        // Nothing new to flush (an empty message after another): zlib writes
        // nothing, and the message is one empty stored block, tail left off.
        out.push(0x00);
        return true;
    }
    if out.len() >= start + TAIL.len() && out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
        true
    } else {
        false
    }
}

/// Inflates the compressed messages one end receives, within a size limit.
#[derive(Debug)]
pub struct Inflater {
    /// Kept between messages (context takeover); `None` until the first
    /// compressed message, and always without context takeover.
    context: Option<Box<Decompress>>,
    takeover: bool,
}

impl Inflater {
    /// An inflater; `takeover`: the peer's messages may refer to earlier
    /// ones, so the state is kept between them.
    pub fn new(takeover: bool) -> Self {
        Self {
            context: None,
            takeover,
        }
    }

    /// Whether it holds a decompression context (memory) now.
    pub fn holds_context(&self) -> bool {
        self.context.is_some()
    }

    /// The message `payload` (a compressed message's bytes, all its frames)
    /// inflated: never more than `limit` bytes are allocated for it, and a
    /// message that inflates past `limit` is refused as soon as it does.
    pub fn inflate(&mut self, payload: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
        if self.takeover {
            let context = self
                .context
                .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, 15)));
            let result = inflate(context, payload, limit);
            if !matches!(result, Ok((_, false))) {
                // Broken, or the stream ended (BFINAL): start afresh.
                context.reset(false);
            }
            result.map(|(out, _)| out)
        } else {
            THREAD_DECOMPRESS.with(|cell| match cell.try_borrow_mut() {
                Ok(mut slot) => {
                    let context =
                        slot.get_or_insert_with(|| Decompress::new_with_window_bits(false, 15));
                    let result = inflate(context, payload, limit);
                    context.reset(false);
                    result.map(|(out, _)| out)
                }
                Err(_) => inflate(
                    &mut Decompress::new_with_window_bits(false, 15),
                    payload,
                    limit,
                )
                .map(|(out, _)| out),
            })
        }
    }
}

/// Inflates `payload` and the flush tail; the bytes, and whether the deflate
/// stream ended (a final block).
fn inflate(
    context: &mut Decompress,
    payload: &[u8],
    limit: usize,
) -> Result<(Vec<u8>, bool), InflateError> {
    let mut out = Vec::new();
    for input in [payload, &TAIL[..]] {
        let first_in = context.total_in();
        loop {
            if out.len() == out.capacity() {
                // Grow by doubling, never past one byte over the limit: that
                // byte tells a message over it.
                let room = limit.saturating_add(1).saturating_sub(out.len());
                if room == 0 {
                    return Err(InflateError::TooBig(limit));
                }
                out.reserve_exact(out.len().max(4096).min(room));
            }
            let used = usize::try_from(context.total_in() - first_in).unwrap_or(usize::MAX);
            let rest = input.get(used..).unwrap_or_default();
            let before = out.len();
            let status = context
                .decompress_vec(rest, &mut out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Invalid)?;
            if out.len() > limit {
                return Err(InflateError::TooBig(limit));
            }
            if status == Status::StreamEnd {
                return Ok((out, true));
            }
            let now_used = usize::try_from(context.total_in() - first_in).unwrap_or(usize::MAX);
            let room_left = out.len() < out.capacity();
            if now_used >= input.len() && room_left {
                break;
            }
            if now_used == used && out.len() == before && room_left {
                // No progress with input and room: zlib wants what is not there.
                break;
            }
        }
    }
    Ok((out, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(deflater: &mut Deflater, inflater: &mut Inflater, message: &[u8]) -> usize {
        let mut wire = Vec::new();
        assert!(deflater.compress(message, &mut wire));
        let back = inflater.inflate(&wire, 1 << 24).unwrap();
        assert_eq!(back, message);
        wire.len()
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        let text = b"hello hello hello hello, the same words again and again ".repeat(40);
        for takeover in [true, false] {
            let mut deflater = Deflater::new(6, 15, takeover);
            let mut inflater = Inflater::new(takeover);
            let first = round_trip(&mut deflater, &mut inflater, &text);
            let second = round_trip(&mut deflater, &mut inflater, &text);
            assert!(first < text.len() / 10, "{first}");
            if takeover {
                assert!(
                    second < first,
                    "the second refers to the first: {second} {first}"
                );
            } else {
                assert_eq!(second, first, "each message afresh");
            }
            assert_eq!(deflater.holds_context(), takeover);
            assert_eq!(inflater.holds_context(), takeover);
            round_trip(&mut deflater, &mut inflater, b"");
            round_trip(&mut deflater, &mut inflater, &[7; 200_000]);
        }
    }

    #[test]
    fn the_rfc_examples_inflate() {
        // RFC 7692 §7.2.3.1 and §7.2.3.2 ("Hello", with and without a
        // shared window).
        let mut inflater = Inflater::new(true);
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflater.inflate(&hello, 100).unwrap(), b"Hello");
        assert_eq!(
            inflater
                .inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], 100)
                .unwrap(),
            b"Hello"
        );
        // A stored block, and an empty message.
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(
            Inflater::new(false).inflate(&stored, 100).unwrap(),
            b"Hello"
        );
        assert_eq!(Inflater::new(false).inflate(&[0x00], 100).unwrap(), b"");
        // With BFINAL set.
        let last = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(Inflater::new(true).inflate(&last, 100).unwrap(), b"Hello");
        let mut empty = Vec::new();
        assert!(Deflater::new(6, 15, false).compress(b"", &mut empty));
        assert_eq!(empty, [0x00]);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let mut wire = Vec::new();
        assert!(Deflater::new(9, 15, false).compress(&vec![0; 10 << 20], &mut wire));
        assert!(wire.len() < 20_000, "{}", wire.len());
        for takeover in [true, false] {
            let mut inflater = Inflater::new(takeover);
            assert_eq!(
                inflater.inflate(&wire, 1 << 20),
                Err(InflateError::TooBig(1 << 20))
            );
            assert_eq!(inflater.inflate(&wire[..0], 10), Ok(Vec::new()));
        }
        // Exactly at the limit is fine.
        let mut wire = Vec::new();
        assert!(Deflater::new(6, 15, false).compress(&[1; 5000], &mut wire));
        assert_eq!(
            Inflater::new(false).inflate(&wire, 5000).unwrap().len(),
            5000
        );
        assert_eq!(
            Inflater::new(false).inflate(&wire, 4999),
            Err(InflateError::TooBig(4999))
        );
    }

    #[test]
    fn garbage_is_refused() {
        let mut inflater = Inflater::new(true);
        assert_eq!(
            inflater.inflate(&[0xff, 0xff, 0xff, 0xff], 100),
            Err(InflateError::Invalid)
        );
        // Usable again after.
        assert_eq!(inflater.inflate(&[0x00], 100), Ok(Vec::new()));
    }

    #[test]
    fn small_windows_compress() {
        for bits in 9..=15 {
            let text = b"abcdefghij".repeat(1000);
            let mut deflater = Deflater::new(6, bits, true);
            let mut inflater = Inflater::new(true);
            round_trip(&mut deflater, &mut inflater, &text);
            round_trip(&mut deflater, &mut inflater, &text);
        }
    }
}
