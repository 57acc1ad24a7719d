//! The manager: one Engine.IO connection, shared by the sockets of several
//! namespaces, and the reconnection loop around it.

mod lookup;
mod reader;
mod run;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) use lookup::lookup;

use crate::engine::{EngineConfig, EngineSender, OutPacket};
use crate::socket::{SocketBuilder, SocketOptions};
use crate::url::{ServerUrl, encode_query};
use crate::{DisconnectReason, Error, ManagerConfig, Socket, TransportKind};

/// One connection to a server, shared by the sockets of every namespace
/// joined through it (multiplexing), with the reconnection loop: when the
/// connection drops, the manager reconnects with exponential backoff and
/// every active socket joins its namespace again.
///
/// A `Manager` is a handle: clones share the same connection. The connection
/// opens when a socket connects and closes when no active socket is left, or
/// on [`close`](Self::close).
///
/// ```no_run
/// # async fn f() -> Result<(), ferrio_client::Error> {
/// use ferrio_client::{Manager, ManagerConfig};
///
/// let manager = Manager::new("http://localhost:3000", ManagerConfig::default())?;
/// manager.on_reconnect(|attempt| println!("back after {attempt} attempts"));
/// let main = manager.socket("/").build();
/// let admin = manager.socket("/admin").build(); // same connection
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Manager {
    pub(crate) inner: Arc<ManagerInner>,
}

pub(crate) struct ManagerInner {
    config: ManagerConfig,
    engine_config: Arc<EngineConfig>,
    sockets: Mutex<HashMap<String, Socket>>,
    /// The open Engine.IO session, if any.
    session: Mutex<Option<Session>>,
    control: Mutex<Control>,
    /// `true` while the manager should be (or get) connected.
    desired: watch::Sender<bool>,
    listeners: Mutex<Listeners>,
    next_generation: AtomicU64,
}

/// An open session: where frames go.
struct Session {
    /// Tells sessions apart, so a socket knows on which one it sent CONNECT.
    generation: u64,
    sender: EngineSender,
    transport: TransportKind,
    sid: String,
}

/// The connection task, and whether it was asked to open since its last
/// attempt began.
#[derive(Default)]
struct Control {
    task: Option<JoinHandle<()>>,
    reopen: bool,
}

type Listener<T> = Arc<dyn Fn(T) + Send + Sync>;

/// The manager's lifecycle listeners.
#[derive(Default)]
struct Listeners {
    open: Vec<Listener<()>>,
    close: Vec<Listener<DisconnectReason>>,
    error: Vec<Listener<Error>>,
    reconnect_attempt: Vec<Listener<u32>>,
    reconnect: Vec<Listener<u32>>,
    reconnect_error: Vec<Listener<Error>>,
    reconnect_failed: Vec<Listener<()>>,
    upgrade: Vec<Listener<TransportKind>>,
}

impl Manager {
    /// A manager for the server the URL names (its path is ignored: sockets
    /// choose their namespace; its query goes with every request).
    ///
    /// Nothing connects until a socket does (or [`open`](Self::open)).
    pub fn new(url: &str, config: ManagerConfig) -> Result<Self, Error> {
        Ok(Self::from_target(&ServerUrl::parse(url)?, config))
    }

    pub(crate) fn from_target(target: &ServerUrl, config: ManagerConfig) -> Self {
        let engine_config = Arc::new(engine_config(target, &config));
        Self {
            inner: Arc::new(ManagerInner {
                config,
                engine_config,
                sockets: Mutex::new(HashMap::new()),
                session: Mutex::new(None),
                control: Mutex::new(Control::default()),
                desired: watch::Sender::new(false),
                listeners: Mutex::new(Listeners::default()),
                next_generation: AtomicU64::new(1),
            }),
        }
    }

    /// A builder for the socket of namespace `nsp` (`"/"`, `"/admin"`) on
    /// this manager's connection.
    pub fn socket(&self, nsp: &str) -> SocketBuilder {
        SocketBuilder::for_manager(self.clone(), nsp)
    }

    /// The options this manager was made with.
    pub fn config(&self) -> &ManagerConfig {
        &self.inner.config
    }

    /// Opens the connection (and keeps it open, reconnecting) if it is not
    /// open or opening. Sockets call this when they connect.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, when a connection task has to be started.
    pub fn open(&self) {
        self.inner.open();
    }

    /// Closes the connection and stops reconnecting: every socket
    /// disconnects with [`DisconnectReason::IoClientDisconnect`] and becomes
    /// inactive. A socket's [`connect`](Socket::connect) opens it again.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether an Engine.IO session is open.
    pub fn is_open(&self) -> bool {
        self.inner.session().is_some()
    }

    /// The transport the open session runs on.
    pub fn transport(&self) -> Option<TransportKind> {
        self.inner.session().as_ref().map(|s| s.transport)
    }

    /// The Engine.IO session id of the open session.
    pub fn engine_id(&self) -> Option<String> {
        self.inner.session().as_ref().map(|s| s.sid.clone())
    }

    /// Listens to the connection opening (`open`).
    pub fn on_open(&self, listener: impl Fn() + Send + Sync + 'static) {
        self.inner
            .listeners()
            .open
            .push(Arc::new(move |()| listener()));
    }

    /// Listens to the connection closing, with the reason (`close`).
    pub fn on_close(&self, listener: impl Fn(DisconnectReason) + Send + Sync + 'static) {
        self.inner.listeners().close.push(Arc::new(listener));
    }

    /// Listens to failures to open the connection (`error`).
    pub fn on_error(&self, listener: impl Fn(Error) + Send + Sync + 'static) {
        self.inner.listeners().error.push(Arc::new(listener));
    }

    /// Listens to each reconnection attempt, numbered from 1
    /// (`reconnect_attempt`).
    pub fn on_reconnect_attempt(&self, listener: impl Fn(u32) + Send + Sync + 'static) {
        self.inner
            .listeners()
            .reconnect_attempt
            .push(Arc::new(listener));
    }

    /// Listens to successful reconnections, with the number of attempts it
    /// took (`reconnect`).
    pub fn on_reconnect(&self, listener: impl Fn(u32) + Send + Sync + 'static) {
        self.inner.listeners().reconnect.push(Arc::new(listener));
    }

    /// Listens to failed reconnection attempts (`reconnect_error`).
    pub fn on_reconnect_error(&self, listener: impl Fn(Error) + Send + Sync + 'static) {
        self.inner
            .listeners()
            .reconnect_error
            .push(Arc::new(listener));
    }

    /// Listens to the manager giving up after `reconnection_attempts`
    /// (`reconnect_failed`).
    pub fn on_reconnect_failed(&self, listener: impl Fn() + Send + Sync + 'static) {
        self.inner
            .listeners()
            .reconnect_failed
            .push(Arc::new(move |()| listener()));
    }

    /// Listens to the session moving to another transport (the upgrade from
    /// polling to WebSocket).
    pub fn on_upgrade(&self, listener: impl Fn(TransportKind) + Send + Sync + 'static) {
        self.inner.listeners().upgrade.push(Arc::new(listener));
    }
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("authority", &self.inner.engine_config.authority)
            .field("path", &self.inner.engine_config.path)
            .field("transport", &self.transport())
            .finish_non_exhaustive()
    }
}

impl ManagerInner {
    fn session(&self) -> MutexGuard<'_, Option<Session>> {
        self.session.lock()
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock()
    }

    fn listeners(&self) -> MutexGuard<'_, Listeners> {
        self.listeners.lock()
    }

    fn sockets(&self) -> MutexGuard<'_, HashMap<String, Socket>> {
        self.sockets.lock()
    }

    /// The socket of a namespace, made if there is none.
    pub(crate) fn socket(&self, manager: &Manager, nsp: &str, options: SocketOptions) -> Socket {
        self.sockets()
            .entry(nsp.to_owned())
            .or_insert_with(|| Socket::new(nsp.to_owned(), manager.clone(), options))
            .clone()
    }

    pub(crate) fn has_socket(&self, nsp: &str) -> bool {
        self.sockets().contains_key(nsp)
    }

    fn all_sockets(&self) -> Vec<Socket> {
        self.sockets().values().cloned().collect()
    }

    /// Queues frames on the open session; returns its generation, or `None`
    /// if there is no session.
    pub(crate) fn send(&self, frames: Vec<OutPacket>) -> Option<u64> {
        let session = self.session();
        let session = session.as_ref()?;
        session.sender.send(frames).then_some(session.generation)
    }

    /// Encodes a packet with the configured parser and queues it on the open
    /// session; returns its generation, or `None` if there is no session.
    pub(crate) fn send_packet(
        &self,
        packet: ferrio_proto::socketio::Packet<ferrio_proto::socketio::Payload>,
    ) -> Option<u64> {
        self.send(crate::payload::frames_of(packet, self.config.parser))
    }

    /// The generation of the open session.
    pub(crate) fn generation(&self) -> Option<u64> {
        self.session().as_ref().map(|s| s.generation)
    }

    fn open(self: &Arc<Self>) {
        let mut control = self.control();
        self.desired.send_replace(true);
        control.reopen = true;
        if control.task.as_ref().is_none_or(JoinHandle::is_finished) {
            tracing::debug!(authority = %self.engine_config.authority, "manager opening");
            // A task that died with its runtime may have left its session.
            *self.session() = None;
            control.task = Some(tokio::spawn(run::run(self.clone())));
        }
    }

    fn close(&self) {
        tracing::debug!(authority = %self.engine_config.authority, "manager closing");
        {
            let _control = self.control();
            self.desired.send_replace(false);
        }
        for socket in self.all_sockets() {
            socket.deactivate();
        }
    }

    /// Closes the connection when no socket is active any more.
    ///
    /// The check and the close happen under the control lock, which
    /// [`open`](Self::open) takes too, and a socket is marked active before
    /// it opens the manager: a socket connecting meanwhile is never lost.
    pub(crate) fn maybe_close(&self) {
        let _control = self.control();
        if !self.all_sockets().iter().any(Socket::active) {
            tracing::debug!(authority = %self.engine_config.authority, "no active socket left");
            self.desired.send_replace(false);
        }
    }

    /// Decides, when the task would stop, whether it really stops: not if it
    /// was asked to open meanwhile. Returns `true` to stop.
    fn stop_task(&self) -> bool {
        let mut control = self.control();
        if control.reopen && *self.desired.borrow() {
            control.reopen = false;
            return false;
        }
        self.desired.send_replace(false);
        control.task = None;
        true
    }
}

/// The Engine.IO options of a manager.
fn engine_config(target: &ServerUrl, config: &ManagerConfig) -> EngineConfig {
    let mut path = config.path.clone();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    if !path.ends_with('/') {
        path.push('/');
    }
    let query = [target.query.clone(), encode_query(&config.query)]
        .into_iter()
        .filter(|q| !q.is_empty())
        .collect::<Vec<_>>()
        .join("&");
    EngineConfig {
        secure: target.secure,
        authority: target.authority.clone(),
        path,
        query,
        headers: config.extra_headers.clone(),
        transports: config.transports.clone(),
        upgrade: config.upgrade,
        max_message_size: config.max_message_size,
        tls: target.secure.then(|| crate::tls::client_config(config)),
        per_message_deflate: config.per_message_deflate.clone(),
    }
}

impl Listeners {
    fn emit<T: Clone>(list: &[Listener<T>], value: &T) {
        for listener in list {
            listener(value.clone());
        }
    }
}

impl ManagerInner {
    /// Calls the listeners chosen by `pick` with `value`, outside the lock.
    fn notify<T: Clone>(&self, pick: impl FnOnce(&Listeners) -> &Vec<Listener<T>>, value: T) {
        let list = pick(&self.listeners()).clone();
        Listeners::emit(&list, &value);
    }

    fn next_generation(&self) -> u64 {
        self.next_generation.fetch_add(1, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_config_joins_path_and_query() {
        let target = ServerUrl::parse("http://h:1/nsp?a=1").unwrap();
        let c = engine_config(&target, &ManagerConfig::default().query([("b", "x y")]));
        assert_eq!(c.path, "/socket.io/");
        assert_eq!(c.query, "a=1&b=x%20y");
        let c = engine_config(&target, &ManagerConfig::default().path("io"));
        assert_eq!(c.path, "/io/");
        assert_eq!(c.query, "a=1");
        assert_eq!(
            c.url(TransportKind::WebSocket, Some("s")),
            "ws://h:1/io/?EIO=4&transport=websocket&sid=s&a=1"
        );
    }
}
