//! Engine.IO packets as the driver handles them: owned, transport-neutral.

use std::borrow::Cow;

use bytes::Bytes;
use ferrio_proto::engine::{
    DecodeError, Packet, RECORD_SEPARATOR, decode_payload, decode_text, encode_payload_binary,
};

use super::OutPacket;

/// One packet received from the server, owning its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InPacket {
    /// The handshake JSON.
    Open(String),
    /// The server ends the session.
    Close,
    /// A heartbeat (or `probe`).
    Ping(String),
    /// An answer to `2probe`.
    Pong(String),
    /// A text message.
    Message(String),
    /// A binary message.
    Binary(Bytes),
    /// Not sent by servers; ignored.
    Upgrade,
    /// Nothing (releases a parked poll).
    Noop,
}

impl From<Packet<'_>> for InPacket {
    fn from(packet: Packet<'_>) -> Self {
        match packet {
            Packet::Open(s) => Self::Open(s.to_owned()),
            Packet::Close => Self::Close,
            Packet::Ping(s) => Self::Ping(s.to_owned()),
            Packet::Pong(s) => Self::Pong(s.to_owned()),
            Packet::Message(s) => Self::Message(s.to_owned()),
            Packet::Binary(Cow::Borrowed(b)) => Self::Binary(Bytes::copy_from_slice(b)),
            Packet::Binary(Cow::Owned(b)) => Self::Binary(Bytes::from(b)),
            Packet::Upgrade => Self::Upgrade,
            Packet::Noop => Self::Noop,
        }
    }
}

/// Decodes a WebSocket text frame.
pub(crate) fn decode_frame(text: &str) -> Result<InPacket, DecodeError> {
    decode_text(text).map(InPacket::from)
}

/// Decodes a polling response body into its packets.
pub(crate) fn decode_body(body: &[u8]) -> Result<Vec<InPacket>, DecodeError> {
    decode_payload(body)
        .map(|p| p.map(InPacket::from))
        .collect()
}

/// Appends one frame to a polling payload being built in `out`.
pub(crate) fn encode_frame(frame: &OutPacket, out: &mut Vec<u8>) {
    if !out.is_empty() {
        out.push(RECORD_SEPARATOR);
    }
    match frame {
        OutPacket::Text(text) => out.extend_from_slice(text.as_bytes()),
        OutPacket::Binary(bytes) => encode_payload_binary(bytes, out),
    }
}

/// The size of a frame in a polling payload, separator included.
pub(crate) fn encoded_len(frame: &OutPacket) -> usize {
    1 + match frame {
        OutPacket::Text(text) => text.len(),
        OutPacket::Binary(bytes) => 1 + bytes.len().div_ceil(3) * 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let frames = [
            OutPacket::Text("4hello".into()),
            OutPacket::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            OutPacket::Text("3".into()),
        ];
        let mut out = Vec::new();
        for f in &frames {
            encode_frame(f, &mut out);
        }
        assert_eq!(out, b"4hello\x1ebAQIDBA==\x1e3");
        let expected: usize = frames.iter().map(encoded_len).sum();
        assert_eq!(out.len() + 1, expected, "lengths count one separator each");
        assert_eq!(
            decode_body(&out).unwrap(),
            [
                InPacket::Message("hello".into()),
                InPacket::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                InPacket::Pong(String::new()),
            ]
        );
    }

    #[test]
    fn bad_frames_are_errors() {
        assert!(decode_frame("").is_err());
        assert!(decode_frame("9").is_err());
        assert_eq!(decode_frame("2"), Ok(InPacket::Ping(String::new())));
        assert!(decode_body(b"4a\x1e").is_err());
    }
}
