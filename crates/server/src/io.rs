//! The server: `io` in Node.

use std::future::Future;
use std::sync::{Arc, OnceLock, Weak};

use ferrio_engine::{CloseReason, Connection, Engine, Handler, Message, Session};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

use crate::adapter::{AdapterFactory, MemoryAdapterFactory, ServerSideResponses};
use crate::client::Client;
use crate::namespace::{Matcher, Registry, Settings};
use crate::serve_client::ClientFiles;
use crate::{
    BroadcastOperator, ConnectError, EmitError, IntoRooms, Namespace, Socket, SocketIoConfig,
};

pub(crate) struct IoInner {
    pub config: SocketIoConfig,
    pub registry: Registry,
    engine: OnceLock<Engine>,
    client_files: Option<Arc<ClientFiles>>,
    /// Set by [`SocketIo::close`]: every `serve` stops accepting.
    closing: watch::Sender<bool>,
    /// How many `serve` calls still hold their listener.
    serving: watch::Sender<usize>,
    /// What [`SocketIo::observe_engine`] added; `has_engine_observers` is
    /// read first so that a server without any takes no lock per message.
    engine_observers: Arc<parking_lot::RwLock<Vec<Arc<dyn crate::EngineObserver>>>>,
    has_engine_observers: std::sync::atomic::AtomicBool,
}

impl IoInner {
    /// Runs `tell` with each engine observer, if there is any.
    pub(crate) fn tell_engine_observers(&self, tell: impl Fn(&dyn crate::EngineObserver)) {
        if !self
            .has_engine_observers
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return;
        }
        // Read in place (no copy per message), recursively: an observer that
        // sends re-enters through the sent hook, and a writer waiting (an
        // `observe_engine` meanwhile) must not block that second read. An
        // observer must not add another from its calls.
        for observer in self.engine_observers.read_recursive().iter() {
            tell(&**observer);
        }
    }
}

/// One `serve` that holds its listener; counted in `serving` until dropped.
struct Serving(Arc<IoInner>);

impl Serving {
    fn new(inner: &Arc<IoInner>) -> Self {
        inner.serving.send_modify(|n| *n += 1);
        Self(inner.clone())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.serving.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A Socket.IO server. Cheap to clone; every clone is the same server.
///
/// ```no_run
/// use ferrio::SocketIo;
///
/// # async fn run() -> std::io::Result<()> {
/// let io = SocketIo::new();
/// io.on_connection(|socket| async move {
///     socket.on("chat message", |socket, event| async move {
///         let text: String = event.arg(0).unwrap_or_default();
///         let _ = socket.namespace().emit("chat message", &text);
///     });
/// });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// io.serve(listener, std::future::pending()).await
/// # }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<IoInner>,
}

impl Default for SocketIo {
    fn default() -> Self {
        Self::new()
    }
}

impl SocketIo {
    /// A server with the default options and the in-memory adapter.
    pub fn new() -> Self {
        Self::with_config(SocketIoConfig::default())
    }

    /// A server with these options and the in-memory adapter.
    pub fn with_config(config: SocketIoConfig) -> Self {
        Self::with_adapter(config, MemoryAdapterFactory)
    }

    /// A server whose namespaces use adapters made by `adapters`.
    pub fn with_adapter(config: SocketIoConfig, adapters: impl AdapterFactory) -> Self {
        let inner = Arc::new(IoInner {
            registry: Registry::new(
                Arc::new(adapters),
                Settings {
                    ack_timeout: config.ack_timeout,
                    cleanup_empty_children: config.cleanup_empty_child_namespaces,
                    max_name_len: config.max_namespace_len,
                    recovery: config.connection_state_recovery,
                    parser: config.parser,
                },
            ),
            engine: OnceLock::new(),
            client_files: config
                .serve_client
                .clone()
                .map(|dir| Arc::new(ClientFiles::new(dir, &config.engine.path))),
            config,
            closing: watch::Sender::new(false),
            serving: watch::Sender::new(0),
            engine_observers: Arc::default(),
            has_engine_observers: std::sync::atomic::AtomicBool::new(false),
        });
        let engine = Engine::new(
            inner.config.engine.clone(),
            IoHandler(Arc::downgrade(&inner)),
        );
        let _ = inner.engine.set(engine);
        // The main namespace always exists.
        inner.registry.of("/");
        Self { inner }
    }

    /// The server's options.
    pub fn config(&self) -> &SocketIoConfig {
        &self.inner.config
    }

    /// The Engine.IO server underneath.
    pub fn engine(&self) -> &Engine {
        self.inner.engine.get().expect("set in the constructor")
    }

    /// The static namespace with this name, created if needed.
    pub fn of(&self, name: &str) -> Namespace {
        self.inner.registry.of(name)
    }

    /// A dynamic namespace: every name matching `pattern` (a regular
    /// expression) gets a child namespace on first connection, sharing the
    /// middleware and connection handlers set on the returned namespace.
    pub fn of_pattern(&self, pattern: &str) -> Result<Namespace, regex::Error> {
        let re = regex::Regex::new(pattern)?;
        Ok(self.inner.registry.dynamic(Matcher::Pattern(re), pattern))
    }

    /// A dynamic namespace decided by a predicate of the name and the auth payload.
    pub fn of_fn(
        &self,
        accepts: impl Fn(&str, &Value) -> bool + Send + Sync + 'static,
    ) -> Namespace {
        self.inner
            .registry
            .dynamic(Matcher::Predicate(Arc::new(accepts)), "<dynamic>")
    }

    /// A dynamic namespace decided by an async function of the name and the
    /// auth payload (Node's `io.of((name, auth, next) => …)`), which may
    /// consult a database. `Ok(true)` accepts the name; `Ok(false)` or an
    /// error refuses it, as in Node, where the next dynamic namespace is
    /// then asked, and the client gets CONNECT_ERROR "Invalid namespace" when
    /// none accepts (the error is logged at debug level). Packets the client
    /// sends to that namespace meanwhile wait, as they do for middleware.
    pub fn of_async_fn<F, Fut, E>(&self, accepts: F) -> Namespace
    where
        F: Fn(String, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<bool, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let accepts: crate::namespace::AsyncPredicate = Arc::new(move |name, auth| {
            let decided = accepts(name.clone(), auth);
            Box::pin(async move {
                decided.await.unwrap_or_else(|error| {
                    tracing::debug!(nsp = %name, %error, "dynamic namespace function failed");
                    false
                })
            })
        });
        self.inner
            .registry
            .dynamic(Matcher::Async(accepts), "<dynamic>")
    }

    /// Runs `hook` with each namespace made from now on, static or a
    /// dynamic child, the main one excepted (Node's `io.on("new_namespace")`).
    /// It runs on the stack of whoever made the namespace (an [`of`](Self::of)
    /// call, a client's CONNECT), outside the server's locks.
    pub fn on_new_namespace(&self, hook: impl Fn(&Namespace) + Send + Sync + 'static) {
        self.inner.registry.on_new_namespace(Arc::new(hook));
    }

    /// Tells `observer` of every Engine.IO connection from now on: opened,
    /// upgraded, each message received and sent, closed (for monitoring, as
    /// `@socket.io/admin-ui` listens to Node's `io.engine`). An observer must
    /// not add another from its calls.
    pub fn observe_engine(&self, observer: Arc<dyn crate::EngineObserver>) {
        let mut observers = self.inner.engine_observers.write();
        if observers.is_empty() {
            // The engine tells of sends only once someone listens; the
            // observers are read in place, under a read lock, per send.
            let listeners = self.inner.engine_observers.clone();
            self.engine()
                .on_sent(Arc::new(move |session, messages, bytes| {
                    for observer in listeners.read_recursive().iter() {
                        observer.sent(session, messages, bytes);
                    }
                }));
        }
        observers.push(observer);
        drop(observers);
        self.inner
            .has_engine_observers
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// The main namespace, `/`.
    pub fn sockets(&self) -> Namespace {
        self.of("/")
    }

    /// Every namespace that exists now.
    pub fn namespaces(&self) -> Vec<Namespace> {
        self.inner.registry.all()
    }

    /// A connection handler on the main namespace.
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.sockets().on_connection(handler);
    }

    /// Connection middleware on the main namespace.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.sockets().use_middleware(middleware);
    }

    /// Emits to every socket of the main namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.sockets().emit(event, data)
    }

    /// Targets sockets of the main namespace in rooms.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.sockets().to(rooms)
    }

    /// Same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Targets sockets of the main namespace not in rooms.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.sockets().except(rooms)
    }

    /// Targets only this server's sockets of the main namespace.
    pub fn local(&self) -> BroadcastOperator {
        self.sockets().local()
    }

    /// Operates on the main namespace with flags (`timeout`, `volatile`, …).
    pub fn broadcast(&self) -> BroadcastOperator {
        self.sockets().broadcast()
    }

    /// Sends a `message` event to every socket of the main namespace (Node's
    /// `io.send(…)`).
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.sockets().send(data)
    }

    /// The sockets of the main namespace, on every server of the cluster
    /// (Node's `io.fetchSockets()`).
    pub async fn fetch_sockets(&self) -> Result<Vec<crate::RemoteSocket>, EmitError> {
        self.sockets().fetch_sockets().await
    }

    /// The ids of the main namespace's sockets, on every server of the
    /// cluster (Node's `io.allSockets()`, deprecated there in favour of
    /// [`fetch_sockets`](Self::fetch_sockets)).
    pub async fn all_sockets(
        &self,
    ) -> Result<std::collections::HashSet<crate::SocketId>, EmitError> {
        self.sockets().all_sockets().await
    }

    /// Closes the server, as Node's `io.close()`: at once, every connection
    /// is closed ("server shutting down"), new ones are refused, and every
    /// [`serve`](Self::serve) (`serve_with_config`, `serve_tls`) stops
    /// accepting. The future resolves once every namespace's adapter has
    /// closed (a cluster adapter unsubscribes) and every such listener is
    /// dropped: a new TCP connection is then refused. (A server mounted with
    /// [`layer`](Self::layer) refuses Socket.IO requests; the application's
    /// own listener is its to stop.) Dropping the future skips the wait only.
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.closing.send_replace(true);
        self.engine().shutdown();
        let adapters: Vec<_> = self
            .namespaces()
            .iter()
            .map(|n| n.adapter().clone())
            .collect();
        let mut serving = self.inner.serving.subscribe();
        async move {
            futures_util::future::join_all(adapters.iter().map(|a| a.close())).await;
            let _ = serving.wait_for(|n| *n == 0).await;
        }
    }

    /// Sends an event to the other servers of the cluster, on the main
    /// namespace (see [`Namespace::server_side_emit`]).
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<(), EmitError>> + Send + 'static + use<T> {
        self.sockets().server_side_emit(event, data)
    }

    /// Sends an event to the other servers of the cluster and gathers their
    /// answers, on the main namespace (see
    /// [`Namespace::server_side_emit_with_ack`]).
    pub fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<ServerSideResponses, EmitError>> + Send + 'static + use<T>
    {
        self.sockets().server_side_emit_with_ack(event, data)
    }

    /// An operator on the main namespace with a time limit for
    /// acknowledgements: `io.timeout(t).server_side_emit_with_ack(…)`.
    pub fn timeout(&self, timeout: std::time::Duration) -> BroadcastOperator {
        self.sockets().timeout(timeout)
    }

    /// Serves on `listener` until `shutdown` completes, then closes gracefully.
    /// With [`SocketIoConfig::serve_client`], also answers the browser
    /// client's files (`/socket.io/socket.io.js`, …).
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.serve_with_config(listener, ferrio_engine::ServeConfig::default(), shutdown)
            .await
    }

    /// [`serve`](Self::serve) with listener options: connection and
    /// request-head limits ([`ServeConfig`](ferrio_engine::ServeConfig)), TLS.
    pub async fn serve_with_config(
        &self,
        listener: tokio::net::TcpListener,
        config: ferrio_engine::ServeConfig,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        // The layer over the engine itself: the client files (`serve_client`)
        // are answered by the layer, everything else by the engine.
        let engine = self.engine().clone();
        let service = tower_layer::Layer::layer(&self.layer(), engine.clone());
        // Counted until the listener is dropped (or this future is).
        let serving = Serving::new(&self.inner);
        let mut closing = self.inner.closing.subscribe();
        let stop = async move {
            tokio::pin!(shutdown);
            tokio::select! {
                () = &mut shutdown => {}
                _ = closing.wait_for(|closing| *closing) => {}
            }
        };
        ferrio_engine::serve_with_config(listener, service, config, stop, move || {
            engine.shutdown();
            drop(serving);
        })
        .await
    }

    /// [`serve`](Self::serve) over TLS (`https://`, `wss://`), the other
    /// listener options at their defaults.
    ///
    /// ```no_run
    /// use ferrio::{SocketIo, TlsConfig};
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let io = SocketIo::new();
    /// let tls = TlsConfig::from_pem_files("fullchain.pem", "privkey.pem")?;
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
    /// io.serve_tls(listener, tls, std::future::pending()).await
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    pub async fn serve_tls(
        &self,
        listener: tokio::net::TcpListener,
        tls: ferrio_engine::TlsConfig,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let config = ferrio_engine::ServeConfig::default().tls(tls);
        self.serve_with_config(listener, config, shutdown).await
    }

    /// A tower layer that answers Socket.IO requests and passes every other
    /// request to the service it wraps (to mount beside axum routes). It
    /// serves the browser client too when [`SocketIoConfig::serve_client`] is set.
    pub fn layer(&self) -> crate::SocketIoLayer {
        crate::SocketIoLayer::new(self.engine().clone(), self.inner.client_files.clone())
    }
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo").finish_non_exhaustive()
    }
}

/// Connects the Engine.IO layer to the Socket.IO one.
struct IoHandler(Weak<IoInner>);

impl Handler for IoHandler {
    fn on_open(&self, session: &Arc<Session>) -> Arc<dyn Connection> {
        match self.0.upgrade() {
            Some(io) => {
                io.tell_engine_observers(|o| o.opened(session));
                Client::new(session.clone(), io)
            }
            // The server is gone: nothing to hand the session's messages to.
            None => Arc::new(Gone),
        }
    }
}

/// The engine calls the Socket.IO connection directly: no lookup per message.
impl Connection for Client {
    fn on_message(self: Arc<Self>, message: Message) {
        Client::on_message(&self, message);
    }

    fn on_upgrade(&self) {
        Client::on_upgrade(self);
    }

    fn on_close(&self, reason: CloseReason) {
        Client::on_close(self, reason);
    }
}

/// A session opened while the server was being dropped: its messages go nowhere.
struct Gone;

impl Connection for Gone {
    fn on_message(self: Arc<Self>, _message: Message) {}

    fn on_close(&self, _reason: CloseReason) {}
}
