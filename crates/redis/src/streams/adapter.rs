//! The streams adapter of one namespace.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use ferrio::adapter::{
    Adapter, AdapterContext, AdapterError, BoxFuture, BroadcastOptions, MemoryAdapter,
    MissedPacket, RestoredSession, RoomObserver, ServerSideResponses, SessionToPersist,
};
use ferrio::{AckResponses, RemoteSocket, Room, SocketId};
use ferrio_proto::socketio::{Packet, PacketKind, Payload};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;

use super::entry::{self, Decoded};
use super::name::stream_for;
use super::{StreamsShared, session};
use crate::classic::wire::WireOpts;
use crate::cluster::core::{append_arg, other, wire_opts};
use crate::cluster::wire::{self, Envelope, Message, kind, object, opts_payload, packet_payload};
use crate::cluster::{Bus, Cluster};
use crate::driver::StreamEntry;
use crate::shared::Shared;

/// How many entries one `XRANGE` of a restore reads.
const RANGE_COUNT: u64 = 1_000;
/// How many `XRANGE`s a restore makes at most (Node's limit).
const RANGE_CALLS: usize = 100;

/// Whether an offset is a stream id (`^[0-9]+-[0-9]+$`).
fn is_stream_id(offset: &str) -> bool {
    offset.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The first id after `id` (`<ms>-<seq + 1>`), as Node's restore reads on.
fn next_id(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    let seq: u64 = seq.parse().ok()?;
    Some(format!("{ms}-{}", seq.checked_add(1)?))
}

/// Whether a broadcast sent with `opts` reached a socket in `rooms` (Node's
/// `shouldIncludePacket`).
fn reaches(opts: &WireOpts, rooms: &HashSet<&str>) -> bool {
    (opts.rooms.is_empty() || opts.rooms.iter().any(|r| rooms.contains(r.as_str())))
        && !opts.except.iter().any(|r| rooms.contains(r.as_str()))
}

/// The streams Redis adapter of one namespace.
pub(crate) struct StreamsAdapter {
    core: Cluster,
    streams: Arc<StreamsShared>,
    me: Weak<StreamsAdapter>,
    stream: String,
    started: watch::Receiver<bool>,
}

impl StreamsAdapter {
    /// The adapter of the context's namespace; `me` is where it will live.
    pub(crate) fn new(
        ctx: AdapterContext,
        shared: Arc<Shared>,
        streams: Arc<StreamsShared>,
        me: Weak<Self>,
    ) -> Self {
        // The offsets are stream ids, stamped here: the local store keeps no
        // log of its own.
        let local = MemoryAdapter::new(&ctx.clone().with_recovery(None));
        let stream = stream_for(
            &streams.options.stream_name,
            streams.options.stream_count,
            &ctx.name,
        );
        let started = streams.reader(&stream, &shared.driver, &shared.router);
        let bus = Bus::Streams {
            sharded: streams.options.use_sharded_pub_sub,
        };
        Self {
            core: Cluster::new(ctx, local, shared, bus),
            streams,
            me,
            stream,
            started,
        }
    }

    fn streams(&self) -> &StreamsShared {
        &self.streams
    }

    /// This namespace adapter's uid.
    pub(crate) fn uid(&self) -> &str {
        &self.core.uid
    }

    /// A pub/sub message (a request or a response).
    pub(crate) fn on_message(&self, channel: &str, payload: &Bytes) {
        if channel != self.core.main && channel != self.core.own {
            return;
        }
        match wire::decode(payload) {
            Ok(Envelope { uid, nsp, message }) => self.core.handle(uid, &nsp, message, None),
            Err(e) => tracing::warn!(%channel, error = %e, "malformed Redis message skipped"),
        }
    }

    /// An entry of the stream.
    pub(crate) fn on_entry(&self, entry: &StreamEntry) {
        match entry::decode(entry) {
            Ok(Decoded {
                uid, nsp, message, ..
            }) => self.core.handle(uid, &nsp, message, Some(&entry.id)),
            Err(e) => {
                tracing::warn!(id = %entry.id, error = %e, "malformed stream entry skipped")
            }
        }
    }

    /// Appends a message to the stream, then runs `then` with its id, in
    /// order with this factory's other appends.
    fn append(
        &self,
        kind: u64,
        data: Payload,
        then: impl FnOnce(&Self, Option<String>) + Send + 'static,
    ) -> Result<(), AdapterError> {
        let options = &self.streams().options;
        let add = entry::encode(
            &self.stream,
            options.max_len,
            kind,
            &data,
            &self.core.uid,
            self.core.nsp(),
            options.only_plaintext,
        )
        .map_err(other)?;
        let me = self.me.clone();
        self.streams().writer.push(
            add,
            Box::new(move |id| {
                if let Some(me) = me.upgrade() {
                    then(&me, id);
                }
            }),
        );
        Ok(())
    }

    fn join_leave(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
        join: bool,
    ) -> Result<(), AdapterError> {
        let apply = move |me: &Self, opts: &BroadcastOptions, rooms: &[Room]| {
            if join {
                me.core.local.add_sockets_local(opts, rooms);
            } else {
                me.core.local.del_sockets_local(opts, rooms);
            }
        };
        if opts.flags.local {
            apply(self, &opts, &rooms);
            return Ok(());
        }
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
        // As Node's ClusterAdapter: applied here once appended.
        self.append(kind, data, move |me, _| apply(me, &opts, &rooms))
    }

    async fn restore(
        &self,
        pid: String,
        offset: String,
    ) -> Result<Option<RestoredSession>, AdapterError> {
        if !is_stream_id(&offset) {
            return Ok(None);
        }
        let driver = &self.core.shared.driver;
        let key = format!("{}{pid}", self.streams().options.session_key_prefix);
        let (blob, first) = tokio::join!(
            driver.take(key),
            driver.xrange(self.stream.clone(), offset.clone(), offset.clone(), None)
        );
        let (Some(blob), false) = (blob.map_err(other)?, first.map_err(other)?.is_empty()) else {
            return Ok(None);
        };
        let session = match session::decode(&blob) {
            Ok(session) => session,
            Err(e) => {
                tracing::warn!(error = %e, "malformed session skipped");
                return Ok(None);
            }
        };
        let rooms: HashSet<&str> = session.rooms.iter().map(|r| &**r).collect();
        let mut missed = Vec::new();
        let mut after = offset;
        for _ in 0..RANGE_CALLS {
            let Some(start) = next_id(&after) else { break };
            let entries = driver
                .xrange(self.stream.clone(), start, "+".into(), Some(RANGE_COUNT))
                .await
                .map_err(other)?;
            let Some(last) = entries.last() else { break };
            after.clone_from(&last.id);
            for entry in &entries {
                let Ok(Decoded {
                    nsp,
                    message:
                        Message::Broadcast {
                            mut data,
                            opts,
                            request_id: None,
                        },
                    ..
                }) = entry::decode(entry)
                else {
                    continue;
                };
                if nsp != self.core.nsp() || !reaches(&opts, &rooms) {
                    continue;
                }
                // Volatile packets too, as Node replays them.
                append_arg(&mut data, &entry.id);
                let packet = Packet::new(PacketKind::Event, self.core.packet_nsp(), Some(data));
                missed.push(MissedPacket::from_packet(packet));
            }
        }
        drop(rooms);
        Ok(Some(RestoredSession::new(
            session.sid,
            session.pid,
            session.rooms,
            session.data,
            missed,
        )))
    }
}

impl Adapter for StreamsAdapter {
    fn observe_rooms(&self, observer: Arc<dyn RoomObserver>) -> bool {
        self.core.local.observe_rooms(observer)
    }

    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let channels = vec![self.core.main.clone(), self.core.own.clone()];
            let driver = &self.core.shared.driver;
            if self.streams().options.use_sharded_pub_sub {
                driver.ssubscribe(channels).await.map_err(other)?;
            } else {
                driver.subscribe(channels).await.map_err(other)?;
            }
            let mut started = self.started.clone();
            started
                .wait_for(|started| *started)
                .await
                .map_err(|_| AdapterError::Other("the stream reader stopped".into()))?;
            Ok(())
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let core = &self.core;
            core.shared.router.remove(&core.uid);
            let channels = vec![core.main.clone(), core.own.clone()];
            let done = if self.streams().options.use_sharded_pub_sub {
                core.shared.driver.sunsubscribe(channels).await
            } else {
                core.shared.driver.unsubscribe(channels).await
            };
            if let Err(e) = done {
                tracing::debug!(error = %e, "unsubscribe failed");
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

    /// Appended to the stream, then delivered here with the entry id as its
    /// offset (when recovery is on): the delivery happens after this
    /// returns, in order with the other broadcasts.
    fn broadcast(
        &self,
        mut packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let result = (|| {
            let data = match &packet.data {
                Some(data) if !opts.flags.local => data.clone(),
                _ => return self.core.local.broadcast_local(packet, &opts),
            };
            let body = object(vec![
                ("packet", packet_payload(data)),
                ("opts", opts_payload(&wire_opts(&opts))),
            ]);
            let stamps = self.core.ctx.recovery.is_some()
                && packet.id.is_none()
                && !opts.flags.volatile
                && matches!(packet.kind, PacketKind::Event | PacketKind::BinaryEvent);
            self.append(kind::BROADCAST, body, move |me, id| {
                if stamps && let (Some(id), Some(data)) = (id, packet.data.as_mut()) {
                    append_arg(data, &id);
                }
                if let Err(e) = me.core.local.broadcast_local(packet, &opts) {
                    tracing::warn!(error = %e, "broadcast not delivered");
                }
            })
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
        let result = if opts.flags.local {
            self.core.local.disconnect_sockets_local(&opts, close);
            Ok(())
        } else {
            let data = object(vec![
                ("opts", opts_payload(&wire_opts(&opts))),
                ("close", Payload::Json(json!(close))),
            ]);
            self.append(kind::DISCONNECT_SOCKETS, data, move |me, _| {
                me.core.local.disconnect_sockets_local(&opts, close);
            })
        };
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

    /// `SET sio:session:<pid> <blob> PX <max_disconnection_duration>`.
    fn persist_session(&self, session: SessionToPersist) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let Some(recovery) = self.core.ctx.recovery else {
                return;
            };
            let blob = match session::encode(&session) {
                Ok(blob) => blob,
                Err(e) => {
                    tracing::warn!(error = %e, "session not kept");
                    return;
                }
            };
            let key = format!(
                "{}{}",
                self.streams().options.session_key_prefix,
                session.pid
            );
            let ms =
                u64::try_from(recovery.max_disconnection_duration.as_millis()).unwrap_or(u64::MAX);
            let kept = tokio::time::timeout(
                self.core.shared.config.requests_timeout,
                self.core.shared.driver.set_px(key, blob, ms),
            )
            .await;
            if !matches!(kept, Ok(Ok(()))) {
                tracing::warn!(sid = %session.sid, "session not kept: Redis did not take it");
            }
        })
    }

    /// Takes the session (`GETDEL`) and reads what its client missed from
    /// the stream; a fresh session when the offset is not a stream id, the
    /// session is gone, or the offset was trimmed from the stream.
    fn restore_session(
        &self,
        pid: String,
        offset: String,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        Box::pin(async move {
            let deadline = Instant::now() + self.core.shared.config.requests_timeout;
            tokio::time::timeout_at(deadline, self.restore(pid, offset))
                .await
                .map_err(|_| AdapterError::Timeout {
                    operation: "restoreSession",
                })?
        })
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(async move {
            self.core
                .server_count_by(Instant::now() + self.core.shared.config.requests_timeout)
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_must_be_stream_ids() {
        for ok in ["0-0", "1796182534707-0", "1-12"] {
            assert!(is_stream_id(ok), "{ok}");
        }
        for bad in [
            "",
            "abc",
            "1-",
            "-1",
            "1-2-3",
            "1796182534707",
            "a-1",
            "1 -2",
            "MQ",
        ] {
            assert!(!is_stream_id(bad), "{bad}");
        }
        assert_eq!(
            next_id("1796182534707-0").as_deref(),
            Some("1796182534707-1")
        );
        assert_eq!(next_id(&format!("1-{}", u64::MAX)), None);
    }

    #[test]
    fn the_room_filter_is_nodes() {
        let rooms: HashSet<&str> = ["me", "r1"].into_iter().collect();
        let opts = |rooms: &[&str], except: &[&str]| WireOpts {
            rooms: rooms.iter().map(|r| r.to_string()).collect(),
            except: except.iter().map(|r| r.to_string()).collect(),
            ..WireOpts::default()
        };
        assert!(reaches(&opts(&[], &[]), &rooms));
        assert!(reaches(&opts(&["r1", "r2"], &[]), &rooms));
        assert!(reaches(&opts(&["me"], &["r2"]), &rooms));
        assert!(!reaches(&opts(&["r2"], &[]), &rooms));
        assert!(!reaches(&opts(&[], &["r1"]), &rooms));
        assert!(!reaches(&opts(&["r1"], &["me"]), &rooms));
    }
}
