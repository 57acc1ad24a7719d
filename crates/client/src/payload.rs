//! Between Socket.IO packets and argument lists: building event and ack
//! packets, taking them apart, and reading arguments with serde.

use bytes::Bytes;
use ferrio_proto::socketio::{Packet, Payload, encode_message};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ArgError;
use crate::engine::Frame;

/// Encodes a packet into its Engine.IO frames: the text packet, then one
/// binary frame per attachment.
pub(crate) fn frames_of(packet: Packet<Payload>) -> Vec<Frame> {
    let (header, buffers) = packet.deconstruct();
    let mut text = Vec::with_capacity(64);
    encode_message(&header, &mut text);
    let mut frames = Vec::with_capacity(1 + buffers.len());
    // The encoder writes JSON and ASCII only: always UTF-8.
    frames.push(Frame::Text(String::from_utf8(text).unwrap_or_default()));
    frames.extend(buffers.into_iter().map(Frame::Binary));
    frames
}

/// The data of an event packet: `[name, ...args]`.
pub(crate) fn event_data(name: &str, args: Vec<Payload>) -> Payload {
    let mut items = Vec::with_capacity(1 + args.len());
    items.push(Payload::Json(name.into()));
    items.extend(args);
    args_data(items)
}

/// Arguments as one array payload, plain JSON when none is binary.
pub(crate) fn args_data(args: Vec<Payload>) -> Payload {
    if args.iter().any(Payload::has_binary) {
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

/// Splits event data into its name and arguments; `None` if it is not an
/// event (the decoder has checked packets from the wire already).
pub(crate) fn split_event(data: Option<Payload>) -> Option<(String, Vec<Payload>)> {
    let mut items = ack_args(data).into_iter();
    let name = match items.next()? {
        Payload::Json(Value::String(s)) => s,
        Payload::Json(Value::Number(n)) => n.to_string(),
        _ => return None,
    };
    Some((name, items.collect()))
}

/// The arguments of an ack packet (or of any array payload).
pub(crate) fn ack_args(data: Option<Payload>) -> Vec<Payload> {
    match data {
        Some(Payload::Json(Value::Array(items))) => items.into_iter().map(Payload::Json).collect(),
        Some(Payload::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// A payload as plain JSON, binary leaves as arrays of byte values (what
/// serde expects for `Vec<u8>` or `Bytes`).
pub(crate) fn to_json_lossy(payload: &Payload) -> Value {
    match payload {
        Payload::Json(v) => v.clone(),
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

/// Argument `index` deserialized into `T`.
pub(crate) fn arg<T: DeserializeOwned>(args: &[Payload], index: usize) -> Result<T, ArgError> {
    let payload = args.get(index).ok_or(ArgError::Missing(index))?;
    let result = match payload {
        Payload::Json(value) => T::deserialize(value),
        other => T::deserialize(&to_json_lossy(other)),
    };
    result.map_err(|source| ArgError::Invalid { index, source })
}

/// All arguments deserialized at once (into a tuple, usually).
pub(crate) fn args_as<T: DeserializeOwned>(args: &[Payload]) -> Result<T, ArgError> {
    let all = Value::Array(args.iter().map(to_json_lossy).collect());
    T::deserialize(&all).map_err(|source| ArgError::Invalid { index: 0, source })
}

/// Argument `index` if it is binary data.
pub(crate) fn binary(args: &[Payload], index: usize) -> Option<&Bytes> {
    match args.get(index)? {
        Payload::Binary(b) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use ferrio_proto::socketio::PacketKind;
    use serde_json::json;

    use super::*;

    #[test]
    fn binary_events_become_a_text_frame_and_attachments() {
        let data = event_data("img", vec![Payload::Binary(Bytes::from_static(&[1, 2]))]);
        let frames = frames_of(Packet::new(PacketKind::Event, "/admin", Some(data)).with_id(3));
        assert_eq!(
            frames,
            [
                Frame::Text(r#"451-/admin,3["img",{"_placeholder":true,"num":0}]"#.into()),
                Frame::Binary(Bytes::from_static(&[1, 2]))
            ]
        );
    }

    #[test]
    fn events_split_back_and_read_typed() {
        let data = event_data("chat", vec![json!("hi").into(), json!(2).into()]);
        assert_eq!(data, Payload::Json(json!(["chat", "hi", 2])));
        let (name, args) = split_event(Some(data)).unwrap();
        assert_eq!(name, "chat");
        assert_eq!(arg::<String>(&args, 0).unwrap(), "hi");
        assert!(matches!(arg::<u8>(&args, 2), Err(ArgError::Missing(2))));
        assert!(matches!(
            arg::<u8>(&args, 0),
            Err(ArgError::Invalid { index: 0, .. })
        ));
        let (a, b): (String, u32) = args_as(&args).unwrap();
        assert_eq!((a.as_str(), b), ("hi", 2));
        assert_eq!(split_event(Some(json!([7, 1]).into())).unwrap().0, "7");
        assert!(split_event(Some(json!([]).into())).is_none());
    }

    #[test]
    fn binary_reads_as_bytes() {
        let args = vec![Payload::Binary(Bytes::from_static(&[1, 2, 3]))];
        assert_eq!(binary(&args, 0).unwrap().as_ref(), [1, 2, 3]);
        assert_eq!(arg::<Bytes>(&args, 0).unwrap().as_ref(), [1, 2, 3]);
        assert_eq!(arg::<Vec<u8>>(&args, 0).unwrap(), [1, 2, 3]);
        assert!(binary(&args, 1).is_none());
    }
}
