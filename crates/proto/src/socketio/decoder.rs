use bytes::Bytes;

use super::decode::{decode_header, parse_payload, raw_payload};
use super::{DecodeError, DecoderConfig, Packet, Payload};

/// The receive side of a Socket.IO connection: turns Engine.IO messages into
/// complete packets, putting binary attachments in place.
///
/// Feed it each Engine.IO message in arrival order: text messages to
/// [`feed_text`](Self::feed_text), binary ones to [`feed_binary`](Self::feed_binary).
/// A plain packet comes out at once. A BINARY_EVENT or BINARY_ACK header makes the
/// decoder wait for exactly as many binary messages as it announced; the last one
/// yields the packet with every placeholder replaced by its buffer, as an
/// [`Event`](super::PacketKind::Event) or [`Ack`](super::PacketKind::Ack) (the binary
/// type is a wire detail).
///
/// The payload of a plain EVENT or ACK comes as a [`Payload::Array`] of
/// [`Payload::Raw`] items when its text is what `JSON.stringify` writes (as from
/// every JavaScript client), so that passing an argument on copies it; any other
/// payload comes parsed, as [`Payload::Json`]. Either way the same rules are
/// checked and the same packets refused.
///
/// A text message while attachments are awaited, a binary message when none is, or
/// a placeholder that points past the attachments is an error. After any error the
/// decoder is empty again; the reference server closes the connection, and a caller
/// should too.
///
/// The decoder holds no I/O and no clock: it buffers at most
/// [`max_attachments`](DecoderConfig::max_attachments) messages, each bounded by the
/// Engine.IO payload limit. How long to wait for them is the caller's business.
///
/// ```
/// use bytes::Bytes;
/// use ferrio_proto::socketio::{Decoder, PacketKind, Payload};
/// use serde_json::json;
///
/// let mut decoder = Decoder::default();
/// let header = r#"51-["img",{"_placeholder":true,"num":0}]"#;
/// assert_eq!(decoder.feed_text(header), Ok(None));
/// assert_eq!(decoder.awaiting(), 1);
///
/// let packet = decoder.feed_binary(Bytes::from_static(&[1, 2, 3])).unwrap().unwrap();
/// assert_eq!(packet.kind, PacketKind::Event);
/// assert_eq!(
///     packet.data,
///     Some(Payload::Array(vec![json!("img").into(), Bytes::from_static(&[1, 2, 3]).into()]))
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    config: DecoderConfig,
    pending: Option<Pending>,
}

/// A binary packet whose attachments are being collected.
#[derive(Debug, Clone)]
struct Pending {
    header: Packet,
    buffers: Vec<Bytes>,
}

impl Decoder {
    /// A decoder enforcing the given limits.
    pub fn new(config: DecoderConfig) -> Self {
        Self {
            config,
            pending: None,
        }
    }

    /// The limits this decoder enforces.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// How many binary messages the decoder still waits for (0 when it waits for a
    /// text message).
    pub fn awaiting(&self) -> usize {
        self.pending
            .as_ref()
            .map_or(0, |p| p.header.attachments - p.buffers.len())
    }

    /// Drops a partly received binary packet, if any.
    pub fn reset(&mut self) {
        self.pending = None;
    }

    /// Takes the data of one Engine.IO text message (without its `4`).
    ///
    /// Returns the packet if it is complete, or `None` if it is a binary packet
    /// whose attachments are still to come.
    pub fn feed_text(&mut self, text: &str) -> Result<Option<Packet<Payload>>, DecodeError> {
        if let Some(pending) = self.pending.take() {
            return Err(DecodeError::UnexpectedText {
                remaining: pending.header.attachments - pending.buffers.len(),
            });
        }
        let header = decode_header(text, &self.config)?;
        if let Some(items) = raw_payload(&header, &self.config)? {
            return Ok(Some(header.with_data(Some(Payload::Array(items)))));
        }
        let packet = parse_payload(&header, &self.config)?;
        if packet.kind.is_binary() {
            // The count is at least 1 and at most `max_attachments`.
            let buffers = Vec::with_capacity(packet.attachments);
            self.pending = Some(Pending {
                header: packet,
                buffers,
            });
            return Ok(None);
        }
        Ok(Some(packet.map_data(Payload::Json)))
    }

    /// Takes one Engine.IO binary message.
    ///
    /// Returns the completed packet with the last attachment, `None` before it.
    pub fn feed_binary(&mut self, data: Bytes) -> Result<Option<Packet<Payload>>, DecodeError> {
        let mut pending = self.pending.take().ok_or(DecodeError::UnexpectedBinary)?;
        pending.buffers.push(data);
        if pending.buffers.len() < pending.header.attachments {
            self.pending = Some(pending);
            return Ok(None);
        }
        let Pending { header, buffers } = pending;
        let data = header
            .data
            .map(|value| Payload::reconstruct(value, &buffers))
            .transpose()?;
        Ok(Some(Packet {
            kind: header.kind.to_plain(),
            nsp: header.nsp,
            id: header.id,
            data,
            attachments: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::socketio::PacketKind;

    fn bytes(b: &'static [u8]) -> Bytes {
        Bytes::from_static(b)
    }

    #[test]
    fn plain_packets_pass_through() {
        let mut d = Decoder::default();
        let p = d
            .feed_text(r#"2/chat,["msg",{"_placeholder":true,"num":0}]"#)
            .unwrap()
            .unwrap();
        // Outside a binary packet a placeholder is just an object.
        assert_eq!(
            p.data,
            Some(Payload::Json(
                json!(["msg", {"_placeholder": true, "num": 0}])
            ))
        );
        assert_eq!((p.kind, p.nsp.as_ref()), (PacketKind::Event, "/chat"));
        assert_eq!(d.feed_text("1").unwrap().unwrap().data, None);
    }

    #[test]
    fn canonical_event_and_ack_payloads_come_raw() {
        let mut d = Decoder::default();
        let p = d
            .feed_text(r#"2/chat,7["echo",{"t":1,"p":"xx"}]"#)
            .unwrap()
            .unwrap();
        let Some(Payload::Array(items)) = &p.data else {
            panic!("{p:?}")
        };
        let texts: Vec<&str> = items
            .iter()
            .map(|i| match i {
                Payload::Raw(r) => r.as_str(),
                _ => panic!("{i:?}"),
            })
            .collect();
        assert_eq!(texts, ["\"echo\"", r#"{"t":1,"p":"xx"}"#]);
        assert_eq!(
            (p.kind, p.nsp.as_ref(), p.id),
            (PacketKind::Event, "/chat", Some(7))
        );
        let p = d.feed_text(r#"37[1,"a"]"#).unwrap().unwrap();
        assert!(matches!(&p.data, Some(Payload::Array(items)) if items.len() == 2));
        assert_eq!(p.data, Some(Payload::Json(json!([1, "a"]))));
        // Written another way, or another type: parsed as before.
        let p = d.feed_text(r#"2["echo", 1.0]"#).unwrap().unwrap();
        assert_eq!(p.data, Some(Payload::Json(json!(["echo", 1.0]))));
        assert!(matches!(p.data, Some(Payload::Json(_))));
        let p = d.feed_text(r#"0{"token":"x"}"#).unwrap().unwrap();
        assert!(matches!(p.data, Some(Payload::Json(_))));
        // The same rules, the same errors.
        assert_eq!(
            d.feed_text(r#"2["connect",1]"#),
            Err(DecodeError::ReservedEvent("connect".into()))
        );
        assert_eq!(
            d.feed_text(r#"2["conn\u0065ct"]"#),
            Err(DecodeError::ReservedEvent("connect".into()))
        );
        assert_eq!(d.feed_text("3[]"), Err(DecodeError::MissingAckId));
        assert_eq!(d.feed_text("3{}"), Err(DecodeError::MissingAckId));
        assert_eq!(
            d.feed_text("2[]"),
            Err(DecodeError::InvalidPayload(PacketKind::Event))
        );
        assert_eq!(
            d.feed_text("2[null]"),
            Err(DecodeError::InvalidPayload(PacketKind::Event))
        );
        assert_eq!(d.feed_text(r#"3{"a":1}"#), Err(DecodeError::MissingAckId));
        assert_eq!(
            d.feed_text(r#"31{"a":1}"#),
            Err(DecodeError::InvalidPayload(PacketKind::Ack))
        );
    }

    #[test]
    fn collects_exactly_the_announced_attachments() {
        let mut d = Decoder::default();
        let header = r#"62-/admin,9[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;
        assert_eq!(d.feed_text(header), Ok(None));
        assert_eq!(d.awaiting(), 2);
        assert_eq!(d.feed_binary(bytes(b"first")), Ok(None));
        assert_eq!(d.awaiting(), 1);
        let p = d.feed_binary(bytes(b"second")).unwrap().unwrap();
        assert_eq!(d.awaiting(), 0);
        assert_eq!(
            p,
            Packet {
                kind: PacketKind::Ack,
                nsp: "/admin".into(),
                id: Some(9),
                data: Some(Payload::Array(vec![
                    Payload::Binary(bytes(b"second")),
                    Payload::Binary(bytes(b"first")),
                ])),
                attachments: 0,
            }
        );
        // The decoder is ready for the next packet.
        assert!(d.feed_text(r#"2["next"]"#).unwrap().is_some());
    }

    #[test]
    fn text_while_awaiting_is_an_error() {
        let mut d = Decoder::default();
        d.feed_text(r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
            .unwrap();
        d.feed_binary(bytes(b"x")).unwrap();
        assert_eq!(
            d.feed_text(r#"2["b"]"#),
            Err(DecodeError::UnexpectedText { remaining: 1 })
        );
        // The partial packet is gone.
        assert_eq!(d.awaiting(), 0);
        assert!(d.feed_text(r#"2["b"]"#).unwrap().is_some());
    }

    #[test]
    fn binary_without_header_is_an_error() {
        let mut d = Decoder::default();
        assert_eq!(
            d.feed_binary(bytes(b"x")),
            Err(DecodeError::UnexpectedBinary)
        );
        d.feed_text(r#"51-["a",{"_placeholder":true,"num":0}]"#)
            .unwrap();
        assert!(d.feed_binary(bytes(b"x")).unwrap().is_some());
        assert_eq!(
            d.feed_binary(bytes(b"y")),
            Err(DecodeError::UnexpectedBinary)
        );
    }

    #[test]
    fn placeholder_out_of_range_is_an_error() {
        let mut d = Decoder::default();
        d.feed_text(r#"51-["a",{"_placeholder":true,"num":1}]"#)
            .unwrap();
        assert_eq!(
            d.feed_binary(bytes(b"x")),
            Err(DecodeError::InvalidPlaceholder)
        );
        assert_eq!(d.awaiting(), 0);
    }

    #[test]
    fn header_errors_and_limits() {
        let mut d = Decoder::new(DecoderConfig::default().max_attachments(2));
        assert_eq!(
            d.feed_text(r#"53-["a"]"#),
            Err(DecodeError::TooManyAttachments { max: 2 })
        );
        assert_eq!(
            d.feed_text(r#"50-["a"]"#),
            Err(DecodeError::ZeroAttachments)
        );
        assert_eq!(d.feed_text("9"), Err(DecodeError::UnknownType(b'9')));
        assert_eq!(d.awaiting(), 0);
        d.feed_text(r#"51-["a",{"_placeholder":true,"num":0}]"#)
            .unwrap();
        d.reset();
        assert_eq!(
            d.feed_binary(bytes(b"x")),
            Err(DecodeError::UnexpectedBinary)
        );
    }

    #[test]
    fn unused_and_repeated_buffers_follow_the_reference() {
        let mut d = Decoder::default();
        d.feed_text(r#"52-["a",{"_placeholder":true,"num":1},{"_placeholder":true,"num":1}]"#)
            .unwrap();
        d.feed_binary(bytes(b"unused")).unwrap();
        let p = d.feed_binary(bytes(b"twice")).unwrap().unwrap();
        let twice = Payload::Binary(bytes(b"twice"));
        assert_eq!(
            p.data,
            Some(Payload::Array(vec![
                json!("a").into(),
                twice.clone(),
                twice
            ]))
        );
    }
}
