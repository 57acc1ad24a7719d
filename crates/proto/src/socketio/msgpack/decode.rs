//! MessagePack from notepack.io (or any encoder) to a [`Payload`], read as a Node
//! server would read it and pass it on to its clients.

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Number, Value};

use super::{MsgpackError, date};
use crate::socketio::{DecoderConfig, Payload, write_json};

/// 2^53: integers up to this size are exact in a JavaScript number.
const MAX_SAFE: u64 = 1 << 53;

/// The deepest nesting decoded whatever the configuration says, so that the
/// recursion stays far from the end of any thread's stack.
const MAX_DEPTH: usize = 128;

/// Decodes one MessagePack value (the whole of `bytes`) into a [`Payload`], as
/// notepack.io 3.0.1 decodes it and `JSON.stringify` would then show it:
///
/// | MessagePack | [`Payload`] |
/// |---|---|
/// | nil, bool, str | JSON null, bool, string (invalid UTF-8 replaced by U+FFFD) |
/// | int, uint | a JSON number; beyond ±2^53 the nearest `f64`, as in JavaScript |
/// | float 32/64 | a JSON number (integral values as integers, `-0` as `0`); NaN and ±Infinity as `null` |
/// | bin, and ext type 0 of `ext 8/16/32` (notepack 2.x `ArrayBuffer`) | [`Binary`](Payload::Binary), sharing `bytes` |
/// | ext −1 (timestamp 32, 64 and 96) and `d7 00` (notepack 2.x `Date`) | the string `Date.prototype.toJSON` gives (`"2000-06-13T00:00:00.000Z"`), or `null` for an invalid date |
/// | other ext | the array `[type, Binary]`, as notepack's `[type, Buffer]` |
/// | `d4 00 xx` (notepack 2.x `undefined`) | `null` in an array or at the top; inside a map, the key is left out |
/// | map | an object; a key that is not a string is converted as `String(key)` does (a timestamp key as its ISO string); a repeated key keeps its last value at the place of the first; `__proto__` is left out (assigning it creates no key in JavaScript) |
///
/// Each subtree without binary data is one [`Payload::Json`].
///
/// Limits, for bytes from a peer such as Redis: arrays and maps nest at most
/// [`max_depth`](DecoderConfig::max_depth) levels (the outermost is level 1;
/// values above 128 act as 128);
/// at most [`max_json_values`](DecoderConfig::max_json_values) values (string
/// map keys not counted); a declared length reserves memory only up to what the
/// remaining bytes and values could fill; bytes after the value are refused.
///
/// ```
/// use bytes::Bytes;
/// use ferrio_proto::socketio::{DecoderConfig, Payload, msgpack};
/// use serde_json::json;
///
/// let bytes = Bytes::from_static(b"\x92\xa2hi\x82\xa1d\xd6\xff\x39\x45\x79\x80\xa1b\xc4\x01\x07");
/// let payload = msgpack::decode(&bytes, &DecoderConfig::default())?;
/// assert_eq!(
///     payload,
///     Payload::Array(vec![
///         json!("hi").into(),
///         Payload::Object(vec![
///             ("d".into(), json!("2000-06-13T00:00:00.000Z").into()),
///             ("b".into(), Bytes::from_static(&[7]).into()),
///         ]),
///     ])
/// );
/// # Ok::<(), msgpack::MsgpackError>(())
/// ```
pub fn decode(bytes: &Bytes, config: &DecoderConfig) -> Result<Payload, MsgpackError> {
    let mut reader = Reader::new(bytes, config);
    let payload = reader.item(0)?.or_null();
    reader.end()?;
    Ok(payload)
}

/// A map's entries in order, each key once: a repeated key's last value at
/// the place of the first, `None` where that value is notepack 2.x's
/// `undefined` (the key is then left out of an object).
type Fields<'a> = Vec<(Cow<'a, str>, Option<Payload>)>;

/// Maps of up to this many entries find a repeated key by comparing with
/// each key before it; larger ones through a hash index, so that a map of
/// many keys costs linear time.
const LINEAR_KEYS: usize = 16;

/// Reads the map that is the whole of `bytes` (a packet's envelope) with
/// [`decode`]'s rules and limits, handing each entry to `visit` in order
/// without building the map: a repeated key comes again (its last value is
/// the map's), `None` is notepack 2.x's `undefined`, `__proto__` is left out,
/// and an array value is the [`Payload::Array`] of its items. `Ok(false)`
/// when `bytes` holds something else (which [`decode`] then reads).
pub(super) fn decode_entries(
    bytes: &Bytes,
    config: &DecoderConfig,
    mut visit: impl FnMut(&str, Option<Payload>),
) -> Result<bool, MsgpackError> {
    let mut reader = Reader::new(bytes, config);
    let len = match bytes.first() {
        Some(&marker @ 0x80..=0x8f) => {
            reader.pos = 1;
            usize::from(marker & 0x0f)
        }
        Some(0xde) => {
            reader.pos = 1;
            reader.len16()?
        }
        Some(0xdf) => {
            reader.pos = 1;
            reader.len32()?
        }
        _ => return Ok(false),
    };
    reader.count()?;
    let level = reader.deeper(0)?;
    reader.entries(len, level, Arrays::Kept, |key, value| visit(&key, value))?;
    reader.end()?;
    Ok(true)
}

/// What becomes of an array whose items are all JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arrays {
    /// One [`Payload::Json`] array, as everywhere in a value.
    Joined,
    /// A [`Payload::Array`] of its items: an envelope's `data`, from which the
    /// event's name and arguments are then taken as they are.
    Kept,
}

/// One decoded value, or notepack 2.x's `undefined`.
enum Item {
    Value(Payload),
    Undefined,
}

impl Item {
    fn or_null(self) -> Payload {
        match self {
            Self::Value(payload) => payload,
            Self::Undefined => Payload::Json(Value::Null),
        }
    }
}

impl From<Value> for Item {
    fn from(value: Value) -> Self {
        Self::Value(Payload::Json(value))
    }
}

struct Reader<'a> {
    bytes: &'a Bytes,
    pos: usize,
    max_depth: usize,
    max_values: usize,
    values: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a Bytes, config: &DecoderConfig) -> Self {
        Self {
            bytes,
            pos: 0,
            max_depth: config.max_depth.min(MAX_DEPTH),
            max_values: config.max_json_values,
            values: 0,
        }
    }

    /// Refuses bytes after the value.
    fn end(&self) -> Result<(), MsgpackError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(MsgpackError::TrailingBytes { count }),
        }
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MsgpackError> {
        let bytes: &'a [u8] = self.bytes;
        let taken = self
            .pos
            .checked_add(n)
            .and_then(|end| bytes.get(self.pos..end))
            .ok_or(MsgpackError::Truncated {
                offset: self.pos,
                needed: n,
            })?;
        self.pos += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], MsgpackError> {
        let taken = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(taken);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, MsgpackError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn i8(&mut self) -> Result<i8, MsgpackError> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<u16, MsgpackError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, MsgpackError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, MsgpackError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn len8(&mut self) -> Result<usize, MsgpackError> {
        self.u8().map(usize::from)
    }

    fn len16(&mut self) -> Result<usize, MsgpackError> {
        self.u16().map(usize::from)
    }

    fn len32(&mut self) -> Result<usize, MsgpackError> {
        // usize is at least 32 bits on every target ferrio builds for.
        self.u32().map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn bin(&mut self, len: usize) -> Result<Payload, MsgpackError> {
        let start = self.pos;
        self.take(len)?;
        Ok(Payload::Binary(self.bytes.slice(start..self.pos)))
    }

    fn str(&mut self, len: usize) -> Result<String, MsgpackError> {
        self.borrowed_str(len).map(Cow::into_owned)
    }

    /// A string in place when it is valid UTF-8 (nearly always: the fast
    /// check first), else with U+FFFD for what is not.
    fn borrowed_str(&mut self, len: usize) -> Result<Cow<'a, str>, MsgpackError> {
        let bytes = self.take(len)?;
        Ok(match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        })
    }

    /// An extension of a type without a meaning of its own: `[type, Buffer]`.
    fn ext(&mut self, kind: i8, len: usize) -> Result<Item, MsgpackError> {
        let data = self.bin(len)?;
        Ok(Item::Value(Payload::Array(vec![
            Payload::Json(kind.into()),
            data,
        ])))
    }

    /// One more value, within the limit.
    fn count(&mut self) -> Result<(), MsgpackError> {
        self.values += 1;
        if self.values > self.max_values {
            return Err(MsgpackError::TooManyValues {
                max: self.max_values,
            });
        }
        Ok(())
    }

    /// The capacity to reserve for `len` items: no more than the remaining
    /// bytes (each item takes one at least) and values could fill.
    fn capacity(&self, len: usize) -> usize {
        len.min(self.remaining())
            .min(self.max_values.saturating_sub(self.values))
    }

    /// The level a container found at `level` opens, within the limit.
    fn deeper(&self, level: usize) -> Result<usize, MsgpackError> {
        let level = level + 1;
        if level > self.max_depth {
            return Err(MsgpackError::TooDeep {
                max: self.max_depth,
            });
        }
        Ok(level)
    }

    /// The value at the reader's position, inside `level` containers.
    fn item(&mut self, level: usize) -> Result<Item, MsgpackError> {
        let offset = self.pos;
        let marker = self.u8()?;
        self.count()?;
        Ok(match marker {
            0x00..=0x7f => Value::from(marker).into(),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), level)?,
            0x90..=0x9f => self.list(usize::from(marker & 0x0f), level)?,
            0xa0..=0xbf => Value::String(self.str(usize::from(marker & 0x1f))?).into(),
            0xc0 => Value::Null.into(),
            0xc1 => return Err(MsgpackError::InvalidMarker { marker, offset }),
            0xc2 => Value::Bool(false).into(),
            0xc3 => Value::Bool(true).into(),
            0xc4 => {
                let len = self.len8()?;
                Item::Value(self.bin(len)?)
            }
            0xc5 => {
                let len = self.len16()?;
                Item::Value(self.bin(len)?)
            }
            0xc6 => {
                let len = self.len32()?;
                Item::Value(self.bin(len)?)
            }
            0xc7..=0xc9 | 0xd4..=0xd8 => self.extension(marker, offset)?,
            0xca => js_number(f64::from(f32::from_be_bytes(self.array()?))).into(),
            0xcb => js_number(f64::from_be_bytes(self.array()?)).into(),
            0xcc => Value::from(self.u8()?).into(),
            0xcd => Value::from(self.u16()?).into(),
            0xce => Value::from(self.u32()?).into(),
            0xcf => js_uint(u64::from_be_bytes(self.array()?)).into(),
            0xd0 => Value::from(self.i8()?).into(),
            0xd1 => Value::from(i16::from_be_bytes(self.array()?)).into(),
            0xd2 => Value::from(self.i32()?).into(),
            0xd3 => js_int(i64::from_be_bytes(self.array()?)).into(),
            0xd9 => {
                let len = self.len8()?;
                Value::String(self.str(len)?).into()
            }
            0xda => {
                let len = self.len16()?;
                Value::String(self.str(len)?).into()
            }
            0xdb => {
                let len = self.len32()?;
                Value::String(self.str(len)?).into()
            }
            0xdc => {
                let len = self.len16()?;
                self.list(len, level)?
            }
            0xdd => {
                let len = self.len32()?;
                self.list(len, level)?
            }
            0xde => {
                let len = self.len16()?;
                self.map(len, level)?
            }
            0xdf => {
                let len = self.len32()?;
                self.map(len, level)?
            }
            0xe0..=0xff => Value::from(i8::from_be_bytes([marker])).into(),
        })
    }

    /// An extension value (markers `c7`–`c9`, `d4`–`d8`): a Date, the legacy
    /// `undefined` and ArrayBuffer forms, or another type as `[type, Buffer]`.
    fn extension(&mut self, marker: u8, offset: usize) -> Result<Item, MsgpackError> {
        Ok(match marker {
            0xc7 => {
                let len = self.len8()?;
                match self.i8()? {
                    0 => Item::Value(self.bin(len)?),
                    -1 if len == 12 => {
                        let ns = self.u32()?;
                        let hi = self.i32()?;
                        let lo = self.u32()?;
                        let seconds = f64::from(hi) * 4_294_967_296.0 + f64::from(lo);
                        date_item(seconds * 1e3 + f64::from(ns) / 1e6)
                    }
                    -1 => return Err(MsgpackError::InvalidTimestamp { len, offset }),
                    kind => self.ext(kind, len)?,
                }
            }
            0xc8 | 0xc9 => {
                let len = if marker == 0xc8 {
                    self.len16()?
                } else {
                    self.len32()?
                };
                match self.i8()? {
                    0 => Item::Value(self.bin(len)?),
                    kind => self.ext(kind, len)?,
                }
            }
            0xd4 => match self.i8()? {
                0 => {
                    self.take(1)?;
                    Item::Undefined
                }
                kind => self.ext(kind, 1)?,
            },
            0xd5 => {
                let kind = self.i8()?;
                self.ext(kind, 2)?
            }
            0xd6 => match self.i8()? {
                -1 => date_item(f64::from(self.u32()?) * 1e3),
                kind => self.ext(kind, 4)?,
            },
            0xd7 => match self.i8()? {
                0 => {
                    let (hi, lo) = (self.i32()?, self.u32()?);
                    date_item(f64::from(hi) * 4_294_967_296.0 + f64::from(lo))
                }
                -1 => {
                    let (hi, lo) = (self.u32()?, self.u32()?);
                    let seconds = f64::from(hi & 0x3) * 4_294_967_296.0 + f64::from(lo);
                    date_item(seconds * 1e3 + f64::from(hi >> 2) / 1e6)
                }
                kind => self.ext(kind, 8)?,
            },
            0xd8 => {
                let kind = self.i8()?;
                self.ext(kind, 16)?
            }
            _ => return Err(MsgpackError::InvalidMarker { marker, offset }),
        })
    }

    /// The value at the reader's position, with an array in it read as
    /// `arrays` says (its own items as [`item`](Self::item) reads them).
    fn value(&mut self, level: usize, arrays: Arrays) -> Result<Item, MsgpackError> {
        if arrays == Arrays::Joined {
            return self.item(level);
        }
        let len = match self.bytes.get(self.pos) {
            Some(&marker @ 0x90..=0x9f) => {
                self.pos += 1;
                self.count()?;
                usize::from(marker & 0x0f)
            }
            Some(0xdc) => {
                self.pos += 1;
                self.count()?;
                self.len16()?
            }
            Some(0xdd) => {
                self.pos += 1;
                self.count()?;
                self.len32()?
            }
            _ => return self.item(level),
        };
        Ok(Item::Value(Payload::Array(self.items(len, level)?)))
    }

    /// The `len` items of an array found at `level`.
    fn items(&mut self, len: usize, level: usize) -> Result<Vec<Payload>, MsgpackError> {
        let level = self.deeper(level)?;
        let mut items = Vec::with_capacity(self.capacity(len));
        for _ in 0..len {
            items.push(self.item(level)?.or_null());
        }
        Ok(items)
    }

    fn list(&mut self, len: usize, level: usize) -> Result<Item, MsgpackError> {
        let items = self.items(len, level)?;
        if items.iter().all(|item| matches!(item, Payload::Json(_))) {
            let values = items.into_iter().map(into_json).collect();
            return Ok(Value::Array(values).into());
        }
        Ok(Item::Value(Payload::Array(items)))
    }

    fn map(&mut self, len: usize, level: usize) -> Result<Item, MsgpackError> {
        let level = self.deeper(level)?;
        let fields = self.fields(len, level)?;
        if fields
            .iter()
            .all(|(_, v)| matches!(v, None | Some(Payload::Json(_))))
        {
            let mut map = Map::with_capacity(fields.len());
            for (key, value) in fields {
                if let Some(value) = value {
                    map.insert(key.into_owned(), into_json(value));
                }
            }
            return Ok(Value::Object(map).into());
        }
        let entries = fields
            .into_iter()
            .filter_map(|(k, v)| Some((k.into_owned(), v?)));
        Ok(Item::Value(Payload::Object(entries.collect())))
    }

    /// Reads the `len` entries of a map whose items are at `level`, handing
    /// each to `visit` in order; a repeated key comes again, `__proto__` is
    /// left out.
    fn entries(
        &mut self,
        len: usize,
        level: usize,
        arrays: Arrays,
        mut visit: impl FnMut(Cow<'a, str>, Option<Payload>),
    ) -> Result<(), MsgpackError> {
        for _ in 0..len {
            let key = match self.short_key() {
                Some(key) => key,
                None => self.key(level)?,
            };
            let value = match self.value(level, arrays)? {
                Item::Value(value) => Some(value),
                Item::Undefined => None,
            };
            if key != "__proto__" {
                visit(key, value);
            }
        }
        Ok(())
    }

    /// The `len` entries of a map whose items are at `level`, each key once
    /// (see [`Fields`]); `__proto__` is left out.
    fn fields(&mut self, len: usize, level: usize) -> Result<Fields<'a>, MsgpackError> {
        let mut fields: Fields<'a> = Vec::with_capacity(self.capacity(len));
        // Built once the map passes LINEAR_KEYS entries.
        let mut index: Option<HashMap<Cow<'a, str>, usize>> = None;
        self.entries(len, level, Arrays::Joined, |key, value| {
            let seen = match &mut index {
                Some(index) => index.get(&key).copied(),
                None => fields.iter().position(|(k, _)| *k == key),
            };
            if let Some(at) = seen {
                fields[at].1 = value;
                return;
            }
            if let Some(index) = &mut index {
                index.insert(key.clone(), fields.len());
            }
            fields.push((key, value));
            if index.is_none() && fields.len() > LINEAR_KEYS {
                let keys = fields.iter().enumerate().map(|(i, (k, _))| (k.clone(), i));
                index = Some(keys.collect());
            }
        })?;
        Ok(fields)
    }

    /// The key at the reader's position when it is a valid fixstr (keys of
    /// up to 31 bytes: nearly all), read in place; else `None`, and nothing
    /// is read. Kept apart from [`key`](Self::key) so that the common case
    /// compiles to a few instructions in the caller, without a `Result`.
    #[inline(always)]
    fn short_key(&mut self) -> Option<Cow<'a, str>> {
        let bytes: &'a [u8] = self.bytes;
        let marker = *bytes.get(self.pos)?;
        if !(0xa0..=0xbf).contains(&marker) {
            return None;
        }
        let start = self.pos + 1;
        let end = start + usize::from(marker & 0x1f);
        let text = std::str::from_utf8(bytes.get(start..end)?).ok()?;
        self.pos = end;
        Some(Cow::Borrowed(text))
    }

    /// A map key as JavaScript makes it a property name (`String(key)`).
    fn key(&mut self, level: usize) -> Result<Cow<'a, str>, MsgpackError> {
        let len = match self.bytes.get(self.pos) {
            Some(&marker @ 0xa0..=0xbf) => {
                self.pos += 1;
                usize::from(marker & 0x1f)
            }
            Some(0xd9) => {
                self.pos += 1;
                self.len8()?
            }
            Some(0xda) => {
                self.pos += 1;
                self.len16()?
            }
            Some(0xdb) => {
                self.pos += 1;
                self.len32()?
            }
            _ => {
                let mut key = String::new();
                match self.item(level)? {
                    Item::Value(payload) => js_string(&payload, &mut key),
                    Item::Undefined => key.push_str("undefined"),
                }
                return Ok(Cow::Owned(key));
            }
        };
        self.borrowed_str(len)
    }
}

fn into_json(payload: Payload) -> Value {
    match payload {
        Payload::Json(value) => value,
        // Callers check that every item is `Json` first.
        _ => Value::Null,
    }
}

fn date_item(ms: f64) -> Item {
    date::iso_string(ms)
        .map_or(Value::Null, Value::String)
        .into()
}

/// A JavaScript number as JSON: integral values within ±2^53 as integers (so
/// equal numbers compare equal, and `-0` is `0`), others as `f64`; NaN and
/// ±Infinity as `null`, as `JSON.stringify` writes them.
fn js_number(value: f64) -> Value {
    #[allow(clippy::cast_precision_loss)]
    let safe = MAX_SAFE as f64;
    if value.trunc() == value && value.abs() <= safe {
        #[allow(clippy::cast_possible_truncation)]
        return Value::from(value as i64);
    }
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn js_uint(value: u64) -> Value {
    if value <= MAX_SAFE {
        return Value::from(value);
    }
    #[allow(clippy::cast_precision_loss)]
    js_number(value as f64)
}

fn js_int(value: i64) -> Value {
    if value.unsigned_abs() <= MAX_SAFE {
        return Value::from(value);
    }
    #[allow(clippy::cast_precision_loss)]
    js_number(value as f64)
}

/// `String(value)` in JavaScript, for a map key that is not a string.
fn js_string(payload: &Payload, out: &mut String) {
    match payload {
        Payload::Json(value) => js_value_string(value, out),
        Payload::Raw(raw) => js_value_string(&raw.to_value(), out),
        Payload::Binary(bytes) => out.push_str(&String::from_utf8_lossy(bytes)),
        Payload::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !matches!(item, Payload::Json(Value::Null)) {
                    js_string(item, out);
                }
            }
        }
        Payload::Object(_) => out.push_str("[object Object]"),
    }
}

fn js_value_string(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(_) => {
            let mut text = Vec::new();
            if write_json(value, &mut text).is_ok() {
                out.push_str(&String::from_utf8_lossy(&text));
            }
        }
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !item.is_null() {
                    js_value_string(item, out);
                }
            }
        }
        Value::Object(_) => out.push_str("[object Object]"),
    }
}
