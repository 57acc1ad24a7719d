//! Where rooms live and how a broadcast reaches its sockets.
//!
//! Every namespace has one [`Adapter`]. The default, [`MemoryAdapter`], keeps rooms
//! in this process. A cluster adapter (Redis, …) keeps the same local state and
//! also forwards each operation to the other nodes, so every operation here is
//! shaped to cross a network: the ones that may are `async`.

mod membership;
mod memory;
mod options;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ferrio_proto::socketio::{Args, Packet, Payload};

pub use memory::MemoryAdapter;
pub use options::{BroadcastFlags, BroadcastOptions};

use crate::namespace::WeakNamespace;
use crate::{AckResponses, RemoteSocket, Room, SocketId};

/// A boxed future, as adapter methods return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an adapter operation failed.
#[derive(Debug, thiserror::Error)]
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
    /// Anything else: a cluster adapter's broker went away, …
    #[error("adapter error: {0}")]
    Other(String),
}

/// Rooms and broadcast for one namespace.
///
/// The room bookkeeping of this node is synchronous; whatever may involve other
/// nodes is asynchronous.
pub trait Adapter: Send + Sync + 'static {
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

    /// Sends an event packet to every socket the options select. A packet
    /// larger than the recipients' outbox is refused whole with
    /// [`AdapterError::TooLarge`], before anyone is sent anything.
    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Sends an event asking each target for an acknowledgement, and gathers the
    /// answers until all came or `timeout` passed.
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

    /// Sends an event to the other servers of the cluster (never to clients) and
    /// gathers their acknowledgements. A single node has no one to tell.
    fn server_side_emit(
        &self,
        _args: Vec<Payload>,
        _timeout: Option<Duration>,
    ) -> BoxFuture<'_, Result<Vec<Args>, AdapterError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// How many servers share this namespace.
    fn server_count(&self) -> BoxFuture<'_, usize> {
        Box::pin(async { 1 })
    }
}

/// Builds the adapter of each namespace.
pub trait AdapterFactory: Send + Sync + 'static {
    /// The adapter for a new namespace.
    fn create(&self, namespace: WeakNamespace) -> Arc<dyn Adapter>;
}

/// Builds [`MemoryAdapter`]s: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryAdapterFactory;

impl AdapterFactory for MemoryAdapterFactory {
    fn create(&self, namespace: WeakNamespace) -> Arc<dyn Adapter> {
        Arc::new(MemoryAdapter::new(namespace))
    }
}
