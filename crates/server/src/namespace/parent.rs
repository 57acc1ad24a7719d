//! The adapter of a dynamic namespace's parent (the handle `of_pattern` and
//! `of_fn` return). The parent has no sockets of its own: like Node's
//! `ParentBroadcastAdapter`, it passes each operation on to every child, so
//! `parent.emit(…)` or `parent.to(room).emit(…)` reaches the sockets of all the
//! child namespaces, each packet carrying its child's name.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferrio_proto::socketio::{Packet, Payload};

use super::{Namespace, WeakNamespace};
use crate::adapter::{Adapter, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions};
use crate::{AckResponses, RemoteSocket, Room, SocketId};

/// The children of one dynamic parent, shared with the registry that adds them.
pub(crate) type Children = Arc<RwLock<Vec<Namespace>>>;

/// Makes the [`ParentAdapter`] of a parent namespace.
pub(crate) struct ParentAdapterFactory(pub Children);

impl AdapterFactory for ParentAdapterFactory {
    fn create(&self, _namespace: WeakNamespace) -> Arc<dyn Adapter> {
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
        self.children
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
            for answers in futures_util::future::join_all(asks).await {
                let answers = answers?;
                all.expected += answers.expected;
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
}
