//! Namespaces: independent channels multiplexed over one connection.

mod parent;
mod registry;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use serde::Serialize;

use parent::ChildLink;
pub(crate) use registry::{Matcher, Registry, Settings};

use crate::adapter::{Adapter, AdapterFactory};
use crate::{BroadcastOperator, ConnectError, EmitError, IntoRooms, Socket, SocketId};

type Middleware = Arc<
    dyn Fn(Arc<Socket>) -> Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>
        + Send
        + Sync,
>;
type ConnectionHandler =
    Arc<dyn Fn(Arc<Socket>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

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
    ack_ids: AtomicU64,
    settings: Settings,
    /// For a dynamic child: its parent's map, which it leaves once unused.
    child: Option<ChildLink>,
}

/// A namespace: `io.of("/chat")` in Node. Cheap to clone.
#[derive(Clone)]
pub struct Namespace(Arc<Inner>);

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
        Namespace(Arc::new_cyclic(|weak| Inner {
            adapter: adapters.create(WeakNamespace(weak.clone())),
            name,
            listeners,
            sockets: RwLock::new(HashMap::default()),
            ack_ids: AtomicU64::new(0),
            settings,
            child,
        }))
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
        self.0
            .listeners
            .middleware
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(mw);
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
        self.0
            .listeners
            .connection
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(h);
    }

    /// The connected socket with this id on this server.
    pub fn get_socket(&self, id: SocketId) -> Option<Arc<Socket>> {
        self.0
            .sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// Every connected socket of this namespace on this server.
    pub fn local_sockets(&self) -> Vec<Arc<Socket>> {
        self.0
            .sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The connected sockets among these ids.
    pub fn sockets_by_id<S: BuildHasher>(&self, ids: HashSet<SocketId, S>) -> Vec<Arc<Socket>> {
        let sockets = self.0.sockets.read().unwrap_or_else(|e| e.into_inner());
        ids.iter()
            .filter_map(|id| sockets.get(id).cloned())
            .collect()
    }

    /// How many sockets are connected here.
    pub fn socket_count(&self) -> usize {
        self.0
            .sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub(crate) fn insert_socket(&self, socket: Arc<Socket>) {
        self.0
            .sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(socket.id(), socket);
    }

    pub(crate) fn remove_socket(&self, id: SocketId) {
        self.0
            .sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.0.ack_ids.fetch_add(1, Ordering::Relaxed)
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
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}
