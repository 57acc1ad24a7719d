//! Between Socket.IO packets and argument lists: building event and ack
//! packets, taking them apart, and reading arguments with serde.

use ferrio_proto::socketio::{Packet, Payload};

use crate::engine::OutPacket;

/// Encodes a packet into its Engine.IO frames: the text packet, then one
/// binary frame per attachment.
pub(crate) fn frames_of(packet: Packet<Payload>) -> Vec<OutPacket> {
    let mut text = Vec::new();
    let buffers = packet.write_message(&mut text);
    let mut frames = Vec::with_capacity(1 + buffers.len());
    // The encoder writes JSON and ASCII only: always UTF-8.
    frames.push(OutPacket::Text(String::from_utf8(text).unwrap_or_default()));
    frames.extend(buffers.into_iter().map(OutPacket::Binary));
    frames
}

pub(crate) use ferrio_proto::socketio::{ack_args, args_data, event_data, split_event};

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferrio_proto::socketio::PacketKind;

    use super::*;

    #[test]
    fn binary_events_become_a_text_frame_and_attachments() {
        let data = event_data("img", vec![Payload::Binary(Bytes::from_static(&[1, 2]))]);
        let frames = frames_of(Packet::new(PacketKind::Event, "/admin", Some(data)).with_id(3));
        assert_eq!(
            frames,
            [
                OutPacket::Text(r#"451-/admin,3["img",{"_placeholder":true,"num":0}]"#.into()),
                OutPacket::Binary(Bytes::from_static(&[1, 2]))
            ]
        );
    }

    #[test]
    fn binary_reads_as_bytes() {
        let args =
            ferrio_proto::socketio::Args::from(vec![Payload::Binary(Bytes::from_static(&[
                1, 2, 3,
            ]))]);
        assert_eq!(args.binary(0).unwrap().as_ref(), [1, 2, 3]);
        assert_eq!(args.get::<Bytes>(0).unwrap().as_ref(), [1, 2, 3]);
        assert_eq!(args.get::<Vec<u8>>(0).unwrap(), [1, 2, 3]);
        assert!(args.binary(1).is_none());
    }
}
