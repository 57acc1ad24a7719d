//! Where rooms live and how a broadcast reaches its sockets.
//!
//! Every namespace has one [`Adapter`]. The default, [`MemoryAdapter`], keeps rooms
//! in this process. A cluster adapter (Redis, …) keeps the same local state and
//! also forwards each operation to the other nodes, so every operation here is
//! shaped to cross a network: the ones that may are `async`.
//!
//! An adapter sees its namespace through [`AdapterHost`], a small trait: an
//! adapter can be unit-tested against a stand-in host, without a server.

mod context;
mod encode;
mod local_acks;
mod membership;
mod memory;
mod observer;
mod offset;
mod options;
mod packet_log;
mod server_side;
mod session;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ferrio_proto::socketio::{Packet, Payload};

pub use context::{AdapterContext, AdapterHost};
pub use local_acks::LocalAcks;
pub use memory::MemoryAdapter;
pub use observer::RoomObserver;
pub use options::{BroadcastFlags, BroadcastOptions};
pub(crate) use packet_log::Gap;
pub use server_side::{ServerSideAck, ServerSideResponses};
pub use session::{MissedPacket, RestoredSession, SessionToPersist};

use crate::{AckResponses, RemoteSocket, Room, SocketId};

/// A boxed future, as adapter methods return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an adapter operation failed.
///
/// `Clone`, because a namespace hands the outcome of its adapter's
/// [`init`](Adapter::init) to everyone awaiting [`Namespace::ready`](crate::Namespace::ready).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The packet is larger than a recipient's outbox can ever hold: it was
    /// sent to no one (see [`EmitError::TooLarge`](crate::EmitError::TooLarge)).
    #[error("a packet of {size} bytes is larger than a client's outbox ({limit} bytes)")]
    TooLarge {
        /// The packet's size, text and attachments.
        size: usize,
        /// The outbox limit.
        limit: usize,
    },
    /// A request to the other servers was not answered by all of them in time
    /// (`fetch_sockets`, `all_rooms`, `server_count`, …). The message is
    /// Node's: "timeout reached while waiting for fetchSockets response".
    #[error("timeout reached while waiting for {operation} response")]
    Timeout {
        /// The operation, as Node names it (`fetchSockets`, `allRooms`, …).
        operation: &'static str,
    },
    /// This adapter cannot do that, as a dynamic namespace's parent cannot
    /// emit to other servers in Node ("serverSideEmit() is not supported on
    /// parent namespaces").
    #[error("{0}")]
    Unsupported(&'static str),
    /// Anything else: a cluster adapter's broker went away, …
    #[error("adapter error: {0}")]
    Other(String),
}

/// Rooms and broadcast for one namespace.
///
/// The room bookkeeping of this node is synchronous; whatever may involve other
/// nodes is asynchronous. The methods with a default body are the ones a
/// single-node adapter need not write.
pub trait Adapter: Send + Sync + 'static {
    /// Gets ready to serve: a cluster adapter subscribes to its channels here
    /// (Node's `adapter.init()`). The namespace starts it when it is made, and
    /// [`Namespace::ready`](crate::Namespace::ready) awaits it. Default: ready.
    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async { Ok(()) })
    }

    /// Stops: a cluster adapter unsubscribes here (Node's `adapter.close()`).
    /// [`SocketIo::close`](crate::SocketIo::close) awaits it for every
    /// namespace. Default: nothing to do.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Tells `observer` of this node's room changes from now on: rooms
    /// created and deleted, sockets joining and leaving them (Node's
    /// `adapter.on("create-room" | "delete-room" | "join-room" | "leave-room")`).
    /// Whether this adapter tells observers; default `false`. The in-memory
    /// adapter does, and so do adapters built around one that pass this on.
    fn observe_rooms(&self, observer: Arc<dyn RoomObserver>) -> bool {
        let _ = observer;
        false
    }

    /// Adds a socket to rooms.
    fn add_all(&self, id: SocketId, rooms: &[Room]);
    /// Removes a socket from one room.
    fn del(&self, id: SocketId, room: &Room);
    /// Removes a socket from every room (it is disconnecting).
    fn del_all(&self, id: SocketId);
    /// The rooms a local socket is in.
    fn socket_rooms(&self, id: SocketId) -> Vec<Room>;
    /// Every room of this node that has sockets.
    fn rooms(&self) -> Vec<Room>;

    /// Every socket of this node in some room, with its rooms, its own room
    /// included: a copy of Node's `adapter.sids`, when the adapter keeps
    /// memberships in one place. Default `None`; then
    /// [`Namespace::adapter_sids`](crate::Namespace::adapter_sids) asks
    /// [`socket_rooms`](Self::socket_rooms) for each connected socket.
    fn sids(&self) -> Option<HashMap<SocketId, HashSet<Room>>> {
        None
    }

    /// Every room of the cluster that has sockets (Node's `allRooms`, which
    /// includes the rooms named by socket ids). Default: this node's
    /// [`rooms`](Self::rooms).
    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        let rooms = self.rooms();
        Box::pin(async { Ok(rooms) })
    }

    /// Sends an event packet to every socket the options select. A packet
    /// larger than the recipients' outbox is refused whole with
    /// [`AdapterError::TooLarge`], before anyone is sent anything.
    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Sends an event asking each target for an acknowledgement, and gathers
    /// the answers until all came or `timeout` passed.
    ///
    /// The packet carries the ack id of this node. `opts.flags.timeout` is
    /// `Some(timeout)` too (the operator sets it), which is what a cluster
    /// adapter publishes. An answer from a socket on another node holds only
    /// its first argument, as Node sends it; see
    /// [`ClusterAckCollector`](crate::ClusterAckCollector).
    fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>>;

    /// The sockets the options select, with what is known of each.
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>>;

    /// The ids of the sockets the options select (Node's
    /// `adapter.sockets(rooms)`, behind `allSockets()`). Default: the ids of
    /// [`fetch_sockets`](Self::fetch_sockets), so a cluster adapter answers
    /// for the whole cluster without more code; one whose broker can ask for
    /// ids alone may do it cheaper.
    fn sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<HashSet<SocketId>, AdapterError>> {
        let sockets = self.fetch_sockets(opts);
        Box::pin(async move { Ok(sockets.await?.into_iter().map(|s| s.id).collect()) })
    }

    /// Makes the selected sockets join `rooms`.
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Makes the selected sockets leave `rooms`.
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Disconnects the selected sockets; with `close`, their whole connection.
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Sends an event to the other servers of the cluster, never to clients
    /// and never to this one (Node's `serverSideEmit`). Each server hands it
    /// to its namespace's [`dispatch_server_side`](crate::Namespace::dispatch_server_side).
    /// Default: a single node has no one to tell.
    fn server_side_emit(
        &self,
        _event: String,
        _args: Vec<Payload>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async { Ok(()) })
    }

    /// Like [`server_side_emit`](Self::server_side_emit), and gathers one
    /// answer per other server (the first argument of its ack) until all
    /// answered or `timeout` passed (Node's `serverSideEmitWithAck`). Default:
    /// no other server, so no answer and nothing missing.
    fn server_side_emit_with_ack(
        &self,
        _event: String,
        _args: Vec<Payload>,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<ServerSideResponses, AdapterError>> {
        Box::pin(async { Ok(ServerSideResponses::default()) })
    }

    /// Keeps the session of a socket that left for a recoverable reason, when
    /// connection state recovery is on ([`AdapterContext::recovery`]): Node's
    /// `persistSession`. Called before the socket leaves its rooms. Default:
    /// nothing kept, so no client recovers.
    fn persist_session(&self, _session: SessionToPersist) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Takes the session `pid` names, with every packet its client missed
    /// after `offset` (the last offset it saw), in order: Node's
    /// `restoreSession`. `Ok(None)` when the session is unknown or expired, or
    /// the offset is malformed or too old; the client then gets a fresh
    /// session, as does an `Err`. Default: `Ok(None)`.
    ///
    /// A missed packet is one sent to every socket, or to one of the
    /// session's rooms, and to none of them in its `except`.
    fn restore_session(
        &self,
        _pid: String,
        _offset: String,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        Box::pin(async { Ok(None) })
    }

    /// How many servers share this namespace, this one included. A cluster
    /// adapter asks its broker, which may fail. Default 1.
    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(async { Ok(1) })
    }
}

/// Builds the adapter of each namespace.
pub trait AdapterFactory: Send + Sync + 'static {
    /// The adapter for a new namespace.
    fn create(&self, ctx: AdapterContext) -> Arc<dyn Adapter>;
}

/// A factory chosen at run time (from the environment, a flag, …).
impl AdapterFactory for Arc<dyn AdapterFactory> {
    fn create(&self, ctx: AdapterContext) -> Arc<dyn Adapter> {
        (**self).create(ctx)
    }
}

/// Builds [`MemoryAdapter`]s: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryAdapterFactory;

impl AdapterFactory for MemoryAdapterFactory {
    fn create(&self, ctx: AdapterContext) -> Arc<dyn Adapter> {
        Arc::new(MemoryAdapter::new(&ctx))
    }
}
