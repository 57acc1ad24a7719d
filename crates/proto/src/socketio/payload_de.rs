//! Reading a [`Payload`] with serde, without building a JSON tree first.
//!
//! Binary leaves are served as bytes (`visit_borrowed_bytes`), or as a sequence of
//! `u8` when the type asks for a sequence (`Vec<u8>`), and never turned into JSON:
//! a type that wants anything else (a `bool`, a `String`, a `serde_json::Value`)
//! gets an "invalid type: byte array" error. Raw JSON is read from its text, JSON
//! trees through `serde_json`'s own deserializer, arrays and objects of mixed
//! payloads as sequences and maps.
//!
//! Placeholders may name one attachment many times and share its buffer. A type
//! that takes bytes through serde gets a copy (serde has no way to hand over a
//! `Bytes`), so one read serves each buffer at most once: a second use of the same
//! buffer is an error, and a read can never copy more than the distinct
//! attachments. `read_arg` hands `Bytes` and `Vec<Bytes>` over shared, without serde.

use std::cell::RefCell;

use bytes::Bytes;
use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Error;

use super::{Payload, RawJson};

/// The buffers one read has served as bytes, by address and length.
#[derive(Default)]
pub(crate) struct Served(RefCell<Vec<(usize, usize)>>);

impl Served {
    /// Records `bytes` as served; an error if it was already.
    fn take(&self, bytes: &Bytes) -> Result<(), Error> {
        let key = (bytes.as_ptr() as usize, bytes.len());
        let mut served = self.0.borrow_mut();
        if bytes.is_empty() {
            return Ok(());
        }
        if served.contains(&key) {
            return Err(de::Error::custom(
                "an attachment used twice cannot be read as owned bytes; read it as `Bytes`",
            ));
        }
        served.push(key);
        Ok(())
    }
}

/// A deserializer over one payload.
pub(crate) struct PayloadDeserializer<'a> {
    payload: &'a Payload,
    served: &'a Served,
}

impl<'a> PayloadDeserializer<'a> {
    pub(crate) fn new(payload: &'a Payload, served: &'a Served) -> Self {
        Self { payload, served }
    }
}

/// A deserializer over a list of payloads, read as one sequence (the arguments
/// of an event, read at once).
pub(crate) struct ArgsDeserializer<'a> {
    items: &'a [Payload],
    served: &'a Served,
}

impl<'a> ArgsDeserializer<'a> {
    pub(crate) fn new(items: &'a [Payload], served: &'a Served) -> Self {
        Self { items, served }
    }
}

/// Runs `f` on a `serde_json` deserializer over the raw text, and checks that
/// nothing follows the value.
fn with_raw<'a, R>(
    raw: &'a RawJson,
    f: impl FnOnce(&mut serde_json::Deserializer<serde_json::de::StrRead<'a>>) -> Result<R, Error>,
) -> Result<R, Error> {
    let mut de = serde_json::Deserializer::from_str(raw.readable_str());
    let value = f(&mut de)?;
    de.end()?;
    Ok(value)
}

fn visit_items<'a, V: Visitor<'a>>(
    items: &'a [Payload],
    served: &'a Served,
    visitor: V,
) -> Result<V::Value, Error> {
    let mut seq = Items {
        iter: items.iter(),
        served,
    };
    let value = visitor.visit_seq(&mut seq)?;
    match seq.iter.len() {
        0 => Ok(value),
        _ => Err(de::Error::invalid_length(items.len(), &"fewer elements")),
    }
}

fn visit_entries<'a, V: Visitor<'a>>(
    entries: &'a [(String, Payload)],
    served: &'a Served,
    visitor: V,
) -> Result<V::Value, Error> {
    let mut map = Entries {
        iter: entries.iter(),
        value: None,
        served,
    };
    let value = visitor.visit_map(&mut map)?;
    match map.iter.len() {
        0 => Ok(value),
        _ => Err(de::Error::invalid_length(entries.len(), &"fewer entries")),
    }
}

/// Calls the same method on the JSON or raw deserializer; binary data is the
/// wrong type (a `String` visitor would take bytes that are UTF-8), mixed
/// payloads go to `deserialize_any`.
macro_rules! forward_json {
    ($($method:ident),* $(,)?) => {
        $(fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.payload {
                Payload::Json(value) => value.$method(visitor),
                Payload::Raw(raw) => with_raw(raw, |de| de.$method(visitor)),
                Payload::Binary(bytes) => {
                    Err(de::Error::invalid_type(de::Unexpected::Bytes(bytes), &visitor))
                }
                _ => self.deserialize_any(visitor),
            }
        })*
    };
}

impl<'a> Deserializer<'a> for PayloadDeserializer<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_any(visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_any(visitor)),
            Payload::Binary(bytes) => {
                self.served.take(bytes)?;
                visitor.visit_borrowed_bytes(bytes)
            }
            Payload::Array(items) => visit_items(items, self.served, visitor),
            Payload::Object(entries) => visit_entries(entries, self.served, visitor),
        }
    }

    forward_json!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_unit,
        deserialize_map,
        deserialize_identifier,
    );

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_ignored_any(visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_ignored_any(visitor)),
            // Skipped: nothing to read, nothing served.
            _ => visitor.visit_unit(),
        }
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_bytes(visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_bytes(visitor)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_seq(visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_seq(visitor)),
            // One byte at a time, with nothing allocated per byte: `Vec<u8>`.
            Payload::Binary(bytes) => {
                self.served.take(bytes)?;
                let mut seq = SeqDeserializer::<_, Error>::new(bytes.iter().copied());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_struct(name, fields, visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_struct(name, fields, visitor)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_unit_struct(name, visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_unit_struct(name, visitor)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_option(visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_option(visitor)),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_newtype_struct(name, visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_newtype_struct(name, visitor)),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.payload {
            Payload::Json(value) => value.deserialize_enum(name, variants, visitor),
            Payload::Raw(raw) => with_raw(raw, |de| de.deserialize_enum(name, variants, visitor)),
            // `{"Variant": <fields with binary data>}`, as serde_json reads enums.
            Payload::Object(entries) => match entries.as_slice() {
                [(variant, value)] => visitor.visit_enum(Variant {
                    name: variant,
                    value: PayloadDeserializer::new(value, self.served),
                }),
                _ => Err(de::Error::invalid_value(
                    de::Unexpected::Map,
                    &"a map with a single key",
                )),
            },
            _ => self.deserialize_any(visitor),
        }
    }
}

impl<'a> Deserializer<'a> for ArgsDeserializer<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        visit_items(self.items, self.served, visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        <W: Visitor<'a>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct Items<'a> {
    iter: std::slice::Iter<'a, Payload>,
    served: &'a Served,
}

impl<'a> de::SeqAccess<'a> for Items<'a> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.iter
            .next()
            .map(|item| seed.deserialize(PayloadDeserializer::new(item, self.served)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Entries<'a> {
    iter: std::slice::Iter<'a, (String, Payload)>,
    value: Option<&'a Payload>,
    served: &'a Served,
}

impl<'a> de::MapAccess<'a> for Entries<'a> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value without a key"))?;
        seed.deserialize(PayloadDeserializer::new(value, self.served))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The one entry of an object read as an enum.
struct Variant<'a> {
    name: &'a str,
    value: PayloadDeserializer<'a>,
}

impl<'a> de::EnumAccess<'a> for Variant<'a> {
    type Error = Error;
    type Variant = PayloadDeserializer<'a>;

    fn variant_seed<S: DeserializeSeed<'a>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), Error> {
        let name = BorrowedStrDeserializer::<Error>::new(self.name);
        Ok((seed.deserialize(name)?, self.value))
    }
}

impl<'a> de::VariantAccess<'a> for PayloadDeserializer<'a> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'a>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }
}
