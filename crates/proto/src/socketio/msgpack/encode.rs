//! ferrio values written as notepack.io writes the same JavaScript values.

use serde_json::{Number, Value};

use super::{EncodeError, Writer, transcode};
use crate::socketio::{Payload, RawJson};

impl Writer {
    /// Writes a JSON value as notepack.io writes `JSON.parse` of its text:
    /// numbers by [`number`](Self::number)'s rule (integers held as `u64`/`i64`
    /// are written exactly), object keys in the map's order.
    pub fn value(&mut self, value: &Value) -> Result<(), EncodeError> {
        match value {
            Value::Null => self.nil(),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => self.json_number(n),
            Value::String(s) => self.str(s)?,
            Value::Array(items) => {
                self.array_len(items.len())?;
                for item in items {
                    self.value(item)?;
                }
            }
            Value::Object(map) => {
                self.map_len(map.len())?;
                for (key, item) in map {
                    self.str(key)?;
                    self.value(item)?;
                }
            }
        }
        Ok(())
    }

    /// Writes a JSON number: exact integers as integers, other values by
    /// [`number`](Self::number)'s rule.
    pub fn json_number(&mut self, number: &Number) {
        if let Some(n) = number.as_u64() {
            self.uint(n);
        } else if let Some(n) = number.as_i64() {
            self.int(n);
        } else if let Some(n) = number.as_f64() {
            self.number(n);
        } else {
            // serde_json without arbitrary_precision: every number is one of
            // the three above.
            self.nil();
        }
    }

    /// Writes raw JSON text as notepack.io writes `JSON.parse` of it, without
    /// building a tree: the bytes of [`value`](Self::value) of its parsed form,
    /// except that an integer beyond ±2^53 is the nearest `f64` as in JavaScript
    /// (raw text is in JavaScript layout, where `9223372036854776000` is 2^63).
    ///
    /// A lone surrogate escape is written as U+FFFD (`ef bf bd`); notepack.io
    /// writes it as its 3-byte WTF-8 form, which a Rust string cannot hold.
    pub fn raw(&mut self, raw: &RawJson) -> Result<(), EncodeError> {
        transcode::json_to_msgpack(raw.readable_str(), self)
    }

    /// Writes a payload: JSON as [`value`](Self::value), raw text as
    /// [`raw`](Self::raw), binary leaves as `bin`.
    ///
    /// An [`Object`](Payload::Object) is written entry by entry, a repeated key
    /// included; every decoder (notepack.io, and [`decode`](super::decode)) keeps
    /// its last value at the place of the first, as `Payload` equality does.
    pub fn payload(&mut self, payload: &Payload) -> Result<(), EncodeError> {
        match payload {
            Payload::Json(value) => self.value(value),
            Payload::Raw(raw) => self.raw(raw),
            Payload::Binary(bytes) => self.bin(bytes),
            Payload::Array(items) => {
                self.array_len(items.len())?;
                items.iter().try_for_each(|item| self.payload(item))
            }
            Payload::Object(entries) => {
                self.map_len(entries.len())?;
                entries.iter().try_for_each(|(key, item)| {
                    self.str(key)?;
                    self.payload(item)
                })
            }
        }
    }

    /// Writes an argument list ([`Args`](crate::socketio::Args), a slice or a
    /// `Vec` of payloads) as one array.
    pub fn args<'a, I>(&mut self, args: I) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = &'a Payload>,
        I::IntoIter: ExactSizeIterator,
    {
        let args = args.into_iter();
        self.array_len(args.len())?;
        args.into_iter().try_for_each(|arg| self.payload(arg))
    }

    /// Writes an event as a Socket.IO packet's `data`: one array, the name
    /// first, then the arguments.
    ///
    /// ```
    /// use ferrio_proto::socketio::{Args, msgpack::Writer};
    /// use serde_json::json;
    ///
    /// let args: Args = vec![json!("world").into(), json!(1).into()].into();
    /// let mut w = Writer::new();
    /// w.event("hello", &args)?;
    /// assert_eq!(w.into_vec(), b"\x93\xa5hello\xa5world\x01");
    /// # Ok::<(), ferrio_proto::socketio::msgpack::EncodeError>(())
    /// ```
    pub fn event<'a, I>(&mut self, name: &str, args: I) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = &'a Payload>,
        I::IntoIter: ExactSizeIterator,
    {
        let args = args.into_iter();
        self.array_len(args.len().saturating_add(1))?;
        self.str(name)?;
        args.into_iter().try_for_each(|arg| self.payload(arg))
    }
}

/// `payload` as notepack.io bytes (see [`Writer::payload`]).
///
/// ```
/// use ferrio_proto::socketio::{Payload, msgpack};
/// use serde_json::json;
///
/// let bytes = msgpack::encode(&Payload::Json(json!({"a": [1, 2.0, 2.5, null]})))?;
/// assert_eq!(bytes, b"\x81\xa1a\x94\x01\x02\xcb\x40\x04\0\0\0\0\0\0\xc0");
/// # Ok::<(), msgpack::EncodeError>(())
/// ```
pub fn encode(payload: &Payload) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::new();
    writer.payload(payload)?;
    Ok(writer.into_vec())
}

/// `value` as notepack.io bytes (see [`Writer::value`]).
pub fn encode_value(value: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::new();
    writer.value(value)?;
    Ok(writer.into_vec())
}
