//! Packets encoded once into the Engine.IO frames every recipient is sent.

use ferrio_engine::Frame;
use ferrio_proto::socketio::{Packet, PacketKind, Payload};

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
        // Listeners see the arguments as the application gave them: parsed JSON,
        // not the raw text the decoder keeps for passing on.
        let (name, args) = split_event(packet.data)?;
        let args = args
            .into_iter()
            .map(|arg| match arg {
                Payload::Raw(raw) => Payload::Json(raw.to_value()),
                other => other,
            })
            .collect();
        Some((name, args))
    }
}

/// Encodes a packet into its frames.
pub(crate) fn frames_of(packet: Packet<Payload>) -> Vec<Frame> {
    let mut text = Vec::new();
    // Raw arguments (an event's, passed on) are copied, not parsed and re-written.
    let buffers = packet.write_message(&mut text);
    let mut frames = Vec::with_capacity(1 + buffers.len());
    // The encoder writes JSON and ASCII only, so this never fails.
    let text = String::from_utf8(text).unwrap_or_default();
    frames.push(Frame::Text(text.into()));
    frames.extend(buffers.into_iter().map(Frame::Binary));
    frames
}

pub(crate) use ferrio_proto::socketio::{ack_args, args_data, event_data, split_event};

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

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
}
