//! The adapter of a dynamic namespace's parent (the handle `of_pattern` and
//! `of_fn` return). The parent has no sockets of its own: like Node's
//! `ParentBroadcastAdapter`, it passes each operation on to every child, so
//! `parent.emit(…)` or `parent.to(room).emit(…)` reaches the sockets of all the
//! child namespaces, each packet carrying its child's name.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;
use std::time::Duration;

use ferrio_proto::socketio::{Packet, Payload};
use futures_util::future::join_all;

use super::Namespace;
use crate::adapter::{
    Adapter, AdapterContext, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions,
    ServerSideResponses,
};
use crate::{AckResponses, RemoteSocket, Room, SocketId};

/// The children of one dynamic parent by name, shared with the registry that
/// adds them. The names come from clients: the map keeps std's keyed hasher.
pub(crate) type Children = Arc<RwLock<HashMap<String, Namespace>>>;

/// What a dynamic child knows of its parent: the map to leave when no socket
/// uses it any more (with cleanup on).
pub(crate) struct ChildLink {
    /// Weak: the map holds the child.
    siblings: Weak<RwLock<HashMap<String, Namespace>>>,
    cleanup: bool,
    /// Sockets made for this child (connecting or connected) not yet dropped.
    /// Changed from 0 only under the map's lock (see `Registry::lookup`).
    users: AtomicUsize,
}

impl ChildLink {
    pub(crate) fn new(children: &Children, settings: super::Settings) -> Self {
        Self {
            siblings: Arc::downgrade(children),
            cleanup: settings.cleanup_empty_children,
            users: AtomicUsize::new(0),
        }
    }

    /// One more socket uses the child. Called under the map's lock.
    pub(crate) fn acquire(&self) {
        self.users.fetch_add(1, Ordering::AcqRel);
    }

    /// A socket of the child is gone; the last one removes the child from its
    /// parent (with cleanup on), unless a lookup took it in use meanwhile.
    pub(crate) fn release(&self, child: &Namespace) {
        if self.users.fetch_sub(1, Ordering::AcqRel) != 1 || !self.cleanup {
            return;
        }
        let Some(siblings) = self.siblings.upgrade() else {
            return;
        };
        let mut siblings = siblings.write();
        let same = siblings.get(child.name()).is_some_and(|c| c.ptr_eq(child));
        if same && self.users.load(Ordering::Acquire) == 0 {
            siblings.remove(child.name());
            drop(siblings);
            tracing::debug!(nsp = child.name(), "empty dynamic namespace removed");
            // As Node: the removed child's adapter is closed (a cluster
            // adapter unsubscribes).
            let adapter = child.adapter().clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                drop(runtime.spawn(async move { adapter.close().await }));
            }
        }
    }
}

/// Makes the [`ParentAdapter`] of a parent namespace.
pub(crate) struct ParentAdapterFactory(pub Children);

impl AdapterFactory for ParentAdapterFactory {
    fn create(&self, _ctx: AdapterContext) -> Arc<dyn Adapter> {
        Arc::new(ParentAdapter {
            children: self.0.clone(),
        })
    }
}

pub(crate) struct ParentAdapter {
    children: Children,
}

impl ParentAdapter {
    fn children(&self) -> Vec<Namespace> {
        self.children.read().values().cloned().collect()
    }
}

/// The packet as the child `nsp` sends it.
fn for_child(packet: &Packet<Payload>, nsp: &Namespace) -> Packet<Payload> {
    let mut packet = packet.clone();
    packet.nsp = nsp.packet_name();
    packet
}

impl Adapter for ParentAdapter {
    // No socket ever joins the parent itself.
    fn add_all(&self, _id: SocketId, _rooms: &[Room]) {}
    fn del(&self, _id: SocketId, _room: &Room) {}
    fn del_all(&self, _id: SocketId) {}
    fn socket_rooms(&self, _id: SocketId) -> Vec<Room> {
        Vec::new()
    }

    fn rooms(&self) -> Vec<Room> {
        let mut rooms: Vec<Room> = self
            .children()
            .iter()
            .flat_map(|c| c.adapter().rooms())
            .collect();
        rooms.sort();
        rooms.dedup();
        rooms
    }

    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let children = self.children();
        Box::pin(async move {
            for child in &children {
                let packet = for_child(&packet, child);
                child.adapter().broadcast(packet, opts.clone()).await?;
            }
            Ok(())
        })
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        let children = self.children();
        Box::pin(async move {
            let asks = children.iter().map(|child| {
                let packet = for_child(&packet, child);
                child
                    .adapter()
                    .broadcast_with_ack(packet, opts.clone(), timeout)
            });
            let mut all = AckResponses::default();
            for answers in join_all(asks).await {
                let answers = answers?;
                all.expected += answers.expected;
                all.servers_missing = all.servers_missing.max(answers.servers_missing);
                all.responses.extend(answers.responses);
            }
            Ok(all)
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        let children = self.children();
        Box::pin(async move {
            let mut all = Vec::new();
            for child in &children {
                all.extend(child.adapter().fetch_sockets(opts.clone()).await?);
            }
            Ok(all)
        })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let children = self.children();
        Box::pin(async move {
            for child in &children {
                child
                    .adapter()
                    .add_sockets(opts.clone(), rooms.clone())
                    .await?;
            }
            Ok(())
        })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let children = self.children();
        Box::pin(async move {
            for child in &children {
                child
                    .adapter()
                    .del_sockets(opts.clone(), rooms.clone())
                    .await?;
            }
            Ok(())
        })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let children = self.children();
        Box::pin(async move {
            for child in &children {
                child
                    .adapter()
                    .disconnect_sockets(opts.clone(), close)
                    .await?;
            }
            Ok(())
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        // The children are namespaces of the server: it closes their adapters.
        Box::pin(async {})
    }

    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        let children = self.children();
        Box::pin(async move {
            let all = join_all(children.iter().map(|c| c.adapter().all_rooms())).await;
            let mut rooms = Vec::new();
            for child in all {
                rooms.extend(child?);
            }
            rooms.sort();
            rooms.dedup();
            Ok(rooms)
        })
    }

    fn server_side_emit(
        &self,
        _event: String,
        _args: Vec<Payload>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async { Err(PARENT_SERVER_SIDE) })
    }

    fn server_side_emit_with_ack(
        &self,
        _event: String,
        _args: Vec<Payload>,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<ServerSideResponses, AdapterError>> {
        Box::pin(async { Err(PARENT_SERVER_SIDE) })
    }

    /// The most servers any child counts: every child of a cluster's parent
    /// runs on the same servers, once a client connected to it there.
    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        let children = self.children();
        Box::pin(async move {
            let counts = join_all(children.iter().map(|c| c.adapter().server_count())).await;
            let mut most = 1;
            for count in counts {
                most = most.max(count?);
            }
            Ok(most)
        })
    }
}

/// Node throws the same on a parent namespace's `serverSideEmit`.
const PARENT_SERVER_SIDE: AdapterError =
    AdapterError::Unsupported("serverSideEmit() is not supported on parent namespaces");
