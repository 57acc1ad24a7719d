use std::sync::Arc;

use bytes::Bytes;

use crate::{OutPacket, Session, Text};

/// A message received from, or sent to, a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

impl From<Message> for OutPacket {
    fn from(m: Message) -> Self {
        match m {
            Message::Text(t) => OutPacket::message(&t),
            Message::Binary(b) => OutPacket::Binary(b),
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

/// The layer above Engine.IO: told of every new session, it answers with the
/// [`Connection`] that the engine tells of that session's messages, upgrade and
/// close.
pub trait Handler: Send + Sync + 'static {
    /// A session finished its handshake; its open packet is already queued.
    ///
    /// The returned connection is held by the engine until the session closes,
    /// then dropped after its [`on_close`](Connection::on_close): it may hold
    /// the session without making a reference cycle that outlives it.
    fn on_open(&self, session: &Arc<Session>) -> Arc<dyn Connection>;
}

/// The layer above's object for one session, called by the engine directly:
/// no lookup, lock or downcast per message.
///
/// Calls are made in order from the task that reads the session's transport,
/// so a connection sees its client's messages in the order they were sent.
/// They must not block; spawn long work.
pub trait Connection: Send + Sync + 'static {
    /// A message arrived. Taken by `Arc`, so that the connection can hand
    /// itself to what the message starts (a task, a socket) without keeping a
    /// reference to itself; messages that arrive once the session has closed
    /// are not delivered.
    fn on_message(self: Arc<Self>, message: Message);
    /// The session switched from long-polling to WebSocket.
    fn on_upgrade(&self) {}
    /// The session ended; called exactly once, after which sends fail.
    fn on_close(&self, reason: CloseReason);
}
