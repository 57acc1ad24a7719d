use std::convert::Infallible;
use std::mem;

use rmp::encode::{self, ByteBuf, ValueWriteError};

use super::EncodeError;

/// 2^64, the first integral `f64` above the `uint 64` range.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
/// −2^63, the lowest `int 64`.
const MINUS_TWO_POW_63: f64 = -9_223_372_036_854_775_808.0;

/// Appends MessagePack values to a byte buffer, with the markers notepack.io 3.0.1
/// picks: the smallest form for every integer, `float 64` (never `float 32`),
/// `str 8` for strings of 32 to 255 bytes, `bin` for buffers.
///
/// Numbers follow JavaScript's single number type: [`number`](Self::number) writes
/// an integral `f64` as an integer (`2.0` as `02`, `-0.0` as `00`), as notepack
/// does. Containers are written as a length ([`array_len`](Self::array_len),
/// [`map_len`](Self::map_len)) followed by that many values (a map: key, value,
/// key, value...), so a caller can write an envelope around a
/// [`payload`](Self::payload):
///
/// ```
/// use ferrio_proto::socketio::msgpack::Writer;
///
/// let mut w = Writer::new();
/// w.map_len(2)?;
/// w.str("type")?;
/// w.uint(2);
/// w.str("nsp")?;
/// w.str("/")?;
/// assert_eq!(w.into_vec(), b"\x82\xa4type\x02\xa3nsp\xa1/");
/// # Ok::<(), ferrio_proto::socketio::msgpack::EncodeError>(())
/// ```
///
/// Writing allocates nothing but the buffer's own growth.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: ByteBuf,
}

/// The result of an rmp write into a `ByteBuf`, which cannot fail.
fn done<T>(result: Result<T, ValueWriteError<Infallible>>) -> T {
    match result {
        Ok(value) => value,
        Err(
            ValueWriteError::InvalidMarkerWrite(never) | ValueWriteError::InvalidDataWrite(never),
        ) => match never {},
    }
}

/// A length that fits MessagePack's 32 bits.
fn length(what: &'static str, len: usize) -> Result<u32, EncodeError> {
    u32::try_from(len).map_err(|_| EncodeError::TooLong { what, len })
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: ByteBuf::with_capacity(capacity),
        }
    }

    /// A writer that appends to `bytes`.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self {
            buf: ByteBuf::from_vec(bytes),
        }
    }

    /// Runs `write` on a writer that appends to `out`; `out` holds what was
    /// written even if `write` fails.
    pub fn append<T>(out: &mut Vec<u8>, write: impl FnOnce(&mut Self) -> T) -> T {
        let mut writer = Self::from_vec(mem::take(out));
        let result = write(&mut writer);
        *out = writer.into_vec();
        result
    }

    /// The bytes written.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf.into_vec()
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        self.buf.as_slice()
    }

    pub(super) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        self.buf.as_mut_vec()
    }

    /// Writes `nil` (`c0`).
    pub fn nil(&mut self) {
        match encode::write_nil(&mut self.buf) {
            Ok(()) => {}
            Err(never) => match never {},
        }
    }

    /// Writes `false` (`c2`) or `true` (`c3`).
    pub fn bool(&mut self, value: bool) {
        match encode::write_bool(&mut self.buf, value) {
            Ok(()) => {}
            Err(never) => match never {},
        }
    }

    /// Writes a non-negative integer: positive fixint, `cc`, `cd`, `ce` or `cf`.
    pub fn uint(&mut self, value: u64) {
        done(encode::write_uint(&mut self.buf, value));
    }

    /// Writes an integer: the `uint` family when it is not negative (as
    /// [`uint`](Self::uint)), else negative fixint, `d0`, `d1`, `d2` or `d3`.
    pub fn int(&mut self, value: i64) {
        match u64::try_from(value) {
            Ok(value) => self.uint(value),
            Err(_) => {
                done(encode::write_sint(&mut self.buf, value));
            }
        }
    }

    /// Writes a JavaScript number: an integral finite value as an integer
    /// ([`int`](Self::int), [`uint`](Self::uint); `-0.0` as `00`), anything else
    /// (fractions, NaN, ±Infinity) as `float 64` (`cb`).
    ///
    /// Integral values at or beyond 2^64 or below −2^63 are written as `float 64`
    /// too, which keeps their value; notepack.io writes them as `cf`/`d3` with the
    /// value wrapped modulo 2^64, which no decoder reads back. Every NaN is
    /// written as the one JavaScript writes, `cb 7f f8 00 00 00 00 00 00`.
    pub fn number(&mut self, value: f64) {
        if value.is_nan() {
            done(encode::write_f64(&mut self.buf, f64::NAN));
            return;
        }
        if value.is_finite() && value.trunc() == value {
            // `-0.0 >= 0.0` holds: minus zero is written `00`, as notepack does.
            if (0.0..TWO_POW_64).contains(&value) {
                // Exact: an integral value in range.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                return self.uint(value as u64);
            }
            if (MINUS_TWO_POW_63..0.0).contains(&value) {
                #[allow(clippy::cast_possible_truncation)]
                return self.int(value as i64);
            }
        }
        done(encode::write_f64(&mut self.buf, value));
    }

    /// Writes a string: fixstr, `d9`, `da` or `db`, then its UTF-8 bytes.
    pub fn str(&mut self, value: &str) -> Result<(), EncodeError> {
        let len = length("string", value.len())?;
        done(encode::write_str_len(&mut self.buf, len));
        self.buf.as_mut_vec().extend_from_slice(value.as_bytes());
        Ok(())
    }

    /// Writes a buffer: `c4`, `c5` or `c6`, then its bytes (what notepack.io
    /// writes for a `Buffer`, an `ArrayBuffer` or a typed array).
    pub fn bin(&mut self, value: &[u8]) -> Result<(), EncodeError> {
        let len = length("binary", value.len())?;
        done(encode::write_bin_len(&mut self.buf, len));
        self.buf.as_mut_vec().extend_from_slice(value);
        Ok(())
    }

    /// Starts an array of `len` items: fixarray, `dc` or `dd`.
    pub fn array_len(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = length("array", len)?;
        done(encode::write_array_len(&mut self.buf, len));
        Ok(())
    }

    /// Starts a map of `len` entries: fixmap, `de` or `df`.
    pub fn map_len(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = length("map", len)?;
        done(encode::write_map_len(&mut self.buf, len));
        Ok(())
    }
}
