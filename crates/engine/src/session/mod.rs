//! One Engine.IO session: its state, its outbox and its heartbeat.

mod carrier;
pub(crate) mod cork;
pub(crate) mod heartbeat;
pub(crate) mod info;
mod out_packet;
pub(crate) mod protocol;
mod state;

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use ferrio_proto::engine::{BINARY_MESSAGE_TYPE, Packet, decode_binary, decode_binary_v3};
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;

pub(crate) use carrier::{Carrier, Queue, Wire, WriteNow};
pub use info::{ConnectInfo, Secure};
pub use out_packet::{Deflated, OutPacket};
pub use protocol::Protocol;
pub(crate) use state::{State, Upgrade};

use crate::engine::EngineCore;
use crate::{CloseReason, Connection, Message, SendError, Sid, Text, TransportKind};

/// How long a server close of a long-polling session waits for the client's
/// next poll (Node's `closeTimeout`): 30 s.
pub(crate) const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A client's Engine.IO session, whichever transport carries it.
///
/// On a plain-TCP WebSocket, a frame sent while nothing waits is written to the
/// socket by the sender itself, at once. Otherwise frames wait in the session's
/// bounded outbox until the transport's one writer takes them: the parked
/// long-poll, or the WebSocket task, which writes every waiting frame at once.
pub struct Session {
    sid: Sid,
    info: Arc<ConnectInfo>,
    pub(crate) shared: Arc<EngineCore>,
    state: Mutex<State>,
    /// Wakes the transport's writer: frames queued, upgrade progress, or close.
    pub(crate) writer: Notify,
    /// Wakes the heartbeat task: a pong arrived, or the session closed.
    heartbeat: Notify,
    /// The layer above's connection ([`Handler::on_open`](crate::Handler::on_open)),
    /// for the polling requests and the close; the WebSocket task keeps its own
    /// reference. Dropped when the session closes, so that the connection may
    /// hold the session without a reference cycle.
    connection: Mutex<Option<Arc<dyn Connection>>>,
    /// Set when the session closes, before its connection's `on_close`: a
    /// message read after it is not delivered. An atomic, read once per
    /// message without a lock.
    ended: AtomicBool,
    /// The Engine.IO revision the client speaks, from its handshake.
    protocol: Protocol,
    /// A v3 client that takes binary messages in polling payloads only as
    /// base64 text (`b64` in its handshake).
    pub(crate) base64: bool,
    /// The session itself, for a cork to hold ([`cork::hold`]) when a send
    /// through a plain reference corks it.
    me: Weak<Session>,
}

impl Session {
    pub(crate) fn new(
        shared: Arc<EngineCore>,
        sid: Sid,
        info: ConnectInfo,
        transport: TransportKind,
    ) -> Arc<Self> {
        let query = info.query().unwrap_or("");
        let (protocol, base64) = match shared.config.allow_eio3 {
            true => (Protocol::of_query(query), protocol::wants_base64(query)),
            false => (Protocol::V4, false),
        };
        let now = tokio::time::Instant::now();
        let timing = match protocol {
            Protocol::V4 => heartbeat::Timing::new(now, shared.config.ping_interval),
            _ => heartbeat::Timing::awaiting_ping(now, shared.config.v3_ping_deadline()),
        };
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            sid,
            info: Arc::new(info),
            shared,
            state: Mutex::new(State::new(transport, timing)),
            writer: Notify::new(),
            heartbeat: Notify::new(),
            connection: Mutex::new(None),
            ended: AtomicBool::new(false),
            protocol,
            base64,
        })
    }

    /// The session id (`sid`), unique among open sessions.
    pub fn id(&self) -> Sid {
        self.sid
    }

    /// The Engine.IO revision the client speaks (v3 only with
    /// [`allow_eio3`](crate::EngineConfig::allow_eio3)).
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// What the handshake request said about the client.
    /// Shared, so the layer above can keep it without copying the headers.
    pub fn info(&self) -> &Arc<ConnectInfo> {
        &self.info
    }

    /// The transport that carries the session now.
    pub fn transport(&self) -> TransportKind {
        self.lock().transport()
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.lock().closed.is_some()
    }

    /// Sends a frame to the client: written to the socket right away when a
    /// plain-TCP WebSocket carries the session and nothing waits before it,
    /// else queued in the outbox for the transport's writer.
    ///
    /// Fails with [`SendError::Full`] when the outbox already holds
    /// [`max_buffered_bytes`](crate::EngineConfig::max_buffered_bytes): the caller
    /// decides whether to drop the frame or close a client that cannot keep up.
    pub fn send(&self, frame: OutPacket) -> Result<(), SendError> {
        self.send_with(frame, true)
    }

    /// [`send`](Self::send), saying whether the frame may be compressed:
    /// with `compress` false, a WebSocket that agreed on permessage-deflate
    /// sends the frame as it is, and a long-polling answer whose frames all
    /// said no is not compressed (Node's `compress: false`).
    pub fn send_with(&self, frame: OutPacket, compress: bool) -> Result<(), SendError> {
        let frame = match self.protocol {
            Protocol::V4 => frame,
            _ => with_type_byte(frame),
        };
        let limit = self.shared.config.max_buffered_bytes;
        let mut state = self.lock();
        if state.closed.is_some() {
            return Err(SendError::Closed);
        }
        if frame.len() > limit {
            return Err(SendError::Full);
        }
        let counted = self.counted(std::slice::from_ref(&frame));
        let frame = state.prepare(frame, compress);
        let sent = state.write_now(std::slice::from_ref(&frame));
        let queued = match sent {
            WriteNow::Written | WriteNow::Partial => Ok(()),
            WriteNow::Declined | WriteNow::Corked | WriteNow::Gathering => {
                state.push(frame, Some(limit))
            }
        };
        if compress && queued.is_ok() {
            state.wants_compression();
        }
        drop(state);
        self.after_write(sent, queued)?;
        self.tell_sent(counted);
        Ok(())
    }

    /// After a send's write or queueing: has a cork hold the session it
    /// corked, wakes the writer for what waits outside a cork, and checks the
    /// engine-wide budget when frames were queued.
    /// The messages among `frames` and their bytes, if a
    /// [`SentHook`](crate::SentHook) wants them.
    fn counted(&self, frames: &[OutPacket]) -> Option<(usize, usize)> {
        self.shared.sent_hook.get()?;
        let skip = match self.protocol {
            Protocol::V4 => 0,
            // Engine.IO v3 frames carry their type byte here too.
            _ => 1,
        };
        let mut counted = (0, 0);
        for frame in frames {
            let bytes = match frame {
                OutPacket::Text(text) if text.as_str().starts_with('4') => text.len() - 1,
                OutPacket::Binary(bytes) => bytes.len().saturating_sub(skip),
                _ => continue,
            };
            counted.0 += 1;
            counted.1 += bytes;
        }
        Some(counted)
    }

    /// Tells the [`SentHook`](crate::SentHook) of messages sent.
    fn tell_sent(&self, counted: Option<(usize, usize)>) {
        if let (Some((frames, bytes)), Some(hook)) = (counted, self.shared.sent_hook.get())
            && frames > 0
        {
            hook(self, frames, bytes);
        }
    }

    fn after_write(&self, sent: WriteNow, queued: Result<(), SendError>) -> Result<(), SendError> {
        if sent == WriteNow::Corked
            && let Some(me) = self.me.upgrade()
        {
            // Held even when the frame was refused: the cork's end lifts the corked state.
            cork::hold(me);
        }
        queued?;
        match sent {
            WriteNow::Written => {}
            WriteNow::Corked | WriteNow::Gathering => self.shared.check_budget(),
            WriteNow::Partial | WriteNow::Declined => {
                self.writer.notify_one();
                self.shared.check_budget();
            }
        }
        Ok(())
    }

    /// The cork that held the session ended: what it gathered goes out in one
    /// write if the socket takes it, else the connection's task writes it.
    pub(crate) fn uncork(&self) {
        let done = self.lock().uncork();
        if !done {
            self.writer.notify_one();
            self.shared.check_budget();
        }
    }

    /// Queues several frames that must reach the client back to back (a packet
    /// and its binary attachments): all are queued, or none.
    pub fn send_all(&self, frames: impl IntoIterator<Item = OutPacket>) -> Result<(), SendError> {
        self.send_all_with(frames, true)
    }

    /// [`send_all`](Self::send_all), saying whether the frames may be
    /// compressed (see [`send_with`](Self::send_with)).
    pub fn send_all_with(
        &self,
        frames: impl IntoIterator<Item = OutPacket>,
        compress: bool,
    ) -> Result<(), SendError> {
        let mut frames = frames.into_iter();
        let (first, second) = (frames.next(), frames.next());
        let frames: Vec<OutPacket> = match (first, second) {
            (None, _) => return Ok(()),
            // One frame, the usual case: no list to allocate.
            (Some(only), None) => return self.send_with(only, compress),
            (Some(first), Some(second)) => [first, second].into_iter().chain(frames).collect(),
        };
        let mut frames = match self.protocol {
            Protocol::V4 => frames,
            _ => frames.into_iter().map(with_type_byte).collect(),
        };
        let limit = self.shared.config.max_buffered_bytes;
        let mut state = self.lock();
        if state.closed.is_some() {
            return Err(SendError::Closed);
        }
        if frames.iter().map(OutPacket::len).sum::<usize>() > limit {
            return Err(SendError::Full);
        }
        let counted = self.counted(&frames);
        for frame in &mut frames {
            *frame = state.prepare(std::mem::replace(frame, OutPacket::NOOP), compress);
        }
        let sent = state.write_now(&frames);
        let queued = match sent {
            WriteNow::Written | WriteNow::Partial => Ok(()),
            WriteNow::Declined | WriteNow::Corked | WriteNow::Gathering => {
                state.push_all(frames, limit)
            }
        };
        if compress && queued.is_ok() {
            state.wants_compression();
        }
        drop(state);
        self.after_write(sent, queued)?;
        self.tell_sent(counted);
        Ok(())
    }

    /// Sends a text message (`4` followed by `text`).
    pub fn send_text(&self, text: &str) -> Result<(), SendError> {
        self.send(OutPacket::message(text))
    }

    /// Sends a binary message.
    pub fn send_binary(&self, bytes: Bytes) -> Result<(), SendError> {
        self.send(OutPacket::Binary(bytes))
    }

    /// Closes the session from the server side ([`CloseReason::ForcedClose`]).
    /// Frames already queued are still delivered first.
    pub fn close(&self) {
        self.close_with(CloseReason::ForcedClose);
    }

    /// Hands the session the connection its handler's `on_open` returned.
    /// When the session closed meanwhile (in `on_open`, say), nothing holds
    /// the connection: it hears of the close at once and is dropped.
    pub(crate) fn set_connection(&self, connection: Arc<dyn Connection>) {
        let mut slot = self.slot();
        // Checked under the slot's lock: a close that comes later finds the
        // connection there; one that came before is seen here.
        let closed = self.lock().closed;
        match closed {
            None => *slot = Some(connection),
            Some(reason) => {
                drop(slot);
                connection.on_close(reason);
            }
        }
    }

    /// The layer above's connection, while the session is open.
    pub(crate) fn connection(&self) -> Option<Arc<dyn Connection>> {
        self.slot().clone()
    }

    fn slot(&self) -> MutexGuard<'_, Option<Arc<dyn Connection>>> {
        self.connection.lock()
    }

    /// Whether a frame sent now can go to the client at once: always over
    /// WebSocket; over long-polling while a GET is waiting for it. (The
    /// Socket.IO layer words a forced close as Node does with it.)
    pub fn is_writable(&self) -> bool {
        self.lock()
            .polling()
            .is_none_or(|polling| polling.poll_active)
    }

    /// Whether nothing waits in the outbox: the client has everything sent so far
    /// (as far as the transport's writer knows).
    pub fn is_drained(&self) -> bool {
        self.lock().is_drained()
    }

    /// The session's state, locked. Changes to the bytes it queues are
    /// carried to the engine-wide count when the lock is released.
    pub(crate) fn lock(&self) -> StateGuard<'_> {
        // Not poisoned by a panic (parking_lot): one would be a bug of ours, and
        // the state is still consistent field by field, so other senders go on.
        let state = self.state.lock();
        StateGuard {
            queued_before: state.queued_bytes,
            state,
            shared: &self.shared,
        }
    }

    /// Queues a control frame (ping, noop, probe): never refused for size.
    pub(crate) fn push_control(&self, frame: OutPacket) {
        let mut state = self.lock();
        if state.push(frame, None).is_ok() {
            state.wants_compression();
            drop(state);
            self.writer.notify_one();
        }
    }

    /// Queues a message of the engine's own (the configured
    /// [`initial_packet`](crate::EngineConfig::initial_packet)) before any
    /// the handler sends, in the session's protocol.
    pub(crate) fn push_initial(&self, frame: OutPacket) {
        let frame = match self.protocol {
            Protocol::V4 => frame,
            _ => with_type_byte(frame),
        };
        self.push_control(frame);
    }

    /// Ends the session with a reason: frames already queued are still written,
    /// then the transport closes and the handler's `on_close` runs, once.
    ///
    /// A server close ([`CloseReason::ForcedClose`]) of a long-polling
    /// session with no poll parked is buffered, as Node buffers it: the
    /// session stays known until the client's next poll, which gets what is
    /// queued and the close packet, or for 30 s (`CLOSE_TIMEOUT`) at most.
    pub fn close_with(&self, reason: CloseReason) {
        let buffered = {
            let mut state = self.lock();
            if state.closed.is_some() {
                return;
            }
            state.closed = Some(reason);
            reason == CloseReason::ForcedClose
                && state.upgrade == Upgrade::None
                && state.polling().is_some_and(|polling| !polling.poll_active)
        };
        self.ended.store(true, Ordering::Release);
        tracing::debug!(sid = %self.sid, %reason, buffered, "session closed");
        // Out of the table (or lingering) before the writer wakes: a poll
        // that answers the close forgets the session, which must not make
        // this close look like someone else's.
        let known = if buffered {
            self.linger()
        } else {
            self.shared.remove(self.sid).is_some()
        };
        self.writer.notify_one();
        self.heartbeat.notify_one();
        // Taken after `closed` is set, so that `set_connection` cannot store
        // one after this.
        let connection = self.slot().take();
        if let (true, Some(connection)) = (known, connection) {
            connection.on_close(reason);
        }
    }

    /// Keeps a closed long-polling session in the table until its client's
    /// next poll takes the close ([`forget`](Self::forget)), or for
    /// 30 s (`CLOSE_TIMEOUT`); whether it was in the table.
    fn linger(&self) -> bool {
        if self.shared.get(self.sid).is_none() {
            return false;
        }
        let (Ok(runtime), Some(me)) = (tokio::runtime::Handle::try_current(), self.me.upgrade())
        else {
            return self.shared.remove(self.sid).is_some();
        };
        let me = Arc::downgrade(&me);
        drop(runtime.spawn(async move {
            tokio::time::sleep(CLOSE_TIMEOUT).await;
            if let Some(session) = me.upgrade() {
                session.forget();
            }
        }));
        true
    }

    /// Takes a closed session out of the table, if it is still there.
    pub(crate) fn forget(&self) {
        self.shared.remove_session(self);
    }

    /// Closes a session that holds too much of the engine-wide budget
    /// ([`max_total_buffered_bytes`](crate::EngineConfig::max_total_buffered_bytes)):
    /// its queued frames are dropped at once (but the rest of a frame already
    /// partly written), and its handler's `on_close` runs later, on a task of
    /// its own: this is called from a sender's stack, which must not run
    /// another session's disconnect handlers.
    pub(crate) fn close_over_budget(&self) {
        let reason = CloseReason::TransportError;
        {
            let mut state = self.lock();
            if state.closed.is_some() {
                // A buffered server close, still in the table (see
                // `close_with`): it gives its frames up, and its client's
                // next poll finds the session gone.
                state.discard_outbox();
                drop(state);
                self.forget();
                return;
            }
            state.closed = Some(reason);
            state.discard_outbox();
        }
        self.ended.store(true, Ordering::Release);
        tracing::debug!(sid = %self.sid, "session closed: over the engine's buffer budget");
        // Removed before the writer wakes (see `close_with`).
        let removed = self.shared.remove(self.sid);
        self.writer.notify_one();
        self.heartbeat.notify_one();
        let Some(session) = removed else {
            return;
        };
        let finish = move || {
            let connection = session.slot().take();
            if let Some(connection) = connection {
                connection.on_close(reason);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move { finish() })),
            // A sender outside any runtime: no task to defer to.
            Err(_) => finish(),
        }
    }

    /// Handles one packet from the client, on any transport.
    ///
    /// `source` is the buffer the packet was decoded from, so a text message is
    /// handed up without copying, to `connection`.
    pub(crate) fn on_packet(
        self: &Arc<Self>,
        connection: &Arc<dyn Connection>,
        packet: Packet<'_>,
        source: &Bytes,
    ) -> Result<(), CloseReason> {
        match packet {
            Packet::Message(text) => {
                self.on_message_bytes(connection, source.slice_ref(text.as_bytes()))?;
            }
            Packet::Binary(data) => {
                let bytes = match data {
                    std::borrow::Cow::Borrowed(b) => source.slice_ref(b),
                    std::borrow::Cow::Owned(v) => Bytes::from(v),
                };
                self.deliver(connection, Message::Binary(bytes));
            }
            Packet::Pong(_) if self.protocol == Protocol::V4 => self.on_pong(),
            Packet::Ping(_) if self.protocol == Protocol::V3 => self.on_client_ping(),
            Packet::Close => return Err(CloseReason::TransportClose),
            // As in Node: open and upgrade on an established transport are
            // ignored.
            Packet::Noop | Packet::Open(_) | Packet::Upgrade => {}
            // v4 clients never ping (outside an upgrade probe) and v3 clients
            // never pong: Node's "invalid heartbeat direction".
            Packet::Ping(_) | Packet::Pong(_) => return Err(CloseReason::TransportError),
        }
        Ok(())
    }

    /// Handles a WebSocket binary frame: a binary message, whose v3 form
    /// starts with its type byte.
    pub(crate) fn on_binary_frame(
        self: &Arc<Self>,
        connection: &Arc<dyn Connection>,
        frame: &Bytes,
    ) -> Result<(), CloseReason> {
        let packet = match self.protocol {
            Protocol::V4 => decode_binary(frame),
            _ => decode_binary_v3(frame).map_err(|_| CloseReason::ParseError)?,
        };
        self.on_packet(connection, packet, frame)
    }

    /// Handles a text frame that holds one message packet (`4` and the text), as
    /// WebSocket frames do: no packet decoding, no second UTF-8 check, and no
    /// copy of the frame's buffer.
    pub(crate) fn on_message_frame(&self, connection: &Arc<dyn Connection>, frame: Text) {
        debug_assert!(frame.starts_with('4'));
        self.deliver(connection, Message::Text(frame.tail(1)));
    }

    fn on_message_bytes(
        &self,
        connection: &Arc<dyn Connection>,
        bytes: Bytes,
    ) -> Result<(), CloseReason> {
        let text = Text::from_utf8(bytes).map_err(|_| CloseReason::ParseError)?;
        self.deliver(connection, Message::Text(text));
        Ok(())
    }

    /// Hands a message up, unless the session has closed.
    fn deliver(&self, connection: &Arc<dyn Connection>, message: Message) {
        if !self.ended.load(Ordering::Acquire) {
            Arc::clone(connection).on_message(message);
        }
    }

    fn on_pong(&self) {
        let interval = self.shared.config.ping_interval;
        let moved = self.lock().on_pong(tokio::time::Instant::now(), interval);
        if moved {
            self.heartbeat.notify_one();
        }
    }

    /// A v3 client's ping: answered with a pong, and the session's deadline
    /// moves to `ping_interval + ping_timeout` from now.
    fn on_client_ping(&self) {
        let deadline = self.shared.config.v3_ping_deadline();
        self.lock()
            .on_client_ping(tokio::time::Instant::now(), deadline);
        self.push_control(OutPacket::PONG);
        self.heartbeat.notify_one();
    }

    /// Wakes the long-polling heartbeat task, so it notices an upgrade at once.
    pub(crate) fn wake_heartbeat(&self) {
        self.heartbeat.notify_one();
    }

    /// Starts the heartbeat task of a long-polling session; a WebSocket
    /// connection's task steps the heartbeat itself.
    pub(crate) fn start_heartbeat(self: &Arc<Self>) {
        if self.transport() == TransportKind::Polling {
            tokio::spawn(heartbeat::run_for_polling(self.clone()));
        }
    }
}

/// A binary message in its v3 form: the type byte `4`, then the data (one
/// copy per v3 frame; v4 frames never come here).
fn with_type_byte(frame: OutPacket) -> OutPacket {
    match frame {
        OutPacket::Binary(bytes) => {
            let mut framed = Vec::with_capacity(1 + bytes.len());
            framed.push(BINARY_MESSAGE_TYPE);
            framed.extend_from_slice(&bytes);
            OutPacket::Binary(Bytes::from(framed))
        }
        text => text,
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if state.queued_bytes > 0 {
            self.shared.unqueued(state.queued_bytes);
        }
    }
}

/// A session's locked state. When released, it carries the change in the
/// bytes the session queues to the engine-wide count
/// ([`max_total_buffered_bytes`](crate::EngineConfig::max_total_buffered_bytes)):
/// every path that queues or writes frames is counted, and a lock that
/// changes nothing costs one comparison.
pub(crate) struct StateGuard<'a> {
    state: MutexGuard<'a, State>,
    queued_before: usize,
    shared: &'a EngineCore,
}

impl Deref for StateGuard<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.state
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let now = self.state.queued_bytes;
        if now > self.queued_before {
            self.shared.queued(now - self.queued_before);
        } else if now < self.queued_before {
            self.shared.unqueued(self.queued_before - now);
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sid", &self.sid)
            .field("transport", &self.transport())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod sent_hook_tests {
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;

    use crate::{Engine, EngineConfig, OutPacket, TransportKind};

    #[tokio::test(start_paused = true)]
    async fn the_sent_hook_counts_messages_and_their_bytes_not_control_packets() {
        let engine = Engine::new(EngineConfig::default(), crate::test_util::Ignore);
        let counted = Arc::new(Mutex::new((0, 0)));
        let into = counted.clone();
        assert!(engine.on_sent(Arc::new(move |_, messages, bytes| {
            let mut counted = into.lock().unwrap();
            counted.0 += messages;
            counted.1 += bytes;
        })));
        assert!(
            !engine.on_sent(Arc::new(|_, _, _| {})),
            "one hook per engine"
        );
        let info = crate::test_util::connect_info("/engine.io/");
        let session = engine
            .shared
            .open_session(crate::Sid::random(), info, TransportKind::Polling)
            .unwrap();
        session.send_text("hello").unwrap();
        session
            .send_all([
                OutPacket::message("x"),
                OutPacket::Binary(Bytes::from_static(&[1, 2, 3])),
            ])
            .unwrap();
        session.send(OutPacket::PING).unwrap();
        assert_eq!(*counted.lock().unwrap(), (3, 5 + 1 + 3));
        session.close();
        assert!(session.send_text("late").is_err());
        assert_eq!(
            *counted.lock().unwrap(),
            (3, 9),
            "a refused send is not counted"
        );
    }
}
