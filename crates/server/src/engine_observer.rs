//! Observers of the Engine.IO connections under the server, for monitoring
//! (Node's `io.engine.on("connection")` and the raw socket's `upgrade`,
//! `packet` and `close` events, which `@socket.io/admin-ui` counts).

use std::sync::Arc;

use ferrio_engine::{CloseReason, Session};

/// Told of every Engine.IO connection of the server: opened, upgraded to
/// WebSocket, each message received, closed. Add one with
/// [`SocketIo::observe_engine`](crate::SocketIo::observe_engine).
///
/// Calls are made on the connection's own task, outside the server's locks;
/// they must be quick (count, or queue work).
pub trait EngineObserver: Send + Sync + 'static {
    /// A session finished its handshake (Node's `io.engine` `connection`).
    fn opened(&self, session: &Arc<Session>) {
        let _ = session;
    }
    /// The session moved from long-polling to WebSocket.
    fn upgraded(&self, session: &Arc<Session>) {
        let _ = session;
    }
    /// The session received a message of `bytes` bytes (text or binary;
    /// Node's `packet` event with data).
    fn received(&self, session: &Arc<Session>, bytes: usize) {
        let _ = (session, bytes);
    }
    /// The session ended, for `reason`.
    fn closed(&self, session: &Arc<Session>, reason: CloseReason) {
        let _ = (session, reason);
    }
}
