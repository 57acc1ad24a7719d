use std::sync::Arc;

use bytes::Bytes;

use crate::{Frame, Session, Text};

/// A message received from, or sent to, a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

impl From<Message> for Frame {
    fn from(m: Message) -> Self {
        match m {
            Message::Text(t) => Frame::message(&t),
            Message::Binary(b) => Frame::Binary(b),
        }
    }
}

/// Why a session ended, with the reference server's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the connection or sent a close packet.
    TransportClose,
    /// The connection failed (I/O error, overlapping polls, bad upgrade).
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The client sent something that is not Engine.IO.
    ParseError,
    /// The server closed the session.
    ForcedClose,
    /// The server is shutting down.
    ServerShutdown,
}

impl CloseReason {
    /// The reason as the reference server words it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
            Self::ServerShutdown => "server shutting down",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The layer above Engine.IO: told of every session, message and close.
///
/// Calls for one session are made in order from the task that reads its
/// transport, so a handler sees a client's messages in the order they were sent.
/// They must not block; spawn long work.
pub trait Handler: Send + Sync + 'static {
    /// A session finished its handshake. Its open packet is already queued.
    fn on_open(&self, session: &Arc<Session>);
    /// A message arrived on a session.
    fn on_message(&self, session: &Arc<Session>, message: Message);
    /// The session ended; called exactly once, after which sends fail.
    fn on_close(&self, session: &Arc<Session>, reason: CloseReason);
    /// The session switched from long-polling to WebSocket.
    fn on_upgrade(&self, _session: &Arc<Session>) {}
}
