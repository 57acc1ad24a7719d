//! Turning Rust values into Socket.IO event arguments.
//!
//! A `serde` serializer that builds a [`Payload`] tree, keeping byte buffers
//! (anything serialized with `serialize_bytes`, such as `bytes::Bytes` or
//! `serde_bytes`) as binary attachments instead of arrays of numbers.

use super::Payload;
use bytes::Bytes;
use serde::ser::{self, Serialize};
use serde_json::{Map, Value};

/// Why a value could not become event arguments.
#[derive(Debug, thiserror::Error)]
#[error("cannot serialize event arguments: {0}")]
pub struct ArgsError(String);

impl ser::Error for ArgsError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Converts `data` into the argument list of an event.
///
/// A tuple is several arguments (`("a", 1)` is two), `()` is none, and any other
/// value is one argument, so `vec![1, 2]` is a single array argument. serde
/// writes fixed-size arrays (`[1, 2]`) as tuples, so those are argument lists
/// too; pass a `Vec` or a slice for one array argument.
pub fn to_args<T: Serialize + ?Sized>(data: &T) -> Result<Vec<Payload>, ArgsError> {
    data.serialize(ArgsSerializer)
}

/// Converts one value into a payload, keeping byte buffers binary.
pub fn to_payload<T: Serialize + ?Sized>(value: &T) -> Result<Payload, ArgsError> {
    value.serialize(PayloadSerializer)
}

/// Packs payloads into one: plain JSON when none holds binary.
fn pack_array(items: Vec<Payload>) -> Payload {
    if items.iter().any(Payload::has_binary) {
        Payload::Array(items)
    } else {
        Payload::Json(Value::Array(items.into_iter().map(into_json).collect()))
    }
}

fn pack_object(entries: Vec<(String, Payload)>) -> Payload {
    if entries.iter().any(|(_, v)| v.has_binary()) {
        Payload::Object(entries)
    } else {
        let map: Map<String, Value> = entries
            .into_iter()
            .map(|(k, v)| (k, into_json(v)))
            .collect();
        Payload::Json(Value::Object(map))
    }
}

fn into_json(p: Payload) -> Value {
    match p {
        Payload::Json(v) => v,
        // Only called on payloads known to hold no binary.
        other => other.deconstruct(&mut Vec::new()),
    }
}

struct ArgsSerializer;

macro_rules! one_arg {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<Vec<Payload>, ArgsError> {
            Ok(vec![PayloadSerializer.$method(v)?])
        })*
    };
}

impl ser::Serializer for ArgsSerializer {
    type Ok = Vec<Payload>;
    type Error = ArgsError;
    type SerializeSeq = One<Seq>;
    type SerializeTuple = ArgsTuple;
    type SerializeTupleStruct = One<Seq>;
    type SerializeTupleVariant = One<Variant<Seq>>;
    type SerializeMap = One<Object>;
    type SerializeStruct = One<Object>;
    type SerializeStructVariant = One<Variant<Object>>;

    one_arg!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_i128(self, v: i128) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![PayloadSerializer.serialize_i128(v)?])
    }
    fn serialize_u128(self, v: u128) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![PayloadSerializer.serialize_u128(v)?])
    }
    fn serialize_none(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![Payload::Json(Value::Null)])
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![to_payload(v)?])
    }
    fn serialize_unit(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(Vec::new())
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![
            PayloadSerializer.serialize_unit_variant(name, index, variant)?,
        ])
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![to_payload(v)?])
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![
            PayloadSerializer.serialize_newtype_variant(name, index, variant, v)?,
        ])
    }
    fn serialize_tuple(self, len: usize) -> Result<ArgsTuple, ArgsError> {
        Ok(ArgsTuple(Vec::with_capacity(len)))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<One<Seq>, ArgsError> {
        PayloadSerializer.serialize_seq(len).map(One)
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<One<Seq>, ArgsError> {
        PayloadSerializer.serialize_tuple_struct(name, len).map(One)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<One<Variant<Seq>>, ArgsError> {
        PayloadSerializer
            .serialize_tuple_variant(name, index, variant, len)
            .map(One)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<One<Object>, ArgsError> {
        PayloadSerializer.serialize_map(len).map(One)
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<One<Object>, ArgsError> {
        PayloadSerializer.serialize_struct(name, len).map(One)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<One<Variant<Object>>, ArgsError> {
        PayloadSerializer
            .serialize_struct_variant(name, index, variant, len)
            .map(One)
    }
}

/// A compound value at the top level: one argument.
struct One<T>(T);

impl ser::SerializeSeq for One<Seq> {
    type Ok = Vec<Payload>;
    type Error = ArgsError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        ser::SerializeSeq::serialize_element(&mut self.0, v)
    }
    fn end(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![ser::SerializeSeq::end(self.0)?])
    }
}

impl ser::SerializeTupleStruct for One<Seq> {
    type Ok = Vec<Payload>;
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        ser::SerializeSeq::serialize_element(&mut self.0, v)
    }
    fn end(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![ser::SerializeSeq::end(self.0)?])
    }
}

impl ser::SerializeTupleVariant for One<Variant<Seq>> {
    type Ok = Vec<Payload>;
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        ser::SerializeTupleVariant::serialize_field(&mut self.0, v)
    }
    fn end(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![ser::SerializeTupleVariant::end(self.0)?])
    }
}

impl ser::SerializeMap for One<Object> {
    type Ok = Vec<Payload>;
    type Error = ArgsError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ArgsError> {
        ser::SerializeMap::serialize_key(&mut self.0, key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        ser::SerializeMap::serialize_value(&mut self.0, v)
    }
    fn end(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![ser::SerializeMap::end(self.0)?])
    }
}

impl ser::SerializeStruct for One<Object> {
    type Ok = Vec<Payload>;
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ArgsError> {
        ser::SerializeStruct::serialize_field(&mut self.0, key, v)
    }
    fn end(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![ser::SerializeStruct::end(self.0)?])
    }
}

impl ser::SerializeStructVariant for One<Variant<Object>> {
    type Ok = Vec<Payload>;
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ArgsError> {
        ser::SerializeStructVariant::serialize_field(&mut self.0, key, v)
    }
    fn end(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(vec![ser::SerializeStructVariant::end(self.0)?])
    }
}

/// The elements of a top-level tuple, one argument each.
struct ArgsTuple(Vec<Payload>);

impl ser::SerializeTuple for ArgsTuple {
    type Ok = Vec<Payload>;
    type Error = ArgsError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        self.0.push(to_payload(v)?);
        Ok(())
    }
    fn end(self) -> Result<Vec<Payload>, ArgsError> {
        Ok(self.0)
    }
}

/// Serializes one value into a [`Payload`].
struct PayloadSerializer;

fn json<T: Into<Value>>(v: T) -> Result<Payload, ArgsError> {
    Ok(Payload::Json(v.into()))
}

impl ser::Serializer for PayloadSerializer {
    type Ok = Payload;
    type Error = ArgsError;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Variant<Seq>;
    type SerializeMap = Object;
    type SerializeStruct = Object;
    type SerializeStructVariant = Variant<Object>;

    fn serialize_bool(self, v: bool) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Payload, ArgsError> {
        serde_json::to_value(v)
            .map(Payload::Json)
            .map_err(ser::Error::custom)
    }
    fn serialize_u8(self, v: u8) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Payload, ArgsError> {
        serde_json::to_value(v)
            .map(Payload::Json)
            .map_err(ser::Error::custom)
    }
    fn serialize_f32(self, v: f32) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_f64(self, v: f64) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_char(self, v: char) -> Result<Payload, ArgsError> {
        json(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<Payload, ArgsError> {
        json(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Payload, ArgsError> {
        Ok(Payload::Binary(Bytes::copy_from_slice(v)))
    }
    fn serialize_none(self) -> Result<Payload, ArgsError> {
        json(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Payload, ArgsError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Payload, ArgsError> {
        json(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Payload, ArgsError> {
        json(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Payload, ArgsError> {
        json(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Payload, ArgsError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Payload, ArgsError> {
        Ok(pack_object(vec![(variant.to_owned(), to_payload(v)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, ArgsError> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, ArgsError> {
        Ok(Seq(Vec::with_capacity(len)))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq, ArgsError> {
        Ok(Seq(Vec::with_capacity(len)))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Seq>, ArgsError> {
        Ok(Variant(variant, Seq(Vec::with_capacity(len))))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Object, ArgsError> {
        Ok(Object(Vec::with_capacity(len.unwrap_or(0)), None))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Object, ArgsError> {
        Ok(Object(Vec::with_capacity(len), None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Object>, ArgsError> {
        Ok(Variant(variant, Object(Vec::with_capacity(len), None)))
    }
}

struct Seq(Vec<Payload>);

impl ser::SerializeSeq for Seq {
    type Ok = Payload;
    type Error = ArgsError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        self.0.push(to_payload(v)?);
        Ok(())
    }
    fn end(self) -> Result<Payload, ArgsError> {
        Ok(pack_array(self.0))
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = Payload;
    type Error = ArgsError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Payload, ArgsError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = Payload;
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Payload, ArgsError> {
        ser::SerializeSeq::end(self)
    }
}

/// A map or struct; the `Option` holds a map key waiting for its value.
struct Object(Vec<(String, Payload)>, Option<String>);

impl ser::SerializeMap for Object {
    type Ok = Payload;
    type Error = ArgsError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ArgsError> {
        let key = match to_payload(key)? {
            Payload::Json(Value::String(s)) => s,
            Payload::Json(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            _ => return Err(ser::Error::custom("map keys must be strings or numbers")),
        };
        self.1 = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        let key = self
            .1
            .take()
            .ok_or_else(|| ser::Error::custom("value without key"))?;
        self.0.push((key, to_payload(v)?));
        Ok(())
    }
    fn end(self) -> Result<Payload, ArgsError> {
        Ok(pack_object(self.0))
    }
}

impl ser::SerializeStruct for Object {
    type Ok = Payload;
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ArgsError> {
        self.0.push((key.to_owned(), to_payload(v)?));
        Ok(())
    }
    fn end(self) -> Result<Payload, ArgsError> {
        Ok(pack_object(self.0))
    }
}

/// An enum variant with fields: `{"Variant": <fields>}`, as serde_json writes it.
struct Variant<T>(&'static str, T);

impl ser::SerializeTupleVariant for Variant<Seq> {
    type Ok = Payload;
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ArgsError> {
        ser::SerializeSeq::serialize_element(&mut self.1, v)
    }
    fn end(self) -> Result<Payload, ArgsError> {
        Ok(pack_object(vec![(self.0.to_owned(), pack_array(self.1.0))]))
    }
}

impl ser::SerializeStructVariant for Variant<Object> {
    type Ok = Payload;
    type Error = ArgsError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ArgsError> {
        ser::SerializeStruct::serialize_field(&mut self.1, key, v)
    }
    fn end(self) -> Result<Payload, ArgsError> {
        Ok(pack_object(vec![(
            self.0.to_owned(),
            pack_object(self.1.0),
        )]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Serialize)]
    struct Msg {
        text: &'static str,
        #[serde(with = "serde_bytes_like")]
        blob: Vec<u8>,
    }

    mod serde_bytes_like {
        pub(super) fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn tuples_are_argument_lists() {
        assert_eq!(to_args(&()).unwrap(), vec![]);
        assert_eq!(
            to_args(&("a", 1)).unwrap(),
            vec![json!("a").into(), json!(1).into()]
        );
        assert_eq!(
            to_args(&vec![1, 2]).unwrap(),
            vec![Payload::Json(json!([1, 2]))]
        );
        assert_eq!(to_args(&"x").unwrap(), vec![Payload::Json(json!("x"))]);
        assert_eq!(
            to_args(&json!({"k": 1})).unwrap(),
            vec![Payload::Json(json!({"k": 1}))]
        );
        // serde writes fixed-size arrays as tuples: they are argument lists too.
        assert_eq!(
            to_args(&[1u8, 2]).unwrap(),
            vec![json!(1).into(), json!(2).into()]
        );
        assert_eq!(
            to_args(&[1u8, 2][..]).unwrap(),
            vec![Payload::Json(json!([1, 2]))]
        );
        #[derive(Serialize)]
        struct S {
            a: u8,
        }
        assert_eq!(
            to_args(&S { a: 1 }).unwrap(),
            vec![Payload::Json(json!({"a": 1}))]
        );
    }

    #[test]
    fn bytes_stay_binary_anywhere() {
        let args = to_args(&(Msg {
            text: "hi",
            blob: vec![1, 2],
        },))
        .unwrap();
        assert_eq!(
            args,
            vec![Payload::Object(vec![
                ("text".into(), json!("hi").into()),
                ("blob".into(), Payload::Binary(Bytes::from_static(&[1, 2]))),
            ])]
        );
    }

    #[test]
    fn key_order_is_kept() {
        #[derive(Serialize)]
        struct S {
            z: u8,
            a: u8,
        }
        let p = to_payload(&S { z: 1, a: 2 }).unwrap();
        assert_eq!(
            serde_json::to_string(&into_json(p)).unwrap(),
            r#"{"z":1,"a":2}"#
        );
    }
}
