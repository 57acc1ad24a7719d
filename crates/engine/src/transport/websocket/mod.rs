//! WebSocket: one task per connection that runs the upgrade probe, reads
//! frames and writes what senders could not. The HTTP half of the handshake
//! (checks and the `101` answer) is `crate::http::upgrade`'s.
//!
//! The framing is ferrio's own (`ferrio_proto::websocket`), not a WebSocket
//! crate's: tokio-tungstenite (used until the performance work, see
//! BENCHMARKS.md) owns its stream, so every frame had to pass through the
//! connection's task, and it keeps a read buffer per connection. Here a sender
//! writes its frame to the socket itself when nothing waits (one `writev`,
//! no task wake-up: see `writer`), and an idle connection holds no
//! buffer at all. The Autobahn suite (`tests/autobahn.rs`) checks the framing.

mod connection;
mod deflate;
mod echo;
mod io;
mod writer;

use std::sync::Arc;

use ferrio_proto::websocket::deflate::DeflateParams;
use hyper::upgrade::OnUpgrade;

pub use deflate::negotiate;
pub use echo::{echo, echo_deflate};
pub(crate) use io::RawTcp;
pub(crate) use writer::Writer;

use crate::conn::Counted;
use crate::engine::EngineCore;
use crate::limits::{DeflateSlot, SessionSlot};
use crate::session::ConnectInfo;
use crate::{Session, Sid};

/// Runs an accepted WebSocket in a task of its own, once hyper hands over
/// the connection.
pub(crate) fn spawn(
    shared: &Arc<EngineCore>,
    on_upgrade: OnUpgrade,
    accepted: Accepted,
    deflate: Option<DeflateParams>,
    deflate_slot: Option<DeflateSlot>,
) {
    tokio::spawn(connection::run(
        shared.clone(),
        on_upgrade,
        accepted,
        deflate,
        deflate_slot,
    ));
}

/// What an accepted WebSocket carries.
pub(crate) enum Accepted {
    /// A new session, with the place reserved for it (`max_sessions`).
    /// Boxed whole: the connection's task keeps its argument for its life.
    New(Box<(Sid, ConnectInfo, SessionSlot)>),
    /// An upgrade of this polling session.
    Upgrade(Arc<Session>),
    /// A WebSocket for a session that cannot take it: closed once open.
    Refused,
}

/// A served connection gives the WebSocket task its TCP socket, for the
/// senders' direct writes.
impl RawTcp for Counted<tokio::net::TcpStream> {
    fn tcp(&self) -> &tokio::net::TcpStream {
        self.get_ref()
    }
}
