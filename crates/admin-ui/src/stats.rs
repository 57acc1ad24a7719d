//! The server stats the dashboard charts: Engine.IO connections (polling
//! ones apart) and the aggregated events, counted per second (Node's
//! `EventBuffer` and `registerEngineListeners`), sent every 2 s as
//! `server_stats`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferrio::engine::{CloseReason, Engine, Session};
use ferrio::{EngineObserver, SocketId, TransportKind, WeakNamespace};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::date::this_second_ms;
use crate::namespaces::Namespaces;
use crate::outbox::Outbox;

/// How often `server_stats` is sent (Node's fixed 2 s).
pub const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// How many distinct (second, type, sub-type) counts are kept between two
/// `server_stats`: the types and reasons are a fixed handful, so this is only
/// reached if the stats task is starved; past it, new keys are not counted.
pub const MAX_AGGREGATED_KEYS: usize = 1024;

/// The per-second counts (Node's `EventBuffer`), emptied by each `server_stats`.
#[derive(Debug, Default)]
pub(crate) struct EventBuffer {
    /// In the order first counted, as Node's `Map`.
    order: Vec<(u64, &'static str, Option<&'static str>)>,
    counts: HashMap<(u64, &'static str, Option<&'static str>), u64>,
}

impl EventBuffer {
    /// Counts `count` of `kind` (`sub_kind`: a disconnection's reason) now.
    pub(crate) fn push(&mut self, kind: &'static str, sub_kind: Option<&'static str>, count: u64) {
        let key = (this_second_ms(), kind, sub_kind);
        if let Some(n) = self.counts.get_mut(&key) {
            *n = n.saturating_add(count);
        } else if self.counts.len() < MAX_AGGREGATED_KEYS {
            self.counts.insert(key, count);
            self.order.push(key);
        }
    }

    /// The counts as Node sends them, `[{timestamp, type, subType?, count}]`,
    /// and empties the buffer.
    pub(crate) fn take_json(&mut self) -> Value {
        let counts = std::mem::take(&mut self.counts);
        let values =
            std::mem::take(&mut self.order)
                .into_iter()
                .map(|key @ (timestamp, kind, sub_kind)| {
                    let mut entry = Map::new();
                    entry.insert("timestamp".into(), timestamp.into());
                    entry.insert("type".into(), kind.into());
                    if let Some(sub_kind) = sub_kind {
                        entry.insert("subType".into(), sub_kind.into());
                    }
                    entry.insert(
                        "count".into(),
                        counts.get(&key).copied().unwrap_or(0).into(),
                    );
                    Value::Object(entry)
                });
        Value::Array(values.collect())
    }
}

/// Counts the server's Engine.IO connections (an [`EngineObserver`]).
/// Messages and bytes in and out are counted in atomics (a broadcast counts
/// once per recipient, on the sender's stack: no lock there) and moved into
/// the buffer at each `server_stats`, stamped with that second.
#[derive(Debug, Default)]
pub(crate) struct EngineStats {
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    /// Sessions that are still on long-polling.
    polling: Mutex<HashSet<SocketId>>,
    pub(crate) events: Mutex<EventBuffer>,
}

impl EngineStats {
    fn polling_count(&self) -> usize {
        self.polling.lock().len()
    }

    /// The aggregated events since the last call, as Node sends them.
    pub(crate) fn take_aggregated(&self) -> Value {
        let mut events = self.events.lock();
        for (kind, counter) in [
            ("packetsIn", &self.packets_in),
            ("bytesIn", &self.bytes_in),
            ("packetsOut", &self.packets_out),
            ("bytesOut", &self.bytes_out),
        ] {
            let count = counter.swap(0, Ordering::Relaxed);
            if count > 0 {
                events.push(kind, None, count);
            }
        }
        events.take_json()
    }
}

impl EngineObserver for EngineStats {
    fn opened(&self, session: &Session) {
        if session.transport() == TransportKind::Polling {
            self.polling.lock().insert(session.id());
        }
        self.events.lock().push("rawConnection", None, 1);
    }

    fn upgraded(&self, session: &Session) {
        self.polling.lock().remove(&session.id());
    }

    fn received(&self, _session: &Session, bytes: usize) {
        self.packets_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(as_u64(bytes), Ordering::Relaxed);
    }

    fn sent(&self, _session: &Session, messages: usize, bytes: usize) {
        self.packets_out
            .fetch_add(as_u64(messages), Ordering::Relaxed);
        self.bytes_out.fetch_add(as_u64(bytes), Ordering::Relaxed);
    }

    fn closed(&self, session: &Session, reason: CloseReason) {
        self.polling.lock().remove(&session.id());
        self.events
            .lock()
            .push("rawDisconnection", Some(reason.as_str()), 1);
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// What `server_stats` says of the process, fixed at `instrument`.
#[derive(Debug)]
pub(crate) struct BaseStats {
    pub server_id: String,
    pub hostname: String,
    pub pid: u32,
    pub started: Instant,
}

/// Sends `server_stats` to the admin namespace every [`STATS_INTERVAL`],
/// the first at once, until the namespace is gone.
pub(crate) async fn emit_stats(
    admin: WeakNamespace,
    sessions: Engine,
    base: BaseStats,
    engine: Arc<EngineStats>,
    namespaces: Arc<Namespaces>,
    outbox: Arc<Outbox>,
) {
    let mut ticks = tokio::time::interval(STATS_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(admin) = admin.upgrade() else { return };
        let dropped = outbox.take_dropped();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "admin UI events dropped: the admin namespace fell behind"
            );
        }
        let namespaces: Vec<Value> = namespaces
            .all()
            .iter()
            .map(|nsp| json!({"name": nsp.name(), "socketsCount": nsp.socket_count()}))
            .collect();
        let stats = json!({
            "serverId": base.server_id,
            "hostname": base.hostname,
            "pid": base.pid,
            "uptime": base.started.elapsed().as_secs_f64(),
            "clientsCount": sessions.session_count(),
            "pollingClientsCount": engine.polling_count(),
            "aggregatedEvents": engine.take_aggregated(),
            "namespaces": namespaces,
        });
        if let Err(error) = admin.emit("server_stats", &stats) {
            tracing::debug!(%error, "server_stats not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_second_type_and_reason_and_the_buffer_empties() {
        let mut buffer = EventBuffer::default();
        buffer.push("rawConnection", None, 1);
        buffer.push("rawConnection", None, 1);
        buffer.push("rawDisconnection", Some("transport close"), 1);
        buffer.push("bytesIn", None, 40);
        let json = buffer.take_json();
        let Some(list) = json.as_array() else {
            panic!("{json}")
        };
        // Unless the second turned between the pushes.
        if list.len() == 3 {
            assert_eq!(list.first().and_then(|e| e.get("count")), Some(&json!(2)));
            assert_eq!(
                list.get(1).and_then(|e| e.get("subType")),
                Some(&json!("transport close"))
            );
            assert_eq!(list.first().and_then(|e| e.get("subType")), None);
        }
        assert_eq!(buffer.take_json(), json!([]));
    }

    #[test]
    fn the_buffer_keeps_a_bounded_number_of_keys() {
        let mut buffer = EventBuffer::default();
        let reasons: Vec<&'static str> = (0..MAX_AGGREGATED_KEYS + 10)
            .map(|i| &*Box::leak(format!("r{i}").into_boxed_str()))
            .collect();
        for reason in reasons {
            buffer.push("rawDisconnection", Some(reason), 1);
        }
        assert!(buffer.counts.len() <= MAX_AGGREGATED_KEYS);
    }
}
