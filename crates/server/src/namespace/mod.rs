//! Namespaces: independent channels multiplexed over one connection.

mod parent;
mod registry;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;
use std::time::Duration;

use ferrio_proto::socketio::Args;
use futures_util::FutureExt;
use futures_util::future::Shared;
use serde::Serialize;

use parent::ChildLink;
pub(crate) use registry::{AsyncPredicate, Lookup, Matcher, Registry, Settings};

use crate::adapter::{
    Adapter, AdapterContext, AdapterError, AdapterFactory, AdapterHost, BoxFuture, ServerSideAck,
    ServerSideResponses,
};
use crate::{BroadcastOperator, ConnectError, EmitError, IntoRooms, Room, Socket, SocketId};

type Middleware = Arc<
    dyn Fn(Arc<Socket>) -> Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>
        + Send
        + Sync,
>;
type ConnectionHandler =
    Arc<dyn Fn(Arc<Socket>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;
type ServerSideHandler = Arc<
    dyn Fn(Args, Option<ServerSideAck>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;
/// The adapter's `init`, shared by everyone awaiting [`Namespace::ready`].
type Ready = Shared<BoxFuture<'static, Result<(), AdapterError>>>;

/// Middleware and connection handlers; a dynamic namespace's children share
/// their parent's.
#[derive(Default)]
pub(crate) struct Listeners {
    pub middleware: RwLock<Vec<Middleware>>,
    pub connection: RwLock<Vec<ConnectionHandler>>,
}

pub(crate) struct Inner {
    name: String,
    listeners: Arc<Listeners>,
    /// Keyed by random ids the server made: a fast hasher is safe.
    sockets: RwLock<HashMap<SocketId, Arc<Socket>, foldhash::fast::RandomState>>,
    adapter: Arc<dyn Adapter>,
    ready: Ready,
    /// `on_server_side` handlers by event name.
    server_side: RwLock<HashMap<String, Vec<ServerSideHandler>>>,
    ack_ids: AtomicU64,
    settings: Settings,
    /// For a dynamic child: its parent's map, which it leaves once unused.
    child: Option<ChildLink>,
}

/// A namespace: `io.of("/chat")` in Node. Cheap to clone.
#[derive(Clone)]
pub struct Namespace(Arc<Inner>);

/// Identifies the middleware and connection handlers of a namespace: the
/// children of one dynamic namespace share their parent's (a handler added
/// to one runs for all), every other namespace has its own. See
/// [`Namespace::handlers_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandlersId(usize);

/// A handle to a namespace that does not keep it alive, for adapters.
#[derive(Clone)]
pub struct WeakNamespace(Weak<Inner>);

impl WeakNamespace {
    /// The namespace, if it still exists.
    pub fn upgrade(&self) -> Option<Namespace> {
        self.0.upgrade().map(Namespace)
    }
}

impl Namespace {
    pub(crate) fn new(
        name: String,
        listeners: Arc<Listeners>,
        adapters: &dyn AdapterFactory,
        settings: Settings,
        child: Option<ChildLink>,
    ) -> Self {
        let namespace = Namespace(Arc::new_cyclic(|weak: &Weak<Inner>| {
            let host: Weak<dyn AdapterHost> = weak.clone();
            let ctx = AdapterContext::new(host, name.as_str())
                .with_recovery(settings.recovery)
                .with_parser(settings.parser);
            let adapter = adapters.create(ctx);
            let init = adapter.clone();
            let ready: BoxFuture<'static, _> = Box::pin(async move { init.init().await });
            Inner {
                adapter,
                ready: ready.shared(),
                server_side: RwLock::default(),
                name,
                listeners,
                sockets: RwLock::new(HashMap::default()),
                ack_ids: AtomicU64::new(0),
                settings,
                child,
            }
        }));
        namespace.start_init();
        namespace
    }

    /// Starts the adapter's `init`: done at once for an adapter with nothing
    /// to do, else driven by a task on the current runtime (or, with none,
    /// by the first [`ready`](Self::ready)).
    fn start_init(&self) {
        let ready = self.0.ready.clone();
        if ready.clone().now_or_never().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let name = self.0.name.clone();
        runtime.spawn(async move {
            if let Err(e) = ready.await {
                tracing::warn!(nsp = %name, error = %e, "adapter init failed");
            }
        });
    }

    /// Waits until the adapter is ready (a cluster adapter: subscribed, so
    /// counted by the other servers), and says whether its `init` failed.
    pub async fn ready(&self) -> Result<(), AdapterError> {
        self.0.ready.clone().await
    }

    /// Whether both handles are the same namespace.
    pub(crate) fn ptr_eq(&self, other: &Namespace) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// One more socket uses this namespace (a dynamic child only counts).
    pub(crate) fn acquire(&self) {
        if let Some(child) = &self.0.child {
            child.acquire();
        }
    }

    /// A socket made for this namespace is gone: the pair of the `acquire`
    /// that [`Registry::lookup`] did. An unused dynamic child leaves its
    /// parent when cleanup is on.
    pub(crate) fn release(&self) {
        if let Some(child) = &self.0.child {
            child.release(self);
        }
    }

    /// The acknowledgement timeout of broadcasts that set none.
    pub(crate) fn ack_timeout(&self) -> std::time::Duration {
        self.0.settings.ack_timeout
    }

    /// The namespace's name, starting with `/`.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The name as a packet holds it (the main namespace's without allocating).
    pub(crate) fn packet_name(&self) -> std::borrow::Cow<'static, str> {
        ferrio_proto::socketio::packet_namespace(&self.0.name)
    }

    /// The namespace's adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.0.adapter
    }

    pub(crate) fn listeners(&self) -> &Arc<Listeners> {
        &self.0.listeners
    }

    /// Which middleware and connection handlers this namespace runs: equal
    /// for the children of one dynamic namespace, which share their
    /// parent's, so that code adding a connection handler to every namespace
    /// made ([`SocketIo::on_new_namespace`](crate::SocketIo::on_new_namespace))
    /// adds it once per family. Stable for the server's life.
    pub fn handlers_id(&self) -> HandlersId {
        HandlersId(Arc::as_ptr(&self.0.listeners) as usize)
    }

    /// A weak handle.
    pub fn downgrade(&self) -> WeakNamespace {
        WeakNamespace(Arc::downgrade(&self.0))
    }

    /// Adds connection middleware: it runs, in order, before a socket connects;
    /// an `Err` refuses the connection with CONNECT_ERROR.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        let mw: Middleware = Arc::new(move |s| Box::pin(middleware(s)));
        self.0.listeners.middleware.write().push(mw);
    }

    /// Adds a handler for each new socket: `nsp.on("connection", …)` in Node.
    ///
    /// It runs right away up to its first `.await`, so listeners it registers
    /// before awaiting anything are in place for the client's first event.
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let h: ConnectionHandler = Arc::new(move |s| Box::pin(handler(s)));
        self.0.listeners.connection.write().push(h);
    }

    /// The connected socket with this id on this server.
    pub fn get_socket(&self, id: SocketId) -> Option<Arc<Socket>> {
        self.0.sockets.read().get(&id).cloned()
    }

    /// Every connected socket of this namespace on this server.
    pub fn local_sockets(&self) -> Vec<Arc<Socket>> {
        self.0.local_sockets()
    }

    /// The connected sockets among these ids.
    pub fn sockets_by_id<S: BuildHasher>(&self, ids: HashSet<SocketId, S>) -> Vec<Arc<Socket>> {
        self.0.sockets_by_id(ids.into_iter())
    }

    /// This server's sockets of the namespace with the rooms each is in,
    /// its own room included: a snapshot of Node's `nsp.adapter.sids`. From
    /// the adapter's [`sids`](Adapter::sids) when it has them (the
    /// in-memory adapter does: sockets still in connection middleware
    /// included), else from each connected socket's rooms.
    pub fn adapter_sids(&self) -> HashMap<SocketId, HashSet<Room>> {
        if let Some(sids) = self.0.adapter.sids() {
            return sids;
        }
        let mut sids = HashMap::new();
        for socket in self.local_sockets() {
            let rooms: HashSet<Room> = self
                .0
                .adapter
                .socket_rooms(socket.id())
                .into_iter()
                .collect();
            if !rooms.is_empty() {
                sids.insert(socket.id(), rooms);
            }
        }
        sids
    }

    /// This server's rooms of the namespace with their members, each
    /// socket's own room included: a snapshot of Node's
    /// `nsp.adapter.rooms` (the inverse of
    /// [`adapter_sids`](Self::adapter_sids)).
    pub fn adapter_rooms(&self) -> HashMap<Room, HashSet<SocketId>> {
        let mut rooms: HashMap<Room, HashSet<SocketId>> = HashMap::new();
        for (id, joined) in self.adapter_sids() {
            for room in joined {
                rooms.entry(room).or_default().insert(id);
            }
        }
        rooms
    }

    /// How many sockets are connected here.
    pub fn socket_count(&self) -> usize {
        self.0.sockets.read().len()
    }

    pub(crate) fn insert_socket(&self, socket: Arc<Socket>) {
        self.0.sockets.write().insert(socket.id(), socket);
    }

    pub(crate) fn remove_socket(&self, id: SocketId) {
        self.0.sockets.write().remove(&id);
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        AdapterHost::next_ack_id(&*self.0)
    }

    /// An operator targeting every socket of the namespace.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }

    /// Targets the sockets in rooms.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Targets every socket but those in rooms.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Targets only this server's sockets.
    pub fn local(&self) -> BroadcastOperator {
        self.broadcast().local()
    }

    /// Emits to every socket of the namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.broadcast().emit(event, data)
    }

    /// Sends a `message` event to every socket of the namespace (Node's
    /// `nsp.send(…)`).
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.emit("message", data)
    }

    /// The sockets of the namespace, on every server of the cluster (Node's
    /// `nsp.fetchSockets()`).
    pub async fn fetch_sockets(&self) -> Result<Vec<crate::RemoteSocket>, EmitError> {
        self.broadcast().fetch_sockets().await
    }

    /// The ids of the namespace's sockets, on every server of the cluster
    /// (Node's `nsp.allSockets()`, deprecated there in favour of
    /// [`fetch_sockets`](Self::fetch_sockets)).
    pub async fn all_sockets(&self) -> Result<HashSet<SocketId>, EmitError> {
        self.broadcast().all_sockets().await
    }
}

/// Events between servers (Node's `serverSideEmit` and its listeners).
impl Namespace {
    /// Handles a server-side event another server of the cluster sent with
    /// [`server_side_emit`](Self::server_side_emit) (Node's `nsp.on(event, …)`
    /// for such events). `ack` is `Some` when the sender waits for an
    /// answer: one value, sent with [`ServerSideAck::send`]. Each handler runs
    /// as a task of its own.
    pub fn on_server_side<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Args, Option<ServerSideAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let h: ServerSideHandler = Arc::new(move |args, ack| Box::pin(handler(args, ack)));
        self.0
            .server_side
            .write()
            .entry(event.to_owned())
            .or_default()
            .push(h);
    }

    /// Runs the [`on_server_side`](Self::on_server_side) handlers of `event`:
    /// what an adapter calls with an event another server sent. Without a
    /// handler, `ack` is dropped unanswered (the sender's wait times out for
    /// this server, as with Node).
    #[doc(hidden)]
    pub fn dispatch_server_side(&self, event: &str, args: Args, ack: Option<ServerSideAck>) {
        self.0.dispatch_server_side(event, args, ack);
    }

    /// Sends an event to the other servers of the cluster (Node's
    /// `serverSideEmit`); their [`on_server_side`](Self::on_server_side)
    /// handlers get it. Never to this server, nor to clients.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<(), EmitError>> + Send + 'static + use<T> {
        self.broadcast().server_side_emit(event, data)
    }

    /// Like [`server_side_emit`](Self::server_side_emit), and gathers each
    /// other server's answer, until all answered or the ack timeout passed
    /// ([`SocketIoConfig::ack_timeout`](crate::SocketIoConfig::ack_timeout),
    /// 5 s; another with [`timeout`](Self::timeout)). Node's
    /// `serverSideEmitWithAck`.
    pub fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<ServerSideResponses, EmitError>> + Send + 'static + use<T>
    {
        self.broadcast().server_side_emit_with_ack(event, data)
    }

    /// An operator with a time limit for acknowledgements:
    /// `nsp.timeout(t).server_side_emit_with_ack(…)`, `nsp.timeout(t).emit_with_ack(…)`.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.broadcast().timeout(timeout)
    }

    /// How many servers share this namespace, this one included (1 without a
    /// cluster adapter).
    pub async fn server_count(&self) -> Result<usize, AdapterError> {
        self.0.adapter.server_count().await
    }
}

impl Inner {
    fn dispatch_server_side(&self, event: &str, args: Args, ack: Option<ServerSideAck>) {
        let handlers = self
            .server_side
            .read()
            .get(event)
            .cloned()
            .unwrap_or_default();
        if handlers.is_empty() {
            tracing::debug!(nsp = %self.name, event, "server-side event with no handler");
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(nsp = %self.name, event, "server-side event outside a runtime: dropped");
            return;
        };
        for handler in handlers {
            runtime.spawn(handler(args.clone(), ack.clone()));
        }
    }

    fn sockets_by_id(&self, ids: impl Iterator<Item = SocketId>) -> Vec<Arc<Socket>> {
        let sockets = self.sockets.read();
        ids.filter_map(|id| sockets.get(&id).cloned()).collect()
    }

    fn local_sockets(&self) -> Vec<Arc<Socket>> {
        self.sockets.read().values().cloned().collect()
    }
}

impl AdapterHost for Inner {
    fn name(&self) -> &str {
        &self.name
    }

    fn local_sockets(&self) -> Vec<Arc<Socket>> {
        Inner::local_sockets(self)
    }

    fn sockets_by_id(&self, ids: &mut dyn Iterator<Item = SocketId>) -> Vec<Arc<Socket>> {
        Inner::sockets_by_id(self, ids)
    }

    fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    fn dispatch_server_side(&self, event: &str, args: Args, ack: Option<ServerSideAck>) {
        Inner::dispatch_server_side(self, event, args, ack);
    }

    fn namespace(self: Arc<Self>) -> Option<Namespace> {
        Some(Namespace(self))
    }
}

impl std::fmt::Debug for WeakNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.upgrade() {
            Some(namespace) => f
                .debug_tuple("WeakNamespace")
                .field(&namespace.name())
                .finish(),
            None => f.write_str("WeakNamespace(dropped)"),
        }
    }
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}
