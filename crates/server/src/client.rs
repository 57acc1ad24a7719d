//! One Engine.IO connection seen from Socket.IO: the packet decoder, and the
//! sockets of every namespace the client joined over it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, MutexGuard};

use tokio::time::Instant;

use ferrio_engine::{CloseReason, Message, Protocol, Session};
use ferrio_proto::socketio::{DecodeError, Decoder, Packet, PacketKind, Parser, Payload, msgpack};
use serde_json::Value;

use crate::adapter::{Gap, RestoredSession};
use crate::io::IoInner;
use crate::namespace::{Lookup, Namespace};
use crate::outbound::{Encoded, frames_of};
use crate::socket::{Identity, ProtocolError, run_inline};
use crate::v2;
use crate::{ConnectError, DisconnectReason, Handshake, Socket, SocketId};

/// Sized for the idle connection: most clients join one namespace and send no
/// binary packet, so nothing here keeps an allocation it does not use.
pub(crate) struct Client {
    pub session: Arc<Session>,
    io: Arc<IoInner>,
    /// The decoder of a binary packet whose attachments are still to come;
    /// between packets the decoder holds nothing, so none is kept.
    decoder: Mutex<Option<Box<Pending>>>,
    /// Whether the task that enforces
    /// [`packet_completion_timeout`](crate::SocketIoConfig::packet_completion_timeout)
    /// runs. Set and cleared under the `decoder` lock.
    completion_timer: AtomicBool,
    /// Whether a close was handed to a task of its own (see [`close_deferred`](Self::close_deferred)).
    closing: AtomicBool,
    /// The sockets, one per namespace joined (rarely more than one or two),
    /// and whether the connection closed: checked under the same lock before
    /// a socket is added, so none is added after the close took the list.
    sockets: Mutex<Sockets>,
    /// Namespaces whose connection middleware, or connection handlers, are
    /// running, with the packets that arrived for them meanwhile. Freed when
    /// empty.
    connecting: Mutex<Connecting>,
    /// Whether a namespace was ever joined. The connect timeout only closes
    /// connections that never joined one: as in Node, where the first join
    /// clears the timer, leaving every namespace later keeps the connection.
    joined: AtomicBool,
    /// The connect-timeout task, stopped at the first join so an idle
    /// connection does not keep a sleeping task for 45 s.
    connect_timer: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Client {
    pub(crate) fn new(session: Arc<Session>, io: Arc<IoInner>) -> Arc<Self> {
        let client = Arc::new(Self {
            session,
            io,
            decoder: Mutex::new(None),
            completion_timer: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            sockets: Mutex::new(Sockets::default()),
            connecting: Mutex::new(Connecting::default()),
            joined: AtomicBool::new(false),
            connect_timer: Mutex::new(None),
        });
        client.start_connect_timeout();
        if client.is_v2() {
            // A Socket.IO v2 client is in the main namespace from the start,
            // without a CONNECT of its own; as in Node, with an empty auth.
            client.connect("/".to_owned(), Some(Value::Object(Default::default())));
        }
        client
    }

    /// Whether the client speaks Socket.IO v2 (over Engine.IO v3, with
    /// [`allow_eio3`](crate::SocketIoConfig::allow_eio3)).
    fn is_v2(&self) -> bool {
        self.session.protocol() == Protocol::V3
    }

    /// The server's options.
    pub(crate) fn config(&self) -> &crate::SocketIoConfig {
        &self.io.config
    }

    fn sockets(&self) -> MutexGuard<'_, Sockets> {
        self.sockets.lock()
    }

    /// The socket of a namespace.
    fn socket(&self, nsp: &str) -> Option<Arc<Socket>> {
        let sockets = self.sockets();
        let found = sockets.find(nsp).ok()?;
        sockets.list.get(found).cloned()
    }

    fn connecting(&self) -> MutexGuard<'_, Connecting> {
        self.connecting.lock()
    }

    /// Closes a connection that joins no namespace within the connect timeout.
    fn start_connect_timeout(self: &Arc<Self>) {
        let weak: Weak<Self> = Arc::downgrade(self);
        let timeout = self.io.config.connect_timeout;
        let task = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let Some(client) = weak.upgrade() else { return };
            // As Node: whatever middleware is still running (it finds the
            // connection closed when it ends).
            if !client.joined.load(Ordering::Acquire) {
                tracing::debug!(sid = %client.session.id(), "no namespace joined in time");
                client.force_close();
            }
        });
        *self.connect_timer.lock() = Some(task.abort_handle());
    }

    /// A message from the Engine.IO layer.
    pub(crate) fn on_message(self: &Arc<Self>, message: Message) {
        self.io.tell_engine_observers(|o| {
            let bytes = match &message {
                Message::Text(text) => text.len(),
                Message::Binary(bytes) => bytes.len(),
            };
            o.received(&self.session, bytes);
        });
        if let Parser::MsgPack = self.io.config.parser {
            return self.on_msgpack(message);
        }
        let size = match &message {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
        };
        let decoded = {
            let mut slot = self.decoder.lock();
            match slot.as_deref_mut() {
                Some(pending) => {
                    pending.bytes = pending.bytes.saturating_add(size);
                    let decoded = feed(&mut pending.decoder, message);
                    let bytes = pending.bytes;
                    if pending.decoder.awaiting() == 0 {
                        *slot = None;
                    }
                    decoded.map(|p| p.map(|p| (p, bytes)))
                }
                None => {
                    // Most packets decode on a decoder of the stack; one is
                    // boxed only to wait for attachments.
                    let mut decoder = Decoder::new(self.io.config.decoder);
                    let decoded = feed(&mut decoder, message);
                    if decoder.awaiting() > 0 {
                        *slot = Some(Box::new(Pending {
                            decoder,
                            started: Instant::now(),
                            bytes: size,
                        }));
                        self.start_completion_timer();
                    }
                    decoded.map(|p| p.map(|p| (p, size)))
                }
            }
        };
        match decoded {
            Ok(Some((packet, size))) => self.on_packet(packet, size),
            Ok(None) => {}
            // Node's parser takes an ACK without an id, and its socket
            // ignores it ("bad ack"): the connection goes on.
            Err(DecodeError::MissingAckId) => {
                tracing::debug!(sid = %self.session.id(), "ack without an id: ignored");
            }
            Err(error) => self.decode_error(&error.to_string()),
        }
    }

    /// A message of a `socket.io-msgpack-parser` client: each binary message
    /// is a whole packet. What the parser refuses is a decode error, as in
    /// Node: a text message (a client of the default parser; Node's decoder
    /// throws "invalid packet type" on it) included.
    fn on_msgpack(self: &Arc<Self>, message: Message) {
        let Message::Binary(bytes) = message else {
            return self.decode_error("invalid packet type: a text message to the msgpack parser");
        };
        match msgpack::decode_packet(&bytes, &self.io.config.decoder) {
            Ok(packet) => self.on_packet(packet, bytes.len()),
            // As with the default parser: Node's socket ignores it ("bad ack").
            Err(msgpack::PacketError::MissingAckId) => {
                tracing::debug!(sid = %self.session.id(), "ack without an id: ignored");
            }
            Err(error) => self.decode_error(&error.to_string()),
        }
    }

    /// A packet the parser refused: as Node's `Client.onerror`, every socket
    /// gets an `error` event, then the connection closes ("forced close").
    fn decode_error(&self, message: &str) {
        tracing::debug!(sid = %self.session.id(), message, "malformed packet; closing");
        let sockets = self.sockets().list.clone();
        for socket in &sockets {
            socket.on_connection_error(message);
        }
        self.session.close();
    }

    /// Closes the connection for a packet that makes no sense now (or the
    /// connect timeout), as Node's `Client.close()`: its sockets leave with
    /// "forced close" when the transport can tell the client at once (a
    /// WebSocket, or a GET waiting), else with "forced server close".
    fn force_close(&self) {
        let reason = if self.session.is_writable() {
            DisconnectReason::ForcedClose
        } else {
            DisconnectReason::ForcedServerClose
        };
        tracing::debug!(sid = %self.session.id(), %reason, "closing the connection");
        self.end_sockets(reason);
        self.session.close();
    }

    /// Starts the task that closes the connection when a binary packet's
    /// attachments are still missing after
    /// [`packet_completion_timeout`](crate::SocketIoConfig::packet_completion_timeout),
    /// unless it runs already. Called under the `decoder` lock.
    ///
    /// One task per connection at most, and only while binary packets come:
    /// it ends at its first wake-up that finds no packet incomplete.
    fn start_completion_timer(self: &Arc<Self>) {
        if self.completion_timer.swap(true, Ordering::AcqRel) {
            return;
        }
        let timeout = self.io.config.packet_completion_timeout;
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut deadline = Instant::now() + timeout;
            loop {
                tokio::time::sleep_until(deadline).await;
                let Some(client) = weak.upgrade() else { return };
                let mut slot = client.decoder.lock();
                let started = slot.as_ref().map(|p| p.started);
                match started {
                    Some(started) if started + timeout > Instant::now() => {
                        deadline = started + timeout;
                    }
                    started => {
                        // Drop what was received of the packet, if any.
                        *slot = None;
                        client.completion_timer.store(false, Ordering::Release);
                        drop(slot);
                        if started.is_some() {
                            tracing::debug!(
                                sid = %client.session.id(),
                                ?timeout,
                                "binary packet incomplete in time; closing"
                            );
                            client.session.close_with(CloseReason::ParseError);
                        }
                        return;
                    }
                }
            }
        });
    }

    /// A decoded packet; `size` is what it took on the wire, attachments included.
    fn on_packet(self: &Arc<Self>, packet: Packet<Payload>, size: usize) {
        if packet.kind == PacketKind::Connect {
            if self.is_v2() {
                let (name, auth) = v2::connect_target(&packet.nsp);
                return self.connect(name, Some(auth));
            }
            let auth = match packet.data {
                Some(Payload::Json(v)) => Some(v),
                _ => None,
            };
            return self.connect(packet.nsp.into_owned(), auth);
        }
        // While its namespace is connecting, a packet waits its turn: see
        // `finish_connect`. This is checked first, under the lock the hand-over
        // takes, so no packet overtakes one that waits.
        {
            let mut connecting = self.connecting();
            let config = &self.io.config;
            let bytes = connecting.bytes();
            if let Some(waiting) = connecting.get_mut(&packet.nsp) {
                // The first packet waiting always fits: its size is bounded by
                // the payload and attachment limits already.
                let fits = bytes == 0 || bytes.saturating_add(size) <= config.max_pending_bytes;
                if waiting.packets.len() < config.max_pending_packets && fits {
                    waiting.packets.push(packet);
                    waiting.bytes += size;
                    return;
                }
                drop(connecting);
                tracing::debug!(
                    sid = %self.session.id(),
                    max_packets = config.max_pending_packets,
                    max_bytes = config.max_pending_bytes,
                    "too much waiting for a namespace still connecting; closing"
                );
                return self.session.close();
            }
        }
        match self.socket(&packet.nsp) {
            Some(socket) => {
                if let Err(error) = socket.on_packet(packet) {
                    self.protocol_error(error);
                }
            }
            None => {
                tracing::debug!(sid = %self.session.id(), "packet for a namespace not joined");
                self.force_close();
            }
        }
    }

    fn protocol_error(&self, error: ProtocolError) {
        match error {
            ProtocolError::Malformed(message) => self.decode_error(message),
            ProtocolError::InvalidState => self.force_close(),
        }
    }

    fn connect(self: &Arc<Self>, name: String, auth: Option<Value>) {
        if self.socket(&name).is_some() || self.connecting().get_mut(&name).is_some() {
            tracing::debug!(sid = %self.session.id(), nsp = %name, "second CONNECT to a namespace");
            return self.force_close();
        }
        if self.namespaces_joined() >= self.io.config.max_namespaces_per_client {
            tracing::debug!(sid = %self.session.id(), nsp = %name, "CONNECT past max_namespaces_per_client");
            let error = ConnectError::new("Too many namespaces").to_json();
            return self.send_connect_error(&name, error);
        }
        let lookup = self
            .io
            .registry
            .lookup(&name, auth.as_ref().unwrap_or(&Value::Null));
        match lookup {
            Lookup::Found(namespace) => self.connect_to(namespace, name, auth),
            Lookup::Missing => self.send_invalid_namespace(&name),
            Lookup::Pending(lookup) => {
                // Packets for the namespace wait meanwhile, as for middleware.
                self.connecting().open(&name);
                let client = self.clone();
                run_inline(Box::pin(async move {
                    match lookup.await {
                        Some(namespace) => client.connect_to(namespace, name, auth),
                        None => {
                            client.connecting().remove(&name);
                            client.send_invalid_namespace(&name);
                        }
                    }
                }));
            }
        }
    }

    /// The namespaces the client is in or connecting to (a socket whose
    /// connection handlers are still starting is in both lists, counted once).
    fn namespaces_joined(&self) -> usize {
        let connecting: Vec<String> = self.connecting().0.iter().map(|(n, _)| n.clone()).collect();
        let sockets = self.sockets.lock();
        let only_connecting = connecting
            .iter()
            .filter(|name| sockets.find(name).is_err())
            .count();
        sockets.list.len() + only_connecting
    }

    /// The CONNECT_ERROR for a namespace that does not exist: an object,
    /// for a v2 client too, as Node sends it.
    fn send_invalid_namespace(&self, name: &str) {
        let error = ConnectError::new("Invalid namespace").to_json();
        self.send_connect_error(name, error);
    }

    /// Connects to the namespace a CONNECT named: a new socket, or one that
    /// takes back its session (connection state recovery), then the
    /// middleware.
    fn connect_to(self: &Arc<Self>, namespace: Namespace, name: String, auth: Option<Value>) {
        // Kept as text: the tree goes when this returns.
        let handshake = Handshake::new(self.session.info(), auth.as_ref());
        // A v2 client cannot restore a session (it never sends one): its
        // sockets take the plain path, keep their v2 ids, and get no offsets
        // appended to their events.
        let recovery = self
            .io
            .config
            .connection_state_recovery
            .filter(|_| !self.is_v2());
        let Some(recovery) = recovery else {
            // A v2 client's socket in the main namespace has the Engine.IO
            // session's id, as in Node (the client assumes it).
            let id = match self.is_v2() && name == "/" {
                true => self.session.id(),
                false => SocketId::random(),
            };
            let socket = Socket::new(namespace.clone(), self.clone(), handshake, id);
            return self.admit(namespace, socket, None);
        };
        let Some((pid, offset)) = auth.as_ref().and_then(recovery_keys) else {
            let socket = Socket::with_session(namespace.clone(), self.clone(), handshake, fresh());
            return self.admit(namespace, socket, None);
        };
        // The restore may wait for a cluster: packets for the namespace wait
        // meanwhile, as they do for middleware.
        self.connecting().open(&name);
        let client = self.clone();
        let adapter = namespace.adapter().clone();
        run_inline(Box::pin(async move {
            let restored = match adapter.restore_session(pid, offset).await {
                Ok(restored) => restored,
                Err(error) => {
                    tracing::debug!(nsp = %name, %error, "session restore failed");
                    None
                }
            };
            let restored = restored.and_then(|mut r| client.replay_fits(&mut r).then_some(r));
            let (socket, resume) = match restored {
                Some(restored) => {
                    tracing::debug!(socket = %restored.sid, nsp = %name, missed = restored.missed.len(), "session restored");
                    let identity = Identity {
                        id: restored.sid,
                        pid: restored.pid,
                        restored: Some(restored.data.clone()),
                    };
                    let socket = Socket::with_session(
                        namespace.clone(),
                        client.clone(),
                        handshake,
                        identity,
                    );
                    // Rooms are joined before the middleware runs, which sees
                    // them (as in Node); a refusal leaves them again.
                    namespace.adapter().add_all(socket.id(), &restored.rooms);
                    (socket, Some(restored))
                }
                None => {
                    let socket =
                        Socket::with_session(namespace.clone(), client.clone(), handshake, fresh());
                    (socket, None)
                }
            };
            let skip = resume.is_some() && recovery.skip_middlewares;
            if skip {
                client.finish_connect(&namespace, socket, resume);
            } else {
                client.admit(namespace, socket, resume);
            }
        }));
    }

    /// Whether a restored session's missed packets fit the client's outbox
    /// at once: they are queued in one go, all or none, never in part.
    fn replay_fits(&self, restored: &mut RestoredSession) -> bool {
        let limit = self.io.config.engine.max_buffered_bytes;
        let parser = self.io.config.parser;
        let bytes: usize = restored.missed.iter_mut().map(|m| m.len(parser)).sum();
        if bytes > limit {
            tracing::debug!(
                bytes,
                limit,
                "missed packets exceed the outbox: fresh session"
            );
            return false;
        }
        true
    }

    /// Runs the namespace's connection middleware, then connects the socket.
    fn admit(
        self: &Arc<Self>,
        namespace: Namespace,
        socket: Arc<Socket>,
        resume: Option<RestoredSession>,
    ) {
        let middleware = namespace.listeners().middleware.read().clone();
        if middleware.is_empty() {
            return self.finish_connect(&namespace, socket, resume);
        }
        let name = namespace.name().to_owned();
        self.connecting().open(&name);
        let client = self.clone();
        run_inline(Box::pin(async move {
            for mw in middleware {
                if let Err(error) = mw(socket.clone()).await {
                    client.connecting().remove(&name);
                    // Rooms it joined (or took back) are left, and it joins
                    // none later: Node's `socket._cleanup()`.
                    socket.cleanup();
                    let payload = match client.is_v2() {
                        true => v2::connect_error(error),
                        false => error.to_json(),
                    };
                    client.send_connect_error(&name, payload);
                    return;
                }
            }
            client.finish_connect(&namespace, socket, resume);
        }));
    }

    fn finish_connect(
        self: &Arc<Self>,
        namespace: &Namespace,
        socket: Arc<Socket>,
        resume: Option<RestoredSession>,
    ) {
        if self.session.is_closed() {
            self.connecting().remove(namespace.name());
            socket.cleanup();
            return;
        }
        let name = namespace.name().to_owned();
        // Packets for the namespace keep waiting in `connecting` until the
        // connection handlers have run up to their first `.await`, so the
        // listeners they register are in place for the client's first event.
        // After async middleware this runs on a task of its own while the
        // transport's task goes on reading: the client may already have the
        // reply below and have answered it.
        self.connecting().open(&name);
        namespace.insert_socket(socket.clone());
        namespace
            .adapter()
            .add_all(socket.id(), &[socket.id().as_str().into()]);
        let resumed = resume.is_some();
        if let Some(restored) = resume
            && self.resume(&socket, restored).is_err()
        {
            tracing::debug!(socket = %socket.id(), "missed packets left the log meanwhile; closing");
            namespace.remove_socket(socket.id());
            socket.cleanup();
            self.connecting().remove(&name);
            return self.session.close();
        }
        if !self.join_list(&socket, &name) {
            return;
        }
        self.stop_connect_timer();
        if resumed {
            // Connected already: it got its missed packets first, as in Node.
            self.send_connect_reply(&socket, &name);
        } else {
            // The reply, then connected, with no broadcast lost in between.
            socket.connect_with_reply(|| self.send_connect_reply(&socket, &name));
        }
        let handlers = namespace.listeners().connection.read().clone();
        for handler in handlers {
            run_inline(handler(socket.clone()));
        }
        // A close while the handlers ran left the socket to us (see
        // `on_close`): end it now that the listeners they add are in place.
        let closed = {
            let sockets = self.sockets();
            socket.opening.store(false, Ordering::Release);
            sockets.closed
        };
        if let Some(reason) = closed {
            self.connecting().remove(&name);
            socket.on_close(reason);
            return;
        }
        self.replay_waiting(&socket, &name);
    }

    /// Adds a connected socket to the client's list, under the lock the close
    /// takes the list with: a close that came first (at any point before,
    /// from any thread) is seen here and ends the socket, which otherwise
    /// would stay in its namespace and rooms for good. Whether it joined.
    fn join_list(&self, socket: &Arc<Socket>, name: &str) -> bool {
        let mut sockets = self.sockets();
        if let Some(reason) = sockets.closed {
            drop(sockets);
            self.connecting().remove(name);
            // Connected just to be ended the usual way (no listener yet).
            socket.set_connected();
            socket.on_close(reason);
            return false;
        }
        if let Err(at) = sockets.find(name) {
            // Usually the only one: no room for more.
            sockets.list.reserve_exact(1);
            sockets.list.insert(at, socket.clone());
        }
        true
    }

    /// The first join stops the connect timeout: as in Node, a connection
    /// that joined a namespace once is never closed by it.
    fn stop_connect_timer(&self) {
        if !self.joined.swap(true, Ordering::AcqRel) {
            let timer = self.connect_timer.lock().take();
            if let Some(timer) = timer {
                timer.abort();
            }
        }
    }

    /// The CONNECT reply: the socket's id, and its recovery id when
    /// connection state recovery is on.
    fn send_connect_reply(&self, socket: &Socket, name: &str) {
        let reply = match socket.pid() {
            // A v2 client's CONNECT reply is bare: it knows its id already.
            _ if self.is_v2() => None,
            Some(pid) => {
                Some(serde_json::json!({ "sid": socket.id().as_str(), "pid": pid.as_str() }))
            }
            None => Some(serde_json::json!({ "sid": socket.id().as_str() })),
        };
        let packet = Packet::new(
            PacketKind::Connect,
            name.to_owned(),
            reply.map(Payload::Json),
        );
        let _ = self
            .session
            .send_all(frames_of(packet, self.io.config.parser));
        tracing::debug!(socket = %socket.id(), nsp = %name, "socket connected");
    }

    /// Replays the packets that waited for the namespace, then lets packets
    /// through directly. The queue is removed only once empty, under its
    /// lock, so a packet arriving during the replay is queued behind the
    /// others and replayed in turn.
    fn replay_waiting(self: &Arc<Self>, socket: &Arc<Socket>, name: &str) {
        loop {
            let waiting = {
                let mut connecting = self.connecting();
                match connecting.get_mut(name) {
                    Some(queue) if !queue.packets.is_empty() => std::mem::take(queue),
                    _ => {
                        // Empty, or cleared because the connection closed.
                        connecting.remove(name);
                        return;
                    }
                }
            };
            for packet in waiting.packets {
                if let Err(error) = socket.on_packet(packet) {
                    return self.protocol_error(error);
                }
            }
        }
    }

    /// Sends a restored socket the packets its client missed, in one go, and
    /// marks it connected: before the CONNECT reply, as Node does. With the
    /// in-memory log, what was logged since the restore is added, under the
    /// log's lock, so each packet arrives once, missed or live.
    fn resume(&self, socket: &Socket, restored: RestoredSession) -> Result<(), Gap> {
        let missed: Vec<_> = restored
            .missed
            .into_iter()
            .map(|m| m.into_encoded(self.io.config.parser))
            .collect();
        let send = |missed: Vec<Arc<Encoded>>| {
            let frames: Vec<_> = missed.iter().flat_map(|e| e.frames()).collect();
            if let Err(error) = self.session.send_all(frames) {
                tracing::debug!(socket = %socket.id(), %error, "missed packets not sent; closing");
                self.session.close();
            }
            socket.set_connected();
        };
        match restored.tail {
            Some(tail) => tail.log.resume(tail.last, &restored.rooms, missed, send),
            None => {
                send(missed);
                Ok(())
            }
        }
    }

    fn send_connect_error(&self, nsp: &str, payload: Value) {
        let packet = Packet::new(
            PacketKind::ConnectError,
            ferrio_proto::socketio::packet_namespace(nsp),
            Some(Payload::Json(payload)),
        );
        let _ = self
            .session
            .send_all(frames_of(packet, self.io.config.parser));
    }

    pub(crate) fn remove_socket(&self, nsp: &str) {
        let mut sockets = self.sockets();
        if let Ok(at) = sockets.find(nsp) {
            sockets.list.remove(at);
        }
        if sockets.list.is_empty() {
            sockets.list = Vec::new();
        }
    }

    /// Disconnects every socket (each is told) and closes the connection.
    pub(crate) fn disconnect_all(&self) {
        let sockets = self.sockets().list.clone();
        for socket in sockets {
            socket.leave_by_server();
        }
        self.session.close();
    }

    /// [`SocketIoConfig::max_pending_packets`](crate::SocketIoConfig::max_pending_packets).
    pub(crate) fn max_pending_packets(&self) -> usize {
        self.io.config.max_pending_packets
    }

    /// Closes the connection from a task of its own, so that its sockets'
    /// disconnect handlers never run on the stack of whoever asked (a
    /// broadcast to many sockets, inside another socket's handler, perhaps
    /// under the application's locks). Asked many times, it closes once.
    pub(crate) fn close_deferred(&self, reason: CloseReason) {
        if self.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let session = self.session.clone();
                drop(runtime.spawn(async move { session.close_with(reason) }));
            }
            // Outside a runtime (a plain thread emitting): no handler of
            // ferrio's runs above us, so closing here recurses into nothing.
            Err(_) => self.session.close_with(reason),
        }
    }

    /// The connection moved to WebSocket: every socket's upgrade listeners
    /// are told.
    pub(crate) fn on_upgrade(&self) {
        self.io.tell_engine_observers(|o| o.upgraded(&self.session));
        let sockets = self.sockets().list.clone();
        for socket in &sockets {
            socket.on_transport_upgrade();
        }
    }

    /// The Engine.IO connection ended.
    pub(crate) fn on_close(&self, reason: CloseReason) {
        self.io
            .tell_engine_observers(|o| o.closed(&self.session, reason));
        self.end_sockets(DisconnectReason::from(reason));
    }

    /// Ends every socket with `reason` (the first reason given wins), and
    /// lets no socket join after.
    fn end_sockets(&self, reason: DisconnectReason) {
        let (reason, sockets) = {
            let mut sockets = self.sockets();
            let reason = *sockets.closed.get_or_insert(reason);
            let mut list = std::mem::take(&mut sockets.list);
            // A socket whose connection handlers still run is ended by
            // `finish_connect` once they have.
            list.retain(|s| !s.opening.load(Ordering::Acquire));
            (reason, list)
        };
        self.connecting().clear();
        *self.decoder.lock() = None;
        for socket in sockets {
            socket.on_close(reason);
        }
    }
}

/// The private id and offset of a client asking to recover its session:
/// both must be strings (Node's check).
fn recovery_keys(auth: &Value) -> Option<(String, String)> {
    match (auth.get("pid")?, auth.get("offset")?) {
        (Value::String(pid), Value::String(offset)) => Some((pid.clone(), offset.clone())),
        _ => None,
    }
}

/// A fresh session: a new id and private id.
fn fresh() -> Identity {
    Identity {
        id: SocketId::random(),
        pid: SocketId::random(),
        restored: None,
    }
}

/// Feeds one Engine.IO message to a Socket.IO decoder.
fn feed(
    decoder: &mut Decoder,
    message: Message,
) -> Result<Option<Packet<Payload>>, ferrio_proto::socketio::DecodeError> {
    match message {
        Message::Text(text) => decoder.feed_text(&text),
        Message::Binary(bytes) => decoder.feed_binary(bytes),
    }
}

/// A binary packet whose attachments are still to come.
struct Pending {
    decoder: Decoder,
    /// When its first message (the text header) came.
    started: Instant,
    /// Its size on the wire so far, attachments included.
    bytes: usize,
}

/// A client's sockets, and whether its connection closed (with the reason).
#[derive(Default)]
struct Sockets {
    /// Sorted by namespace name: a client may join many namespaces, and each
    /// packet looks its socket up.
    list: Vec<Arc<Socket>>,
    closed: Option<DisconnectReason>,
}

impl Sockets {
    /// Where the socket of a namespace is, or would be inserted.
    fn find(&self, nsp: &str) -> Result<usize, usize> {
        self.list
            .binary_search_by(|s| s.namespace().name().cmp(nsp))
    }
}

/// The packets waiting for a namespace still connecting, and their size on
/// the wire.
#[derive(Default)]
struct Queue {
    packets: Vec<Packet<Payload>>,
    bytes: usize,
}

/// The namespaces of a client still connecting, each with the packets that
/// wait for it. Usually empty, and then it holds no allocation.
#[derive(Default)]
struct Connecting(Vec<(String, Queue)>);

impl Connecting {
    /// Starts queueing the packets of a namespace (if not already).
    fn open(&mut self, nsp: &str) {
        if self.get_mut(nsp).is_none() {
            self.0.push((nsp.to_owned(), Queue::default()));
        }
    }

    /// The queue of a namespace connecting.
    fn get_mut(&mut self, nsp: &str) -> Option<&mut Queue> {
        self.0.iter_mut().find(|(n, _)| n == nsp).map(|(_, q)| q)
    }

    /// The bytes waiting, every namespace together.
    fn bytes(&self) -> usize {
        self.0.iter().map(|(_, q)| q.bytes).sum()
    }

    /// Stops queueing for a namespace; frees the list when it is the last.
    fn remove(&mut self, nsp: &str) {
        self.0.retain(|(n, _)| n != nsp);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn clear(&mut self) {
        self.0 = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an idle connection keeps, checked so it does not grow unnoticed.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_idle_client_and_socket_stay_small() {
        use std::mem::size_of;
        assert!(size_of::<Client>() <= 128, "{}", size_of::<Client>());
        assert!(size_of::<Socket>() <= 200, "{}", size_of::<Socket>());
    }

    #[test]
    fn the_connecting_list_frees_its_memory_once_empty() {
        let mut connecting = Connecting::default();
        connecting.open("/a");
        connecting.open("/b");
        connecting.open("/a");
        assert_eq!(connecting.0.len(), 2, "a namespace is listed once");
        let packet = Packet::new(PacketKind::Event, "/a", None);
        let queue = connecting.get_mut("/a").unwrap();
        queue.packets.push(packet);
        queue.bytes += 3;
        assert_eq!(connecting.get_mut("/a").map(|q| q.packets.len()), Some(1));
        assert_eq!(connecting.bytes(), 3);
        connecting.remove("/a");
        assert!(connecting.get_mut("/a").is_none());
        connecting.remove("/b");
        assert!(connecting.is_empty());
        assert_eq!(connecting.0.capacity(), 0);
    }
}
