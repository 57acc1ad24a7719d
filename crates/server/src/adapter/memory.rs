use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferrio_proto::socketio::{Args, Packet, Payload};
use tokio::sync::mpsc;

use super::membership::{IdHasher, Rooms};
use super::{Adapter, AdapterError, BoxFuture, BroadcastOptions};
use crate::ack::ForgetAck;
use crate::namespace::WeakNamespace;
use crate::outbound::Encoded;
use crate::{AckResponses, RemoteSocket, Room, Socket, SocketId};

/// Rooms kept in this process: the default adapter.
///
/// A socket's own room (named by its id) is implicit: it costs no memory, and
/// reads as any other room.
///
/// A cluster adapter keeps one of these for its node's sockets and forwards
/// operations to the other nodes around it.
pub struct MemoryAdapter {
    namespace: WeakNamespace,
    rooms: RwLock<Rooms>,
}

impl MemoryAdapter {
    /// An empty adapter for a namespace.
    pub fn new(namespace: WeakNamespace) -> Self {
        Self {
            namespace,
            rooms: RwLock::new(Rooms::default()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Rooms> {
        self.rooms.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Rooms> {
        self.rooms.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The local sockets the options select; each once, whatever rooms it is in.
    pub fn local_targets(&self, opts: &BroadcastOptions) -> Vec<Arc<Socket>> {
        let Some(namespace) = self.namespace.upgrade() else {
            return Vec::new();
        };
        let rooms = self.read();
        let mut excluded: HashSet<SocketId, IdHasher> = HashSet::default();
        for room in &opts.except {
            rooms.for_each_member(room, |id| {
                excluded.insert(id);
            });
        }
        if opts.rooms.is_empty() {
            drop(rooms);
            return namespace
                .local_sockets()
                .into_iter()
                .filter(|s| !excluded.contains(&s.id()))
                .collect();
        }
        let mut ids: HashSet<SocketId, IdHasher> = HashSet::default();
        for room in &opts.rooms {
            rooms.for_each_member(room, |id| {
                if !excluded.contains(&id) {
                    ids.insert(id);
                }
            });
        }
        drop(rooms);
        namespace.sockets_by_id(ids)
    }

    /// Delivers an event packet to the local sockets the options select,
    /// encoding it once for all of them.
    ///
    /// A packet larger than the recipients' outbox limit is sent to no one:
    /// [`AdapterError::TooLarge`]. (Queued, it would make every recipient
    /// look too slow and be disconnected.)
    pub fn broadcast_local(
        &self,
        packet: Packet<Payload>,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError> {
        let targets = self.local_targets(opts);
        if targets.is_empty() {
            return Ok(());
        }
        let encoded = encode_for(packet, &targets)?;
        for socket in targets {
            socket.deliver_broadcast(&encoded, opts.flags.volatile);
        }
        Ok(())
    }

    /// Like [`broadcast_local`](Self::broadcast_local), registering `answers` as the
    /// receiver of each target's acknowledgement; returns how many were sent.
    pub fn broadcast_local_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: &BroadcastOptions,
        answers: &mpsc::UnboundedSender<Args>,
    ) -> Result<usize, AdapterError> {
        Ok(self.send_with_ack(packet, opts, answers)?.len())
    }

    /// Sends with acks; the sockets that were sent the packet (and wait for
    /// its acknowledgement).
    fn send_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: &BroadcastOptions,
        answers: &mpsc::UnboundedSender<Args>,
    ) -> Result<Vec<Arc<Socket>>, AdapterError> {
        let targets = self.local_targets(opts);
        let Some(id) = packet.id else {
            return Ok(Vec::new());
        };
        if targets.is_empty() {
            return Ok(targets);
        }
        let encoded = encode_for(packet, &targets)?;
        let mut sent = Vec::with_capacity(targets.len());
        for socket in targets {
            socket.expect_broadcast_ack(id, answers.clone());
            if socket.deliver_broadcast(&encoded, opts.flags.volatile) {
                sent.push(socket);
            } else {
                socket.forget_ack(id);
            }
        }
        Ok(sent)
    }
}

/// Encodes a broadcast once, refusing it if it can never fit the targets'
/// outbox (every socket of a server has the same limit).
fn encode_for(packet: Packet<Payload>, targets: &[Arc<Socket>]) -> Result<Encoded, AdapterError> {
    let encoded = Encoded::new(packet);
    let limit = targets.first().map_or(usize::MAX, |s| s.outbox_limit());
    if encoded.len() > limit {
        return Err(AdapterError::TooLarge {
            size: encoded.len(),
            limit,
        });
    }
    Ok(encoded)
}

impl Adapter for MemoryAdapter {
    fn add_all(&self, id: SocketId, rooms: &[Room]) {
        self.write().add(id, rooms);
    }

    fn del(&self, id: SocketId, room: &Room) {
        self.write().remove(id, room);
    }

    fn del_all(&self, id: SocketId) {
        self.write().remove_all(id);
    }

    fn socket_rooms(&self, id: SocketId) -> Vec<Room> {
        self.read().of_socket(id)
    }

    fn rooms(&self) -> Vec<Room> {
        self.read().all()
    }

    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let sent = self.broadcast_local(packet, &opts);
        Box::pin(async { sent })
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let Some(id) = packet.id else {
            return Box::pin(async { Ok(AckResponses::default()) });
        };
        let sent = self.send_with_ack(packet, &opts, &tx);
        drop(tx);
        let sockets = match sent {
            Ok(sockets) => sockets,
            Err(e) => return Box::pin(async { Err(e) }),
        };
        let expected = sockets.len();
        // Whichever way the wait ends (every answer, the timeout, or the
        // future dropped), the sockets that did not answer forget the id.
        let forget = ForgetAck::new(id, &sockets);
        drop(sockets);
        Box::pin(async move {
            let answers = AckResponses::collect(rx, expected, timeout).await;
            drop(forget);
            answers
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        let sockets = self
            .local_targets(&opts)
            .into_iter()
            .map(|s| RemoteSocket::from_local(&s))
            .collect();
        Box::pin(async { Ok(sockets) })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for socket in self.local_targets(&opts) {
            self.add_all(socket.id(), &rooms);
        }
        Box::pin(async { Ok(()) })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for socket in self.local_targets(&opts) {
            for room in &rooms {
                self.del(socket.id(), room);
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for socket in self.local_targets(&opts) {
            socket.disconnect_with(close);
        }
        Box::pin(async { Ok(()) })
    }
}
