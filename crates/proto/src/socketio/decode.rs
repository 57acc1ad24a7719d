use std::borrow::Cow;

use serde_json::Value;

use super::{
    DecodeError, DecoderConfig, Packet, PacketKind, Payload, RESERVED_EVENTS, RawJson, json,
};

/// Decodes the text part of a Socket.IO packet (the data of an Engine.IO message,
/// without its `4`).
///
/// It follows the reference parser (npm `socket.io-parser` 4.2): an optional
/// namespace starts with `/` and ends at the first `,` or at the end of the text;
/// an ack id is the decimal digits after it; anything left is JSON. A binary type
/// yields its placeholder form and attachment count; feeding frames to a
/// [`Decoder`](super::Decoder) puts the attachments in place.
///
/// The payload must fit the type, as the reference's `isPacketValid` requires:
///
/// | type | payload |
/// |---|---|
/// | CONNECT | absent, or an object |
/// | DISCONNECT | absent |
/// | EVENT, BINARY_EVENT | a non-empty array whose first element is a number or a string not in [`RESERVED_EVENTS`] |
/// | ACK, BINARY_ACK | an array, and the packet has an ack id |
/// | CONNECT_ERROR | an object, or a string (the Engine.IO v3 form) |
///
/// Stricter than the reference in three places, all of which a conforming peer
/// never sends: digits only in counts and ids (JavaScript's `Number()` would also
/// take spaces), an ack id must fit in a `u64`, and events, acks and connect errors
/// must carry a payload (the reference decoder lets a missing one through and the
/// socket layer then misbehaves).
///
/// ```
/// use ferrio_proto::socketio::{DecoderConfig, PacketKind, decode_packet};
///
/// let p = decode_packet(r#"2/admin,13["ask",1]"#, &DecoderConfig::default()).unwrap();
/// assert_eq!((p.kind, p.nsp.as_ref(), p.id), (PacketKind::Event, "/admin", Some(13)));
/// assert_eq!(p.data, Some(serde_json::json!(["ask", 1])));
/// ```
pub fn decode_packet(text: &str, config: &DecoderConfig) -> Result<Packet, DecodeError> {
    parse_payload(&decode_header(text, config)?, config)
}

/// Everything [`decode_packet`] does after the header: parses and checks the payload.
pub(crate) fn parse_payload(
    header: &Header<'_>,
    config: &DecoderConfig,
) -> Result<Packet, DecodeError> {
    let data = match header.rest {
        "" => None,
        rest => Some(json::parse(rest, config.max_depth, config.max_json_values)?),
    };
    check_payload(header.kind, header.id, data.as_ref())?;
    Ok(header.with_data(data))
}

/// A text packet cut up, its payload not yet looked at.
pub(crate) struct Header<'a> {
    pub kind: PacketKind,
    pub attachments: usize,
    pub nsp: &'a str,
    pub id: Option<u64>,
    /// The payload's text: empty, or JSON to check.
    pub rest: &'a str,
}

impl Header<'_> {
    pub(super) fn with_data<D>(&self, data: Option<D>) -> Packet<D> {
        Packet {
            kind: self.kind,
            nsp: packet_namespace(self.nsp),
            id: self.id,
            data,
            attachments: self.attachments,
        }
    }
}

/// A namespace name as [`Packet::nsp`] holds it: the main namespace borrowed,
/// so most packets carry no allocated name.
pub fn packet_namespace(name: &str) -> Cow<'static, str> {
    match name {
        "/" => Cow::Borrowed("/"),
        other => Cow::Owned(other.to_owned()),
    }
}

/// Everything [`decode_packet`] does before the payload.
pub(crate) fn decode_header<'a>(
    text: &'a str,
    config: &DecoderConfig,
) -> Result<Header<'a>, DecodeError> {
    let bytes = text.as_bytes();
    let &first = bytes.first().ok_or(DecodeError::Empty)?;
    let kind = PacketKind::from_char(first).ok_or(DecodeError::UnknownType(first))?;
    // Every delimiter is ASCII, so each index below is a char boundary.
    let mut i = 1;

    let mut attachments = 0;
    if kind.is_binary() {
        let end = i + count_digits(&bytes[i..]);
        if end == i || bytes.get(end) != Some(&b'-') {
            return Err(DecodeError::InvalidAttachmentCount);
        }
        let too_many = DecodeError::TooManyAttachments {
            max: config.max_attachments,
        };
        attachments = parse_decimal(&bytes[i..end]).ok_or(too_many.clone())?;
        if attachments == 0 {
            return Err(DecodeError::ZeroAttachments);
        }
        if attachments > config.max_attachments as u64 {
            return Err(too_many);
        }
        i = end + 1;
    }

    let nsp = if bytes.get(i) == Some(&b'/') {
        match text[i..].find(',') {
            Some(len) => {
                let nsp = &text[i..i + len];
                i += len + 1;
                nsp
            }
            None => {
                let nsp = &text[i..];
                i = text.len();
                nsp
            }
        }
    } else {
        "/"
    };

    let end = i + count_digits(&bytes[i..]);
    let id = if end > i {
        let id = parse_decimal(&bytes[i..end]).ok_or(DecodeError::InvalidAckId)?;
        i = end;
        Some(id)
    } else {
        None
    };

    Ok(Header {
        kind,
        // Bounded by `max_attachments`, a usize, so the conversion is lossless.
        attachments: attachments as usize,
        nsp,
        id,
        rest: &text[i..],
    })
}

/// The payload of a plain EVENT or ACK as an array of [`RawJson`] items, when its
/// text is canonical; `Ok(None)` when it must be parsed instead (other types, other
/// layouts, too deep: [`decode_packet`] then gives the same packet or error as
/// ever). Checks what [`check_payload`] checks, with the same errors.
pub(crate) fn raw_payload(
    header: &Header<'_>,
    config: &DecoderConfig,
) -> Result<Option<Vec<Payload>>, DecodeError> {
    if !matches!(header.kind, PacketKind::Event | PacketKind::Ack) {
        return Ok(None);
    }
    let Some(items) = RawJson::array_items(header.rest, config.max_depth, config.max_json_values)
    else {
        return Ok(None);
    };
    if header.kind == PacketKind::Ack {
        header.id.ok_or(DecodeError::MissingAckId)?;
        return Ok(Some(items));
    }
    let invalid = DecodeError::InvalidPayload(header.kind);
    let Some(Payload::Raw(name)) = items.first() else {
        return Err(invalid);
    };
    if !name.is_number() {
        let name = name.as_string().ok_or(invalid)?;
        if RESERVED_EVENTS.contains(&name.as_ref()) {
            return Err(DecodeError::ReservedEvent(name.into_owned()));
        }
    }
    Ok(Some(items))
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Parses ASCII digits (leading zeros allowed); `None` if the value overflows.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn check_payload(
    kind: PacketKind,
    id: Option<u64>,
    data: Option<&Value>,
) -> Result<(), DecodeError> {
    let invalid = DecodeError::InvalidPayload(kind);
    match kind {
        PacketKind::Connect => match data {
            None | Some(Value::Object(_)) => Ok(()),
            Some(_) => Err(invalid),
        },
        PacketKind::Disconnect => match data {
            None => Ok(()),
            Some(_) => Err(DecodeError::UnexpectedPayload(kind)),
        },
        PacketKind::Event | PacketKind::BinaryEvent => {
            match data.ok_or(DecodeError::MissingPayload(kind))? {
                Value::Array(args) => match args.first() {
                    Some(Value::Number(_)) => Ok(()),
                    Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                        Err(DecodeError::ReservedEvent(name.clone()))
                    }
                    Some(Value::String(_)) => Ok(()),
                    _ => Err(invalid),
                },
                _ => Err(invalid),
            }
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            id.ok_or(DecodeError::MissingAckId)?;
            match data.ok_or(DecodeError::MissingPayload(kind))? {
                Value::Array(_) => Ok(()),
                _ => Err(invalid),
            }
        }
        PacketKind::ConnectError => match data.ok_or(DecodeError::MissingPayload(kind))? {
            Value::Object(_) | Value::String(_) => Ok(()),
            _ => Err(invalid),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::socketio::encode_packet;

    fn decode(text: &str) -> Result<Packet, DecodeError> {
        decode_packet(text, &DecoderConfig::default())
    }

    fn packet(kind: PacketKind, nsp: &'static str, id: Option<u64>, data: Option<Value>) -> Packet {
        Packet {
            kind,
            nsp: nsp.into(),
            id,
            data,
            attachments: 0,
        }
    }

    /// Decodes, and checks that encoding gives the same text back.
    fn decode_canonical(text: &str) -> Packet {
        let p = decode(text).unwrap();
        let mut out = Vec::new();
        encode_packet(&p, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), text);
        p
    }

    #[test]
    fn the_main_namespace_is_borrowed() {
        assert!(matches!(
            decode(r#"2["a"]"#).unwrap().nsp,
            Cow::Borrowed("/")
        ));
        assert!(matches!(
            decode(r#"2/,["a"]"#).unwrap().nsp,
            Cow::Borrowed("/")
        ));
        let other = decode(r#"2/x,["a"]"#).unwrap().nsp;
        assert!(matches!(other, Cow::Owned(ref n) if n == "/x"));
    }

    #[test]
    fn decodes_the_spec_examples() {
        use PacketKind::*;
        assert_eq!(decode_canonical("0"), packet(Connect, "/", None, None));
        assert_eq!(
            decode_canonical(r#"0/admin,{"token":"x"}"#),
            packet(Connect, "/admin", None, Some(json!({"token": "x"})))
        );
        assert_eq!(
            decode_canonical(r#"0{"sid":"abc"}"#),
            packet(Connect, "/", None, Some(json!({"sid": "abc"})))
        );
        assert_eq!(
            decode_canonical("1/admin,"),
            packet(Disconnect, "/admin", None, None)
        );
        assert_eq!(
            decode_canonical(r#"2["hello","world"]"#),
            packet(Event, "/", None, Some(json!(["hello", "world"])))
        );
        assert_eq!(
            decode_canonical(r#"2/admin,13["ask",1]"#),
            packet(Event, "/admin", Some(13), Some(json!(["ask", 1])))
        );
        assert_eq!(
            decode_canonical(r#"313[{"ok":true}]"#),
            packet(Ack, "/", Some(13), Some(json!([{"ok": true}])))
        );
        assert_eq!(
            decode_canonical(r#"4{"message":"Not authorized","data":{"code":401}}"#),
            packet(
                ConnectError,
                "/",
                None,
                Some(json!({"message": "Not authorized", "data": {"code": 401}}))
            )
        );
        let bin = decode_canonical(r#"51-["img",{"_placeholder":true,"num":0}]"#);
        assert_eq!((bin.kind, bin.attachments), (BinaryEvent, 1));
        assert_eq!(
            bin.data,
            Some(json!(["img", {"_placeholder": true, "num": 0}]))
        );
    }

    #[test]
    fn namespace_rules() {
        // Without a trailing comma when nothing follows.
        assert_eq!(decode("1/admin").unwrap().nsp, "/admin");
        assert_eq!(decode("0/admin").unwrap().nsp, "/admin");
        // An explicit main namespace.
        assert_eq!(decode("1/,").unwrap().nsp, "/");
        // The namespace runs to the first comma, whatever it holds.
        let p = decode(r#"2/a/b?x=1,["e",","]"#).unwrap();
        assert_eq!(
            (p.nsp.as_ref(), p.data),
            ("/a/b?x=1", Some(json!(["e", ","])))
        );
        // No comma: everything is the namespace, as in the reference.
        assert_eq!(decode(r#"0/x{"a":1}"#).unwrap().nsp, r#"/x{"a":1}"#);
        // Namespaces are UTF-8.
        assert_eq!(decode("1/héllo,").unwrap().nsp, "/héllo");
        // With attachments and an id.
        let p =
            decode(r#"62-/admin,7[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
                .unwrap();
        assert_eq!(
            (p.kind, p.attachments, p.nsp.as_ref(), p.id),
            (PacketKind::BinaryAck, 2, "/admin", Some(7))
        );
    }

    #[test]
    fn ack_id_rules() {
        assert_eq!(decode(r#"2007["a"]"#).unwrap().id, Some(7));
        assert_eq!(
            decode(&format!("3{}[]", u64::MAX)).unwrap().id,
            Some(u64::MAX)
        );
        assert_eq!(
            decode("318446744073709551616[]"),
            Err(DecodeError::InvalidAckId)
        );
        assert_eq!(decode(r#"2["a"]"#).unwrap().id, None);
        // An id on a connect is accepted, like the reference does.
        assert_eq!(decode("05").unwrap().id, Some(5));
    }

    #[test]
    fn type_rules() {
        assert_eq!(decode(""), Err(DecodeError::Empty));
        assert_eq!(decode("7"), Err(DecodeError::UnknownType(b'7')));
        assert_eq!(decode("a"), Err(DecodeError::UnknownType(b'a')));
        assert_eq!(decode("ü"), Err(DecodeError::UnknownType(0xc3)));
    }

    #[test]
    fn attachment_rules() {
        let cfg = DecoderConfig::default();
        let event = |n: &str| format!(r#"5{n}["a",{{"_placeholder":true,"num":0}}]"#);
        assert_eq!(decode(&event("10-")).unwrap().attachments, 10);
        assert_eq!(decode(&event("01-")).unwrap().attachments, 1);
        assert_eq!(
            decode(&event("11-")),
            Err(DecodeError::TooManyAttachments { max: 10 })
        );
        assert_eq!(
            decode(&event("99999999999999999999999-")),
            Err(DecodeError::TooManyAttachments { max: 10 })
        );
        assert_eq!(
            decode_packet(&event("11-"), &cfg.max_attachments(11))
                .unwrap()
                .attachments,
            11
        );
        assert_eq!(decode(&event("0-")), Err(DecodeError::ZeroAttachments));
        assert_eq!(
            decode(&event("-")),
            Err(DecodeError::InvalidAttachmentCount)
        );
        assert_eq!(
            decode(&event("1")),
            Err(DecodeError::InvalidAttachmentCount)
        );
        assert_eq!(
            decode(&event(" 1-")),
            Err(DecodeError::InvalidAttachmentCount)
        );
        assert_eq!(
            decode(&event("+1-")),
            Err(DecodeError::InvalidAttachmentCount)
        );
        assert_eq!(decode("5"), Err(DecodeError::InvalidAttachmentCount));
        // Plain types have no count: `2` followed by digits is an ack id.
        assert!(matches!(
            decode(r#"21-["a"]"#),
            Err(DecodeError::InvalidJson { .. })
        ));
    }

    #[test]
    fn connect_payload_rules() {
        assert!(decode(r#"0{}"#).is_ok());
        for bad in ["0[]", r#"0"x""#, "0null", "0/a,1true"] {
            assert_eq!(
                decode(bad),
                Err(DecodeError::InvalidPayload(PacketKind::Connect)),
                "{bad}"
            );
        }
    }

    #[test]
    fn disconnect_payload_rules() {
        assert!(decode("1").is_ok());
        assert_eq!(
            decode("1{}"),
            Err(DecodeError::UnexpectedPayload(PacketKind::Disconnect))
        );
        assert_eq!(
            decode("1/a,[]"),
            Err(DecodeError::UnexpectedPayload(PacketKind::Disconnect))
        );
    }

    #[test]
    fn event_payload_rules() {
        use PacketKind::Event;
        assert!(decode(r#"2[1]"#).is_ok());
        assert!(decode(r#"2[1.5,{"a":[]}]"#).is_ok());
        assert!(decode(r#"2["connected"]"#).is_ok());
        assert_eq!(decode("2"), Err(DecodeError::MissingPayload(Event)));
        assert_eq!(decode("2/a,12"), Err(DecodeError::MissingPayload(Event)));
        assert_eq!(decode("2[]"), Err(DecodeError::InvalidPayload(Event)));
        assert_eq!(
            decode(r#"2{"a":1}"#),
            Err(DecodeError::InvalidPayload(Event))
        );
        assert_eq!(decode(r#"2"a""#), Err(DecodeError::InvalidPayload(Event)));
        assert_eq!(decode("2[null]"), Err(DecodeError::InvalidPayload(Event)));
        assert_eq!(
            decode("2[[\"a\"]]"),
            Err(DecodeError::InvalidPayload(Event))
        );
        for name in RESERVED_EVENTS {
            assert_eq!(
                decode(&format!(r#"2["{name}",1]"#)),
                Err(DecodeError::ReservedEvent(name.to_string()))
            );
            assert_eq!(
                decode(&format!(r#"51-["{name}",{{"_placeholder":true,"num":0}}]"#)),
                Err(DecodeError::ReservedEvent(name.to_string()))
            );
        }
        assert_eq!(
            decode(r#"51-[{"_placeholder":true,"num":0}]"#),
            Err(DecodeError::InvalidPayload(PacketKind::BinaryEvent))
        );
    }

    #[test]
    fn ack_payload_rules() {
        use PacketKind::{Ack, BinaryAck};
        assert!(decode("30[]").is_ok());
        assert_eq!(decode("3[]"), Err(DecodeError::MissingAckId));
        assert_eq!(decode("3"), Err(DecodeError::MissingAckId));
        assert_eq!(decode("31"), Err(DecodeError::MissingPayload(Ack)));
        assert_eq!(
            decode(r#"31{"a":1}"#),
            Err(DecodeError::InvalidPayload(Ack))
        );
        assert_eq!(decode(r#"61-[]"#), Err(DecodeError::MissingAckId));
        assert_eq!(
            decode(r#"61-1"a""#),
            Err(DecodeError::InvalidPayload(BinaryAck))
        );
    }

    #[test]
    fn connect_error_payload_rules() {
        use PacketKind::ConnectError;
        assert_eq!(
            decode(r#"4/admin,"Invalid namespace""#).unwrap().data,
            Some(json!("Invalid namespace"))
        );
        assert_eq!(decode("4"), Err(DecodeError::MissingPayload(ConnectError)));
        assert_eq!(
            decode("4[]"),
            Err(DecodeError::InvalidPayload(ConnectError))
        );
        assert_eq!(
            decode("4null"),
            Err(DecodeError::InvalidPayload(ConnectError))
        );
    }

    #[test]
    fn json_rules() {
        assert_eq!(
            decode(r#"2["a",]"#),
            Err(DecodeError::InvalidJson { line: 1, column: 6 })
        );
        assert!(matches!(
            decode(r#"2["a"] x"#),
            Err(DecodeError::InvalidJson { .. })
        ));
        // Whitespace around the JSON is accepted, as JSON.parse does.
        assert!(decode("2 [\"a\"] ").is_ok());
        let deep = format!("2[\"a\",{}{}]", "[".repeat(64), "]".repeat(64));
        assert_eq!(decode(&deep), Err(DecodeError::TooDeep { max: 64 }));
        let ok = format!("2[\"a\",{}{}]", "[".repeat(63), "]".repeat(63));
        assert!(decode(&ok).is_ok());
        let hostile = format!("2{}", "[".repeat(1 << 20));
        assert_eq!(decode(&hostile), Err(DecodeError::TooDeep { max: 64 }));
    }

    #[test]
    fn values_are_counted_before_parsing() {
        let config = DecoderConfig::default().max_json_values(4);
        let too_many = DecodeError::TooManyValues { max: 4 };
        // The array, the name, the object and its value: four values.
        assert!(decode_packet(r#"2["e",{"a":1}]"#, &config).is_ok());
        assert!(decode_packet(r#"0{"a":[1,"]]]],,,,"]}"#, &config).is_ok());
        for bad in [
            r#"2["e",1,2,3]"#,
            r#"2["e",[1,2]]"#,
            r#"2["e", 1, 2, 3]"#,
            r#"0{"a":[1,2,3]}"#,
            r#"51-["e",{"_placeholder":true,"num":0}]"#,
        ] {
            assert_eq!(decode_packet(bad, &config), Err(too_many.clone()), "{bad}");
            let mut decoder = crate::socketio::Decoder::new(config);
            assert_eq!(decoder.feed_text(bad), Err(too_many.clone()), "{bad}");
        }
        // Kept as text or parsed, a packet meets the same limit.
        for text in [
            r#"2["e",[],{},[[]],{"a":[]},"[,"]"#,
            r#"2["e",{"a":1,"b":[2,3]}]"#,
        ] {
            for max in 1..12 {
                let config = DecoderConfig::default().max_json_values(max);
                let raw = crate::socketio::Decoder::new(config).feed_text(text);
                assert!(matches!(
                    raw,
                    Ok(Some(Packet {
                        data: Some(Payload::Array(_)),
                        ..
                    })) | Err(_)
                ));
                assert_eq!(
                    raw.is_ok(),
                    decode_packet(text, &config).is_ok(),
                    "{text} {max}"
                );
            }
        }
        let zeros = format!("2[\"e\",{}]", vec!["0"; 10_000].join(","));
        assert_eq!(
            crate::socketio::Decoder::default().feed_text(&zeros),
            Err(DecodeError::TooManyValues { max: 10_000 })
        );
    }
}
