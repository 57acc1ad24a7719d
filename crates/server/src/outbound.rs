//! Packets encoded once into the Engine.IO frames every recipient is sent.

use std::cell::RefCell;
use std::mem;

use bytes::Bytes;
use ferrio_engine::OutPacket;
use ferrio_proto::socketio::{DecoderConfig, Packet, PacketKind, Parser, Payload, msgpack};

thread_local! {
    /// Where a MessagePack packet is written before it is copied out at its
    /// exact size: one allocation per packet, where a `Vec` growing from
    /// empty took four or five for an ack, and `Bytes` one more for its
    /// spare room.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The scratch is kept between packets up to this size; a larger packet
/// takes the buffer it was written in (no copy), and the scratch starts
/// empty again.
const SCRATCH_KEPT: usize = 64 * 1024;

/// A packet's frames: with the default parser, the text packet then one binary
/// frame per attachment; with the msgpack parser, one binary frame.
///
/// Kept apart rather than in one `Vec<OutPacket>`: most packets have no attachment,
/// and an empty `Vec` costs no allocation.
pub(crate) struct Encoded {
    text: OutPacket,
    attachments: Vec<Bytes>,
    /// The packet could not be written (MessagePack holds no string, buffer
    /// or array of 4 GiB or more): its [`len`](Self::len) is then
    /// `usize::MAX`, so every sender refuses it as too large.
    unwritable: bool,
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoded")
            .field("bytes", &self.len())
            .finish_non_exhaustive()
    }
}

impl Encoded {
    /// Encodes a packet with the server's parser: one choice per packet,
    /// whatever the number of recipients.
    pub(crate) fn new(packet: Packet<Payload>, parser: Parser) -> Self {
        match parser {
            Parser::MsgPack => Self::encode_msgpack(&packet),
            _ => Self::encode_text(packet),
        }
    }

    fn encode_text(packet: Packet<Payload>) -> Self {
        let mut text = Vec::new();
        // Raw arguments (an event's, passed on) are copied, not parsed and re-written.
        let attachments = packet.write_message(&mut text);
        // The encoder writes JSON and ASCII only, so this never fails.
        let text = String::from_utf8(text).unwrap_or_default();
        Self {
            text: OutPacket::Text(text.into()),
            attachments,
            unwritable: false,
        }
    }

    fn encode_msgpack(packet: &Packet<Payload>) -> Self {
        let written = SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            let written = msgpack::write_packet(packet, scratch).map(|()| {
                if scratch.len() > SCRATCH_KEPT {
                    Bytes::from(mem::take(scratch))
                } else {
                    Bytes::copy_from_slice(scratch)
                }
            });
            if scratch.capacity() > SCRATCH_KEPT {
                *scratch = Vec::new();
            }
            written
        });
        let bytes = match written {
            Ok(bytes) => bytes,
            Err(error) => {
                // A string, buffer or array of 4 GiB or more: far past any
                // outbox, so refused as too large by every sender.
                tracing::debug!(%error, "packet cannot be written as MessagePack");
                return Self {
                    text: OutPacket::Binary(Bytes::new()),
                    attachments: Vec::new(),
                    unwritable: true,
                };
            }
        };
        Self {
            text: OutPacket::Binary(bytes),
            attachments: Vec::new(),
            unwritable: false,
        }
    }

    /// The bytes the frames take in an outbox: the text and every attachment.
    pub(crate) fn len(&self) -> usize {
        if self.unwritable {
            return usize::MAX;
        }
        let attachments: usize = self.attachments.iter().map(Bytes::len).sum();
        let text = match &self.text {
            OutPacket::Text(t) => t.len(),
            OutPacket::Binary(b) => b.len(),
            // Made by the engine as it sends, never here.
            OutPacket::Deflated(_) => 0,
        };
        text + attachments
    }

    /// The text frame (a test hook).
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        match &self.text {
            OutPacket::Text(t) => t,
            OutPacket::Binary(_) | OutPacket::Deflated(_) => "",
        }
    }

    /// The frames, to queue for one recipient among several.
    pub(crate) fn frames(&self) -> impl Iterator<Item = OutPacket> + '_ {
        std::iter::once(self.text.clone())
            .chain(self.attachments.iter().cloned().map(OutPacket::Binary))
    }

    /// The frames, to queue for the one recipient.
    pub(crate) fn into_frames(self) -> impl Iterator<Item = OutPacket> {
        std::iter::once(self.text).chain(self.attachments.into_iter().map(OutPacket::Binary))
    }

    /// Decodes the frames back into the event they carry, for the rare
    /// outgoing listeners; the hot path never keeps the packet itself.
    pub(crate) fn event(&self) -> Option<(String, Vec<Payload>)> {
        let packet = match &self.text {
            // The msgpack parser: the one frame is the packet.
            OutPacket::Binary(bytes) => {
                let roomy = DecoderConfig::default()
                    .max_depth(usize::MAX)
                    .max_json_values(usize::MAX);
                msgpack::decode_packet(bytes, &roomy).ok()?
            }
            OutPacket::Text(_) | OutPacket::Deflated(_) => {
                let mut decoder = ferrio_proto::socketio::Decoder::default();
                let mut packet = None;
                for frame in self.frames() {
                    packet = match frame {
                        OutPacket::Text(t) => decoder.feed_text(t.get(1..)?).ok()?,
                        OutPacket::Binary(b) => decoder.feed_binary(b).ok()?,
                        OutPacket::Deflated(_) => return None,
                    };
                }
                packet?
            }
        };
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
pub(crate) fn frames_of(packet: Packet<Payload>, parser: Parser) -> Vec<OutPacket> {
    Encoded::new(packet, parser).into_frames().collect()
}

pub(crate) use ferrio_proto::socketio::{ack_args, args_data, event_data, split_event};

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn with_the_msgpack_parser_a_packet_is_one_binary_frame() {
        let data = event_data("img", vec![Payload::Binary(Bytes::from_static(&[1, 2]))]);
        let encoded = Encoded::new(
            Packet::new(PacketKind::Event, "/", Some(data)),
            Parser::MsgPack,
        );
        let expected: &[u8] = b"\x83\xa4type\x02\xa4data\x92\xa3img\xc4\x02\x01\x02\xa3nsp\xa1/";
        assert_eq!(encoded.len(), expected.len());
        assert_eq!(
            encoded.frames().collect::<Vec<_>>(),
            [OutPacket::Binary(Bytes::from_static(expected))]
        );
        // Outgoing listeners read it back.
        let (name, args) = encoded.event().unwrap();
        assert_eq!(name, "img");
        assert_eq!(args, [Payload::Binary(Bytes::from_static(&[1, 2]))]);
        let ack = Packet::new(PacketKind::Ack, "/", Some(json!([1]).into())).with_id(1);
        assert!(Encoded::new(ack, Parser::MsgPack).event().is_none());
    }

    /// Packets are written in a scratch buffer and copied out at their size;
    /// one larger than what the scratch keeps takes the buffer itself.
    #[test]
    fn msgpack_packets_are_exact_whatever_was_written_before() {
        let sized = |n: usize| {
            let data = event_data("b", vec![Payload::Binary(Bytes::from(vec![7; n]))]);
            Encoded::new(
                Packet::new(PacketKind::Event, "/", Some(data)),
                Parser::MsgPack,
            )
        };
        for n in [3, SCRATCH_KEPT + 1, 1, 2 * SCRATCH_KEPT, 5] {
            let encoded = sized(n);
            let frames: Vec<_> = encoded.frames().collect();
            let [OutPacket::Binary(bytes)] = &frames[..] else {
                panic!("one binary frame");
            };
            let decoded = msgpack::decode_packet(bytes, &DecoderConfig::default()).unwrap();
            let (_, args) = split_event(decoded.data).unwrap();
            assert_eq!(args, [Payload::Binary(Bytes::from(vec![7; n]))]);
            assert_eq!(encoded.len(), bytes.len());
            assert!(SCRATCH.with_borrow(Vec::capacity) <= SCRATCH_KEPT);
        }
    }

    #[test]
    fn binary_events_become_a_text_frame_and_attachments() {
        let data = event_data("img", vec![Payload::Binary(Bytes::from_static(&[1, 2]))]);
        let frames = frames_of(
            Packet::new(PacketKind::Event, "/", Some(data)),
            Parser::Default,
        );
        assert_eq!(
            frames,
            [
                OutPacket::Text(r#"451-["img",{"_placeholder":true,"num":0}]"#.into()),
                OutPacket::Binary(Bytes::from_static(&[1, 2]))
            ]
        );
    }
}
