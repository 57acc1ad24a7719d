//! How the generator speaks to the server: the transport, the Socket.IO
//! parser, a binary attachment per message and permessage-deflate, and the
//! scheduler's messages written in that form.
//!
//! ```text
//!  default parser             42<ack>["echo",{"t":…,"p":"x…"}]                        (one text message)
//!   + --binary N              451-<ack>["echo",{"t":…,"p":"x…"},{"_placeholder":true,"num":0}]
//!                             then N bytes                                           (text + binary message)
//!  --parser msgpack           {type:2,data:["echo",{t:…,p:"x…"}(,<bin N>)],nsp:"/",id:<ack>}  (one binary message)
//!  --transport polling        the same Engine.IO messages in long-polling payloads (binary as b<base64>)
//!  --deflate                  WebSocket only: the server's compressed messages are inflated
//! ```

use std::io::Write as _;

use super::Scenario;

/// How the messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Transport {
    /// One WebSocket per connection.
    Websocket,
    /// HTTP long-polling, never upgraded: a GET always waiting for the server's
    /// packets and POSTs for the client's, each on a keep-alive connection of
    /// its own.
    Polling,
}

/// How Socket.IO packets are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Codec {
    /// socket.io-parser: JSON text, binary attachments as messages of their own.
    Default,
    /// socket.io-msgpack-parser: every packet one binary MessagePack message.
    Msgpack,
}

impl Codec {
    /// The name, as in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Msgpack => "msgpack",
        }
    }
}

impl Transport {
    /// The name, as in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Websocket => "websocket",
            Self::Polling => "polling",
        }
    }
}

/// The protocol options of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mode {
    pub(crate) transport: Transport,
    pub(crate) codec: Codec,
    /// Bytes of the binary attachment each scheduled message carries (0: none).
    pub(crate) binary: usize,
    /// Negotiate permessage-deflate and inflate what the server compresses.
    pub(crate) deflate: bool,
}

impl Mode {
    /// Refuses the options that do not go together.
    pub(crate) fn check(&self, scenario: Scenario) -> Result<(), String> {
        if self.deflate && self.transport == Transport::Polling {
            return Err("--deflate needs --transport websocket: permessage-deflate is a WebSocket extension, long-polling has nothing to compress".into());
        }
        if self.binary > 0 && matches!(scenario, Scenario::Connect | Scenario::Idle) {
            return Err(format!(
                "--binary goes with echo, broadcast or rooms: {} sends no messages",
                scenario.name()
            ));
        }
        Ok(())
    }
}

/// One scheduled message, encoded: its first Engine.IO message and, with the
/// default parser and `--binary`, the attachment that follows it.
pub(crate) struct Outgoing {
    /// The first message's bytes.
    pub(crate) head: Vec<u8>,
    /// Whether the first message is binary (msgpack) rather than text.
    pub(crate) head_binary: bool,
    /// The attachment's bytes, the same for every message (`x`s).
    attachment: Vec<u8>,
    /// Whether an attachment follows the head as a message of its own.
    pub(crate) attached: bool,
    mode: Mode,
}

impl Outgoing {
    /// A reusable buffer for `mode`'s messages.
    pub(crate) fn new(mode: Mode, payload: usize) -> Self {
        Self {
            head: Vec::with_capacity(64 + payload + mode.binary),
            head_binary: mode.codec == Codec::Msgpack,
            attachment: vec![b'x'; mode.binary],
            attached: mode.binary > 0 && mode.codec == Codec::Default,
            mode,
        }
    }

    /// The attachment that follows the head, when there is one.
    pub(crate) fn attachment(&self) -> Option<&[u8]> {
        self.attached.then_some(self.attachment.as_slice())
    }

    /// Writes the event `name` with `room` (if any) and `{"t":t,"p":pad}` as
    /// its arguments, asking for ack `ack` (if any). `name`, `room` and `pad`
    /// must need no JSON escaping.
    pub(crate) fn event(
        &mut self,
        name: &str,
        room: Option<&str>,
        ack: Option<u64>,
        t: u64,
        pad: &str,
    ) {
        self.head.clear();
        match self.mode.codec {
            Codec::Default => self.json_event(name, room, ack, t, pad),
            Codec::Msgpack => self.msgpack_event(name, room, ack, t, pad),
        }
    }

    fn json_event(&mut self, name: &str, room: Option<&str>, ack: Option<u64>, t: u64, pad: &str) {
        // Writing to a Vec cannot fail.
        let out = &mut self.head;
        out.extend_from_slice(if self.attached { b"451-" } else { b"42" });
        if let Some(ack) = ack {
            let _ = write!(out, "{ack}");
        }
        let _ = write!(out, "[\"{name}\",");
        if let Some(room) = room {
            let _ = write!(out, "\"{room}\",");
        }
        let _ = write!(out, "{{\"t\":{t},\"p\":\"{pad}\"}}");
        if self.attached {
            out.extend_from_slice(br#",{"_placeholder":true,"num":0}"#);
        }
        out.push(b']');
    }

    /// `{type: 2, data: [name, (room,) {t, p} (, bin)], nsp: "/", (id)}`, as
    /// socket.io-msgpack-parser encodes a client's packet.
    fn msgpack_event(
        &mut self,
        name: &str,
        room: Option<&str>,
        ack: Option<u64>,
        t: u64,
        pad: &str,
    ) {
        use rmp::encode::{write_array_len, write_bin, write_map_len, write_str, write_uint};
        let out = &mut self.head;
        let args = 2 + u32::from(room.is_some()) + u32::from(self.mode.binary > 0);
        // Writing to a Vec cannot fail.
        let _ = write_map_len(out, if ack.is_some() { 4 } else { 3 });
        let _ = write_str(out, "type");
        let _ = write_uint(out, 2);
        let _ = write_str(out, "data");
        let _ = write_array_len(out, args);
        let _ = write_str(out, name);
        if let Some(room) = room {
            let _ = write_str(out, room);
        }
        let _ = write_map_len(out, 2);
        let _ = write_str(out, "t");
        let _ = write_uint(out, t);
        let _ = write_str(out, "p");
        let _ = write_str(out, pad);
        if self.mode.binary > 0 {
            let _ = write_bin(out, &self.attachment);
        }
        let _ = write_str(out, "nsp");
        let _ = write_str(out, "/");
        if let Some(ack) = ack {
            let _ = write_str(out, "id");
            let _ = write_uint(out, ack);
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferrio_proto::socketio::{DecoderConfig, PacketKind, Payload, msgpack};
    use serde_json::json;

    use super::*;

    fn mode(codec: Codec, binary: usize) -> Mode {
        Mode {
            transport: Transport::Websocket,
            codec,
            binary,
            deflate: false,
        }
    }

    #[test]
    fn json_events_announce_their_attachment() {
        let mut out = Outgoing::new(mode(Codec::Default, 3), 2);
        out.event("echo", None, Some(7), 5, "xx");
        assert_eq!(
            std::str::from_utf8(&out.head).unwrap(),
            r#"451-7["echo",{"t":5,"p":"xx"},{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(out.attachment(), Some(&b"xxx"[..]));
        let mut plain = Outgoing::new(mode(Codec::Default, 0), 0);
        plain.event("room", Some("room-1"), None, 9, "");
        assert_eq!(plain.head, br#"42["room","room-1",{"t":9,"p":""}]"#);
        assert_eq!(plain.attachment(), None);
    }

    #[test]
    fn msgpack_events_decode_as_the_parser_reads_them() {
        let mut out = Outgoing::new(mode(Codec::Msgpack, 4), 1);
        out.event("echo", None, Some(3), 1 << 40, "x");
        assert!(out.head_binary && out.attachment().is_none());
        let packet =
            msgpack::decode_packet(&Bytes::from(out.head.clone()), &DecoderConfig::default())
                .unwrap();
        assert_eq!((packet.kind, packet.id), (PacketKind::Event, Some(3)));
        assert_eq!(
            packet.data,
            Some(Payload::Array(vec![
                json!("echo").into(),
                json!({"t": 1u64 << 40, "p": "x"}).into(),
                Bytes::from_static(b"xxxx").into(),
            ]))
        );
    }

    #[test]
    fn refuses_deflate_over_polling_and_binary_without_messages() {
        let polling = Mode {
            transport: Transport::Polling,
            deflate: true,
            ..mode(Codec::Default, 0)
        };
        assert!(
            polling
                .check(Scenario::Echo)
                .unwrap_err()
                .contains("--deflate")
        );
        assert!(mode(Codec::Default, 8).check(Scenario::Idle).is_err());
        assert!(mode(Codec::Msgpack, 8).check(Scenario::Broadcast).is_ok());
    }
}
