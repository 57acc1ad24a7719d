//! Packets encoded once into the Engine.IO frames every recipient is sent.

use bytes::Bytes;
use ferrio_engine::Frame;
use ferrio_proto::socketio::{Packet, PacketKind, Payload, encode_message};

/// A packet's frames: the text packet then one binary frame per attachment.
pub(crate) struct Encoded {
    pub frames: Vec<Frame>,
}

impl Encoded {
    pub fn new(packet: Packet<Payload>) -> Self {
        Self {
            frames: frames_of(packet),
        }
    }

    /// Decodes the frames back into the event they carry, for the rare
    /// outgoing listeners; the hot path never keeps the packet itself.
    pub fn event(&self) -> Option<(String, Vec<Payload>)> {
        let mut decoder = ferrio_proto::socketio::Decoder::default();
        let mut packet = None;
        for frame in &self.frames {
            packet = match frame {
                Frame::Text(t) => decoder.feed_text(t.get(1..)?).ok()?,
                Frame::Binary(b) => decoder.feed_binary(b.clone()).ok()?,
            };
        }
        let packet = packet?;
        // Only events: an ACK's data is an array too, and would otherwise pass
        // for an event named after its first argument. (The decoder reports a
        // BINARY_EVENT as an EVENT.)
        if packet.kind != PacketKind::Event {
            return None;
        }
        split_event(packet.data)
    }
}

/// Encodes a packet into its frames.
pub(crate) fn frames_of(packet: Packet<Payload>) -> Vec<Frame> {
    let (header, buffers) = packet.deconstruct();
    let mut text = Vec::with_capacity(64);
    encode_message(&header, &mut text);
    let mut frames = Vec::with_capacity(1 + buffers.len());
    // The encoder writes JSON and ASCII only, so this never fails.
    let text = String::from_utf8(text).unwrap_or_default();
    frames.push(Frame::Text(text.into()));
    frames.extend(buffers.into_iter().map(Frame::Binary));
    frames
}

/// The data of an event packet: the name, then the arguments.
pub(crate) fn event_data(event: &str, args: Vec<Payload>) -> Payload {
    let mut items = Vec::with_capacity(1 + args.len());
    items.push(Payload::Json(event.into()));
    items.extend(args);
    if items.iter().any(Payload::has_binary) {
        Payload::Array(items)
    } else {
        Payload::Json(serde_json::Value::Array(
            items
                .into_iter()
                .map(|p| match p {
                    Payload::Json(v) => v,
                    _ => serde_json::Value::Null,
                })
                .collect(),
        ))
    }
}

/// Splits event data into the name and the arguments; `None` if it is not an
/// event (the decoder already checked this for packets from the wire).
pub(crate) fn split_event(data: Option<Payload>) -> Option<(String, Vec<Payload>)> {
    let mut items: Vec<Payload> = match data? {
        Payload::Json(serde_json::Value::Array(items)) => {
            items.into_iter().map(Payload::Json).collect()
        }
        Payload::Array(items) => items,
        _ => return None,
    };
    if items.is_empty() {
        return None;
    }
    let name = match items.remove(0) {
        Payload::Json(serde_json::Value::String(s)) => s,
        Payload::Json(serde_json::Value::Number(n)) => n.to_string(),
        _ => return None,
    };
    Some((name, items))
}

/// The arguments of an ack packet.
pub(crate) fn ack_args(data: Option<Payload>) -> Vec<Payload> {
    match data {
        Some(Payload::Json(serde_json::Value::Array(items))) => {
            items.into_iter().map(Payload::Json).collect()
        }
        Some(Payload::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// The arguments as one payload (an array), for an ack packet.
pub(crate) fn args_data(args: Vec<Payload>) -> Payload {
    if args.iter().any(Payload::has_binary) {
        Payload::Array(args)
    } else {
        Payload::Json(serde_json::Value::Array(
            args.into_iter()
                .map(|p| match p {
                    Payload::Json(v) => v,
                    _ => serde_json::Value::Null,
                })
                .collect(),
        ))
    }
}

/// A payload as plain JSON, binary leaves as arrays of byte values (what
/// `serde` expects for `Vec<u8>` fields).
pub(crate) fn to_json_lossy(payload: &Payload) -> serde_json::Value {
    use serde_json::Value;
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

/// The bytes of a binary payload.
pub(crate) fn binary_of(payload: &Payload) -> Option<&Bytes> {
    match payload {
        Payload::Binary(b) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binary_events_become_a_text_frame_and_attachments() {
        let data = event_data("img", vec![Payload::Binary(Bytes::from_static(&[1, 2]))]);
        let frames = frames_of(Packet::new(PacketKind::Event, "/", Some(data)));
        assert_eq!(
            frames,
            [
                Frame::Text(r#"451-["img",{"_placeholder":true,"num":0}]"#.into()),
                Frame::Binary(Bytes::from_static(&[1, 2]))
            ]
        );
    }

    #[test]
    fn events_split_back() {
        let data = event_data("chat", vec![json!("hi").into(), json!(2).into()]);
        assert_eq!(data, Payload::Json(json!(["chat", "hi", 2])));
        let (name, args) = split_event(Some(data)).unwrap();
        assert_eq!(name, "chat");
        assert_eq!(
            args,
            vec![Payload::Json(json!("hi")), Payload::Json(json!(2))]
        );
    }
}
