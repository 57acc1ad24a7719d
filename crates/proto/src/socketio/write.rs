//! Writing an application's packet straight to its wire form.

use bytes::Bytes;

use super::packet::write_header;
use super::{Packet, Payload, encode_message, json};

impl Packet<Payload> {
    /// Appends the packet as a complete Engine.IO text message (`4`, then the
    /// packet) and returns its attachments, to send in order after it.
    ///
    /// The bytes are those of [`deconstruct`](Self::deconstruct) followed by
    /// [`encode_message`], but a packet without binary data is written from its
    /// payload as it is: [`Raw`](Payload::Raw) text is copied, [`Json`](Payload::Json)
    /// values are written in place, and no intermediate tree is built.
    ///
    /// ```
    /// use ferrio_proto::socketio::{Packet, PacketKind, Payload, RawJson};
    /// use serde_json::json;
    ///
    /// let args = vec![Payload::Raw(RawJson::new(r#"{"t":1}"#).unwrap()), json!(2).into()];
    /// let ack = Packet::new(PacketKind::Ack, "/", Some(Payload::Array(args))).with_id(7);
    /// let mut out = Vec::new();
    /// assert!(ack.write_message(&mut out).is_empty());
    /// assert_eq!(out, br#"437[{"t":1},2]"#);
    /// ```
    pub fn write_message(self, out: &mut Vec<u8>) -> Vec<Bytes> {
        if self.data.as_ref().is_some_and(Payload::has_binary) {
            let (header, buffers) = self.deconstruct();
            encode_message(&header, out);
            return buffers;
        }
        // Exact when every value is raw text, as when an event's arguments are
        // passed on: a buffer with no spare room becomes `Bytes` without a copy
        // or an allocation more.
        let header = 2 + namespace_len(&self.nsp) + self.id.map_or(0, decimal_len);
        out.reserve_exact(header + self.data.as_ref().map_or(0, text_len_hint));
        out.push(b'4');
        let plain = Packet {
            kind: self.kind.to_plain(),
            nsp: self.nsp,
            id: self.id,
            data: self.data,
            attachments: 0,
        };
        write_header(&plain, out);
        if let Some(data) = &plain.data {
            write_payload(data, out);
        }
        Vec::new()
    }
}

/// Appends a payload without binary data.
fn write_payload(payload: &Payload, out: &mut Vec<u8>) {
    match payload {
        Payload::Json(value) => json::write_value(value, out),
        Payload::Raw(raw) => out.extend_from_slice(raw.as_str().as_bytes()),
        Payload::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_payload(item, out);
            }
            out.push(b']');
        }
        // Keys may repeat: the tree form settles which value is written.
        Payload::Object(_) | Payload::Binary(_) => {
            json::write_value(&payload.to_value().unwrap_or_default(), out);
        }
    }
}

/// Bytes the namespace takes in the header: `<nsp>,`, none for the main one.
fn namespace_len(nsp: &str) -> usize {
    if nsp.is_empty() || nsp == "/" {
        0
    } else {
        nsp.len() + 1
    }
}

fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |digits| digits as usize + 1)
}

/// Room to reserve for a payload: exact for raw text, a guess for the rest.
fn text_len_hint(payload: &Payload) -> usize {
    match payload {
        Payload::Raw(raw) => raw.as_str().len(),
        Payload::Array(items) => {
            let commas = items.len().saturating_sub(1);
            2 + commas + items.iter().map(text_len_hint).sum::<usize>()
        }
        _ => 32,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::socketio::{PacketKind, RawJson};

    /// What `deconstruct` then `encode_message` write.
    fn reference(packet: Packet<Payload>) -> (Vec<u8>, Vec<Bytes>) {
        let (header, buffers) = packet.deconstruct();
        let mut out = Vec::new();
        encode_message(&header, &mut out);
        (out, buffers)
    }

    fn written(packet: Packet<Payload>) -> (Vec<u8>, Vec<Bytes>) {
        let mut out = Vec::new();
        let buffers = packet.write_message(&mut out);
        (out, buffers)
    }

    #[test]
    fn writes_what_deconstruct_and_encode_write() {
        let raw = |t: &str| Payload::Raw(RawJson::new(t).unwrap());
        let bin = Payload::Binary(Bytes::from_static(&[1, 2]));
        let packets = [
            Packet::new(
                PacketKind::Ack,
                "/",
                Some(Payload::Array(vec![raw(r#"{"a":"x"}"#)])),
            )
            .with_id(12),
            Packet::new(
                PacketKind::Event,
                "/chat",
                Some(Payload::Array(vec![
                    json!("ev").into(),
                    raw("[1,2]"),
                    json!(null).into(),
                ])),
            ),
            Packet::new(PacketKind::BinaryEvent, "/", Some(json!(["plain"]).into())),
            Packet::new(
                PacketKind::Event,
                "/",
                Some(Payload::Array(vec![
                    json!("img").into(),
                    raw("3"),
                    bin.clone(),
                ])),
            )
            .with_id(1),
            Packet::new(
                PacketKind::Ack,
                "/",
                Some(Payload::Array(vec![Payload::Object(vec![
                    ("a".into(), raw("1")),
                    ("a".into(), json!(2).into()),
                ])])),
            )
            .with_id(3),
            Packet::new(PacketKind::Connect, "/", Some(json!({"sid": "x"}).into())),
            Packet::new(PacketKind::Disconnect, "/a", None),
        ];
        for packet in packets {
            assert_eq!(written(packet.clone()), reference(packet));
        }
    }

    #[test]
    fn raw_packets_fill_their_buffer_exactly() {
        for (nsp, id) in [
            ("/", None),
            ("/", Some(0)),
            ("/chat", Some(9)),
            ("/a", Some(10)),
        ] {
            let args = vec![Payload::Raw(RawJson::new(r#"{"t":1}"#).unwrap())];
            let mut packet = Packet::new(PacketKind::Ack, nsp, Some(Payload::Array(args)));
            packet.id = id;
            let mut out = Vec::new();
            packet.write_message(&mut out);
            assert_eq!(
                out.len(),
                out.capacity(),
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
        assert_eq!(
            [0, 9, 10, 99, 100, u64::MAX].map(decimal_len),
            [1, 1, 2, 2, 3, 20]
        );
    }
}
