use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, MutexGuard};

use crate::limits::{AddressKey, Limits, Refused, SessionSlot, Share};
use crate::session::ConnectInfo;
use crate::{CloseReason, EngineConfig, Handler, OutPacket, Session, Sid, TransportKind};

/// State shared by the engine handle, its sessions and their tasks.
pub(crate) struct EngineCore {
    pub config: EngineConfig,
    pub handler: Box<dyn Handler>,
    sessions: Mutex<HashMap<Sid, Arc<Session>>>,
    shutting_down: AtomicBool,
    pub limits: Limits,
    /// Bytes waiting in every session's outbox, counted as if each held its
    /// own copy (see [`EngineConfig::max_total_buffered_bytes`]).
    buffered: AtomicUsize,
    /// A sender is closing sessions to bring `buffered` under the budget.
    enforcing: AtomicBool,
    /// See [`Engine::on_sent`].
    pub sent_hook: OnceLock<crate::SentHook>,
}

impl EngineCore {
    /// A session queued `bytes` more.
    pub(crate) fn queued(&self, bytes: usize) {
        self.buffered.fetch_add(bytes, Ordering::Relaxed);
    }

    /// `bytes` left a session's outbox: written, taken or dropped.
    pub(crate) fn unqueued(&self, bytes: usize) {
        self.buffered.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// After a send that queued bytes: when every outbox together holds more
    /// than [`max_total_buffered_bytes`](EngineConfig::max_total_buffered_bytes),
    /// closes the sessions that hold the most, biggest first, until the total
    /// is back under it. Their handlers run later, never on this stack.
    pub(crate) fn check_budget(&self) {
        let budget = self.config.max_total_buffered_bytes;
        if self.buffered.load(Ordering::Relaxed) <= budget
            || self.enforcing.swap(true, Ordering::Acquire)
        {
            return;
        }
        // Cleared however this ends.
        struct Enforcing<'a>(&'a AtomicBool);
        impl Drop for Enforcing<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _enforcing = Enforcing(&self.enforcing);
        // Not under the table's lock: each session's lock is taken in turn.
        let sessions: Vec<Arc<Session>> = self.table().values().cloned().collect();
        let mut holding: Vec<(usize, Arc<Session>)> = sessions
            .into_iter()
            .map(|session| {
                let bytes = session.lock().queued_bytes;
                (bytes, session)
            })
            .filter(|(bytes, _)| *bytes > 0)
            .collect();
        holding.sort_unstable_by_key(|(bytes, _)| std::cmp::Reverse(*bytes));
        let total = self.buffered.load(Ordering::Relaxed);
        tracing::warn!(
            total,
            budget,
            "outbound buffers over the engine's budget: closing the sessions that hold the most"
        );
        for (_, session) in holding {
            if self.buffered.load(Ordering::Relaxed) <= budget {
                break;
            }
            session.close_over_budget();
        }
    }

    pub(crate) fn get(&self, sid: Sid) -> Option<Arc<Session>> {
        self.table().get(&sid).cloned()
    }

    /// Removes `session` from the table, if the entry of its id is this
    /// session (not a later one with the same id).
    pub(crate) fn remove_session(&self, session: &Session) {
        let sid = session.id();
        let removed = {
            let mut table = self.table();
            match table.get(&sid) {
                Some(entry) if std::ptr::eq(Arc::as_ptr(entry), session) => table.remove(&sid),
                _ => None,
            }
        };
        if removed.is_some() {
            self.limits.closed(sid);
        }
    }

    pub(crate) fn remove(&self, sid: Sid) -> Option<Arc<Session>> {
        let removed = self.table().remove(&sid);
        if removed.is_some() {
            self.limits.closed(sid);
        }
        removed
    }

    /// Takes a place for a new session from `peer`, or refuses the handshake
    /// when [`max_sessions`](EngineConfig::max_sessions) are open, or
    /// [`max_sessions_per_address`](EngineConfig::max_sessions_per_address)
    /// from its address. The HTTP front end words the refusal.
    pub(crate) fn reserve_session(&self, peer: Option<SocketAddr>) -> Result<SessionSlot, Refused> {
        let share = self.share(peer, self.config.max_sessions_per_address);
        self.limits.reserve(self.config.max_sessions, share)
    }

    /// The per-address share of a client at `peer`, when `max` is set and
    /// the address known.
    pub(crate) fn share(&self, peer: Option<SocketAddr>, max: Option<usize>) -> Share {
        Some((AddressKey::of(peer?), max?))
    }

    fn table(&self) -> MutexGuard<'_, HashMap<Sid, Arc<Session>>> {
        self.sessions.lock()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Opens a session: queues its open packet, registers it, starts its
    /// heartbeat, and keeps the connection the handler answers with. `None`
    /// when a session with this id is open already (an application's
    /// [`generate_id`](EngineConfig::generate_id) gave an id twice).
    pub(crate) fn open_session(
        self: &Arc<Self>,
        sid: Sid,
        info: ConnectInfo,
        transport: TransportKind,
    ) -> Option<Arc<Session>> {
        let address = self
            .share(info.remote_addr, self.config.max_sessions_per_address)
            .map(|(key, _)| key);
        let session = Session::new(self.clone(), sid, info, transport);
        let upgrades = match transport {
            TransportKind::Polling
                if self.config.allow_upgrades && self.config.allows(TransportKind::WebSocket) =>
            {
                vec!["websocket".to_owned()]
            }
            _ => Vec::new(),
        };
        let handshake = ferrio_proto::engine::Handshake {
            sid: sid.to_string(),
            upgrades,
            ping_interval: self.config.ping_interval.as_millis() as u64,
            ping_timeout: self.config.ping_timeout.as_millis() as u64,
            max_payload: self.config.max_payload as u64,
        };
        let mut open = Vec::with_capacity(128);
        handshake.encode(&mut open);
        let open = String::from_utf8(open).expect("the handshake is JSON text");
        session.push_control(OutPacket::Text(open.into()));
        if let Some(message) = &self.config.initial_packet {
            // Node's `initialPacket`: a message right after the open packet.
            session.push_initial(message.clone().into());
        }
        {
            let mut table = self.table();
            if table.contains_key(&sid) {
                tracing::debug!(%sid, "session id in use: handshake dropped");
                return None;
            }
            table.insert(sid, session.clone());
        }
        self.limits.opened(sid, address);
        tracing::debug!(%sid, transport = transport.as_str(), "session opened");
        session.start_heartbeat();
        let connection = self.handler.on_open(&session);
        session.set_connection(connection);
        Some(session)
    }
}

/// An Engine.IO server: the session table, its options and its handler.
///
/// Cheap to clone. It is a tower [`Service`](tower_service::Service) over HTTP
/// requests, so it mounts under hyper or axum, and [`serve`](crate::serve) runs it
/// on its own listener. Requests outside [`path`](EngineConfig::path) get 404
/// (see [`handles_path`](EngineConfig::handles_path)).
#[derive(Clone)]
pub struct Engine {
    pub(crate) shared: Arc<EngineCore>,
}

impl Engine {
    /// An engine with these options, reporting to `handler`.
    pub fn new(config: EngineConfig, handler: impl Handler) -> Self {
        Self {
            shared: Arc::new(EngineCore {
                config,
                handler: Box::new(handler),
                sessions: Mutex::new(HashMap::new()),
                shutting_down: AtomicBool::new(false),
                limits: Limits::default(),
                buffered: AtomicUsize::new(0),
                enforcing: AtomicBool::new(false),
                sent_hook: OnceLock::new(),
            }),
        }
    }

    /// The engine's options.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The open session with this id, if any.
    pub fn session(&self, sid: Sid) -> Option<Arc<Session>> {
        self.shared.get(sid)
    }

    /// Sets the function told of the messages sessions send (see
    /// [`SentHook`](crate::SentHook)); one per engine: `false` if one was
    /// set already. Without one, a send checks for it and nothing more.
    pub fn on_sent(&self, hook: crate::SentHook) -> bool {
        self.shared.sent_hook.set(hook).is_ok()
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.shared.table().len()
    }

    /// Bytes waiting in the outboxes of all sessions, counted per session (a
    /// broadcast frame waiting for ten clients counts ten times, though it is
    /// held once): what [`max_total_buffered_bytes`](EngineConfig::max_total_buffered_bytes)
    /// bounds.
    pub fn buffered_bytes(&self) -> usize {
        self.shared.buffered.load(Ordering::Relaxed)
    }

    /// How many polling handshakes wait for their client's next request (see
    /// [`max_pending_handshakes`](EngineConfig::max_pending_handshakes)).
    pub fn pending_handshakes(&self) -> usize {
        self.shared.limits.pending_count()
    }

    /// Refuses new sessions and closes every open one with
    /// [`CloseReason::ServerShutdown`]; frames already queued are still written.
    pub fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::Relaxed);
        let sessions: Vec<_> = self.shared.table().values().cloned().collect();
        for session in sessions {
            session.close_with(CloseReason::ServerShutdown);
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.shared.config.path)
            .field("sessions", &self.session_count())
            .finish()
    }
}
