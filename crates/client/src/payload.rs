//! Between Socket.IO packets and argument lists: building event and ack
//! packets, taking them apart, and reading arguments with serde.

use ferrio_proto::socketio::{Packet, Parser, Payload, msgpack};

use crate::engine::OutPacket;

/// Encodes a packet into its Engine.IO frames with the manager's parser.
pub(crate) fn frames_of(packet: Packet<Payload>, parser: Parser) -> Vec<OutPacket> {
    match parser {
        Parser::MsgPack => msgpack_frames(&packet),
        _ => text_frames(packet),
    }
}

/// The msgpack parser: the packet is one binary frame.
fn msgpack_frames(packet: &Packet<Payload>) -> Vec<OutPacket> {
    let mut bytes = Vec::new();
    match msgpack::write_packet(packet, &mut bytes) {
        Ok(()) => vec![OutPacket::Binary(bytes.into())],
        Err(error) => {
            // A string, buffer or array of 4 GiB or more, which no server
            // would take either.
            tracing::warn!(%error, "packet not sent: it cannot be written as MessagePack");
            Vec::new()
        }
    }
}

/// The default parser: the text packet, then one binary frame per attachment.
fn text_frames(packet: Packet<Payload>) -> Vec<OutPacket> {
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
        let packet = Packet::new(PacketKind::Event, "/admin", Some(data)).with_id(3);
        let frames = frames_of(packet, Parser::Default);
        assert_eq!(
            frames,
            [
                OutPacket::Text(r#"451-/admin,3["img",{"_placeholder":true,"num":0}]"#.into()),
                OutPacket::Binary(Bytes::from_static(&[1, 2]))
            ]
        );
    }

    #[test]
    fn msgpack_packets_are_one_binary_frame_with_binary_inline() {
        let data = event_data("img", vec![Payload::Binary(Bytes::from_static(&[1, 2]))]);
        let packet = Packet::new(PacketKind::Event, "/admin", Some(data)).with_id(3);
        let frames = frames_of(packet, Parser::MsgPack);
        let expected: &[u8] =
            b"\x84\xa4type\x02\xa4data\x92\xa3img\xc4\x02\x01\x02\xa3nsp\xa6/admin\xa2id\x03";
        assert_eq!(frames, [OutPacket::Binary(Bytes::from_static(expected))]);
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
