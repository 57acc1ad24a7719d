//! Between event packets and argument lists: [`Args`], and the helpers the server
//! and the client share to build the data of event and ack packets, take it apart,
//! and read arguments with serde. Those helpers are `#[doc(hidden)]`: internal,
//! with no stability promise; use [`Args`].

use std::any::{Any, TypeId};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::payload_de::{ArgsDeserializer, PayloadDeserializer, Served};
use super::{Payload, RawJson};

/// Why an argument could not be read as the type asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArgError {
    /// There are fewer arguments.
    #[error("argument {0} is missing")]
    Missing(usize),
    /// The argument does not deserialize into the type.
    #[error("argument {index} has the wrong shape: {source}")]
    Invalid {
        /// Which argument (0 when all were read at once).
        index: usize,
        /// What serde said.
        source: serde_json::Error,
    },
}

/// The arguments of an event or of an acknowledgement: what a handler reads, what
/// an ack answers with, and what an outgoing listener sees.
///
/// How each argument is stored (parsed JSON, JSON kept as the text it arrived in,
/// binary data) is the decoder's business: read them with [`get`](Self::get),
/// [`as_tuple`](Self::as_tuple), [`binary`](Self::binary) or
/// [`to_value`](Self::to_value). Passing them on ([`into_vec`](Self::into_vec), or
/// the `emit_args`/`send_args` calls of the server and the client) moves them,
/// without copying or parsing.
///
/// ```
/// use bytes::Bytes;
/// use ferrio_proto::socketio::{Args, Payload};
/// use serde_json::json;
///
/// let args = Args::from(vec![json!("hi").into(), Payload::from(Bytes::from_static(b"\x01"))]);
/// assert_eq!(args.len(), 2);
/// assert_eq!(args.get::<String>(0)?, "hi");
/// assert_eq!(args.binary(1).map(|b| b.as_ref()), Some(&b"\x01"[..]));
/// let (text, blob): (String, Vec<u8>) = args.as_tuple()?;
/// assert_eq!((text.as_str(), blob), ("hi", vec![1]));
/// assert_eq!(args.to_value(0), Some(json!("hi")));
/// assert_eq!(args.to_value(1), None);
/// # Ok::<(), ferrio_proto::socketio::ArgError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args(Vec<Payload>);

impl Args {
    /// No arguments.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// How many arguments there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Argument `index` deserialized into `T`.
    ///
    /// Binary data reads as bytes: a `Bytes` or `Vec<Bytes>` gets the buffers
    /// themselves, shared and never copied; a type that takes bytes through serde
    /// (`Vec<u8>`, `serde_bytes::ByteBuf`) gets one copy of each buffer, and one read
    /// copies an attachment at most once (a second use of it is then an error).
    /// Binary data never reads as anything else: as a `bool`, a `String` or a
    /// `serde_json::Value` it is an [`ArgError::Invalid`], never an array of numbers.
    pub fn get<T: DeserializeOwned + 'static>(&self, index: usize) -> Result<T, ArgError> {
        read_arg(&self.0, index)
    }

    /// All arguments deserialized at once, usually into a tuple:
    /// `let (text, count): (String, u32) = args.as_tuple()?;`. Binary data reads as
    /// in [`get`](Self::get), through serde: each buffer is copied once (into a
    /// `Vec<u8>` or `Bytes`), and a buffer named twice is an error.
    pub fn as_tuple<T: DeserializeOwned>(&self) -> Result<T, ArgError> {
        read_args(&self.0)
    }

    /// Argument `index` if it is binary data.
    pub fn binary(&self, index: usize) -> Option<&Bytes> {
        binary_arg(&self.0, index)
    }

    /// Argument `index` as JSON, if there is one and it holds no binary data.
    pub fn to_value(&self, index: usize) -> Option<Value> {
        self.0.get(index)?.to_value()
    }

    /// Argument `index` as it is, for passing it on.
    pub fn payload(&self, index: usize) -> Option<&Payload> {
        self.0.get(index)
    }

    /// Every argument as it is, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Payload> {
        self.0.iter()
    }

    /// Adds an argument at the end.
    pub fn push(&mut self, arg: impl Into<Payload>) {
        self.0.push(arg.into());
    }

    /// The arguments, moved out (no copy).
    pub fn into_vec(self) -> Vec<Payload> {
        self.0
    }
}

impl From<Vec<Payload>> for Args {
    fn from(args: Vec<Payload>) -> Self {
        Self(args)
    }
}

impl From<Args> for Vec<Payload> {
    fn from(args: Args) -> Self {
        args.0
    }
}

impl PartialEq<[Payload]> for Args {
    fn eq(&self, other: &[Payload]) -> bool {
        self.0 == other
    }
}

impl<const N: usize> PartialEq<[Payload; N]> for Args {
    fn eq(&self, other: &[Payload; N]) -> bool {
        self.0 == other
    }
}

impl PartialEq<Vec<Payload>> for Args {
    fn eq(&self, other: &Vec<Payload>) -> bool {
        &self.0 == other
    }
}

impl FromIterator<Payload> for Args {
    fn from_iter<I: IntoIterator<Item = Payload>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl IntoIterator for Args {
    type Item = Payload;
    type IntoIter = std::vec::IntoIter<Payload>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Args {
    type Item = &'a Payload;
    type IntoIter = std::slice::Iter<'a, Payload>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The data of an event packet: `[name, ...args]`.
#[doc(hidden)]
pub fn event_data(name: &str, args: Vec<Payload>) -> Payload {
    let mut items = Vec::with_capacity(1 + args.len());
    items.push(Payload::Json(name.into()));
    items.extend(args);
    args_data(items)
}

/// Arguments as one array payload: plain JSON when every one is a `Json`, else an
/// `Array` that keeps each as it is (binary data in place, raw text as text).
#[doc(hidden)]
pub fn args_data(args: Vec<Payload>) -> Payload {
    if !args.iter().all(|a| matches!(a, Payload::Json(_))) {
        Payload::Array(args)
    } else {
        Payload::Json(Value::Array(
            args.into_iter()
                .map(|p| match p {
                    Payload::Json(v) => v,
                    // Not reached: every argument is `Json` here.
                    _ => Value::Null,
                })
                .collect(),
        ))
    }
}

/// Splits event data into its name and arguments; `None` if it is not an event
/// (the decoder has checked packets from the wire already).
#[doc(hidden)]
pub fn split_event(data: Option<Payload>) -> Option<(String, Vec<Payload>)> {
    if let Some(Payload::Raw(raw)) = &data {
        let mut items = raw.items()?;
        let name = raw_name(&items.next()?)?;
        return Some((name, items.map(Payload::Raw).collect()));
    }
    let mut items = ack_args(data);
    if items.is_empty() {
        return None;
    }
    // Shifts the arguments down in place: no second vector.
    let name = match items.remove(0) {
        Payload::Json(Value::String(s)) => s,
        Payload::Json(Value::Number(n)) => n.to_string(),
        Payload::Raw(raw) => raw_name(&raw)?,
        _ => return None,
    };
    Some((name, items))
}

/// An event name written as raw JSON: a string, or a number written as
/// `Number::to_string` writes it (as for parsed names).
fn raw_name(name: &RawJson) -> Option<String> {
    match name.as_string() {
        Some(name) => Some(name.into_owned()),
        None if name.is_number() => Some(name.to_value().to_string()),
        None => None,
    }
}

/// The arguments of an ack packet (or of any array payload).
#[doc(hidden)]
pub fn ack_args(data: Option<Payload>) -> Vec<Payload> {
    match data {
        Some(Payload::Json(Value::Array(items))) => items.into_iter().map(Payload::Json).collect(),
        Some(Payload::Raw(raw)) if raw.items().is_some() => raw
            .items()
            .into_iter()
            .flatten()
            .map(Payload::Raw)
            .collect(),
        Some(Payload::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// Argument `index` deserialized into `T`.
///
/// Binary data reads as bytes: a `Bytes` or `Vec<Bytes>` gets the buffers
/// themselves, shared and never copied; a type that takes bytes through serde
/// (`Vec<u8>`, `serde_bytes::ByteBuf`) gets one copy of each buffer, and one read
/// copies an attachment at most once (a second use of it is then an error). Binary
/// data never reads as anything else: as a `bool`, a `String` or a
/// `serde_json::Value` it is an [`ArgError::Invalid`], never an array of numbers.
#[doc(hidden)]
pub fn read_arg<T: DeserializeOwned + 'static>(
    args: &[Payload],
    index: usize,
) -> Result<T, ArgError> {
    let payload = args.get(index).ok_or(ArgError::Missing(index))?;
    if let Some(shared) = shared_bytes::<T>(payload) {
        return Ok(shared);
    }
    let result = match payload {
        Payload::Json(value) => T::deserialize(value),
        // Straight from the text, with no tree in between.
        Payload::Raw(raw) => raw.deserialize(),
        other => T::deserialize(PayloadDeserializer::new(other, &Served::default())),
    };
    result.map_err(|source| ArgError::Invalid { index, source })
}

/// All arguments deserialized at once, usually into a tuple; binary data reads as
/// in [`read_arg`].
#[doc(hidden)]
pub fn read_args<T: DeserializeOwned>(args: &[Payload]) -> Result<T, ArgError> {
    T::deserialize(ArgsDeserializer::new(args, &Served::default()))
        .map_err(|source| ArgError::Invalid { index: 0, source })
}

/// A `Bytes` or a `Vec<Bytes>` asked of binary data, handed over shared: serde
/// could only copy them.
fn shared_bytes<T: 'static>(payload: &Payload) -> Option<T> {
    let id = TypeId::of::<T>();
    let shared: Box<dyn Any> = if id == TypeId::of::<Bytes>() {
        match payload {
            Payload::Binary(bytes) => Box::new(bytes.clone()),
            _ => return None,
        }
    } else if id == TypeId::of::<Vec<Bytes>>() {
        match payload {
            Payload::Array(items) => Box::new(
                items
                    .iter()
                    .map(|item| match item {
                        Payload::Binary(bytes) => Some(bytes.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<Bytes>>>()?,
            ),
            _ => return None,
        }
    } else {
        return None;
    };
    shared.downcast().ok().map(|t| *t)
}

/// Argument `index` if it is binary data.
#[doc(hidden)]
pub fn binary_arg(args: &[Payload], index: usize) -> Option<&Bytes> {
    match args.get(index)? {
        Payload::Binary(b) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_split_back_and_read_typed() {
        let data = event_data("chat", vec![json!("hi").into(), json!(2).into()]);
        assert_eq!(data, Payload::Json(json!(["chat", "hi", 2])));
        let (name, args) = split_event(Some(data)).unwrap();
        assert_eq!(name, "chat");
        assert_eq!(read_arg::<String>(&args, 0).unwrap(), "hi");
        assert!(matches!(
            read_arg::<u8>(&args, 2),
            Err(ArgError::Missing(2))
        ));
        assert!(matches!(
            read_arg::<u8>(&args, 0),
            Err(ArgError::Invalid { index: 0, .. })
        ));
        assert_eq!(
            read_args::<(String, u8)>(&args).unwrap(),
            ("hi".to_owned(), 2)
        );
    }

    #[test]
    fn binary_arguments_stay_binary() {
        let data = event_data("img", vec![Payload::Binary(Bytes::from_static(&[1, 2]))]);
        let (_, args) = split_event(Some(data)).unwrap();
        assert_eq!(binary_arg(&args, 0), Some(&Bytes::from_static(&[1, 2])));
        assert_eq!(read_arg::<Vec<u8>>(&args, 0).unwrap(), [1, 2]);
    }

    fn bin(b: &'static [u8]) -> Payload {
        Payload::Binary(Bytes::from_static(b))
    }

    /// Takes bytes the way `serde_bytes::ByteBuf` does.
    #[derive(Debug, PartialEq)]
    struct ByteBuf(Vec<u8>);

    impl<'de> serde::Deserialize<'de> for ByteBuf {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = ByteBuf;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v.to_vec()))
                }
            }
            d.deserialize_byte_buf(V)
        }
    }

    #[test]
    fn binary_never_reads_as_json() {
        let args = vec![
            bin(&[1, 2]),
            Payload::Array(vec![bin(&[3]), json!(1).into()]),
        ];
        assert_eq!(read_arg::<ByteBuf>(&args, 0).unwrap(), ByteBuf(vec![1, 2]));
        assert_eq!(read_arg::<Bytes>(&args, 0).unwrap(), &[1, 2][..]);
        for index in [0, 1] {
            assert!(read_arg::<Value>(&args, index).is_err());
            assert!(read_arg::<bool>(&args, index).is_err());
            assert!(read_arg::<String>(&args, index).is_err());
        }
        assert!(read_args::<(Value, Value)>(&args).is_err());
        assert!(read_args::<(Vec<u8>, (Vec<u8>, u8))>(&args).is_ok());
        assert_eq!(
            read_args::<(Vec<u8>, (ByteBuf, u8))>(&args).unwrap(),
            (vec![1, 2], (ByteBuf(vec![3]), 1))
        );
        // Binary where a sequence of numbers is asked, and numbers where bytes are.
        assert!(read_arg::<Vec<u16>>(&args, 0).is_ok());
        assert!(read_arg::<(u8, u8)>(&args, 0).is_ok());
        assert!(read_arg::<(u8, u8, u8)>(&args, 0).is_err());
    }

    #[test]
    fn a_shared_buffer_is_served_once_per_read_or_handed_over_shared() {
        let shared = Bytes::from(vec![9u8; 100]);
        let args = vec![Payload::Array(vec![
            shared.clone().into(),
            shared.clone().into(),
        ])];
        assert!(read_arg::<Vec<Vec<u8>>>(&args, 0).is_err());
        assert!(read_arg::<(ByteBuf, ByteBuf)>(&args, 0).is_err());
        let buffers = read_arg::<Vec<Bytes>>(&args, 0).unwrap();
        assert!(buffers.iter().all(|b| b.as_ptr() == shared.as_ptr()));
        // Distinct buffers, and empty ones, are fine.
        let args = vec![Payload::Array(vec![
            bin(b"a"),
            bin(b"b"),
            bin(b""),
            bin(b""),
        ])];
        assert_eq!(read_arg::<Vec<Vec<u8>>>(&args, 0).unwrap().len(), 4);
        // A Vec<Bytes> of something that is not all binary goes through serde.
        let args = vec![Payload::Json(json!([[1, 2]]))];
        assert_eq!(read_arg::<Vec<Bytes>>(&args, 0).unwrap(), [&[1u8, 2][..]]);
    }

    #[test]
    fn mixed_payloads_read_as_structs_enums_and_options() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Msg {
            text: String,
            blob: Vec<u8>,
            more: Option<u8>,
        }
        #[derive(serde::Deserialize, Debug, PartialEq)]
        enum Kind {
            Image(Msg),
        }
        let raw = |t: &str| Payload::Raw(RawJson::new(t).unwrap());
        let msg = Payload::Object(vec![
            ("text".into(), raw(r#""cut \ud83d""#)),
            ("blob".into(), bin(&[1])),
            ("more".into(), json!(null).into()),
        ]);
        let want = Msg {
            text: "cut \u{fffd}".into(),
            blob: vec![1],
            more: None,
        };
        assert_eq!(
            read_arg::<Msg>(std::slice::from_ref(&msg), 0).unwrap(),
            want
        );
        let kind = Payload::Object(vec![("Image".into(), msg.clone())]);
        assert_eq!(
            read_arg::<Option<Kind>>(&[kind], 0).unwrap(),
            Some(Kind::Image(want))
        );
        assert_eq!(
            read_args::<(u8, String)>(&[raw("1"), raw(r#""\udc00""#)]).unwrap(),
            (1, "\u{fffd}".into())
        );
        assert!(read_args::<(u8,)>(&[raw("1"), raw("2")]).is_err());
    }
}
