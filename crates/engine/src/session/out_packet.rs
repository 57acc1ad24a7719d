use bytes::Bytes;

use crate::Text;

/// One Engine.IO packet as it is queued for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutPacket {
    /// A complete text packet, type character included (`4hello`, `2`, `6`).
    Text(Text),
    /// A binary message: its raw bytes.
    Binary(Bytes),
    /// A text or binary message compressed for one WebSocket
    /// (permessage-deflate). The engine makes these as it sends; a caller
    /// cannot, and never sees one.
    Deflated(Deflated),
}

/// A message compressed for one WebSocket connection (permessage-deflate),
/// waiting in its outbox: made by the engine only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflated {
    /// The compressed payload, as the frame carries it.
    pub(crate) bytes: Bytes,
    /// Sent as a text frame (else binary).
    pub(crate) text: bool,
}

impl OutPacket {
    pub(crate) const PING: OutPacket = OutPacket::Text(Text::from_static("2"));
    pub(crate) const PONG: OutPacket = OutPacket::Text(Text::from_static("3"));
    pub(crate) const NOOP: OutPacket = OutPacket::Text(Text::from_static("6"));

    /// A text message packet: `4` followed by `data`.
    pub fn message(data: &str) -> Self {
        let mut s = String::with_capacity(1 + data.len());
        s.push('4');
        s.push_str(data);
        OutPacket::Text(s.into())
    }

    /// Bytes the frame counts for in the outbox limit.
    pub(crate) fn len(&self) -> usize {
        match self {
            OutPacket::Text(t) => t.len(),
            OutPacket::Binary(b) => b.len(),
            OutPacket::Deflated(d) => d.bytes.len(),
        }
    }
}
