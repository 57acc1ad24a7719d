//! The sharded adapter of one namespace (`createShardedAdapter`, Redis ≥ 7):
//! SSUBSCRIBE/SPUBLISH, the ClusterAdapter messages, and in the dynamic modes
//! one shard channel per room (memo §2.5, 2.5.1).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio::adapter::{
    Adapter, AdapterContext, AdapterError, BoxFuture, BroadcastOptions, MemoryAdapter,
    RestoredSession, RoomObserver, ServerSideResponses, SessionToPersist,
};
use ferrio::{AckResponses, RemoteSocket, Room, SocketId};
use ferrio_proto::socketio::{Packet, Payload};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::SubscriptionMode;
use crate::cluster::core::{other, wire_opts};
use crate::cluster::wire::{self, Envelope, kind, object, opts_payload, packet_payload};
use crate::cluster::{Bus, Cluster};
use crate::shared::Shared;

/// Whether a room name looks like a socket id (20 characters), as Node's
/// sharded adapter guesses to pick a channel.
fn looks_like_socket_id(room: &str) -> bool {
    room.len() == 20
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
    core: Cluster,
    mode: SubscriptionMode,
}

impl ShardedAdapter {
    pub(crate) fn new(ctx: AdapterContext, shared: Arc<Shared>, mode: SubscriptionMode) -> Self {
        let local = MemoryAdapter::new(&ctx);
        let core = Cluster::new(ctx, local, shared, Bus::Sharded);
        if mode != SubscriptionMode::Static {
            let (tx, mut rx) = mpsc::unbounded_channel::<(bool, String)>();
            core.local
                .observe_rooms(Arc::new(RoomChannels { tx, mode }));
            let driver = core.shared.driver.clone();
            let prefix = core.main.clone();
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
        Self { core, mode }
    }

    /// This namespace adapter's uid.
    pub(crate) fn uid(&self) -> &str {
        &self.core.uid
    }

    /// A message on one of this namespace's shard channels.
    pub(crate) fn on_message(&self, channel: &str, payload: &Bytes) {
        let Some(rest) = channel.strip_prefix(self.core.main.as_str()) else {
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
        self.core.handle(uid, &nsp, message, None);
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
            self.core.send(self.core.main.clone(), kind, data)?;
        }
        if join {
            self.core.local.add_sockets_local(&opts, &rooms);
        } else {
            self.core.local.del_sockets_local(&opts, &rooms);
        }
        Ok(())
    }
}

impl Adapter for ShardedAdapter {
    fn observe_rooms(&self, observer: Arc<dyn RoomObserver>) -> bool {
        self.core.local.observe_rooms(observer)
    }

    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.core
                .shared
                .driver
                .ssubscribe(vec![self.core.main.clone(), self.core.own.clone()])
                .await
                .map_err(other)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let core = &self.core;
            core.shared.router.remove(&core.uid);
            let mut channels = vec![core.main.clone(), core.own.clone()];
            if self.mode != SubscriptionMode::Static {
                channels.extend(
                    core.local
                        .rooms()
                        .iter()
                        .filter(|r| {
                            self.mode == SubscriptionMode::DynamicPrivate
                                || !looks_like_socket_id(r)
                        })
                        .map(|r| format!("{}{r}#", core.main)),
                );
            }
            if let Err(e) = core.shared.driver.sunsubscribe(channels).await {
                tracing::debug!(error = %e, "sunsubscribe failed");
            }
        })
    }

    fn add_all(&self, id: SocketId, rooms: &[Room]) {
        self.core.local.add_all(id, rooms);
    }

    fn del(&self, id: SocketId, room: &Room) {
        self.core.local.del(id, room);
    }

    fn del_all(&self, id: SocketId) {
        self.core.local.del_all(id);
    }

    fn socket_rooms(&self, id: SocketId) -> Vec<Room> {
        self.core.local.socket_rooms(id)
    }

    fn rooms(&self) -> Vec<Room> {
        self.core.local.rooms()
    }

    fn sids(&self) -> Option<HashMap<SocketId, HashSet<Room>>> {
        self.core.local.sids()
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
                    let main = &self.core.main;
                    let channel = match &wire.rooms[..] {
                        [room]
                            if self.mode == SubscriptionMode::DynamicPrivate
                                || (self.mode == SubscriptionMode::Dynamic
                                    && !looks_like_socket_id(room)) =>
                        {
                            format!("{main}{room}#")
                        }
                        _ => main.clone(),
                    };
                    let body = object(vec![
                        ("packet", packet_payload(data.clone())),
                        ("opts", opts_payload(&wire)),
                    ]);
                    self.core.send(channel, kind::BROADCAST, body)?;
                }
            }
            self.core.local.broadcast_local(packet, &opts)
        })();
        Box::pin(async move { result })
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        Box::pin(self.core.broadcast_with_ack(packet, opts, timeout))
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        Box::pin(self.core.fetch_sockets(opts))
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
                self.core
                    .send(self.core.main.clone(), kind::DISCONNECT_SOCKETS, data)?;
            }
            self.core.local.disconnect_sockets_local(&opts, close);
            Ok(())
        })();
        Box::pin(async move { result })
    }

    fn server_side_emit(
        &self,
        event: String,
        args: Vec<Payload>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let result = self.core.server_side_emit(event, args);
        Box::pin(async move { result })
    }

    fn server_side_emit_with_ack(
        &self,
        event: String,
        args: Vec<Payload>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<ServerSideResponses, AdapterError>> {
        Box::pin(self.core.server_side_emit_with_ack(event, args, timeout))
    }

    /// Node's sharded adapter keeps no sessions; ferrio keeps them in this
    /// process, so a client that comes back to this node recovers.
    fn persist_session(&self, session: SessionToPersist) -> BoxFuture<'_, ()> {
        self.core.local.persist_session_local(session);
        Box::pin(async {})
    }

    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        let restored = self.core.local.restore_session_local(&pid, &offset);
        Box::pin(async { Ok(restored) })
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(async move {
            self.core
                .server_count_by(Instant::now() + self.core.shared.config.requests_timeout)
                .await
        })
    }
}
