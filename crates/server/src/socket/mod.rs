//! A client's connection to one namespace.

mod dispatch;
mod emitter;
mod event_gate;
mod handlers;

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, MutexGuard, ReentrantMutex};

use ferrio_engine::TransportKind;
use ferrio_proto::socketio::{Args, Packet, PacketKind, Payload};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use dispatch::ProtocolError;
pub use emitter::SocketEmitter;
pub use handlers::ListenerId;
pub(crate) use handlers::{Handlers, poll_inline, run_inline};

use crate::ack::AckWaiter;
use crate::adapter::BroadcastFlags;
use crate::client::Client;
use crate::namespace::Namespace;
use crate::outbound::{Encoded, args_data, event_data};
use crate::{
    BroadcastOperator, DisconnectReason, EmitError, Event, Handshake, IntoRooms, Room, SocketId,
};

/// A client's connection to one namespace: `socket` in a Node handler.
///
/// Shared as `Arc<Socket>`; every method takes `&self`.
pub struct Socket {
    id: SocketId,
    /// Where the socket is in its life: one of the `state` constants.
    state: AtomicU8,
    /// Set until its connection handlers have run up to their first
    /// `.await`: a connection that closes meanwhile leaves the socket's end
    /// to `finish_connect`, so no listener those handlers register is missed.
    pub(crate) opening: AtomicBool,
    has_outgoing_listeners: AtomicBool,
    /// Held while the CONNECT reply is queued and the socket marked
    /// connected, and by a broadcast that finds the socket not connected
    /// yet: a broadcast is then either before the reply (and skips the
    /// socket, which the client does not know connected) or after it (and
    /// reaches it), never lost in between. Reentrant: an engine observer
    /// told of the reply's send may broadcast (it then comes before).
    handover: ReentrantMutex<()>,
    namespace: Namespace,
    pub(crate) client: Arc<Client>,
    handshake: Handshake,
    handlers: Mutex<Handlers>,
    /// What many sockets never use, allocated on first use.
    extra: OnceLock<Box<LazyParts>>,
    // A std Mutex: its guard is public API (`extensions()`).
    extensions: std::sync::Mutex<http::Extensions>,
}

/// The parts of a socket allocated on first use (at once with connection
/// state recovery on).
struct LazyParts {
    acks: Mutex<HashMap<u64, AckWaiter>>,
    data: Mutex<serde_json::Value>,
    /// The session's private id, with recovery on.
    pid: Option<SocketId>,
    /// Whether the socket took back a session.
    recovered: bool,
}

impl Default for LazyParts {
    fn default() -> Self {
        Self {
            acks: Mutex::default(),
            data: Mutex::new(empty_data()),
            pid: None,
            recovered: false,
        }
    }
}

/// Who a new socket is, with connection state recovery on.
pub(crate) struct Identity {
    /// Its id: a fresh one, or the restored session's.
    pub id: SocketId,
    /// The session's private id.
    pub pid: SocketId,
    /// The restored session's data; `None` for a fresh session.
    pub restored: Option<serde_json::Value>,
}

/// What became of a logged broadcast for one socket, sent under the log's
/// lock; what may run application code is left to
/// [`after_delivery`](Socket::after_delivery).
pub(crate) enum Delivery {
    /// Queued.
    Sent,
    /// Queued; the socket's outgoing listeners are to be told.
    Notify,
    /// Its queue is full: the connection is to be closed.
    Slow,
    /// Not connected (or closed meanwhile).
    Skipped,
}

/// The states of a socket, in order (see [`Socket::connected`]).
mod state {
    /// Made for a CONNECT; its middleware may still run.
    pub(super) const NEW: u8 = 0;
    /// Connected to its namespace.
    pub(super) const CONNECTED: u8 = 1;
    /// Its `disconnecting` listeners run: still connected, as in Node.
    pub(super) const DISCONNECTING: u8 = 2;
    /// Gone: out of its rooms, and `join` does nothing any more.
    pub(super) const CLOSED: u8 = 3;
}

/// The data of a socket none was set on: `{}`, as `socket.data` in Node.
fn empty_data() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl Socket {
    pub(crate) fn new(
        namespace: Namespace,
        client: Arc<Client>,
        handshake: Handshake,
        id: SocketId,
    ) -> Arc<Self> {
        Self::build(namespace, client, handshake, id, OnceLock::new())
    }

    /// A socket with recovery on: a fresh session, or a restored one.
    pub(crate) fn with_session(
        namespace: Namespace,
        client: Arc<Client>,
        handshake: Handshake,
        identity: Identity,
    ) -> Arc<Self> {
        let recovered = identity.restored.is_some();
        let extra = LazyParts {
            data: Mutex::new(identity.restored.unwrap_or_else(empty_data)),
            pid: Some(identity.pid),
            recovered,
            ..LazyParts::default()
        };
        let id = identity.id;
        Self::build(
            namespace,
            client,
            handshake,
            id,
            OnceLock::from(Box::new(extra)),
        )
    }

    fn build(
        namespace: Namespace,
        client: Arc<Client>,
        handshake: Handshake,
        id: SocketId,
        extra: OnceLock<Box<LazyParts>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            id,
            state: AtomicU8::new(state::NEW),
            opening: AtomicBool::new(true),
            has_outgoing_listeners: AtomicBool::new(false),
            handover: ReentrantMutex::new(()),
            namespace,
            client,
            handshake,
            handlers: Mutex::new(Handlers::default()),
            extra,
            extensions: std::sync::Mutex::new(http::Extensions::new()),
        })
    }

    /// The socket's id: random, public, and not the Engine.IO session id.
    pub fn id(&self) -> SocketId {
        self.id
    }

    /// The id of the Engine.IO connection that carries the socket (Node's
    /// `socket.conn.id`), shared by the client's sockets of every namespace.
    /// Over long-polling it is what the client's requests carry: show it to
    /// trusted eyes only.
    pub fn conn_id(&self) -> SocketId {
        self.client.session.id()
    }

    /// Whether the socket took back the session of one that lost its
    /// connection (connection state recovery): then it has that socket's id,
    /// rooms and data, and its client was sent every packet it missed. Set
    /// before the connection middleware runs, as Node's `socket.recovered`.
    pub fn recovered(&self) -> bool {
        self.extra.get().is_some_and(|e| e.recovered)
    }

    /// The session's private id, with recovery on.
    pub(crate) fn pid(&self) -> Option<SocketId> {
        self.extra.get().and_then(|e| e.pid)
    }

    /// The namespace the socket is in.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// What the client sent when it connected.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The transport that carries the connection now.
    pub fn transport(&self) -> TransportKind {
        self.client.session.transport()
    }

    /// Whether the socket is still connected to its namespace. As in Node,
    /// it still is while its `disconnecting` listeners run, so they may send
    /// the client a last event.
    pub fn connected(&self) -> bool {
        matches!(
            self.state.load(Ordering::Acquire),
            state::CONNECTED | state::DISCONNECTING
        )
    }

    /// Queues the CONNECT reply with `send`, then marks the socket
    /// connected (see `handover`): a broadcast from another thread reaches
    /// the socket once it is connected, so never before the reply, and
    /// always after it.
    pub(crate) fn connect_with_reply(&self, send: impl FnOnce()) {
        let _handover = self.handover.lock();
        send();
        self.set_connected();
    }

    /// Whether a broadcast reaches the socket: it is connected, or is
    /// being connected by another thread, whose reply then goes first.
    fn takes_broadcasts(&self) -> bool {
        if self.connected() {
            return true;
        }
        let _handover = self.handover.lock();
        self.connected()
    }

    /// Marks a new socket connected (not one that was ended meanwhile).
    pub(crate) fn set_connected(&self) {
        let _ = self.state.compare_exchange(
            state::NEW,
            state::CONNECTED,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Starts the socket's end: whether it was connected (and no end had
    /// started), so that it ends once.
    pub(crate) fn start_disconnecting(&self) -> bool {
        self.state
            .compare_exchange(
                state::CONNECTED,
                state::DISCONNECTING,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Whether the socket is ended (or refused): then `join` does nothing.
    fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) == state::CLOSED
    }

    /// Ends the socket for good: out of its rooms, and no `join` after this
    /// adds it to one (Node's `_cleanup`). For a socket whose connection
    /// middleware refused it, or whose connection closed before it was
    /// connected, and at the end of [`on_close`](Self::on_close).
    pub(crate) fn cleanup(&self) {
        self.state.store(state::CLOSED, Ordering::Release);
        self.namespace.adapter().del_all(self.id);
    }

    pub(crate) fn handlers(&self) -> MutexGuard<'_, Handlers> {
        self.handlers.lock()
    }

    fn extra(&self) -> &LazyParts {
        self.extra.get_or_init(Default::default)
    }

    /// The acks awaited, when some ever were.
    fn acks(&self) -> Option<MutexGuard<'_, HashMap<u64, AckWaiter>>> {
        let extra = self.extra.get()?;
        Some(extra.acks.lock())
    }

    // ---- listeners ----

    /// Adds a handler for an event. Several handlers of one event all run, in
    /// the order they were added.
    ///
    /// The name is a `&'static str` (kept without a copy) or a `String`.
    ///
    /// A handler runs right away up to its first `.await` (as a Node listener
    /// runs synchronously), then goes on in a task of its own.
    pub fn on<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F) -> ListenerId
    where
        F: Fn(Arc<Socket>, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_handler(event.into(), false, handler)
    }

    /// Adds a handler that runs for the next such event only.
    pub fn once<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F) -> ListenerId
    where
        F: Fn(Arc<Socket>, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_handler(event.into(), true, handler)
    }

    fn add_event_handler<F, Fut>(
        &self,
        event: Cow<'static, str>,
        once: bool,
        handler: F,
    ) -> ListenerId
    where
        F: Fn(Arc<Socket>, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f: handlers::EventHandler = Arc::new(move |s, e| Box::pin(handler(s, e)));
        self.handlers().add_event(event, once, f)
    }

    /// Removes every handler of an event.
    pub fn off(&self, event: &str) {
        self.handlers().remove_event(event);
    }

    /// Removes one listener added by `on`, `once`, `on_any` or `on_any_outgoing`.
    pub fn off_listener(&self, id: ListenerId) -> bool {
        let mut handlers = self.handlers();
        let found = handlers.remove(id);
        self.has_outgoing_listeners
            .store(handlers.has_outgoing(), Ordering::Release);
        found
    }

    /// The ids of an event's handlers, in the order they run (Node's
    /// `listeners(event)`).
    pub fn listeners(&self, event: &str) -> Vec<ListenerId> {
        self.handlers().event_listeners(event)
    }

    /// The events that have handlers, each once (Node's `eventNames()`, for
    /// the events added with [`on`](Self::on) and [`once`](Self::once)).
    pub fn event_names(&self) -> Vec<String> {
        self.handlers().event_names()
    }

    /// Removes every event handler and the `error`, `disconnecting` and
    /// `disconnect` listeners (Node's `removeAllListeners()`). The catch-all
    /// listeners (`on_any`, `on_any_outgoing`), per-event middleware and the
    /// [upgrade listeners](Self::on_upgrade) (the connection's in Node,
    /// `socket.conn.on("upgrade")`) stay, as in Node.
    pub fn remove_all_listeners(&self) {
        self.handlers().remove_all();
    }

    /// Listens to every incoming event, before its own handlers run (and
    /// before per-event middleware, as in Node: it sees the events that
    /// middleware refuses too).
    pub fn on_any(
        &self,
        listener: impl Fn(&Arc<Socket>, &Event) + Send + Sync + 'static,
    ) -> ListenerId {
        self.add_any(false, Arc::new(listener))
    }

    /// [`on_any`](Self::on_any), the listener put before the others (Node's
    /// `prependAny`).
    pub fn prepend_any(
        &self,
        listener: impl Fn(&Arc<Socket>, &Event) + Send + Sync + 'static,
    ) -> ListenerId {
        self.add_any(true, Arc::new(listener))
    }

    fn add_any(&self, first: bool, listener: handlers::AnyHandler) -> ListenerId {
        let mut handlers = self.handlers();
        let id = handlers.next_id();
        let any = &mut handlers.others_mut().any;
        any.insert(if first { 0 } else { any.len() }, (id, listener));
        id
    }

    /// The catch-all listeners of incoming events, in the order they run
    /// (Node's `listenersAny()`).
    pub fn listeners_any(&self) -> Vec<ListenerId> {
        let handlers = self.handlers();
        let any = handlers
            .others()
            .map(|o| o.any.as_slice())
            .unwrap_or_default();
        any.iter().map(|(id, _)| *id).collect()
    }

    /// Removes every catch-all listener of incoming events (Node's
    /// `offAny()`; one goes with [`off_listener`](Self::off_listener)).
    pub fn off_any(&self) {
        if let Some(o) = self.handlers().others_if_any_mut() {
            o.any = Vec::new();
        }
    }

    /// Listens to every outgoing event, broadcasts reaching this socket included.
    pub fn on_any_outgoing(
        &self,
        listener: impl Fn(&Arc<Socket>, &str, &Args) + Send + Sync + 'static,
    ) -> ListenerId {
        self.add_any_outgoing(false, Arc::new(listener))
    }

    /// [`on_any_outgoing`](Self::on_any_outgoing), the listener put before
    /// the others (Node's `prependAnyOutgoing`).
    pub fn prepend_any_outgoing(
        &self,
        listener: impl Fn(&Arc<Socket>, &str, &Args) + Send + Sync + 'static,
    ) -> ListenerId {
        self.add_any_outgoing(true, Arc::new(listener))
    }

    fn add_any_outgoing(&self, first: bool, listener: handlers::AnyOutgoingHandler) -> ListenerId {
        let mut handlers = self.handlers();
        let id = handlers.next_id();
        let any = &mut handlers.others_mut().any_outgoing;
        any.insert(if first { 0 } else { any.len() }, (id, listener));
        self.has_outgoing_listeners.store(true, Ordering::Release);
        id
    }

    /// The catch-all listeners of outgoing events, in the order they run
    /// (Node's `listenersAnyOutgoing()`).
    pub fn listeners_any_outgoing(&self) -> Vec<ListenerId> {
        let handlers = self.handlers();
        let any = handlers
            .others()
            .map(|o| o.any_outgoing.as_slice())
            .unwrap_or_default();
        any.iter().map(|(id, _)| *id).collect()
    }

    /// Removes every catch-all listener of outgoing events (Node's
    /// `offAnyOutgoing()`).
    pub fn off_any_outgoing(&self) {
        let mut handlers = self.handlers();
        if let Some(o) = handlers.others_if_any_mut() {
            o.any_outgoing = Vec::new();
        }
        self.has_outgoing_listeners
            .store(handlers.has_outgoing(), Ordering::Release);
    }

    /// Runs when the client's connection moves from long-polling to
    /// WebSocket (Node's `socket.conn.on("upgrade")`); [`transport`](Self::transport)
    /// is then [`TransportKind::WebSocket`].
    pub fn on_upgrade(&self, listener: impl Fn(&Arc<Socket>) + Send + Sync + 'static) {
        self.handlers()
            .others_mut()
            .upgrade
            .push(Arc::new(listener));
    }

    /// Tells the upgrade listeners the connection moved to WebSocket.
    pub(crate) fn on_transport_upgrade(self: &Arc<Self>) {
        let listeners = self.handlers().upgrade();
        for listener in &listeners {
            listener(self);
        }
    }

    /// Adds per-event middleware: it sees every incoming event before any
    /// listener; an `Err` stops the event and is passed to [`on_error`](Self::on_error).
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Arc<Socket>, &Event) -> Result<(), crate::MiddlewareError>
        + Send
        + Sync
        + 'static,
    ) {
        self.handlers()
            .others_mut()
            .middleware
            .push(handlers::EventMiddleware::Sync(Arc::new(middleware)));
    }

    /// Adds async per-event middleware (Node's `socket.use` whose `next` is
    /// called later): it takes each incoming event after the middleware
    /// added before it, and hands it back, as it came or with other
    /// arguments ([`Event::with_args`]), to go on to the next middleware and
    /// the listeners; an `Err` stops the event and is passed to
    /// [`on_error`](Self::on_error), as Node's `next(err)`.
    ///
    /// From the first one on, the socket's events pass the middleware one at
    /// a time, in the order they came: an event waits while the one before
    /// it is in the middleware (at most
    /// [`max_pending_packets`](crate::SocketIoConfig::max_pending_packets)
    /// wait, 64 by default; one more closes the connection, "forced close").
    /// Catch-all listeners still see each event as it arrives. An event whose
    /// middleware finishes after the socket left is dropped, as in Node. A
    /// socket without async middleware never queues.
    pub fn use_async_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Event, crate::MiddlewareError>> + Send + 'static,
    {
        let mut handlers = self.handlers();
        let others = handlers.others_mut();
        others
            .middleware
            .push(handlers::EventMiddleware::Async(Arc::new(move |s, e| {
                Box::pin(middleware(s, e))
            })));
        others.gate.get_or_insert_with(Default::default);
    }

    /// Listens to errors (Node's `error` event): those of per-event
    /// middleware, and a packet the client sent that the parser refused
    /// (then the connection closes right after, "forced close").
    pub fn on_error(
        &self,
        listener: impl Fn(&Arc<Socket>, &crate::MiddlewareError) + Send + Sync + 'static,
    ) {
        self.handlers().others_mut().errors.push(Arc::new(listener));
    }

    /// Runs when the socket is about to leave: its rooms are still known.
    pub fn on_disconnecting<F, Fut>(&self, handler: F)
    where
        F: Fn(Arc<Socket>, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers()
            .others_mut()
            .disconnecting
            .push(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Runs once the socket has left its namespace.
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(Arc<Socket>, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers()
            .others_mut()
            .disconnect
            .push(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    // ---- emitting ----

    /// Sends an event to this client. `data` is the arguments: a tuple for
    /// several (`("a", 1)`), `()` for none, any other value for one.
    ///
    /// Fails with [`EmitError::QueueFull`] when the client cannot keep up: the
    /// message is not silently dropped.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emitter().emit(event, data)
    }

    /// Sends a `message` event (Node's `socket.send(…)`): the client's
    /// `message` listeners get it. A client's `send` arrives likewise, as an
    /// event named `message` for [`on`](Self::on).
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.emit("message", data)
    }

    /// Sends an event whose arguments are already payloads (binary kept), as
    /// when passing on the [`Args`] of an event received (moved, not copied).
    pub fn emit_args(&self, event: &str, args: impl Into<Args>) -> Result<(), EmitError> {
        let packet = self.event_packet(event, args.into().into_vec())?;
        self.send_event(packet, false)
    }

    /// Sends an event and waits for the client's acknowledgement, for at most
    /// [`SocketIoConfig::ack_timeout`](crate::SocketIoConfig::ack_timeout)
    /// (default 5 s; it fails sooner if the socket disconnects); see
    /// [`timeout`](Self::timeout).
    ///
    /// The waiter is forgotten whichever way this ends, the future dropped
    /// included.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Args, crate::AckError> {
        self.emitter().emit_with_ack(event, data).await
    }

    /// Emits to this client with a time limit on acknowledgements.
    pub fn timeout(&self, timeout: std::time::Duration) -> SocketEmitter<'_> {
        self.emitter().timeout(timeout)
    }

    /// Emits to this client, dropping the event if the client is not ready for it.
    pub fn volatile(&self) -> SocketEmitter<'_> {
        self.emitter().volatile()
    }

    /// Emits to this client with or without compression.
    pub fn compress(&self, compress: bool) -> SocketEmitter<'_> {
        self.emitter().compress(compress)
    }

    fn emitter(&self) -> SocketEmitter<'_> {
        SocketEmitter::new(self)
    }

    /// Sends an event to this client. With recovery on, an event that asks
    /// for no acknowledgement and is not volatile goes through the adapter,
    /// to the socket's own room, as in Node: it gets an offset and is logged,
    /// so the client gets it back if it loses the connection. A full queue
    /// then closes the connection (a recoverable loss) rather than failing
    /// the emit.
    pub(crate) fn send_event(
        &self,
        packet: Packet<Payload>,
        volatile: bool,
    ) -> Result<(), EmitError> {
        self.send_event_with(packet, volatile, true)
    }

    /// [`send_event`](Self::send_event), saying whether the packet may be
    /// compressed.
    pub(crate) fn send_event_with(
        &self,
        packet: Packet<Payload>,
        volatile: bool,
        compress: bool,
    ) -> Result<(), EmitError> {
        if self.pid().is_none() || volatile || packet.id.is_some() {
            return self.send_packet_with(packet, volatile, compress);
        }
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        BroadcastOperator::new(self.namespace.clone())
            .to(self.id)
            .compress(compress)
            .send(packet)
    }

    pub(crate) fn send_packet(
        &self,
        packet: Packet<Payload>,
        volatile: bool,
    ) -> Result<(), EmitError> {
        self.send_packet_with(packet, volatile, true)
    }

    /// [`send_packet`](Self::send_packet), saying whether the packet may be
    /// compressed.
    pub(crate) fn send_packet_with(
        &self,
        packet: Packet<Payload>,
        volatile: bool,
        compress: bool,
    ) -> Result<(), EmitError> {
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        let encoded = Encoded::new(packet, self.client.config().parser);
        let limit = self.outbox_limit();
        if encoded.len() > limit {
            return Err(EmitError::TooLarge {
                size: encoded.len(),
                limit,
            });
        }
        if self.skips(&encoded, volatile) {
            return Ok(());
        }
        // This socket's own frames: moved into the queue, not copied.
        self.client
            .session
            .send_all_with(encoded.into_frames(), compress)?;
        Ok(())
    }

    /// The most bytes the client's outbox holds
    /// ([`max_buffered_bytes`](ferrio_engine::EngineConfig::max_buffered_bytes)):
    /// a packet larger than this can never be sent to it.
    pub(crate) fn outbox_limit(&self) -> usize {
        self.client.config().engine.max_buffered_bytes
    }

    /// What the default acknowledgement timeout is for this socket.
    pub(crate) fn ack_timeout(&self) -> std::time::Duration {
        self.client.config().ack_timeout
    }

    fn send_encoded(
        &self,
        encoded: &Encoded,
        volatile: bool,
        compress: bool,
    ) -> Result<(), EmitError> {
        if self.skips(encoded, volatile) {
            return Ok(());
        }
        self.client
            .session
            .send_all_with(encoded.frames(), compress)?;
        Ok(())
    }

    /// Whether a volatile packet is dropped: as in Node (D18), when the
    /// transport cannot take it now (over long-polling, no GET parked; over
    /// WebSocket, frames still waiting). Outgoing listeners are told of the
    /// packet first, dropped or not, as Node tells them.
    fn skips(&self, encoded: &Encoded, volatile: bool) -> bool {
        if self.has_outgoing_listeners.load(Ordering::Acquire) {
            self.notify_outgoing(encoded);
        }
        let session = &self.client.session;
        volatile && !(session.is_writable() && session.is_drained())
    }

    /// Delivers a broadcast's frames; a client whose queue is full is
    /// disconnected (a broadcast never waits for one slow client). Returns
    /// whether the frames were queued.
    pub(crate) fn deliver_broadcast(&self, encoded: &Encoded, flags: &BroadcastFlags) -> bool {
        if !self.takes_broadcasts() {
            return false;
        }
        let compress = flags.compress != Some(false);
        match self.send_encoded(encoded, flags.volatile, compress) {
            Ok(()) => true,
            Err(EmitError::QueueFull) => {
                tracing::warn!(socket = %self.id, "outbound queue full: closing a slow client");
                // Not here: its disconnect handlers would run inside this
                // broadcast, on the broadcaster's stack and under its locks.
                self.client
                    .close_deferred(ferrio_engine::CloseReason::TransportError);
                false
            }
            Err(_) => false,
        }
    }

    /// [`deliver_broadcast`](Self::deliver_broadcast) for a logged packet,
    /// under the log's lock: queues the frames, and leaves what may run
    /// application code to [`after_delivery`](Self::after_delivery).
    pub(crate) fn deliver_logged(&self, encoded: &Encoded) -> Delivery {
        if !self.takes_broadcasts() {
            return Delivery::Skipped;
        }
        match self.client.session.send_all(encoded.frames()) {
            Ok(()) if self.has_outgoing_listeners.load(Ordering::Acquire) => Delivery::Notify,
            Ok(()) => Delivery::Sent,
            Err(ferrio_engine::SendError::Full) => Delivery::Slow,
            Err(_) => Delivery::Skipped,
        }
    }

    /// The rest of a [`deliver_logged`](Self::deliver_logged), once the
    /// log's lock is released.
    pub(crate) fn after_delivery(&self, delivery: Delivery, encoded: &Encoded) {
        match delivery {
            Delivery::Notify => self.notify_outgoing(encoded),
            Delivery::Slow => {
                tracing::warn!(socket = %self.id, "outbound queue full: closing a slow client");
                self.client
                    .close_deferred(ferrio_engine::CloseReason::TransportError);
            }
            Delivery::Sent | Delivery::Skipped => {}
        }
    }

    fn notify_outgoing(&self, encoded: &Encoded) {
        let listeners: Vec<_> = self
            .handlers()
            .others()
            .map(|o| o.any_outgoing.iter().map(|(_, f)| f.clone()).collect())
            .unwrap_or_default();
        let Some((name, args)) = encoded.event() else {
            return;
        };
        let Some(me) = self.namespace.get_socket(self.id) else {
            return;
        };
        let args = Args::from(args);
        for listener in listeners {
            listener(&me, &name, &args);
        }
    }

    pub(crate) fn event_packet(
        &self,
        event: &str,
        args: Vec<Payload>,
    ) -> Result<Packet<Payload>, EmitError> {
        if ferrio_proto::socketio::RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        Ok(Packet::new(
            PacketKind::Event,
            self.namespace.packet_name(),
            Some(event_data(event, args)),
        ))
    }

    pub(crate) fn send_ack(&self, id: u64, args: Vec<Payload>) -> Result<(), EmitError> {
        let packet = Packet::new(
            PacketKind::Ack,
            self.namespace.packet_name(),
            Some(args_data(args)),
        )
        .with_id(id);
        self.send_packet(packet, false)
    }

    pub(crate) fn expect_ack(&self, id: u64, waiter: AckWaiter) {
        let mut acks = self.extra().acks.lock();
        acks.insert(id, waiter);
    }

    pub(crate) fn expect_broadcast_ack(
        &self,
        id: u64,
        answers: tokio::sync::mpsc::UnboundedSender<Args>,
    ) {
        self.expect_ack(id, AckWaiter::Many(answers));
    }

    /// How many acknowledgements the socket waits for (a test hook: waiters
    /// are forgotten after their timeout, or when their future is dropped).
    #[doc(hidden)]
    pub fn pending_acks(&self) -> usize {
        self.acks().map_or(0, |acks| acks.len())
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        if let Some(mut acks) = self.acks() {
            acks.remove(&id);
        }
    }

    /// Drops every awaited ack: each waiter learns the socket left.
    pub(crate) fn drop_acks(&self) {
        let pending = self.acks().map(|mut acks| std::mem::take(&mut *acks));
        drop(pending);
    }

    pub(crate) fn resolve_ack(&self, id: u64, args: Args) {
        let waiter = self.acks().and_then(|mut acks| acks.remove(&id));
        if let Some(waiter) = waiter {
            waiter.resolve(args);
        }
    }

    // ---- rooms and broadcast ----

    /// Joins rooms: `socket.join("a")`, `socket.join(["a", "b"])`.
    ///
    /// Does nothing once the socket has left its namespace (as Node, whose
    /// `join` becomes a no-op then): an async handler that joins after the
    /// client is gone leaves no stale room behind. Rooms joined in
    /// connection middleware that then refuses the socket are left again.
    pub fn join(&self, rooms: impl IntoRooms) {
        if self.is_closed() {
            return;
        }
        let rooms = rooms.into_rooms();
        let adapter = self.namespace.adapter();
        adapter.add_all(self.id, &rooms);
        // Ended meanwhile on another thread, after its rooms were left:
        // leave these too.
        if self.is_closed() {
            for room in &rooms {
                adapter.del(self.id, room);
            }
        }
    }

    /// Leaves rooms.
    pub fn leave(&self, rooms: impl IntoRooms) {
        let adapter = self.namespace.adapter();
        for room in rooms.into_rooms() {
            adapter.del(self.id, &room);
        }
    }

    /// The rooms this socket is in, its own (named by its id) included.
    pub fn rooms(&self) -> Vec<Room> {
        self.namespace.adapter().socket_rooms(self.id)
    }

    fn operator(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.namespace.clone()).except(Room::from(self.id.as_str()))
    }

    /// Targets the sockets in rooms, this one left out.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.operator().to(rooms)
    }

    /// Same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Targets every socket of the namespace but this one, minus these rooms.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.operator().except(rooms)
    }

    /// Targets every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.operator()
    }

    /// Targets only sockets of this server, this one left out.
    pub fn local(&self) -> BroadcastOperator {
        self.operator().local()
    }

    // ---- data ----

    /// Stores serializable data on the socket, visible to `fetch_sockets`.
    pub fn set_data<T: Serialize>(&self, data: &T) -> Result<(), serde_json::Error> {
        let value = serde_json::to_value(data)?;
        *self.extra().data.lock() = value;
        let listeners = self.handlers().data_set();
        for listener in &listeners {
            listener(self);
        }
        Ok(())
    }

    /// Runs after each [`set_data`](Self::set_data), once the data is
    /// stored (for monitoring: the Admin UI tells its dashboards, as Node's
    /// watches `socket.data`). Kept by
    /// [`remove_all_listeners`](Self::remove_all_listeners).
    pub fn on_data_set(&self, listener: impl Fn(&Socket) + Send + Sync + 'static) {
        self.handlers()
            .others_mut()
            .data_set
            .push(Arc::new(listener));
    }

    /// Reads the socket's data as `T`; `None` if of another shape. Unset, it
    /// is `{}`, as in Node.
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        let Some(extra) = self.extra.get() else {
            return T::deserialize(&empty_data()).ok();
        };
        let data = extra.data.lock();
        T::deserialize(&*data).ok()
    }

    /// The socket's data as JSON (`{}` when unset, as `socket.data` in Node).
    pub fn data_value(&self) -> serde_json::Value {
        self.extra
            .get()
            .map(|extra| extra.data.lock().clone())
            .unwrap_or_else(empty_data)
    }

    /// Typed local state of any kind (not shared with other servers).
    pub fn extensions(&self) -> std::sync::MutexGuard<'_, http::Extensions> {
        self.extensions.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- leaving ----

    /// Disconnects the socket from its namespace; the client does not reconnect.
    pub fn disconnect(&self) {
        self.disconnect_with(false);
    }

    /// Disconnects the socket; with `close`, closes the client's whole
    /// connection (every namespace).
    pub fn disconnect_with(&self, close: bool) {
        if close {
            self.client.disconnect_all();
        } else {
            self.leave_by_server();
        }
    }

    pub(crate) fn leave_by_server(&self) {
        // Not while its `disconnecting` listeners run: it is leaving already.
        if self.state.load(Ordering::Acquire) != state::CONNECTED {
            return;
        }
        let packet = Packet::new(PacketKind::Disconnect, self.namespace.packet_name(), None);
        let _ = self.send_packet(packet, false);
        self.on_close(DisconnectReason::ServerNamespaceDisconnect);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Every socket is made for one CONNECT, after the lookup that took
        // its namespace in use.
        self.namespace.release();
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("namespace", &self.namespace.name())
            .finish_non_exhaustive()
    }
}
