//! Between event packets and argument lists: building the data of event and ack
//! packets, taking it apart, and reading arguments with serde.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

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

/// The data of an event packet: `[name, ...args]`.
pub fn event_data(name: &str, args: Vec<Payload>) -> Payload {
    let mut items = Vec::with_capacity(1 + args.len());
    items.push(Payload::Json(name.into()));
    items.extend(args);
    args_data(items)
}

/// Arguments as one array payload: plain JSON when every one is a `Json`, else an
/// `Array` that keeps each as it is (binary data in place, raw text as text).
pub fn args_data(args: Vec<Payload>) -> Payload {
    if !args.iter().all(|a| matches!(a, Payload::Json(_))) {
        Payload::Array(args)
    } else {
        Payload::Json(Value::Array(
            args.into_iter()
                .map(|p| match p {
                    Payload::Json(v) => v,
                    other => to_json_lossy(&other),
                })
                .collect(),
        ))
    }
}

/// Splits event data into its name and arguments; `None` if it is not an event
/// (the decoder has checked packets from the wire already).
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

/// A payload as plain JSON, binary leaves as arrays of byte values (what serde
/// expects for `Vec<u8>` or `Bytes`).
pub fn to_json_lossy(payload: &Payload) -> Value {
    match payload {
        Payload::Json(v) => v.clone(),
        Payload::Raw(raw) => raw.to_value(),
        Payload::Binary(b) => Value::Array(b.iter().map(|&x| Value::from(x)).collect()),
        Payload::Array(items) => Value::Array(items.iter().map(to_json_lossy).collect()),
        Payload::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json_lossy(v)))
                .collect(),
        ),
    }
}

/// Argument `index` deserialized into `T`; binary data reads as a byte array.
pub fn read_arg<T: DeserializeOwned>(args: &[Payload], index: usize) -> Result<T, ArgError> {
    let payload = args.get(index).ok_or(ArgError::Missing(index))?;
    let result = match payload {
        Payload::Json(value) => T::deserialize(value),
        // Straight from the text, with no tree in between.
        Payload::Raw(raw) => raw.deserialize(),
        other => T::deserialize(&to_json_lossy(other)),
    };
    result.map_err(|source| ArgError::Invalid { index, source })
}

/// All arguments deserialized at once, usually into a tuple.
pub fn read_args<T: DeserializeOwned>(args: &[Payload]) -> Result<T, ArgError> {
    let all = Value::Array(args.iter().map(to_json_lossy).collect());
    T::deserialize(&all).map_err(|source| ArgError::Invalid { index: 0, source })
}

/// Argument `index` if it is binary data.
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
}
