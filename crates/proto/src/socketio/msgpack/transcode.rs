//! Raw JSON text to MessagePack in one pass, without a `Value` tree.
//!
//! serde_json drives a visitor that writes each value as it is read. JSON does
//! not say how many items an array or an object has before its end, so a
//! container is written with a one-byte header, and the header is widened in
//! place (the items moved by 2 or 4 bytes) in the rare case it has 16 items or
//! more. Nesting is bounded by [`RawJson`](crate::socketio::RawJson)'s own limit.
//!
//! Numbers are read as `JSON.parse` reads them: an integer beyond ±2^53 is the
//! nearest `f64` (JavaScript layout prints 2^63 as `9223372036854776000`, which
//! must be written as 2^63, as notepack does).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{EncodeError, Writer};

/// 2^53: integers up to this size are exact in a JavaScript number.
const MAX_SAFE: u64 = 1 << 53;

/// Writes the JSON value in `text` to `writer`.
pub(super) fn json_to_msgpack(text: &str, writer: &mut Writer) -> Result<(), EncodeError> {
    let mut de = serde_json::Deserializer::from_str(text);
    Transcode(writer).deserialize(&mut de)?;
    de.end()?;
    Ok(())
}

/// Which MessagePack container a header starts.
#[derive(Clone, Copy)]
enum Container {
    Array,
    Map,
}

struct Transcode<'w>(&'w mut Writer);

impl Transcode<'_> {
    fn str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.0.str(value).map_err(E::custom)
    }

    /// Writes a placeholder fixarray/fixmap header and returns its offset.
    fn open(&mut self, kind: Container) -> usize {
        let bytes = self.0.bytes_mut();
        let at = bytes.len();
        bytes.push(match kind {
            Container::Array => 0x90,
            Container::Map => 0x80,
        });
        at
    }

    /// Puts the real header of a container of `count` items at `at`: the
    /// markers of [`Writer::array_len`] and [`Writer::map_len`].
    fn close<E: de::Error>(&mut self, kind: Container, at: usize, count: usize) -> Result<(), E> {
        let (fix, wide16, wide32, what) = match kind {
            Container::Array => (0x90, 0xdc, 0xdd, "array"),
            Container::Map => (0x80, 0xde, 0xdf, "map"),
        };
        let bytes = self.0.bytes_mut();
        if let Ok(small @ 0..16) = u8::try_from(count) {
            if let Some(slot) = bytes.get_mut(at) {
                *slot = fix | small;
            }
            return Ok(());
        }
        let end = (at + 1).min(bytes.len());
        if let Ok(count) = u16::try_from(count) {
            let [hi, lo] = count.to_be_bytes();
            bytes.splice(at..end, [wide16, hi, lo]);
        } else if let Ok(count) = u32::try_from(count) {
            let [a, b, c, d] = count.to_be_bytes();
            bytes.splice(at..end, [wide32, a, b, c, d]);
        } else {
            return Err(E::custom(EncodeError::TooLong { what, len: count }));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Transcode<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Transcode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.nil();
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.0.bool(value);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        if value <= MAX_SAFE {
            self.0.uint(value);
        } else {
            // What `JSON.parse` reads: the nearest f64.
            #[allow(clippy::cast_precision_loss)]
            self.0.number(value as f64);
        }
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        if value.unsigned_abs() <= MAX_SAFE {
            self.0.int(value);
        } else {
            #[allow(clippy::cast_precision_loss)]
            self.0.number(value as f64);
        }
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        self.0.number(value);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.str(value)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let at = self.open(Container::Array);
        let mut count = 0;
        while seq.next_element_seed(Transcode(&mut *self.0))?.is_some() {
            count += 1;
        }
        self.close(Container::Array, at, count)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let at = self.open(Container::Map);
        let mut count = 0;
        while map.next_key_seed(Transcode(&mut *self.0))?.is_some() {
            map.next_value_seed(Transcode(&mut *self.0))?;
            count += 1;
        }
        self.close(Container::Map, at, count)
    }
}
