//! What an adapter is given: its namespace, seen through a small trait.

use std::sync::{Arc, Weak};

use ferrio_proto::socketio::{Args, Parser};

use super::ServerSideAck;
use crate::{Namespace, RecoveryConfig, Socket, SocketId};

/// What an adapter needs from its namespace, and nothing more.
///
/// A [`Namespace`] is one; a test can write another, to run an adapter (a
/// [`MemoryAdapter`](super::MemoryAdapter), a cluster adapter) without a server.
pub trait AdapterHost: Send + Sync + 'static {
    /// The namespace's name, starting with `/`.
    fn name(&self) -> &str;

    /// Every connected socket of the namespace on this server.
    fn local_sockets(&self) -> Vec<Arc<Socket>>;

    /// The connected sockets among these ids (each id at most once).
    fn sockets_by_id(&self, ids: &mut dyn Iterator<Item = SocketId>) -> Vec<Arc<Socket>>;

    /// A fresh acknowledgement id of this namespace, for a packet asking this
    /// node's sockets for acks (a cluster adapter relaying another node's
    /// broadcast with acks takes one here, as Node does with `nsp._ids++`).
    fn next_ack_id(&self) -> u64;

    /// Hands an event another server sent with `server_side_emit` to this
    /// namespace's [`on_server_side`](Namespace::on_server_side) handlers;
    /// `ack` is how they answer, when the sender waits for an answer.
    fn dispatch_server_side(&self, event: &str, args: Args, ack: Option<ServerSideAck>);

    /// The namespace itself, to build [`RemoteSocket`](crate::RemoteSocket)s
    /// that act through it. `None` for a host that is not a namespace.
    fn namespace(self: Arc<Self>) -> Option<Namespace>;
}

/// What a factory is given to build a namespace's adapter.
#[derive(Clone)]
#[non_exhaustive]
pub struct AdapterContext {
    /// The namespace, held weakly: it owns the adapter.
    pub host: Weak<dyn AdapterHost>,
    /// The namespace's name, starting with `/`.
    pub name: Arc<str>,
    /// Connection state recovery, when the server has it on: the adapter
    /// then stamps offsets on what it broadcasts, and keeps sessions
    /// ([`Adapter::persist_session`](super::Adapter::persist_session)).
    pub recovery: Option<RecoveryConfig>,
    /// The server's packet format
    /// ([`SocketIoConfig::parser`](crate::SocketIoConfig::parser)): what the
    /// adapter encodes the broadcasts it delivers to this node's sockets with.
    /// Default [`Parser::Default`].
    pub parser: Parser,
}

impl AdapterContext {
    /// A context for an adapter of the namespace `name` served by `host`
    /// (what a test passes to a factory; a server makes its own).
    pub fn new(host: Weak<dyn AdapterHost>, name: impl Into<Arc<str>>) -> Self {
        Self {
            host,
            name: name.into(),
            recovery: None,
            parser: Parser::Default,
        }
    }

    /// The same context with recovery on (what a server with
    /// [`connection_state_recovery`](crate::SocketIoConfig::connection_state_recovery)
    /// passes).
    pub fn with_recovery(mut self, recovery: Option<RecoveryConfig>) -> Self {
        self.recovery = recovery;
        self
    }

    /// The same context with this parser (what a server with
    /// [`parser`](crate::SocketIoConfig::parser) passes).
    pub fn with_parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }

    /// The host, if the namespace still exists.
    pub fn host(&self) -> Option<Arc<dyn AdapterHost>> {
        self.host.upgrade()
    }

    /// The namespace, if it still exists and the host is one.
    pub fn namespace(&self) -> Option<Namespace> {
        self.host()?.namespace()
    }
}

impl std::fmt::Debug for AdapterContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterContext")
            .field("name", &self.name)
            .field("recovery", &self.recovery)
            .field("parser", &self.parser)
            .finish_non_exhaustive()
    }
}
