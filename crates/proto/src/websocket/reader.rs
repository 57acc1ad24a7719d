//! Reading what a client sends: masked frames in, whole messages out.
//!
//! Pull-style, as mini-redis's `parse_frame`: [`Reader::next`] returns the next
//! complete message, or `Ok(None)` when the bytes run out before one is whole.

use bytes::Bytes;
use bytestring::ByteString;

use super::deflate::{InflateError, Inflater};
use super::frame::Opcode;
use super::is_valid_close_code;
use super::mask::unmask;

/// A message or control frame from the client, complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    /// A text message, checked UTF-8 once: it can be re-sliced
    /// ([`ByteString::slice_ref`]) and handed on without another check.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
    /// A ping: answer with a pong carrying these bytes.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The client closes, with its status code if it gave one (checked valid).
    /// Nothing is read after it.
    Close(Option<u16>),
}

/// Why a client's bytes are not acceptable WebSocket. The connection must be
/// closed with [`close_code`](Self::close_code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The framing rules were broken.
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
    /// A text message (or a close reason) is not UTF-8.
    #[error("invalid UTF-8 in a text message")]
    InvalidUtf8,
    /// A message is larger than the limit (inflated, if compressed).
    #[error("message over the {0}-byte limit")]
    TooBig(usize),
    /// A compressed message (permessage-deflate) is not valid deflate data.
    #[error("invalid compressed message")]
    InvalidCompressed,
}

impl ReadError {
    /// The status code to close with: 1002, 1007 or 1009.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::Protocol(_) => 1002,
            // As Node's `ws` for data zlib refuses.
            Self::InvalidUtf8 | Self::InvalidCompressed => 1007,
            Self::TooBig(_) => 1009,
        }
    }
}

impl From<InflateError> for ReadError {
    fn from(error: InflateError) -> Self {
        match error {
            InflateError::TooBig(limit) => Self::TooBig(limit),
            InflateError::Invalid => Self::InvalidCompressed,
        }
    }
}

/// The parsed header of one client frame.
struct FrameHead {
    fin: bool,
    /// RSV1: the message this frame starts is compressed.
    compressed: bool,
    opcode: Opcode,
    key: [u8; 4],
    header_len: usize,
    payload_len: usize,
}

impl FrameHead {
    /// The frame's length, header and payload.
    fn end(&self) -> usize {
        self.header_len + self.payload_len
    }
}

/// The most a reader reserves ahead of the bytes that arrived for a frame cut
/// short: the length a header announces is only a promise, so the buffer grows
/// with what arrives.
const READ_AHEAD: usize = 64 * 1024;

/// Turns the bytes a client sends, in pieces of any size, into messages.
///
/// It keeps nothing between reads that end on a frame boundary, so an idle
/// connection's reader holds no buffer: only a frame cut by the end of a read,
/// or a fragmented message, is kept until it completes.
#[derive(Debug)]
pub struct Reader {
    max_message: usize,
    /// The start of a frame the last read ended inside (one frame at most:
    /// what follows it is read from the caller's bytes).
    partial: Vec<u8>,
    /// A fragmented message being put together: its kind and bytes so far.
    /// Boxed: rare, and every idle connection holds a reader.
    message: Option<Box<Fragmented>>,
    /// Inflates compressed messages, once permessage-deflate was agreed on;
    /// without it a frame with RSV1 set is a protocol error. Boxed: most
    /// connections have none.
    inflater: Option<Box<Inflater>>,
    /// A close frame or an error ended the stream: later bytes are ignored.
    done: bool,
    /// It reads a server's frames (unmasked), on a client.
    reads_server: bool,
}

impl Reader {
    /// A reader that refuses messages (whole, after reassembly) over
    /// `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            partial: Vec::new(),
            message: None,
            inflater: None,
            done: false,
            reads_server: false,
        }
    }

    /// A reader of a server's frames, for a client: unmasked, else as
    /// [`new`](Self::new).
    pub fn for_client(max_message: usize) -> Self {
        Self {
            reads_server: true,
            ..Self::new(max_message)
        }
    }

    /// Reads compressed messages too (permessage-deflate was agreed on),
    /// inflated with `inflater`; `max_message` bounds their inflated size.
    pub fn inflate(mut self, inflater: Inflater) -> Self {
        self.inflater = Some(Box::new(inflater));
        self
    }

    /// Whether the inflater, if any, holds a decompression context now.
    pub fn holds_inflate_context(&self) -> bool {
        self.inflater.as_ref().is_some_and(|i| i.holds_context())
    }

    /// Whether reading is over: a close frame arrived, or the client broke the
    /// protocol.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next complete message or control frame in `data[*at..]`, the bytes
    /// of one read (unmasked in place), moving `at` past what it used.
    ///
    /// `Ok(None)`: more bytes are needed. `at` is then `data.len()`, and a
    /// frame cut by the end of `data` is kept, to be completed by the bytes of
    /// the next read (call again with those and `at` at 0). Nothing is read
    /// after a close frame or an error.
    pub fn next(
        &mut self,
        data: &mut [u8],
        at: &mut usize,
    ) -> Result<Option<WsMessage>, ReadError> {
        let result = if self.done {
            Ok(None)
        } else {
            self.next_frame(data, at)
        };
        match &result {
            Ok(Some(_)) => {}
            Ok(None) => *at = data.len(),
            Err(_) => {
                // Broken: read nothing more, and hold nothing.
                *at = data.len();
                self.done = true;
                self.partial = Vec::new();
                self.message = None;
            }
        }
        result
    }

    fn next_frame(
        &mut self,
        data: &mut [u8],
        at: &mut usize,
    ) -> Result<Option<WsMessage>, ReadError> {
        while !self.done {
            let message = if self.partial.is_empty() {
                let buf = data.get_mut(*at..).unwrap_or_default();
                let Some(head) = self.head(buf)? else {
                    self.keep(buf, None);
                    return Ok(None);
                };
                let end = head.end();
                if buf.len() < end {
                    self.keep(buf, Some(end));
                    return Ok(None);
                }
                *at += end;
                let payload = &mut buf[head.header_len..end];
                unmask(payload, head.key);
                self.frame(&head, payload)?
            } else {
                let Some(head) = self.complete(data, at)? else {
                    return Ok(None);
                };
                // Whole: hold no buffer while the connection idles.
                let mut frame = std::mem::take(&mut self.partial);
                let payload = &mut frame[head.header_len..];
                unmask(payload, head.key);
                self.frame(&head, payload)?
            };
            if message.is_some() {
                return Ok(message);
            }
        }
        Ok(None)
    }

    /// Keeps the start of a frame the bytes ended inside; `end` is its full
    /// length, once its header is known.
    fn keep(&mut self, rest: &[u8], end: Option<usize>) {
        if rest.is_empty() {
            return;
        }
        self.partial
            .reserve_exact(end.unwrap_or(0).min(READ_AHEAD).max(rest.len()));
        self.partial.extend_from_slice(rest);
    }

    /// Moves bytes from `data[*at..]` to the kept frame until it is whole (its
    /// header, then), or they run out.
    fn complete(&mut self, data: &[u8], at: &mut usize) -> Result<Option<FrameHead>, ReadError> {
        loop {
            let need = match self.head(&self.partial)? {
                Some(head) if self.partial.len() >= head.end() => return Ok(Some(head)),
                Some(head) => head.end(),
                None => header_len(&self.partial),
            };
            let rest = data.get(*at..).unwrap_or_default();
            if rest.is_empty() {
                return Ok(None);
            }
            let missing = need - self.partial.len();
            let take = missing.min(rest.len());
            if self.partial.capacity() - self.partial.len() < take {
                self.partial
                    .reserve_exact(missing.min(READ_AHEAD).max(take));
            }
            self.partial.extend_from_slice(&rest[..take]);
            *at += take;
        }
    }

    /// Parses and checks a frame header, if `buf` holds all of it.
    fn head(&self, buf: &[u8]) -> Result<Option<FrameHead>, ReadError> {
        let [b0, b1, ..] = *buf else {
            return Ok(None);
        };
        let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(ReadError::Protocol("unknown opcode"))?;
        // RSV1 marks the first frame of a compressed message, once
        // permessage-deflate was agreed on; RSV2 and RSV3 are never used.
        let compressed = b0 & 0x40 != 0;
        let rsv1_allowed =
            self.inflater.is_some() && matches!(opcode, Opcode::Text | Opcode::Binary);
        if b0 & 0x30 != 0 || (compressed && !rsv1_allowed) {
            return Err(ReadError::Protocol("reserved bits set"));
        }
        let fin = b0 & 0x80 != 0;
        let masked = b1 & 0x80 != 0;
        if masked && self.reads_server {
            return Err(ReadError::Protocol("server frame masked"));
        }
        if !masked && !self.reads_server {
            return Err(ReadError::Protocol("client frame not masked"));
        }
        let header_len = header_len(buf);
        if buf.len() < header_len {
            return Ok(None);
        }
        let payload_len = match b1 & 0x7F {
            126 => usize::from(u16::from_be_bytes([buf[2], buf[3]])),
            127 => {
                let mut long = [0u8; 8];
                long.copy_from_slice(&buf[2..10]);
                let long = u64::from_be_bytes(long);
                if long >> 63 != 0 {
                    return Err(ReadError::Protocol("frame length with the top bit set"));
                }
                usize::try_from(long).map_err(|_| ReadError::TooBig(self.max_message))?
            }
            n => usize::from(n),
        };
        if opcode.is_control() {
            if !fin {
                return Err(ReadError::Protocol("fragmented control frame"));
            }
            if payload_len > 125 {
                return Err(ReadError::Protocol("control frame over 125 bytes"));
            }
        } else {
            let so_far = match (self.message.as_deref(), opcode) {
                (Some(message), Opcode::Continuation) => message.bytes.len(),
                _ => 0,
            };
            if payload_len > self.max_message.saturating_sub(so_far) {
                return Err(ReadError::TooBig(self.max_message));
            }
        }
        // Unmasked (a server's frame): a key of zeros leaves the bytes alone.
        let mut key = [0u8; 4];
        if masked {
            key.copy_from_slice(&buf[header_len - 4..header_len]);
        }
        Ok(Some(FrameHead {
            fin,
            compressed,
            opcode,
            key,
            header_len,
            payload_len,
        }))
    }

    /// Handles one whole, unmasked frame: the message it completes, if any.
    fn frame(&mut self, head: &FrameHead, payload: &[u8]) -> Result<Option<WsMessage>, ReadError> {
        let (fin, opcode) = (head.fin, head.opcode);
        let message = match opcode {
            Opcode::Text | Opcode::Binary => {
                if self.message.is_some() {
                    return Err(ReadError::Protocol("new message inside a fragmented one"));
                }
                if !fin {
                    self.message = Some(Box::new(Fragmented {
                        kind: opcode,
                        compressed: head.compressed,
                        bytes: payload.to_vec(),
                    }));
                    return Ok(None);
                }
                if head.compressed {
                    whole(opcode, Bytes::from(self.inflated(payload)?))?
                } else {
                    whole(opcode, Bytes::copy_from_slice(payload))?
                }
            }
            Opcode::Continuation => {
                let Some(message) = self.message.as_deref_mut() else {
                    return Err(ReadError::Protocol("continuation without a message"));
                };
                message.bytes.extend_from_slice(payload);
                if !fin {
                    return Ok(None);
                }
                let Some(message) = self.message.take() else {
                    return Err(ReadError::Protocol("continuation without a message"));
                };
                let Fragmented {
                    kind,
                    compressed,
                    bytes,
                } = *message;
                if compressed {
                    whole(kind, Bytes::from(self.inflated(&bytes)?))?
                } else {
                    whole(kind, Bytes::from(bytes))?
                }
            }
            Opcode::Ping => WsMessage::Ping(Bytes::copy_from_slice(payload)),
            Opcode::Pong => WsMessage::Pong,
            Opcode::Close => {
                self.done = true;
                WsMessage::Close(close_code(payload)?)
            }
        };
        Ok(Some(message))
    }
}

impl Reader {
    /// A compressed message's bytes, inflated within the message limit.
    fn inflated(&mut self, payload: &[u8]) -> Result<Vec<u8>, ReadError> {
        let limit = self.max_message;
        let inflater = self
            .inflater
            .as_deref_mut()
            .ok_or(ReadError::Protocol("reserved bits set"))?;
        Ok(inflater.inflate(payload, limit)?)
    }
}

/// A fragmented message being put together.
#[derive(Debug)]
struct Fragmented {
    kind: Opcode,
    /// Its first frame had RSV1 set: the bytes are inflated when it is whole.
    compressed: bool,
    bytes: Vec<u8>,
}

/// The length of the header that starts `buf`: 2 until its second byte, which
/// tells the size of the length field, is there.
fn header_len(buf: &[u8]) -> usize {
    let Some(b1) = buf.get(1) else {
        return 2;
    };
    let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
    match b1 & 0x7F {
        126 => 2 + 2 + mask,
        127 => 2 + 8 + mask,
        _ => 2 + mask,
    }
}

/// A complete data message, text checked as UTF-8.
fn whole(kind: Opcode, bytes: Bytes) -> Result<WsMessage, ReadError> {
    if kind == Opcode::Binary {
        return Ok(WsMessage::Binary(bytes));
    }
    ByteString::try_from(bytes)
        .map(WsMessage::Text)
        .map_err(|_| ReadError::InvalidUtf8)
}

/// The status code of a close frame's payload, checked with its reason.
fn close_code(payload: &[u8]) -> Result<Option<u16>, ReadError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ReadError::Protocol("close frame of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_close_code(code) {
                return Err(ReadError::Protocol("invalid close code"));
            }
            std::str::from_utf8(reason).map_err(|_| ReadError::InvalidUtf8)?;
            Ok(Some(code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with a fixed key.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0xA1, 0xB2, 0xC3, 0xD4];
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    fn read_all(reader: &mut Reader, chunks: &[&[u8]]) -> (Vec<WsMessage>, Result<(), ReadError>) {
        let mut got = Vec::new();
        for chunk in chunks {
            let mut chunk = chunk.to_vec();
            let mut at = 0;
            loop {
                match reader.next(&mut chunk, &mut at) {
                    Ok(Some(m)) => got.push(m),
                    Ok(None) => break,
                    Err(e) => return (got, Err(e)),
                }
            }
            assert_eq!(at, chunk.len(), "a read is used up");
        }
        (got, Ok(()))
    }

    fn read(bytes: &[u8]) -> (Vec<WsMessage>, Result<(), ReadError>) {
        read_all(&mut Reader::new(1000), &[bytes])
    }

    #[test]
    fn reads_messages_split_at_every_byte() {
        let mut wire = client_frame(0x81, b"hello");
        wire.extend(client_frame(0x82, &[0, 1, 2]));
        wire.extend(client_frame(0x89, b"p"));
        let want = [
            WsMessage::Text("hello".into()),
            WsMessage::Binary(Bytes::from_static(&[0, 1, 2])),
            WsMessage::Ping("p".into()),
        ];
        for cut in 0..=wire.len() {
            let mut reader = Reader::new(1000);
            let (got, r) = read_all(&mut reader, &[&wire[..cut], &wire[cut..]]);
            assert_eq!(r, Ok(()));
            assert_eq!(got, want, "cut at {cut}");
            assert_eq!(reader.partial.capacity(), 0, "no buffer kept when idle");
        }
    }

    #[test]
    fn a_header_alone_reserves_little() {
        let mut head = vec![0x82, 0xFF];
        head.extend_from_slice(&1_000_000u64.to_be_bytes());
        head.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(head.len(), 14);
        let mut reader = Reader::new(2_000_000);
        let (got, r) = read_all(&mut reader, &[&head]);
        assert_eq!((got, r), (vec![], Ok(())));
        assert!(
            reader.partial.capacity() <= READ_AHEAD,
            "{}",
            reader.partial.capacity()
        );
        // A few bytes more, and the same again.
        let (_, r) = read_all(&mut reader, &[&[0; 100], &[0; 100]]);
        assert_eq!(r, Ok(()));
        assert!(reader.partial.capacity() <= 214 + READ_AHEAD);
        // The whole frame still comes out, in pieces of any size.
        let frame = client_frame(0x82, &vec![7; 300_000]);
        let mut reader = Reader::new(2_000_000);
        let pieces: Vec<&[u8]> = frame.chunks(70_000).collect();
        let (got, r) = read_all(&mut reader, &pieces);
        assert_eq!(r, Ok(()));
        assert_eq!(got, [WsMessage::Binary(vec![7; 300_000].into())]);
    }

    #[test]
    fn reassembles_fragments_with_control_frames_between() {
        let mut wire = client_frame(0x01, b"he");
        wire.extend(client_frame(0x89, b""));
        wire.extend(client_frame(0x00, b"ll"));
        wire.extend(client_frame(0x80, b"o"));
        let (got, r) = read(&wire);
        assert_eq!(r, Ok(()));
        assert_eq!(
            got,
            [
                WsMessage::Ping(Bytes::new()),
                WsMessage::Text("hello".into())
            ]
        );
    }

    #[test]
    fn reads_16_and_64_bit_lengths() {
        for len in [126, 65535, 65536, 100_000] {
            let payload = vec![7u8; len];
            let (got, r) = read_all(&mut Reader::new(1 << 20), &[&client_frame(0x82, &payload)]);
            assert_eq!(r, Ok(()));
            assert_eq!(got, [WsMessage::Binary(payload.into())]);
        }
    }

    #[test]
    fn refuses_what_rfc_6455_forbids() {
        let mut unmasked = client_frame(0x81, b"x");
        unmasked[1] &= 0x7F;
        let cases: Vec<(Vec<u8>, ReadError)> = vec![
            (
                client_frame(0xC1, b"x"),
                ReadError::Protocol("reserved bits set"),
            ),
            (
                client_frame(0x83, b"x"),
                ReadError::Protocol("unknown opcode"),
            ),
            (unmasked, ReadError::Protocol("client frame not masked")),
            (
                client_frame(0x09, b"x"),
                ReadError::Protocol("fragmented control frame"),
            ),
            (
                client_frame(0x89, &[0; 126]),
                ReadError::Protocol("control frame over 125 bytes"),
            ),
            (
                client_frame(0x80, b"x"),
                ReadError::Protocol("continuation without a message"),
            ),
            (
                [client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(),
                ReadError::Protocol("new message inside a fragmented one"),
            ),
            (client_frame(0x81, &[0xFF]), ReadError::InvalidUtf8),
            (
                client_frame(0x88, &[3]),
                ReadError::Protocol("close frame of one byte"),
            ),
            (
                client_frame(0x88, &1005u16.to_be_bytes()),
                ReadError::Protocol("invalid close code"),
            ),
            (
                client_frame(0x88, &[0x03, 0xE8, 0xFF]),
                ReadError::InvalidUtf8,
            ),
        ];
        for (wire, want) in cases {
            let mut reader = Reader::new(1000);
            assert_eq!(read_all(&mut reader, &[&wire]).1, Err(want), "{wire:?}");
            assert!(reader.is_done(), "an error ends the reading: {want}");
        }
    }

    #[test]
    fn refuses_oversized_messages_from_the_header_alone() {
        let mut reader = Reader::new(10);
        let frame = client_frame(0x82, &[0; 11]);
        // Only the header has arrived: already refused, nothing buffered.
        let (_, r) = read_all(&mut reader, &[&frame[..6]]);
        assert_eq!(r, Err(ReadError::TooBig(10)));
        // Fragments count together.
        let wire = [client_frame(0x02, &[0; 6]), client_frame(0x80, &[0; 5])].concat();
        assert_eq!(
            read_all(&mut Reader::new(10), &[&wire]).1,
            Err(ReadError::TooBig(10))
        );
    }

    #[test]
    fn stops_after_a_close_frame() {
        let mut wire = client_frame(0x88, &[0x03, 0xE8, b'b', b'y', b'e']);
        wire.extend(client_frame(0x81, b"late"));
        let (got, r) = read(&wire);
        assert_eq!(r, Ok(()));
        assert_eq!(got, [WsMessage::Close(Some(1000))]);
        assert_eq!(read(&client_frame(0x88, b"")).0, [WsMessage::Close(None)]);
    }

    fn compressed(message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(crate::websocket::deflate::Deflater::new(6, 15, true).compress(message, &mut out));
        out
    }

    fn inflating(max: usize) -> Reader {
        Reader::new(max).inflate(Inflater::new(true))
    }

    #[test]
    fn inflates_compressed_messages_whole_or_fragmented() {
        let text = "compress me ".repeat(100);
        let wire = compressed(text.as_bytes());
        let mut frames = client_frame(0xC1, &wire);
        // Fragmented: RSV1 on the first frame only.
        let (a, b) = wire.split_at(wire.len() / 2);
        frames.extend(client_frame(0x42, a));
        frames.extend(client_frame(0x89, b"p"));
        frames.extend(client_frame(0x80, b));
        // Uncompressed messages still pass.
        frames.extend(client_frame(0x81, b"plain"));
        let (got, r) = read_all(
            &mut Reader::new(10_000).inflate(Inflater::new(false)),
            &[&frames],
        );
        assert_eq!(r, Ok(()));
        assert_eq!(
            got,
            [
                WsMessage::Text(text.clone().into()),
                WsMessage::Ping("p".into()),
                WsMessage::Binary(Bytes::from(text.into_bytes())),
                WsMessage::Text("plain".into()),
            ]
        );
    }

    #[test]
    fn rsv1_is_refused_where_deflate_does_not_allow_it() {
        let wire = compressed(b"x");
        for bad in [
            client_frame(0xC9, b""),
            [client_frame(0x01, b"a"), client_frame(0xC0, b"b")].concat(),
            client_frame(0xE1, &wire),
            client_frame(0xD1, &wire),
        ] {
            assert_eq!(
                read_all(&mut inflating(100), &[&bad]).1,
                Err(ReadError::Protocol("reserved bits set")),
                "{bad:?}"
            );
        }
        assert_eq!(
            read_all(&mut inflating(100), &[&client_frame(0xC1, &[0xff; 8])]).1,
            Err(ReadError::InvalidCompressed)
        );
        assert_eq!(ReadError::InvalidCompressed.close_code(), 1007);
    }

    /// A small frame that inflates past the limit is refused with 1009.
    #[test]
    fn a_zip_bomb_is_too_big() {
        let bomb = compressed(&vec![b'a'; 1 << 20]);
        assert!(bomb.len() < 2000);
        let mut reader = inflating(64 * 1024);
        let (_, r) = read_all(&mut reader, &[&client_frame(0xC1, &bomb)]);
        assert_eq!(r, Err(ReadError::TooBig(64 * 1024)));
        assert_eq!(ReadError::TooBig(1).close_code(), 1009);
    }

    #[test]
    fn a_client_reads_unmasked_server_frames() {
        let mut wire = Vec::new();
        crate::websocket::encode_frame(Opcode::Text, b"hello", &mut wire);
        crate::websocket::encode_frame(Opcode::Binary, &[7; 300], &mut wire);
        let mut compressed = Vec::new();
        crate::websocket::deflate::Deflater::new(6, 15, true)
            .compress(&[b'z'; 5000], &mut compressed);
        wire.extend_from_slice(
            crate::websocket::compressed_header(Opcode::Binary, compressed.len()).as_bytes(),
        );
        wire.extend_from_slice(&compressed);
        for cut in [0, 1, 3, 8, wire.len() - 1] {
            let mut reader = Reader::for_client(10_000).inflate(Inflater::new(true));
            let (got, r) = read_all(&mut reader, &[&wire[..cut], &wire[cut..]]);
            assert_eq!(r, Ok(()));
            assert_eq!(
                got,
                [
                    WsMessage::Text("hello".into()),
                    WsMessage::Binary(vec![7; 300].into()),
                    WsMessage::Binary(vec![b'z'; 5000].into()),
                ],
                "cut at {cut}"
            );
        }
        assert_eq!(
            read_all(&mut Reader::for_client(100), &[&client_frame(0x81, b"x")]).1,
            Err(ReadError::Protocol("server frame masked"))
        );
    }

    #[test]
    fn next_stops_at_each_message() {
        let mut wire = [client_frame(0x81, b"a"), client_frame(0x81, b"b")].concat();
        let mut reader = Reader::new(100);
        let mut at = 0;
        let first = reader.next(&mut wire, &mut at);
        assert_eq!(first, Ok(Some(WsMessage::Text("a".into()))));
        assert_eq!(at, 7);
        let second = reader.next(&mut wire, &mut at);
        assert_eq!(second, Ok(Some(WsMessage::Text("b".into()))));
        assert_eq!(reader.next(&mut wire, &mut at), Ok(None));
        assert_eq!(at, wire.len());
    }
}
