//! The classic adapter of one namespace: this node's rooms in a
//! [`MemoryAdapter`], every operation also published for the other nodes, and
//! what they publish applied here (memo §2.1–2.3, 2.6–2.9).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferrio::adapter::{
    Adapter, AdapterContext, AdapterError, BoxFuture, BroadcastOptions, MemoryAdapter,
    RestoredSession, RoomObserver, ServerSideAck, ServerSideResponses, SessionToPersist,
};
use ferrio::{AckResponses, ClusterAckCollector, RemoteSocket, Room, SocketDetails, SocketId};
use ferrio_proto::socketio::{Args, Packet, PacketKind, Payload};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::channels::{Channels, uid2};
use super::pending::{Pending, Waiter};
use super::wire::{self, Envelope, RemoteBroadcast, Request, Response, WireFlags, WireOpts};
use crate::shared::Shared;

/// The classic Redis adapter of one namespace.
pub(crate) struct ClassicAdapter {
    local: MemoryAdapter,
    ctx: AdapterContext,
    uid: String,
    channels: Channels,
    shared: Arc<Shared>,
    pending: Pending,
    relays: Arc<AtomicUsize>,
}

fn other(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Other(e.to_string())
}

/// The wire form of the options.
fn wire_opts(opts: &BroadcastOptions) -> WireOpts {
    WireOpts {
        rooms: opts.rooms.iter().map(|r| r.to_string()).collect(),
        except: opts.except.iter().map(|r| r.to_string()).collect(),
        flags: WireFlags {
            volatile: opts.flags.volatile,
            compress: opts.flags.compress,
            timeout_ms: opts
                .flags
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            expect_single_response: opts.flags.expect_single_response,
        },
    }
}

/// The options a remote message selects sockets with (flags: volatile and
/// compress only).
fn local_opts(opts: &WireOpts, with_flags: bool) -> BroadcastOptions {
    let mut out = BroadcastOptions::default();
    out.rooms = opts.rooms.iter().map(|r| Room::from(r.as_str())).collect();
    out.except = opts.except.iter().map(|r| Room::from(r.as_str())).collect();
    if with_flags {
        out.flags.volatile = opts.flags.volatile;
        out.flags.compress = opts.flags.compress;
    }
    out
}

fn rooms_of(names: &[String]) -> Vec<Room> {
    names.iter().map(|r| Room::from(r.as_str())).collect()
}

impl ClassicAdapter {
    pub(crate) fn new(ctx: AdapterContext, shared: Arc<Shared>) -> Self {
        let uid = uid2(6);
        let channels = Channels::new(&shared.config.key, &ctx.name, &uid);
        Self {
            local: MemoryAdapter::new(&ctx),
            ctx,
            uid,
            channels,
            shared,
            pending: Pending::default(),
            relays: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// This namespace adapter's uid.
    pub(crate) fn uid(&self) -> &str {
        &self.uid
    }

    /// The namespace's name.
    fn nsp(&self) -> &str {
        &self.ctx.name
    }

    fn packet_nsp(&self) -> Cow<'static, str> {
        if self.nsp() == "/" {
            Cow::Borrowed("/")
        } else {
            Cow::Owned(self.nsp().to_owned())
        }
    }

    fn publish(&self, channel: String, payload: Bytes) {
        self.shared.outbox.push(channel, payload);
    }

    fn publish_request(&self, payload: Bytes) {
        self.publish(self.channels.request.clone(), payload);
    }

    /// Where this node answers a request from `requester`.
    fn response_channel(&self, requester: Option<&str>) -> String {
        match requester {
            Some(uid) if self.shared.config.publish_on_specific_response_channel => {
                self.channels.response_of(uid)
            }
            _ => self.channels.response.clone(),
        }
    }

    /// `PUBSUB NUMSUB` of the request channel, within the requests timeout.
    async fn numsub(&self, deadline: Instant) -> Result<usize, AdapterError> {
        match tokio::time::timeout_at(
            deadline,
            self.shared.driver.numsub(self.channels.request.clone()),
        )
        .await
        {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(other(e)),
            Err(_) => Err(AdapterError::Other(format!(
                "Redis did not answer PUBSUB NUMSUB within {:?}",
                self.shared.config.requests_timeout
            ))),
        }
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.shared.config.requests_timeout
    }

    // ---- incoming ----------------------------------------------------------

    /// A message on one of this namespace's channels.
    pub(crate) fn on_message(&self, channel: &str, payload: &Bytes) {
        if channel == self.channels.request {
            match wire::decode_request(payload) {
                Ok(request) => self.on_request(request),
                Err(e) => tracing::warn!(%channel, error = %e, "malformed Redis request skipped"),
            }
        } else if channel == self.channels.response || channel == self.channels.own_response {
            match wire::decode_response(payload) {
                Ok((id, response)) => self.pending.deliver(&id, response),
                Err(e) => tracing::warn!(%channel, error = %e, "malformed Redis response skipped"),
            }
        } else if let Some(room) = self.channels.room_of(channel) {
            self.on_broadcast(channel, room, payload);
        }
    }

    fn on_broadcast(&self, channel: &str, room: &str, payload: &Bytes) {
        if !room.is_empty() && !self.has_room(room) {
            return;
        }
        let broadcast = match wire::decode_broadcast(payload) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(%channel, error = %e, "malformed Redis broadcast skipped");
                return;
            }
        };
        let RemoteBroadcast {
            uid,
            nsp,
            data,
            opts,
        } = broadcast;
        if uid == self.uid || nsp != self.nsp() {
            return;
        }
        let packet = Packet::new(PacketKind::Event, self.packet_nsp(), Some(data));
        if let Err(e) = self.local.broadcast_local(packet, &local_opts(&opts, true)) {
            tracing::warn!(error = %e, "remote broadcast not delivered");
        }
    }

    /// Whether a socket of this node is in `room` (or is named `room`).
    fn has_room(&self, room: &str) -> bool {
        let mut opts = BroadcastOptions::default();
        opts.rooms.insert(Room::from(room));
        !self.local.local_targets(&opts).is_empty()
    }

    fn on_request(&self, Envelope { uid, message }: Envelope<Request>) {
        // Our own request coming back: already applied at call time.
        if uid.as_deref() == Some(self.uid.as_str()) {
            return;
        }
        let requester = uid.as_deref();
        match message {
            Request::Sockets { request_id, rooms } => {
                let mut opts = BroadcastOptions::default();
                opts.rooms = rooms_of(&rooms).into_iter().collect();
                let ids: Vec<String> = self
                    .local
                    .local_targets(&opts)
                    .iter()
                    .map(|s| s.id().to_string())
                    .collect();
                let body = json!({"requestId": request_id, "sockets": ids});
                self.publish(self.response_channel(requester), wire::json_bytes(&body));
            }
            Request::AllRooms { request_id } => {
                let body = json!({"requestId": request_id, "rooms": self.local_rooms()});
                self.publish(self.response_channel(requester), wire::json_bytes(&body));
            }
            Request::JoinLeave { join, opts, rooms } => {
                let opts = local_opts(&opts, false);
                let rooms = rooms_of(&rooms);
                if join {
                    self.local.add_sockets_local(&opts, &rooms);
                } else {
                    self.local.del_sockets_local(&opts, &rooms);
                }
            }
            Request::Disconnect { opts, close } => {
                self.local
                    .disconnect_sockets_local(&local_opts(&opts, false), close);
            }
            Request::Legacy {
                request_id,
                kind,
                sid,
                room,
                close,
            } => self.on_legacy(requester, request_id, kind, &sid, room, close),
            Request::Fetch { request_id, opts } => {
                let sockets: Vec<Value> = self
                    .local
                    .fetch_local(&local_opts(&opts, false))
                    .iter()
                    .map(SocketDetails::to_node_json)
                    .collect();
                let body = json!({"requestId": request_id, "sockets": sockets});
                self.publish(self.response_channel(requester), wire::json_bytes(&body));
            }
            Request::ServerSide { request_id, data } => self.on_server_side(request_id, data),
            Request::AckBroadcast {
                request_id,
                nsp,
                data,
                opts,
            } => {
                if nsp == self.nsp() {
                    self.relay_ack_broadcast(requester, request_id, data, opts);
                }
            }
        }
    }

    fn on_legacy(
        &self,
        requester: Option<&str>,
        request_id: String,
        kind: u64,
        sid: &str,
        room: Option<String>,
        close: bool,
    ) {
        let Some(id) = SocketId::parse(sid) else {
            return;
        };
        let mut opts = BroadcastOptions::default();
        opts.rooms.insert(Room::from(sid));
        if self.local.local_targets(&opts).is_empty() {
            return;
        }
        match (kind, room) {
            (wire::kind::REMOTE_JOIN, Some(room)) => self.local.add_all(id, &[Room::from(room)]),
            (wire::kind::REMOTE_LEAVE, Some(room)) => self.local.del(id, &Room::from(room)),
            (wire::kind::REMOTE_DISCONNECT, _) => self.local.disconnect_sockets_local(&opts, close),
            _ => return,
        }
        let body = json!({"requestId": request_id});
        self.publish(self.response_channel(requester), wire::json_bytes(&body));
    }

    /// Every room of this node, the sockets' own rooms included (Node's
    /// `adapter.rooms` keys).
    fn local_rooms(&self) -> Vec<String> {
        let mut rooms: indexmap::IndexSet<String> = self
            .local
            .local_targets(&BroadcastOptions::default())
            .iter()
            .map(|s| s.id().to_string())
            .collect();
        rooms.extend(self.local.rooms().iter().map(|r| r.to_string()));
        rooms.into_iter().collect()
    }

    fn on_server_side(&self, request_id: Option<String>, data: Vec<Payload>) {
        let Some(host) = self.ctx.host() else { return };
        let mut items = data.into_iter();
        let Some(Payload::Json(Value::String(event))) = items.next() else {
            return;
        };
        let args = Args::from(items.collect::<Vec<_>>());
        let ack = request_id.map(|request_id| {
            let shared = self.shared.clone();
            let channel = self.channels.response.clone();
            ServerSideAck::new(move |answer: Payload| {
                match wire::encode_server_side_answer(&request_id, &answer) {
                    Ok(bytes) => shared.outbox.push(channel, bytes),
                    Err(e) => tracing::warn!(error = %e, "server-side answer not sent"),
                }
            })
        });
        host.dispatch_server_side(&event, args, ack);
    }

    /// Another node's broadcast with acks: deliver to this node's sockets,
    /// tell the requester how many, then forward each answer's first argument
    /// until the flags' timeout (or the requests timeout).
    fn relay_ack_broadcast(
        &self,
        requester: Option<&str>,
        request_id: String,
        data: Payload,
        opts: WireOpts,
    ) {
        let channel = self.response_channel(requester);
        let count = |n: usize| {
            wire::json_bytes(
                &json!({"type": wire::kind::BROADCAST_CLIENT_COUNT, "requestId": request_id, "clientCount": n}),
            )
        };
        if self.relays.load(Ordering::Relaxed) >= self.shared.config.max_relayed_ack_broadcasts {
            tracing::warn!("too many remote broadcasts with acks at once: answering 0 clients");
            self.publish(channel, count(0));
            return;
        }
        let timeout = opts
            .flags
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.shared.config.requests_timeout);
        // Classic Node applies only rooms and except to a relayed ack broadcast.
        let packet = Packet::new(PacketKind::Event, self.packet_nsp(), Some(data));
        let mut acks =
            match self
                .local
                .broadcast_local_acks(packet, &local_opts(&opts, false), timeout)
            {
                Ok(acks) => acks,
                Err(e) => {
                    tracing::warn!(error = %e, "remote broadcast with acks not delivered");
                    self.publish(channel, count(0));
                    return;
                }
            };
        self.publish(channel.clone(), count(acks.expected()));
        if acks.expected() == 0 {
            return;
        }
        let shared = self.shared.clone();
        let relays = self.relays.clone();
        relays.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            while let Some(args) = acks.next().await {
                let first = args
                    .into_vec()
                    .into_iter()
                    .next()
                    .unwrap_or(Payload::Json(Value::Null));
                match wire::encode_ack_answer(&request_id, &first) {
                    Ok(bytes) => shared.outbox.push(channel.clone(), bytes),
                    Err(e) => tracing::warn!(error = %e, "ack answer not sent"),
                }
            }
            relays.fetch_sub(1, Ordering::Relaxed);
        });
    }

    // ---- requests to the cluster -----------------------------------------

    /// Publishes a request and gathers responses until `done` says so or the
    /// deadline passes.
    async fn gather(
        &self,
        request_id: &str,
        request: Bytes,
        deadline: Instant,
        mut take: impl FnMut(Response) -> bool,
    ) -> bool {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _registration = self.pending.register(request_id, Waiter::Responses(tx));
        self.publish_request(request);
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(response)) => {
                    if take(response) {
                        return true;
                    }
                }
                Ok(None) | Err(_) => return false,
            }
        }
    }

    fn namespace(&self) -> Result<ferrio::Namespace, AdapterError> {
        self.ctx
            .namespace()
            .ok_or_else(|| AdapterError::Other("the namespace is gone".into()))
    }
}

impl Adapter for ClassicAdapter {
    fn observe_rooms(&self, observer: Arc<dyn RoomObserver>) -> bool {
        self.local.observe_rooms(observer)
    }

    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let driver = &self.shared.driver;
            driver
                .psubscribe(vec![self.channels.pattern.clone()])
                .await
                .map_err(other)?;
            driver
                .subscribe(vec![
                    self.channels.request.clone(),
                    self.channels.response.clone(),
                    self.channels.own_response.clone(),
                ])
                .await
                .map_err(other)?;
            Ok(())
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let driver = &self.shared.driver;
            self.shared.router.remove(&self.uid);
            if let Err(e) = driver
                .punsubscribe(vec![self.channels.pattern.clone()])
                .await
            {
                tracing::debug!(error = %e, "punsubscribe failed");
            }
            let channels = vec![
                self.channels.request.clone(),
                self.channels.response.clone(),
                self.channels.own_response.clone(),
            ];
            if let Err(e) = driver.unsubscribe(channels).await {
                tracing::debug!(error = %e, "unsubscribe failed");
            }
        })
    }

    fn add_all(&self, id: SocketId, rooms: &[Room]) {
        self.local.add_all(id, rooms);
    }

    fn del(&self, id: SocketId, room: &Room) {
        self.local.del(id, room);
    }

    fn del_all(&self, id: SocketId) {
        self.local.del_all(id);
    }

    fn socket_rooms(&self, id: SocketId) -> Vec<Room> {
        self.local.socket_rooms(id)
    }

    fn rooms(&self) -> Vec<Room> {
        self.local.rooms()
    }

    fn sids(&self) -> Option<HashMap<SocketId, HashSet<Room>>> {
        self.local.sids()
    }

    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        Box::pin(async move {
            let mut all: indexmap::IndexSet<String> = self.local_rooms().into_iter().collect();
            let deadline = self.deadline();
            let servers = self.numsub(deadline).await?;
            if servers > 1 {
                let request_id = uid2(6);
                let request = wire::json_bytes(
                    &json!({"uid": self.uid, "requestId": request_id, "type": wire::kind::ALL_ROOMS}),
                );
                let mut count = 1;
                let done = self
                    .gather(&request_id, request, deadline, |response| {
                        count += 1;
                        if let Response::Rooms(rooms) = response {
                            all.extend(rooms);
                        }
                        count >= servers
                    })
                    .await;
                if !done {
                    return Err(AdapterError::Timeout {
                        operation: "allRooms",
                    });
                }
            }
            Ok(all.into_iter().map(Room::from).collect())
        })
    }

    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let result = (|| {
            if !opts.flags.local {
                if let Some(data) = &packet.data {
                    let wire = wire_opts(&opts);
                    let bytes = wire::encode_broadcast(&self.uid, self.nsp(), data, &wire)
                        .map_err(other)?;
                    self.publish(self.channels.for_broadcast(&wire.rooms), bytes);
                }
            }
            self.local.broadcast_local(packet, &opts)
        })();
        Box::pin(async move { result })
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        Box::pin(async move {
            if opts.flags.local {
                return Ok(self
                    .local
                    .broadcast_local_acks(packet, &opts, timeout)?
                    .collect()
                    .await);
            }
            let request_id = uid2(6);
            let (tx, remote) = mpsc::unbounded_channel();
            let _registration = self.pending.register(&request_id, Waiter::Acks(tx));
            let mut wire = wire_opts(&opts);
            wire.flags
                .timeout_ms
                .get_or_insert(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
            if let Some(data) = &packet.data {
                let bytes =
                    wire::encode_ack_broadcast(&self.uid, &request_id, self.nsp(), data, &wire)
                        .map_err(other)?;
                self.publish_request(bytes);
            }
            let local = self.local.broadcast_local_acks(packet, &opts, timeout)?;
            let collector = ClusterAckCollector::new(local.expected());
            let deadline = local.deadline();
            Ok(collector.run(local, self.numsub(deadline), remote).await)
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        Box::pin(async move {
            let namespace = self.namespace()?;
            let mut sockets: Vec<RemoteSocket> = self
                .local
                .local_targets(&opts)
                .iter()
                .map(RemoteSocket::from_local)
                .collect();
            if opts.flags.local {
                return Ok(sockets);
            }
            let deadline = self.deadline();
            let servers = self.numsub(deadline).await?;
            if servers <= 1 {
                return Ok(sockets);
            }
            let request_id = uid2(6);
            let wire = wire_opts(&opts);
            let request = wire::json_bytes(&json!({
                "uid": self.uid, "requestId": request_id, "type": wire::kind::REMOTE_FETCH,
                "opts": wire::opts_json(&wire),
            }));
            let mut count = 1;
            let done = self
                .gather(&request_id, request, deadline, |response| {
                    count += 1;
                    if let Response::Sockets(list) = response {
                        for value in list {
                            match SocketDetails::from_node_json(value) {
                                Ok(details) => sockets.push(RemoteSocket::from_details(namespace.clone(), details)),
                                Err(e) => tracing::warn!(error = %e, "a fetchSockets answer with a malformed socket skipped"),
                            }
                        }
                    }
                    count >= servers
                })
                .await;
            if done {
                Ok(sockets)
            } else {
                Err(AdapterError::Timeout {
                    operation: "fetchSockets",
                })
            }
        })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.join_leave(opts, rooms, true)
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.join_leave(opts, rooms, false)
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        if !opts.flags.local {
            let wire = wire_opts(&opts);
            let body = json!({"uid": self.uid, "type": wire::kind::REMOTE_DISCONNECT, "opts": wire::opts_json(&wire), "close": close});
            self.publish_request(wire::json_bytes(&body));
        }
        self.local.disconnect_sockets_local(&opts, close);
        Box::pin(async { Ok(()) })
    }

    fn server_side_emit(
        &self,
        event: String,
        args: Vec<Payload>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let result = self
            .server_side_bytes(None, event, args)
            .map(|bytes| self.publish_request(bytes));
        Box::pin(async move { result })
    }

    fn server_side_emit_with_ack(
        &self,
        event: String,
        args: Vec<Payload>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<ServerSideResponses, AdapterError>> {
        Box::pin(async move {
            let deadline = Instant::now() + timeout;
            let expected = self.numsub(deadline).await?.saturating_sub(1);
            if expected == 0 {
                return Ok(ServerSideResponses::new(Vec::new(), 0));
            }
            let request_id = uid2(6);
            let request = self.server_side_bytes(Some(&request_id), event, args)?;
            let mut responses = Vec::with_capacity(expected);
            self.gather(&request_id, request, deadline, |response| {
                if let Response::ServerSide(answer) = response {
                    responses.push(answer);
                }
                responses.len() >= expected
            })
            .await;
            Ok(ServerSideResponses::new(responses, expected))
        })
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(async move { self.numsub(self.deadline()).await })
    }

    /// Node's classic adapter keeps no sessions; ferrio keeps them in this
    /// process, so a client that comes back to this node recovers.
    fn persist_session(&self, session: SessionToPersist) -> BoxFuture<'_, ()> {
        self.local.persist_session_local(session);
        Box::pin(async {})
    }

    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        let restored = self.local.restore_session_local(&pid, &offset);
        Box::pin(async { Ok(restored) })
    }
}

impl ClassicAdapter {
    fn join_leave(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
        join: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        if !opts.flags.local {
            let wire = wire_opts(&opts);
            let names: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
            let kind = if join {
                wire::kind::REMOTE_JOIN
            } else {
                wire::kind::REMOTE_LEAVE
            };
            let body = json!({"uid": self.uid, "type": kind, "opts": wire::opts_json(&wire), "rooms": names});
            self.publish_request(wire::json_bytes(&body));
        }
        if join {
            self.local.add_sockets_local(&opts, &rooms);
        } else {
            self.local.del_sockets_local(&opts, &rooms);
        }
        Box::pin(async { Ok(()) })
    }

    fn server_side_bytes(
        &self,
        request_id: Option<&str>,
        event: String,
        args: Vec<Payload>,
    ) -> Result<Bytes, AdapterError> {
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Payload::Json(Value::String(event)));
        data.extend(args);
        wire::encode_server_side(&self.uid, request_id, &Payload::Array(data)).map_err(other)
    }
}
