//! Observers of the Engine.IO connections under the server, for monitoring
//! (Node's `io.engine.on("connection")` and the raw socket's `upgrade`,
//! `packet` and `close` events, which `@socket.io/admin-ui` counts).

use ferrio_engine::{CloseReason, Session};

/// Told of every Engine.IO connection of the server: opened, upgraded to
/// WebSocket, each message received and sent, closed. Add one with
/// [`SocketIo::observe_engine`](crate::SocketIo::observe_engine).
///
/// Calls are made on the connection's own task, outside the server's locks;
/// they must be quick (count, or queue work).
pub trait EngineObserver: Send + Sync + 'static {
    /// A session finished its handshake (Node's `io.engine` `connection`).
    fn opened(&self, session: &Session) {
        let _ = session;
    }
    /// The session moved from long-polling to WebSocket.
    fn upgraded(&self, session: &Session) {
        let _ = session;
    }
    /// The session received a message of `bytes` bytes (text or binary;
    /// Node's `packet` event with data).
    fn received(&self, session: &Session, bytes: usize) {
        let _ = (session, bytes);
    }
    /// The session accepted `messages` messages of `bytes` bytes to send
    /// (queued or written; text without its type character; Node's
    /// `packetCreate` events with data). Pings and other control packets are
    /// not counted. Called on the sender's stack: for a broadcast, once per
    /// recipient.
    fn sent(&self, session: &Session, messages: usize, bytes: usize) {
        let _ = (session, messages, bytes);
    }
    /// The session ended, for `reason`.
    fn closed(&self, session: &Session, reason: CloseReason) {
        let _ = (session, reason);
    }
}
