use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;
use std::time::Duration;

use ferrio_proto::socketio::{Args, Packet, Parser, Payload};
use tokio::sync::mpsc;

use super::encode::encode_for;
use super::membership::{IdHasher, RoomChange, Rooms};
use super::packet_log::PacketLog;
use super::{
    Adapter, AdapterContext, AdapterError, AdapterHost, BoxFuture, BroadcastOptions, LocalAcks,
    RestoredSession, RoomObserver, SessionToPersist,
};
use crate::ack::ForgetAck;
use crate::{AckResponses, RemoteSocket, Room, Socket, SocketDetails, SocketId};

/// Rooms kept in this process: the default adapter.
///
/// A socket's own room (named by its id) is implicit: it costs no memory, and
/// reads as any other room.
///
/// A cluster adapter keeps one of these for its node's sockets and forwards
/// operations to the other nodes around it: the `*_local` methods are the
/// parts it calls.
///
/// With connection state recovery on ([`AdapterContext::recovery`]), it also
/// keeps the packets it sent with an offset and the sessions of sockets that
/// lost their connection, in this process: a client recovers when it comes
/// back to this server.
pub struct MemoryAdapter {
    host: Weak<dyn AdapterHost>,
    rooms: RwLock<Rooms>,
    /// Told of room changes; usually none, and then a change costs one read
    /// of this list.
    observers: RwLock<Vec<Arc<dyn RoomObserver>>>,
    /// The recovery store; `None` when recovery is off, which then costs a
    /// broadcast one branch.
    log: Option<Arc<PacketLog>>,
    /// The server's parser, which a broadcast is encoded with once.
    parser: Parser,
}

impl std::fmt::Debug for MemoryAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAdapter")
            .field("rooms", &self.read().all().len())
            .field("observers", &self.observers.read().len())
            .finish_non_exhaustive()
    }
}

impl MemoryAdapter {
    /// An empty adapter for the context's namespace.
    pub fn new(ctx: &AdapterContext) -> Self {
        Self {
            host: ctx.host.clone(),
            rooms: RwLock::new(Rooms::default()),
            observers: RwLock::default(),
            log: ctx
                .recovery
                .map(|config| Arc::new(PacketLog::new(config, ctx.parser))),
            parser: ctx.parser,
        }
    }

    /// Tells `observer` from now on when a room is created or deleted, and
    /// when a socket joins or leaves one; after the observers added before.
    /// Always `true`: this adapter tells any number of them.
    pub fn observe_rooms(&self, observer: Arc<dyn RoomObserver>) -> bool {
        self.observers.write().push(observer);
        true
    }

    fn read(&self) -> parking_lot::RwLockReadGuard<'_, Rooms> {
        self.rooms.read()
    }

    fn write(&self) -> parking_lot::RwLockWriteGuard<'_, Rooms> {
        self.rooms.write()
    }

    /// Runs a change of the rooms, telling the observer, if any, what it
    /// created and deleted.
    fn change(&self, f: impl FnOnce(&mut Rooms, Option<&mut dyn FnMut(RoomChange, &Room)>)) {
        let mut rooms = self.write();
        let observers = self.observers.read();
        if observers.is_empty() {
            return f(&mut rooms, None);
        }
        let mut tell = |change: RoomChange, room: &Room| {
            for observer in observers.iter() {
                match change {
                    RoomChange::Created => observer.room_created(room),
                    RoomChange::Deleted => observer.room_deleted(room),
                    RoomChange::Joined(id) => observer.room_joined(room, id),
                    RoomChange::Left(id) => observer.room_left(room, id),
                }
            }
        };
        f(&mut rooms, Some(&mut tell));
    }

    /// The local sockets the options select; each once, whatever rooms it is in.
    pub fn local_targets(&self, opts: &BroadcastOptions) -> Vec<Arc<Socket>> {
        let Some(host) = self.host.upgrade() else {
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
            return host
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
        host.sockets_by_id(&mut ids.into_iter())
    }

    /// Delivers an event packet to the local sockets the options select,
    /// encoding it once for all of them.
    ///
    /// A packet larger than the recipients' outbox limit is sent to no one:
    /// [`AdapterError::TooLarge`]. (Queued, it would make every recipient
    /// look too slow and be disconnected.)
    ///
    /// With recovery on, an event without ack id that is not volatile gets
    /// the next offset of this node's log as its last argument, and is kept
    /// in the log, whether any socket here is sent it or not.
    pub fn broadcast_local(
        &self,
        packet: Packet<Payload>,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError> {
        if let Some(log) = &self.log
            && PacketLog::stamps(&packet, opts)
        {
            return log.broadcast(packet, opts, |opts| self.local_targets(opts));
        }
        let targets = self.local_targets(opts);
        if targets.is_empty() {
            return Ok(());
        }
        let encoded = encode_for(packet, &targets, self.parser)?;
        for socket in targets {
            socket.deliver_broadcast(&encoded, &opts.flags);
        }
        Ok(())
    }

    /// Like [`broadcast_local`](Self::broadcast_local), registering `answers` as the
    /// receiver of each target's acknowledgement; returns how many were sent.
    /// The packet must carry an ack id.
    pub fn broadcast_local_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: &BroadcastOptions,
        answers: &mpsc::UnboundedSender<Args>,
    ) -> Result<usize, AdapterError> {
        Ok(self.send_with_ack(packet, opts, answers)?.len())
    }

    /// Sends an event to the local sockets the options select, asking each for
    /// an acknowledgement, and returns their answers as they come, until
    /// `timeout`. A packet without an ack id is given a fresh one of the
    /// namespace (what a cluster adapter relaying another node's broadcast
    /// needs: Node's packet comes without one).
    pub fn broadcast_local_acks(
        &self,
        mut packet: Packet<Payload>,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> Result<LocalAcks, AdapterError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let (tx, rx) = mpsc::unbounded_channel();
        let id = match packet.id {
            Some(id) => id,
            None => match self.host.upgrade() {
                Some(host) => {
                    let id = host.next_ack_id();
                    packet = packet.with_id(id);
                    id
                }
                None => return Ok(LocalAcks::new(rx, 0, deadline, None)),
            },
        };
        let sockets = self.send_with_ack(packet, opts, &tx)?;
        drop(tx);
        let expected = sockets.len();
        // Whichever way the wait ends (every answer, the timeout, or the
        // answers dropped), the sockets that did not answer forget the id.
        let forget = ForgetAck::new(id, &sockets);
        Ok(LocalAcks::new(rx, expected, deadline, Some(forget)))
    }

    /// The local sockets the options select, with their handshake, rooms and
    /// data: what a cluster adapter answers another node's `fetchSockets` with.
    pub fn fetch_local(&self, opts: &BroadcastOptions) -> Vec<SocketDetails> {
        self.local_targets(opts)
            .iter()
            .map(SocketDetails::of_local)
            .collect()
    }

    /// Makes the local sockets the options select join `rooms`.
    pub fn add_sockets_local(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.local_targets(opts) {
            self.add_all(socket.id(), rooms);
        }
    }

    /// Makes the local sockets the options select leave `rooms`.
    pub fn del_sockets_local(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.local_targets(opts) {
            for room in rooms {
                self.del(socket.id(), room);
            }
        }
    }

    /// Disconnects the local sockets the options select; with `close`, their
    /// whole connection.
    pub fn disconnect_sockets_local(&self, opts: &BroadcastOptions, close: bool) {
        for socket in self.local_targets(opts) {
            socket.disconnect_with(close);
        }
    }

    /// Keeps the session of a local socket that lost its connection, when
    /// recovery is on (else does nothing).
    pub fn persist_session_local(&self, session: SessionToPersist) {
        if let Some(log) = &self.log {
            log.persist(session);
        }
    }

    /// Takes a session this node kept, with the packets its client missed
    /// since `offset`; `None` when recovery is off, the session is unknown or
    /// expired, or the offset is malformed or no longer in the log.
    pub fn restore_session_local(&self, pid: &str, offset: &str) -> Option<RestoredSession> {
        self.log.as_ref()?.restore(pid, offset)
    }

    /// Sends with acks; the sockets that were sent the packet (and wait for
    /// its acknowledgement).
    fn send_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: &BroadcastOptions,
        answers: &mpsc::UnboundedSender<Args>,
    ) -> Result<Vec<Arc<Socket>>, AdapterError> {
        let Some(id) = packet.id else {
            return Ok(Vec::new());
        };
        let targets = self.local_targets(opts);
        if targets.is_empty() {
            return Ok(targets);
        }
        let encoded = encode_for(packet, &targets, self.parser)?;
        let mut sent = Vec::with_capacity(targets.len());
        for socket in targets {
            socket.expect_broadcast_ack(id, answers.clone());
            if socket.deliver_broadcast(&encoded, &opts.flags) {
                sent.push(socket);
            } else {
                socket.forget_ack(id);
            }
        }
        Ok(sent)
    }
}

impl Adapter for MemoryAdapter {
    fn observe_rooms(&self, observer: Arc<dyn RoomObserver>) -> bool {
        MemoryAdapter::observe_rooms(self, observer)
    }

    fn add_all(&self, id: SocketId, rooms: &[Room]) {
        self.change(|r, tell| r.add(id, rooms, tell));
    }

    fn del(&self, id: SocketId, room: &Room) {
        self.change(|r, tell| r.remove(id, room, tell));
    }

    fn del_all(&self, id: SocketId) {
        self.change(|r, tell| r.remove_all(id, tell));
    }

    fn socket_rooms(&self, id: SocketId) -> Vec<Room> {
        self.read().of_socket(id)
    }

    fn rooms(&self) -> Vec<Room> {
        self.read().all()
    }

    fn sids(&self) -> Option<HashMap<SocketId, HashSet<Room>>> {
        Some(self.read().sids())
    }

    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let sent = self.broadcast_local(packet, &opts);
        Box::pin(async { sent })
    }

    fn persist_session(&self, session: SessionToPersist) -> BoxFuture<'_, ()> {
        self.persist_session_local(session);
        Box::pin(async {})
    }

    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        let restored = self.restore_session_local(&pid, &offset);
        Box::pin(async { Ok(restored) })
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        if packet.id.is_none() {
            return Box::pin(async { Ok(AckResponses::default()) });
        }
        match self.broadcast_local_acks(packet, &opts, timeout) {
            Ok(acks) => Box::pin(async move { Ok(acks.collect().await) }),
            Err(e) => Box::pin(async { Err(e) }),
        }
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

    /// This node's ids, without building a [`RemoteSocket`] for each.
    fn sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<HashSet<SocketId>, AdapterError>> {
        let ids = self.local_targets(&opts).iter().map(|s| s.id()).collect();
        Box::pin(async { Ok(ids) })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.add_sockets_local(&opts, &rooms);
        Box::pin(async { Ok(()) })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.del_sockets_local(&opts, &rooms);
        Box::pin(async { Ok(()) })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.disconnect_sockets_local(&opts, close);
        Box::pin(async { Ok(()) })
    }
}
