//! The part of Node's `ClusterAdapter` that the sharded and the streams
//! adapters share: handling the other nodes' messages, and the requests that
//! gather answers (broadcast with acks, `fetchSockets`, `serverSideEmit`).
//! What differs between them is how a message travels ([`Bus`]): SPUBLISH
//! of JSON or msgpack for the sharded adapter, PUBLISH (or SPUBLISH) of
//! msgpack for the streams adapter, whose durable messages go to a stream
//! instead (see [`crate::streams`]).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio::adapter::{
    AdapterContext, AdapterError, BroadcastOptions, MemoryAdapter, ServerSideAck,
    ServerSideResponses,
};
use ferrio::{AckResponses, ClusterAckCollector, RemoteSocket, Room, SocketDetails};
use ferrio_proto::socketio::{Args, Packet, PacketKind, Payload};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::wire::{self, Message, kind, object, opts_payload, packet_payload};
use crate::classic::wire::{Response, WireFlags, WireOpts};
use crate::classic::{Pending, Waiter};
use crate::shared::Shared;

/// How this adapter's pub/sub messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bus {
    /// The sharded adapter: SPUBLISH, JSON (msgpack when binary), server
    /// count by SHARDNUMSUB.
    Sharded,
    /// The streams adapter: msgpack always; SPUBLISH and SHARDNUMSUB when
    /// `sharded`, else PUBLISH and NUMSUB.
    Streams {
        /// Node's `useShardedPubSub`.
        sharded: bool,
    },
}

impl Bus {
    fn encode(self, kind: u64, data: Payload, uid: &str, nsp: &str) -> Option<Bytes> {
        let bytes = match self {
            Self::Sharded => wire::encode(kind, Some(data), uid, nsp),
            Self::Streams { .. } => wire::encode_msgpack(kind, Some(data), uid, nsp),
        };
        bytes
            .map_err(|e| tracing::warn!(error = %e, "cluster message not encoded"))
            .ok()
    }

    fn push(self, shared: &Shared, channel: String, bytes: Bytes) {
        match self {
            Self::Sharded | Self::Streams { sharded: true } => {
                shared.outbox.push_sharded(channel, bytes)
            }
            Self::Streams { sharded: false } => shared.outbox.push(channel, bytes),
        }
    }
}

pub(crate) fn other(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Other(e.to_string())
}

/// The options as they travel.
pub(crate) fn wire_opts(opts: &BroadcastOptions) -> WireOpts {
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

/// The options of a message from another node, for this node's sockets.
pub(crate) fn local_opts(opts: &WireOpts) -> BroadcastOptions {
    let mut out = BroadcastOptions::default();
    out.rooms = opts.rooms.iter().map(|r| Room::from(r.as_str())).collect();
    out.except = opts.except.iter().map(|r| Room::from(r.as_str())).collect();
    out.flags.volatile = opts.flags.volatile;
    out.flags.compress = opts.flags.compress;
    out
}

/// 8 random bytes in hex: the ClusterAdapter's uids and request ids.
pub(crate) fn random_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends an argument (an offset) to an event's data (`["name", …args]`).
pub(crate) fn append_arg(data: &mut Payload, arg: &str) {
    match data {
        Payload::Json(Value::Array(items)) => items.push(arg.into()),
        Payload::Array(items) => items.push(Payload::Json(arg.into())),
        Payload::Raw(raw) => {
            let mut items: Vec<Payload> = match raw.items() {
                Some(items) => items.map(Payload::Raw).collect(),
                None => Vec::new(),
            };
            items.push(Payload::Json(arg.into()));
            *data = Payload::Array(items);
        }
        _ => {}
    }
}

/// Sends messages to one node's response channel (or the main one).
#[derive(Clone)]
pub(crate) struct Responder {
    shared: Arc<Shared>,
    bus: Bus,
    channel: String,
    uid: String,
    nsp: String,
}

impl Responder {
    pub(crate) fn send(&self, kind: u64, data: Payload) {
        if let Some(bytes) = self.bus.encode(kind, data, &self.uid, &self.nsp) {
            self.bus.push(&self.shared, self.channel.clone(), bytes);
        }
    }
}

/// The cluster state of one namespace adapter.
pub(crate) struct Cluster {
    /// This node's sockets.
    pub(crate) local: MemoryAdapter,
    pub(crate) ctx: AdapterContext,
    /// This adapter's uid.
    pub(crate) uid: String,
    /// `{prefix}#{nsp}#`.
    pub(crate) main: String,
    /// `{prefix}#{nsp}#{uid}#`.
    pub(crate) own: String,
    pub(crate) shared: Arc<Shared>,
    pending: Pending,
    bus: Bus,
}

impl Cluster {
    pub(crate) fn new(
        ctx: AdapterContext,
        local: MemoryAdapter,
        shared: Arc<Shared>,
        bus: Bus,
    ) -> Self {
        let uid = random_id();
        let main = format!("{}#{}#", shared.config.key, ctx.name);
        let own = format!("{main}{uid}#");
        Self {
            local,
            ctx,
            uid,
            main,
            own,
            shared,
            pending: Pending::default(),
            bus,
        }
    }

    pub(crate) fn nsp(&self) -> &str {
        &self.ctx.name
    }

    /// The namespace as a packet names it.
    pub(crate) fn packet_nsp(&self) -> Cow<'static, str> {
        if self.nsp() == "/" {
            Cow::Borrowed("/")
        } else {
            Cow::Owned(self.nsp().to_owned())
        }
    }

    fn responder(&self, channel: String) -> Responder {
        Responder {
            shared: self.shared.clone(),
            bus: self.bus,
            channel,
            uid: self.uid.clone(),
            nsp: self.nsp().to_owned(),
        }
    }

    /// Publishes a message on `channel`.
    pub(crate) fn send(
        &self,
        channel: String,
        kind: u64,
        data: Payload,
    ) -> Result<(), AdapterError> {
        let bytes = match self.bus {
            Bus::Sharded => wire::encode(kind, Some(data), &self.uid, self.nsp()),
            Bus::Streams { .. } => wire::encode_msgpack(kind, Some(data), &self.uid, self.nsp()),
        }
        .map_err(other)?;
        self.bus.push(&self.shared, channel, bytes);
        Ok(())
    }

    fn respond(&self, requester: &str, kind: u64, data: Payload) {
        self.responder(format!("{}{requester}#", self.main))
            .send(kind, data);
    }

    /// How many servers share the namespace, asked of Redis before `deadline`.
    pub(crate) async fn server_count_by(&self, deadline: Instant) -> Result<usize, AdapterError> {
        let driver = &self.shared.driver;
        let count = match self.bus {
            Bus::Sharded | Bus::Streams { sharded: true } => {
                tokio::time::timeout_at(deadline, driver.shardnumsub(self.main.clone())).await
            }
            Bus::Streams { sharded: false } => {
                tokio::time::timeout_at(deadline, driver.numsub(self.main.clone())).await
            }
        };
        match count {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(other(e)),
            Err(_) => Err(AdapterError::Other(format!(
                "Redis did not count the subscribers within {:?}",
                self.shared.config.requests_timeout
            ))),
        }
    }

    /// A message of another node (`offset`: its stream entry id, for the
    /// streams adapter). Its own messages and other namespaces' are ignored.
    pub(crate) fn handle(&self, uid: String, nsp: &str, message: Message, offset: Option<&str>) {
        if uid == self.uid || nsp != self.nsp() {
            return;
        }
        match message {
            Message::Broadcast {
                mut data,
                opts,
                request_id: None,
            } => {
                if let Some(offset) = offset
                    && self.ctx.recovery.is_some()
                    && !opts.flags.volatile
                {
                    append_arg(&mut data, offset);
                }
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
            let responder = self.responder(format!("{}{requester}#", self.main));
            ServerSideAck::new(move |answer: Payload| {
                let data = object(vec![
                    ("requestId", Payload::Json(json!(request_id))),
                    ("packet", answer),
                ]);
                responder.send(kind::SERVER_SIDE_EMIT_RESPONSE, data);
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
        let responder = self.responder(format!("{}{requester}#", self.main));
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
                responder.send(kind::BROADCAST_ACK, data);
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
        self.send(self.main.clone(), kind, data)?;
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

    /// Node's `broadcastWithAck`: published to the main channel, delivered
    /// here, answers gathered from every node.
    pub(crate) async fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> Result<AckResponses, AdapterError> {
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
            self.send(self.main.clone(), kind::BROADCAST, body)?;
        }
        let local = self.local.broadcast_local_acks(packet, &opts, timeout)?;
        let collector = ClusterAckCollector::new(local.expected());
        let deadline = local.deadline();
        Ok(collector
            .run(local, self.server_count_by(deadline), remote)
            .await)
    }

    /// Node's `fetchSockets`.
    pub(crate) async fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> Result<Vec<RemoteSocket>, AdapterError> {
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
            .gather(
                &request_id,
                kind::FETCH_SOCKETS,
                data,
                deadline,
                |response| {
                    if let Response::Sockets(list) = response {
                        received += 1;
                        for value in list {
                            match SocketDetails::from_node_json(value) {
                                Ok(details) => sockets
                                    .push(RemoteSocket::from_details(namespace.clone(), details)),
                                Err(e) => tracing::warn!(
                                    error = %e,
                                    "a malformed socket in a fetch response skipped"
                                ),
                            }
                        }
                    }
                    received >= expected
                },
            )
            .await?;
        if done {
            Ok(sockets)
        } else {
            Err(AdapterError::Other(format!(
                "timeout reached: only {received} responses received out of {expected}"
            )))
        }
    }

    /// Node's `serverSideEmit` without ack.
    pub(crate) fn server_side_emit(
        &self,
        event: String,
        args: Vec<Payload>,
    ) -> Result<(), AdapterError> {
        let mut packet = vec![Payload::Json(Value::String(event))];
        packet.extend(args);
        let data = object(vec![("packet", Payload::Array(packet))]);
        self.send(self.main.clone(), kind::SERVER_SIDE_EMIT, data)
    }

    /// Node's `serverSideEmit` with ack: one answer per other server.
    pub(crate) async fn server_side_emit_with_ack(
        &self,
        event: String,
        args: Vec<Payload>,
        timeout: Duration,
    ) -> Result<ServerSideResponses, AdapterError> {
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
    }
}
