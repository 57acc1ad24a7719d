//! A socket: the client's side of one namespace, over its manager's
//! connection.

mod builder;
mod emit;
mod handlers;
mod incoming;
mod queue;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferrio_proto::socketio::{Args, Payload};
use parking_lot::{Mutex, MutexGuard};
use serde_json::Value;
use tokio::sync::{oneshot, watch};

pub use builder::SocketBuilder;
pub use emit::Emitter;
pub use handlers::ListenerId;
pub(crate) use handlers::run_inline;
use handlers::{Handlers, Registered};

use crate::{ConnectError, DisconnectReason, Event, Manager};

/// The authentication payload sent in each CONNECT packet.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    /// None: CONNECT without payload.
    #[default]
    None,
    /// The same object every time.
    Value(Value),
    /// Called for every connection attempt, reconnections included.
    Fn(Arc<dyn Fn() -> Value + Send + Sync>),
}

impl Auth {
    fn evaluate(&self) -> Option<Value> {
        match self {
            Self::None => None,
            Self::Value(v) => Some(v.clone()),
            Self::Fn(f) => Some(f()),
        }
    }
}

/// What a socket is made with (from its builder).
#[derive(Default)]
pub(crate) struct SocketOptions {
    pub auth: Auth,
    pub ack_timeout: Option<Duration>,
    /// `Some` turns on the at-least-once queue.
    pub retries: Option<u32>,
}

/// The client's side of one namespace: emits events, receives them into
/// handlers, and reconnects with its [`Manager`].
///
/// A `Socket` is a handle: clones share the same socket. It is built with a
/// [`SocketBuilder`] (from [`io`](crate::io) or [`Manager::socket`]) and
/// stays registered with its manager until [`disconnect`](Self::disconnect)
/// or [`Manager::close`]; dropping the handles does not close it.
///
/// Handlers run in the order packets arrive, each up to its first `.await`
/// before the next packet is handled (as JavaScript listeners run).
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    nsp: String,
    manager: Manager,
    auth: Mutex<Auth>,
    ack_timeout: Option<Duration>,
    state: Mutex<State>,
    handlers: Mutex<Handlers>,
    /// Serializes sending CONNECT, so that it goes once per connection.
    connect_lock: Mutex<()>,
    /// Whether outgoing catch-all listeners exist (they need copies of the
    /// arguments).
    has_outgoing: AtomicBool,
    /// Follows `State::connected`, for the `retries` queue to wait on.
    connected: watch::Sender<bool>,
    /// The `retries` queue, when the option is on.
    queue: Option<queue::QueueSender>,
}

/// An event waiting in the send buffer (or being sent).
#[derive(Debug, Clone)]
struct Outgoing {
    name: String,
    args: Args,
    ack: Option<u64>,
}

#[derive(Default)]
struct State {
    /// Joined, or trying to join, and rejoining after connection losses.
    active: bool,
    /// The engine session (generation) CONNECT was sent on.
    connect_sent: Option<u64>,
    /// The server accepted the CONNECT.
    connected: bool,
    id: Option<String>,
    /// Connection state recovery: the private session id and last offset.
    pid: Option<String>,
    last_offset: Option<String>,
    recovered: bool,
    /// Emits made while disconnected, sent on (re)connection.
    send_buffer: VecDeque<Outgoing>,
    /// Events received before the CONNECT reply (recovery replays them then).
    receive_buffer: Vec<(String, Vec<Payload>, Option<u64>)>,
    acks: HashMap<u64, oneshot::Sender<Vec<Payload>>>,
    next_ack_id: u64,
}

impl Socket {
    /// A socket for `nsp`; with `retries`, its queue's task starts (so this
    /// must run inside a tokio runtime).
    pub(crate) fn new(nsp: String, manager: Manager, options: SocketOptions) -> Self {
        let (connected, watching) = watch::channel(false);
        let inner = Arc::new_cyclic(|weak| SocketInner {
            nsp,
            manager,
            auth: Mutex::new(options.auth),
            ack_timeout: options.ack_timeout,
            state: Mutex::new(State::default()),
            handlers: Mutex::new(Handlers::default()),
            connect_lock: Mutex::new(()),
            has_outgoing: AtomicBool::new(false),
            connected,
            queue: options
                .retries
                .map(|retries| queue::start(weak.clone(), watching, retries)),
        });
        Self { inner }
    }

    /// Sets `connected`, and tells the `retries` queue. Under the state lock.
    fn set_connected(&self, state: &mut State, connected: bool) {
        state.connected = connected;
        self.inner.connected.send_replace(connected);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock()
    }

    fn handlers(&self) -> MutexGuard<'_, Handlers> {
        self.inner.handlers.lock()
    }

    // ---- state ----

    /// The namespace, such as `/` or `/admin`.
    pub fn namespace(&self) -> &str {
        &self.inner.nsp
    }

    /// The manager whose connection this socket uses.
    pub fn manager(&self) -> &Manager {
        &self.inner.manager
    }

    /// The socket id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        self.state().id.clone()
    }

    /// Whether the server accepted the socket in its namespace and the
    /// connection is up.
    pub fn connected(&self) -> bool {
        self.state().connected
    }

    /// Whether the socket is joined or trying to (re)join: `false` after
    /// [`disconnect`](Self::disconnect), a server-side disconnect, a refused
    /// connection, or [`Manager::close`].
    pub fn active(&self) -> bool {
        self.state().active
    }

    /// Whether the last connection restored the previous session (connection
    /// state recovery on the server).
    pub fn recovered(&self) -> bool {
        self.state().recovered
    }

    /// Replaces the authentication payload with an object sent as is in each
    /// later CONNECT.
    pub fn set_auth(&self, auth: Value) {
        *self.inner.auth.lock() = Auth::Value(auth);
    }

    // ---- connecting ----

    /// Joins the namespace: opens the manager's connection if needed and
    /// sends CONNECT. Does nothing if the socket is connected already.
    pub fn connect(&self) {
        {
            let mut state = self.state();
            if state.active && state.connected {
                return;
            }
            state.active = true;
        }
        self.inner.manager.open();
        self.send_connect();
    }

    /// Leaves the namespace: sends DISCONNECT if connected, fires
    /// `disconnect` with [`DisconnectReason::IoClientDisconnect`], and stops
    /// reconnecting. The manager closes its connection when no active socket
    /// is left. Acknowledgements still awaited fail.
    pub fn disconnect(&self) {
        let was_connected = {
            let mut state = self.state();
            if !state.active && !state.connected {
                return;
            }
            state.active = false;
            let was_connected = state.connected;
            if was_connected {
                // Under the lock: no emit of this socket can follow it.
                let packet = ferrio_proto::socketio::Packet::new(
                    ferrio_proto::socketio::PacketKind::Disconnect,
                    ferrio_proto::socketio::packet_namespace(&self.inner.nsp),
                    None,
                );
                self.inner.manager.inner.send_packet(packet);
            }
            self.close_state(&mut state);
            was_connected
        };
        self.inner.manager.inner.maybe_close();
        self.after_close(DisconnectReason::IoClientDisconnect, was_connected);
    }

    // ---- listeners ----

    /// Adds a handler for an event. Several handlers of one event all run, in
    /// the order they were added.
    ///
    /// ```no_run
    /// # fn f(socket: ferrio_client::Socket) {
    /// socket.on("question", |_socket, event| async move {
    ///     let Ok(n) = event.arg::<u32>(0) else { return };
    ///     // Answer the server's acknowledgement.
    ///     let _ = event.reply(&(n * 2));
    /// });
    /// # }
    /// ```
    pub fn on<F, Fut>(&self, event: impl Into<String>, handler: F) -> ListenerId
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_handler(event.into(), false, handler)
    }

    /// Adds a handler that runs for the next such event only.
    pub fn once<F, Fut>(&self, event: impl Into<String>, handler: F) -> ListenerId
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_handler(event.into(), true, handler)
    }

    fn add_event_handler<F, Fut>(&self, event: String, once: bool, handler: F) -> ListenerId
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut handlers = self.handlers();
        let id = handlers.next_id();
        handlers.events.entry(event).or_default().push(Registered {
            id,
            once,
            f: Arc::new(move |s, e| Box::pin(handler(s, e))),
        });
        id
    }

    /// Removes every handler of an event.
    pub fn off(&self, event: &str) {
        self.handlers().events.remove(event);
    }

    /// Removes one listener of any kind; `true` if it was registered.
    pub fn off_listener(&self, id: ListenerId) -> bool {
        let mut handlers = self.handlers();
        let found = handlers.remove(id);
        self.inner
            .has_outgoing
            .store(!handlers.any_outgoing.is_empty(), Ordering::Release);
        found
    }

    /// Listens to every incoming event, before its own handlers run
    /// (`onAny`).
    pub fn on_any(&self, listener: impl Fn(&Socket, &Event) + Send + Sync + 'static) -> ListenerId {
        let mut handlers = self.handlers();
        let id = handlers.next_id();
        handlers.any.push((id, Arc::new(listener)));
        id
    }

    /// Listens to every event this socket sends, with its name and arguments,
    /// as it goes out (`onAnyOutgoing`).
    pub fn on_any_outgoing(
        &self,
        listener: impl Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    ) -> ListenerId {
        let mut handlers = self.handlers();
        let id = handlers.next_id();
        handlers.any_outgoing.push((id, Arc::new(listener)));
        self.inner.has_outgoing.store(true, Ordering::Release);
        id
    }

    /// Runs each time the server accepts the socket: on connection and on
    /// every reconnection.
    pub fn on_connect<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut handlers = self.handlers();
        let id = handlers.next_id();
        handlers
            .connect
            .push((id, Arc::new(move |s| Box::pin(handler(s)))));
        id
    }

    /// Runs when joining fails: the server refused (its message and data), or
    /// the connection could not be opened (then the manager retries).
    pub fn on_connect_error<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Socket, ConnectError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut handlers = self.handlers();
        let id = handlers.next_id();
        handlers
            .connect_error
            .push((id, Arc::new(move |s, e| Box::pin(handler(s, e)))));
        id
    }

    /// Runs when a connected socket disconnects, with the reason.
    pub fn on_disconnect<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut handlers = self.handlers();
        let id = handlers.next_id();
        handlers
            .disconnect
            .push((id, Arc::new(move |s, r| Box::pin(handler(s, r)))));
        id
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Socket")
            .field("nsp", &self.inner.nsp)
            .field("id", &state.id)
            .field("connected", &state.connected)
            .field("active", &state.active)
            .finish_non_exhaustive()
    }
}
