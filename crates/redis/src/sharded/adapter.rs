//! The sharded adapter of one namespace (`createShardedAdapter`, Redis ≥ 7):
//! SSUBSCRIBE/SPUBLISH, the ClusterAdapter messages, and in the dynamic modes
//! one shard channel per room (memo §2.5, 2.5.1).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio::adapter::{
    Adapter, AdapterContext, AdapterError, BoxFuture, BroadcastOptions, MemoryAdapter,
    RoomObserver, ServerSideAck, ServerSideResponses,
};
use ferrio::{AckResponses, ClusterAckCollector, RemoteSocket, Room, SocketDetails, SocketId};
use ferrio_proto::socketio::{Args, Packet, PacketKind, Payload};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::wire::{self, Envelope, Message, kind, object, opts_payload, packet_payload};
use crate::SubscriptionMode;
use crate::classic::wire::{Response, WireFlags, WireOpts};
use crate::classic::{Pending, Waiter};
use crate::shared::Shared;

/// Whether a room name looks like a socket id (20 characters), as Node's
/// sharded adapter guesses to pick a channel.
fn looks_like_socket_id(room: &str) -> bool {
    room.len() == 20
}

fn other(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Other(e.to_string())
}

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

fn local_opts(opts: &WireOpts) -> BroadcastOptions {
    let mut out = BroadcastOptions::default();
    out.rooms = opts.rooms.iter().map(|r| Room::from(r.as_str())).collect();
    out.except = opts.except.iter().map(|r| Room::from(r.as_str())).collect();
    out.flags.volatile = opts.flags.volatile;
    out.flags.compress = opts.flags.compress;
    out
}

/// 8 random bytes in hex: the ClusterAdapter's uids and request ids.
fn random_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tells the subscription task which room channels to (un)subscribe; called
/// under the rooms lock, so it only queues.
struct RoomChannels {
    tx: mpsc::UnboundedSender<(bool, String)>,
    mode: SubscriptionMode,
}

impl RoomObserver for RoomChannels {
    fn room_created(&self, room: &Room) {
        if self.mode == SubscriptionMode::DynamicPrivate || !looks_like_socket_id(room) {
            let _ = self.tx.send((true, room.to_string()));
        }
    }

    fn room_deleted(&self, room: &Room) {
        if self.mode == SubscriptionMode::DynamicPrivate || !looks_like_socket_id(room) {
            let _ = self.tx.send((false, room.to_string()));
        }
    }
}

/// The sharded Redis adapter of one namespace.
pub(crate) struct ShardedAdapter {
    local: MemoryAdapter,
    ctx: AdapterContext,
    uid: String,
    mode: SubscriptionMode,
    main: String,
    own: String,
    shared: Arc<Shared>,
    pending: Pending,
}

impl ShardedAdapter {
    pub(crate) fn new(ctx: AdapterContext, shared: Arc<Shared>, mode: SubscriptionMode) -> Self {
        let uid = random_id();
        let main = format!("{}#{}#", shared.config.key, ctx.name);
        let own = format!("{main}{uid}#");
        let local = MemoryAdapter::new(&ctx);
        if mode != SubscriptionMode::Static {
            let (tx, mut rx) = mpsc::unbounded_channel::<(bool, String)>();
            local.observe_rooms(Arc::new(RoomChannels { tx, mode }));
            let driver = shared.driver.clone();
            let prefix = main.clone();
            tokio::spawn(async move {
                while let Some((subscribe, room)) = rx.recv().await {
                    let channel = vec![format!("{prefix}{room}#")];
                    let done = if subscribe {
                        driver.ssubscribe(channel).await
                    } else {
                        driver.sunsubscribe(channel).await
                    };
                    if let Err(e) = done {
                        tracing::warn!(%room, error = %e, "room channel (un)subscription failed");
                    }
                }
            });
        }
        Self {
            local,
            ctx,
            uid,
            mode,
            main,
            own,
            shared,
            pending: Pending::default(),
        }
    }

    /// This namespace adapter's uid.
    pub(crate) fn uid(&self) -> &str {
        &self.uid
    }

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

    fn send(&self, channel: String, kind: u64, data: Option<Payload>) -> Result<(), AdapterError> {
        let bytes = wire::encode(kind, data, &self.uid, self.nsp()).map_err(other)?;
        self.shared.outbox.push_sharded(channel, bytes);
        Ok(())
    }

    fn respond(&self, requester: &str, kind: u64, data: Payload) {
        if let Err(e) = self.send(format!("{}{requester}#", self.main), kind, Some(data)) {
            tracing::warn!(error = %e, "response not sent");
        }
    }

    async fn server_count_by(&self, deadline: Instant) -> Result<usize, AdapterError> {
        match tokio::time::timeout_at(deadline, self.shared.driver.shardnumsub(self.main.clone()))
            .await
        {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(other(e)),
            Err(_) => Err(AdapterError::Other(format!(
                "Redis did not answer PUBSUB SHARDNUMSUB within {:?}",
                self.shared.config.requests_timeout
            ))),
        }
    }

    /// A message on one of this namespace's shard channels.
    pub(crate) fn on_message(&self, channel: &str, payload: &Bytes) {
        let Some(rest) = channel.strip_prefix(self.main.as_str()) else {
            return;
        };
        if !rest.is_empty() && !rest.ends_with('#') {
            return;
        }
        let Envelope { uid, nsp, message } = match wire::decode(payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(%channel, error = %e, "malformed Redis message skipped");
                return;
            }
        };
        if uid == self.uid || nsp != self.nsp() {
            return;
        }
        match message {
            Message::Broadcast {
                data,
                opts,
                request_id: None,
            } => {
                let packet = Packet::new(PacketKind::Event, self.packet_nsp(), Some(data));
                if let Err(e) = self.local.broadcast_local(packet, &local_opts(&opts)) {
                    tracing::warn!(error = %e, "remote broadcast not delivered");
                }
            }
            Message::Broadcast {
                data,
                opts,
                request_id: Some(request_id),
            } => self.relay_ack_broadcast(uid, request_id, data, opts),
            Message::JoinLeave { join, opts, rooms } => {
                let rooms: Vec<Room> = rooms.iter().map(|r| Room::from(r.as_str())).collect();
                if join {
                    self.local.add_sockets_local(&local_opts(&opts), &rooms);
                } else {
                    self.local.del_sockets_local(&local_opts(&opts), &rooms);
                }
            }
            Message::Disconnect { opts, close } => {
                self.local
                    .disconnect_sockets_local(&local_opts(&opts), close);
            }
            Message::Fetch { opts, request_id } => {
                let sockets: Vec<Value> = self
                    .local
                    .fetch_local(&local_opts(&opts))
                    .iter()
                    .map(SocketDetails::to_node_json)
                    .collect();
                let data = object(vec![
                    ("requestId", Payload::Json(json!(request_id))),
                    ("sockets", Payload::Json(Value::Array(sockets))),
                ]);
                self.respond(&uid, kind::FETCH_SOCKETS_RESPONSE, data);
            }
            Message::ServerSide { packet, request_id } => {
                self.on_server_side(uid, packet, request_id)
            }
            Message::Response {
                request_id,
                response,
            } => self.pending.deliver(&request_id, response),
        }
    }

    fn on_server_side(&self, requester: String, packet: Vec<Payload>, request_id: Option<String>) {
        let Some(host) = self.ctx.host() else { return };
        let mut items = packet.into_iter();
        let Some(Payload::Json(Value::String(event))) = items.next() else {
            return;
        };
        let args = Args::from(items.collect::<Vec<_>>());
        let ack = request_id.map(|request_id| {
            let shared = self.shared.clone();
            let channel = format!("{}{requester}#", self.main);
            let (uid, nsp) = (self.uid.clone(), self.nsp().to_owned());
            ServerSideAck::new(move |answer: Payload| {
                let data = object(vec![
                    ("requestId", Payload::Json(json!(request_id))),
                    ("packet", answer),
                ]);
                match wire::encode(kind::SERVER_SIDE_EMIT_RESPONSE, Some(data), &uid, &nsp) {
                    Ok(bytes) => shared.outbox.push_sharded(channel, bytes),
                    Err(e) => tracing::warn!(error = %e, "server-side answer not sent"),
                }
            })
        });
        host.dispatch_server_side(&event, args, ack);
    }

    fn relay_ack_broadcast(
        &self,
        requester: String,
        request_id: String,
        data: Payload,
        opts: WireOpts,
    ) {
        let timeout = opts
            .flags
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.shared.config.requests_timeout);
        let packet = Packet::new(PacketKind::Event, self.packet_nsp(), Some(data));
        let count = |n: usize| {
            object(vec![
                ("requestId", Payload::Json(json!(request_id))),
                ("clientCount", Payload::Json(json!(n))),
            ])
        };
        let mut acks = match self
            .local
            .broadcast_local_acks(packet, &local_opts(&opts), timeout)
        {
            Ok(acks) => acks,
            Err(e) => {
                tracing::warn!(error = %e, "remote broadcast with acks not delivered");
                self.respond(&requester, kind::BROADCAST_CLIENT_COUNT, count(0));
                return;
            }
        };
        self.respond(
            &requester,
            kind::BROADCAST_CLIENT_COUNT,
            count(acks.expected()),
        );
        if acks.expected() == 0 {
            return;
        }
        let shared = self.shared.clone();
        let channel = format!("{}{requester}#", self.main);
        let (uid, nsp) = (self.uid.clone(), self.nsp().to_owned());
        tokio::spawn(async move {
            while let Some(args) = acks.next().await {
                let first = args
                    .into_vec()
                    .into_iter()
                    .next()
                    .unwrap_or(Payload::Json(Value::Null));
                let data = object(vec![
                    ("requestId", Payload::Json(json!(request_id))),
                    ("packet", first),
                ]);
                match wire::encode(kind::BROADCAST_ACK, Some(data), &uid, &nsp) {
                    Ok(bytes) => shared.outbox.push_sharded(channel.clone(), bytes),
                    Err(e) => tracing::warn!(error = %e, "ack answer not sent"),
                }
            }
        });
    }

    /// Publishes a request to the main channel and gathers responses until
    /// `take` says done or the deadline passes.
    async fn gather(
        &self,
        request_id: &str,
        kind: u64,
        data: Payload,
        deadline: Instant,
        mut take: impl FnMut(Response) -> bool,
    ) -> Result<bool, AdapterError> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _registration = self.pending.register(request_id, Waiter::Responses(tx));
        self.send(self.main.clone(), kind, Some(data))?;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(response)) => {
                    if take(response) {
                        return Ok(true);
                    }
                }
                Ok(None) | Err(_) => return Ok(false),
            }
        }
    }

    fn join_leave(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
        join: bool,
    ) -> Result<(), AdapterError> {
        if !opts.flags.local {
            let names: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
            let data = object(vec![
                ("opts", opts_payload(&wire_opts(&opts))),
                ("rooms", Payload::Json(json!(names))),
            ]);
            let kind = if join {
                kind::SOCKETS_JOIN
            } else {
                kind::SOCKETS_LEAVE
            };
            self.send(self.main.clone(), kind, Some(data))?;
        }
        if join {
            self.local.add_sockets_local(&opts, &rooms);
        } else {
            self.local.del_sockets_local(&opts, &rooms);
        }
        Ok(())
    }
}

impl Adapter for ShardedAdapter {
    fn observe_rooms(&self, observer: Arc<dyn RoomObserver>) -> bool {
        self.local.observe_rooms(observer)
    }

    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.shared
                .driver
                .ssubscribe(vec![self.main.clone(), self.own.clone()])
                .await
                .map_err(other)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.shared.router.remove(&self.uid);
            let mut channels = vec![self.main.clone(), self.own.clone()];
            if self.mode != SubscriptionMode::Static {
                channels.extend(
                    self.local
                        .rooms()
                        .iter()
                        .filter(|r| {
                            self.mode == SubscriptionMode::DynamicPrivate
                                || !looks_like_socket_id(r)
                        })
                        .map(|r| format!("{}{r}#", self.main)),
                );
            }
            if let Err(e) = self.shared.driver.sunsubscribe(channels).await {
                tracing::debug!(error = %e, "sunsubscribe failed");
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

    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let result = (|| {
            if !opts.flags.local {
                if let Some(data) = &packet.data {
                    let wire = wire_opts(&opts);
                    let channel = match &wire.rooms[..] {
                        [room]
                            if self.mode == SubscriptionMode::DynamicPrivate
                                || (self.mode == SubscriptionMode::Dynamic
                                    && !looks_like_socket_id(room)) =>
                        {
                            format!("{}{room}#", self.main)
                        }
                        _ => self.main.clone(),
                    };
                    let body = object(vec![
                        ("packet", packet_payload(data.clone())),
                        ("opts", opts_payload(&wire)),
                    ]);
                    self.send(channel, kind::BROADCAST, Some(body))?;
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
            let request_id = random_id();
            let (tx, remote) = mpsc::unbounded_channel();
            let _registration = self.pending.register(&request_id, Waiter::Acks(tx));
            let mut wire = wire_opts(&opts);
            wire.flags
                .timeout_ms
                .get_or_insert(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
            if let Some(data) = &packet.data {
                let body = object(vec![
                    ("packet", packet_payload(data.clone())),
                    ("requestId", Payload::Json(json!(request_id))),
                    ("opts", opts_payload(&wire)),
                ]);
                self.send(self.main.clone(), kind::BROADCAST, Some(body))?;
            }
            let local = self.local.broadcast_local_acks(packet, &opts, timeout)?;
            let collector = ClusterAckCollector::new(local.expected());
            let deadline = local.deadline();
            Ok(collector
                .run(local, self.server_count_by(deadline), remote)
                .await)
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        Box::pin(async move {
            let namespace = self
                .ctx
                .namespace()
                .ok_or_else(|| AdapterError::Other("the namespace is gone".into()))?;
            let mut sockets: Vec<RemoteSocket> = self
                .local
                .local_targets(&opts)
                .iter()
                .map(RemoteSocket::from_local)
                .collect();
            if opts.flags.local {
                return Ok(sockets);
            }
            let timeout = opts
                .flags
                .timeout
                .unwrap_or(self.shared.config.requests_timeout);
            let deadline = Instant::now() + timeout;
            let expected = self.server_count_by(deadline).await?.saturating_sub(1);
            if expected == 0 {
                return Ok(sockets);
            }
            let request_id = random_id();
            let data = object(vec![
                ("opts", opts_payload(&wire_opts(&opts))),
                ("requestId", Payload::Json(json!(request_id))),
            ]);
            let mut received = 0;
            let done = self
                .gather(&request_id, kind::FETCH_SOCKETS, data, deadline, |response| {
                    if let Response::Sockets(list) = response {
                        received += 1;
                        for value in list {
                            match SocketDetails::from_node_json(value) {
                                Ok(details) => sockets.push(RemoteSocket::from_details(namespace.clone(), details)),
                                Err(e) => tracing::warn!(error = %e, "a malformed socket in a fetch response skipped"),
                            }
                        }
                    }
                    received >= expected
                })
                .await?;
            if done {
                Ok(sockets)
            } else {
                Err(AdapterError::Other(format!(
                    "timeout reached: only {received} responses received out of {expected}"
                )))
            }
        })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let result = self.join_leave(opts, rooms, true);
        Box::pin(async move { result })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let result = self.join_leave(opts, rooms, false);
        Box::pin(async move { result })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let result = (|| {
            if !opts.flags.local {
                let data = object(vec![
                    ("opts", opts_payload(&wire_opts(&opts))),
                    ("close", Payload::Json(json!(close))),
                ]);
                self.send(self.main.clone(), kind::DISCONNECT_SOCKETS, Some(data))?;
            }
            self.local.disconnect_sockets_local(&opts, close);
            Ok(())
        })();
        Box::pin(async move { result })
    }

    fn server_side_emit(
        &self,
        event: String,
        args: Vec<Payload>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let mut packet = vec![Payload::Json(Value::String(event))];
        packet.extend(args);
        let data = object(vec![("packet", Payload::Array(packet))]);
        let result = self.send(self.main.clone(), kind::SERVER_SIDE_EMIT, Some(data));
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
            let expected = self.server_count_by(deadline).await?.saturating_sub(1);
            if expected == 0 {
                return Ok(ServerSideResponses::new(Vec::new(), 0));
            }
            let request_id = random_id();
            let mut packet = vec![Payload::Json(Value::String(event))];
            packet.extend(args);
            let data = object(vec![
                ("requestId", Payload::Json(json!(request_id))),
                ("packet", Payload::Array(packet)),
            ]);
            let mut responses = Vec::with_capacity(expected);
            self.gather(
                &request_id,
                kind::SERVER_SIDE_EMIT,
                data,
                deadline,
                |response| {
                    if let Response::ServerSide(answer) = response {
                        responses.push(answer);
                    }
                    responses.len() >= expected
                },
            )
            .await?;
            Ok(ServerSideResponses::new(responses, expected))
        })
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(async move {
            self.server_count_by(Instant::now() + self.shared.config.requests_timeout)
                .await
        })
    }
}
