use std::borrow::Cow;

use serde_json::Value;

use super::{PacketKind, json};

/// One Socket.IO packet.
///
/// `D` is the type of the payload. A `Packet<Value>` (the default) is the text part
/// exactly as it travels: binary attachments appear as
/// `{"_placeholder":true,"num":N}` objects and [`attachments`](Self::attachments)
/// counts them. A `Packet<`[`Payload`](super::Payload)`>` is what an application
/// sees: binary data sits in place, and the type is never a binary one (see
/// [`deconstruct`](Self::deconstruct) and [`Decoder`](super::Decoder)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<D = Value> {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace, starting with `/`; `/` is the main namespace.
    ///
    /// It must not contain `,`: on the wire the namespace ends at the first comma.
    /// The main namespace is borrowed, so most packets carry no allocated name.
    pub nsp: Cow<'static, str>,
    /// The ack id: on an event, the sender wants an acknowledgement with this id; on
    /// an ack, the event it answers.
    pub id: Option<u64>,
    /// The payload, if the packet has one.
    pub data: Option<D>,
    /// How many binary attachments follow the text packet. Meaningful only for the
    /// binary types; the decoder sets it to 0 for the others and the encoder ignores
    /// it there.
    pub attachments: usize,
}

impl<D> Packet<D> {
    /// A packet without ack id or attachments.
    pub fn new(kind: PacketKind, nsp: impl Into<Cow<'static, str>>, data: Option<D>) -> Self {
        Self {
            kind,
            nsp: nsp.into(),
            id: None,
            data,
            attachments: 0,
        }
    }

    /// The same packet with an ack id.
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// The same packet with its payload converted by `f`.
    pub fn map_data<E>(self, f: impl FnOnce(D) -> E) -> Packet<E> {
        Packet {
            kind: self.kind,
            nsp: self.nsp,
            id: self.id,
            data: self.data.map(f),
            attachments: self.attachments,
        }
    }
}

/// Appends the text form of a packet: `<type>[<n>-][<nsp>,][<id>][<json>]`.
///
/// The namespace is written only when it is not `/` (nor empty); the JSON is written
/// as JavaScript's `JSON.stringify` would write it. The output decodes back to the
/// same packet when the packet obeys the rules [`decode_packet`](super::decode_packet)
/// checks; the encoder itself does not check them.
///
/// This is the data of an Engine.IO message; see [`encode_message`] for the form
/// with the Engine.IO `4` in front.
#[doc(hidden)]
pub fn encode_packet(packet: &Packet, out: &mut Vec<u8>) {
    write_header(packet, out);
    if let Some(data) = &packet.data {
        json::write_value(data, out);
    }
}

/// Appends everything before the payload: `<type>[<n>-][<nsp>,][<id>]`.
pub(crate) fn write_header<D>(packet: &Packet<D>, out: &mut Vec<u8>) {
    out.push(packet.kind.as_char());
    if packet.kind.is_binary() {
        write_decimal(packet.attachments as u64, out);
        out.push(b'-');
    }
    if !packet.nsp.is_empty() && packet.nsp != "/" {
        out.extend_from_slice(packet.nsp.as_bytes());
        out.push(b',');
    }
    if let Some(id) = packet.id {
        write_decimal(id, out);
    }
}

/// Appends `n` in decimal; `write!` would go through the formatting machinery,
/// a cost on every ack.
fn write_decimal(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Appends a packet as a complete Engine.IO text message (`4` then the packet), ready
/// for a WebSocket text frame or a long-polling payload.
#[doc(hidden)]
pub fn encode_message(packet: &Packet, out: &mut Vec<u8>) {
    out.push(b'4');
    encode_packet(packet, out);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn encoded(packet: &Packet) -> String {
        let mut out = Vec::new();
        encode_packet(packet, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_the_spec_examples() {
        use PacketKind::*;
        let p = |kind, nsp: &'static str, data| Packet::new(kind, nsp, data);
        assert_eq!(encoded(&p(Connect, "/", None)), "0");
        assert_eq!(
            encoded(&p(Connect, "/admin", Some(json!({"token": "x"})))),
            r#"0/admin,{"token":"x"}"#
        );
        assert_eq!(
            encoded(&p(Connect, "/", Some(json!({"sid": "abc"})))),
            r#"0{"sid":"abc"}"#
        );
        assert_eq!(encoded(&p(Disconnect, "/admin", None)), "1/admin,");
        assert_eq!(
            encoded(&p(Event, "/", Some(json!(["hello", "world"])))),
            r#"2["hello","world"]"#
        );
        assert_eq!(
            encoded(&p(Event, "/admin", Some(json!(["ask", 1]))).with_id(13)),
            r#"2/admin,13["ask",1]"#
        );
        assert_eq!(
            encoded(&p(Ack, "/", Some(json!([{"ok": true}]))).with_id(13)),
            r#"313[{"ok":true}]"#
        );
        assert_eq!(
            encoded(&p(
                ConnectError,
                "/",
                Some(json!({"message": "Not authorized", "data": {"code": 401}}))
            )),
            r#"4{"message":"Not authorized","data":{"code":401}}"#
        );
        let mut bin = p(
            BinaryEvent,
            "/",
            Some(json!(["img", {"_placeholder": true, "num": 0}])),
        );
        bin.attachments = 1;
        assert_eq!(encoded(&bin), r#"51-["img",{"_placeholder":true,"num":0}]"#);
    }

    #[test]
    fn empty_namespace_is_the_main_one_and_attachments_need_a_binary_type() {
        let mut p = Packet::new(PacketKind::Event, "", Some(json!(["a"])));
        p.attachments = 3;
        assert_eq!(encoded(&p), r#"2["a"]"#);
    }

    #[test]
    fn engine_message_has_the_prefix_and_appends() {
        let mut out = b"x".to_vec();
        encode_message(
            &Packet::<Value>::new(PacketKind::Disconnect, "/", None),
            &mut out,
        );
        assert_eq!(out, b"x41");
    }

    #[test]
    fn numbers_in_the_header_are_decimal() {
        for n in [0, 7, 10, 99, 12345, u64::MAX] {
            let mut out = Vec::new();
            write_decimal(n, &mut out);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn map_data_keeps_the_header() {
        let p = Packet::new(PacketKind::Ack, "/a", Some(1)).with_id(7);
        let q = p.map_data(|n| n + 1);
        assert_eq!(
            (q.kind, q.nsp.as_ref(), q.id, q.data),
            (PacketKind::Ack, "/a", Some(7), Some(2))
        );
    }
}
