//! The task of one WebSocket connection: the upgrade probe, then reading
//! frames, writing what senders could not write themselves, and stepping the
//! heartbeat, until either side ends the session.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio_proto::engine::{Packet, decode_text};
use ferrio_proto::websocket::deflate::{DeflateParams, Inflater};
use ferrio_proto::websocket::{Opcode, ReadError, Reader, WsMessage, encode_close, encode_frame};
use hyper::upgrade::OnUpgrade;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::Accepted;
use super::io::{Read, ReadFailure, WsIo, handle};
use crate::conn::Counted;
use crate::engine::EngineCore;
use crate::limits::DeflateSlot;
use crate::session::{Carrier, Upgrade, WriteNow};
use crate::{CloseReason, Connection, Session, Text, TransportKind};

/// How the connection ends, seen from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Send a close frame: with this code, or none.
    Close(Option<u16>),
    /// Just drop the stream (it is gone, or Engine.IO closed it).
    Drop,
}

pub(super) async fn run(
    shared: Arc<EngineCore>,
    on_upgrade: OnUpgrade,
    accepted: Accepted,
    deflate: Option<DeflateParams>,
    // Held for the connection's life: its place among those that keep a
    // compression context (`max_deflate_sessions`).
    _deflate_slot: Option<DeflateSlot>,
) {
    // The task lives as long as the connection, and its future is as large as
    // its largest step: the steps before and after serving are boxed, so an
    // idle connection's task carries only what serving needs (a
    // `connection_task_stays_small` test guards it).
    let Some(Opened {
        session,
        mut io,
        mut reader,
        connection,
    }) = Box::pin(open(&shared, on_upgrade, accepted, deflate)).await
    else {
        return;
    };
    let end = match &connection {
        Some(connection) => serve(&session, connection, &mut io, &mut reader).await,
        None => End::Close(None),
    };
    Box::pin(finish(&shared, &session, io, end)).await;
}

/// A WebSocket whose session is open, ready to be served.
struct Opened {
    session: Arc<Session>,
    io: WsIo,
    reader: Reader,
    /// Held by the task, so that a message reaches the layer above with no
    /// lock; `None` when the session closed already.
    connection: Option<Arc<dyn Connection>>,
}

/// Takes the upgraded stream, opens its session or runs the upgrade probe of
/// an existing one, and handles what the client sent along; `None` when the
/// connection ends here (a message the client sent along may end it).
async fn open(
    shared: &Arc<EngineCore>,
    on_upgrade: OnUpgrade,
    accepted: Accepted,
    deflate: Option<DeflateParams>,
) -> Option<Opened> {
    let upgraded = match on_upgrade.await {
        Ok(upgraded) => upgraded,
        Err(e) => {
            tracing::debug!(error = %e, "websocket upgrade failed");
            if let Accepted::Upgrade(session) = accepted {
                session.lock().upgrade = Upgrade::None;
            }
            return None;
        }
    };
    let (mut io, early) = WsIo::from_upgraded::<Counted<TcpStream>>(upgraded);
    let mut reader = Reader::new(shared.config.max_payload);
    if let Some(params) = &deflate {
        // Inflated within max_payload; the state is kept between messages
        // only when the client compresses with context takeover.
        reader = reader.inflate(Inflater::new(!params.client_no_context_takeover));
    }
    // `early` shares hyper's whole read buffer: copy it, and let it go now.
    let mut pending = Pending {
        bytes: early.into(),
        at: 0,
    };
    let (session, upgraded) = match accepted {
        Accepted::New(new) => {
            let (sid, info, _slot) = *new;
            let session = shared.open_session(sid, info, TransportKind::WebSocket)?;
            session.lock().carrier = Carrier::WebSocket(writer(shared, &io, deflate.as_ref()));
            (session, false)
        }
        Accepted::Refused => {
            // As Node's `websocket.close()`: a close frame without a code.
            let deadline = Instant::now() + shared.config.upgrade_timeout;
            close_stream(&mut io, End::Close(None), deadline).await;
            return None;
        }
        Accepted::Upgrade(session) => {
            let deadline = Instant::now() + shared.config.upgrade_timeout;
            let probe = probe(
                &session,
                &mut io,
                &mut reader,
                &mut pending,
                deadline,
                deflate.as_ref(),
            );
            if let Err(close) = probe.await {
                {
                    let mut state = session.lock();
                    if state.upgrade != Upgrade::Done {
                        state.upgrade = Upgrade::None;
                    }
                }
                // Within what is left of the upgrade's time: a probe socket
                // holds its connection's place no longer than that. After a
                // write cut short, a close frame would be garbage.
                if let Some(end) = close {
                    close_stream(&mut io, end, deadline).await;
                }
                return None;
            }
            (session, true)
        }
    };
    let connection = session.connection();
    if let (Some(connection), true) = (&connection, upgraded) {
        connection.on_upgrade();
    }
    if let Some(live) = &connection {
        if let Some(end) = handle_pending(&session, live, &mut reader, pending) {
            Box::pin(finish(shared, &session, io, end)).await;
            return None;
        }
    }
    Some(Opened {
        session,
        io,
        reader,
        connection,
    })
}

/// Ends the stream: frames queued before the close are still delivered, then
/// the close frame; a client that does not read them within a ping timeout is
/// as good as gone. One that did not answer a ping, or whose stream failed,
/// gets no such wait: what the socket takes at once, and the connection is
/// dropped.
async fn finish(shared: &EngineCore, session: &Arc<Session>, mut io: WsIo, end: End) {
    let reason = session.lock().closed;
    let patience = match reason {
        Some(CloseReason::PingTimeout | CloseReason::TransportError) => Duration::ZERO,
        _ => shared.config.ping_timeout,
    };
    let deadline = Instant::now() + patience;
    let drained = matches!(timeout_at(deadline, io.flush(session)).await, Ok(Ok(())));
    {
        // The stream goes: what it did not take is dropped with it, and
        // senders no longer write to its socket.
        session.lock().clear_outbox();
    }
    // After a partly written frame, a close frame would be garbage.
    if drained {
        close_stream(&mut io, end, deadline).await;
    }
}

/// Sends the close frame, if any, by `deadline` (or as far as the socket
/// takes it at once, when that has passed); the stream closes when dropped.
async fn close_stream(io: &mut WsIo, end: End, deadline: Instant) {
    if let End::Close(code) = end {
        let mut frame = Vec::new();
        encode_close(code, &mut frame);
        let _ = timeout_at(deadline, io.write_all(&frame)).await;
    }
}

/// Bytes read and not handled yet: those the client sent along with its
/// upgrade request, then those the probe read past its end.
struct Pending {
    bytes: Vec<u8>,
    /// How many of `bytes` are handled.
    at: usize,
}

/// Bytes the probe reads at once.
const PROBE_READ: usize = 4 * 1024;

/// Handles the messages left in `pending` once the session is open; how the
/// connection ends, if one of them ends it.
fn handle_pending(
    session: &Arc<Session>,
    connection: &Arc<dyn Connection>,
    reader: &mut Reader,
    pending: Pending,
) -> Option<End> {
    let Pending { mut bytes, at } = pending;
    let rest = bytes.get_mut(at..).unwrap_or_default();
    match handle(reader, rest, &mut |m| on_incoming(session, connection, m)) {
        Ok(end) => end,
        Err(error) => Some(protocol_error(session, error)),
    }
}

/// Ends the session of a client that broke the WebSocket protocol (a bad
/// frame, text that is not UTF-8, a message over `max_payload`): as in Node,
/// where `ws` reports these as errors, with "transport error".
fn protocol_error(session: &Session, error: ReadError) -> End {
    tracing::debug!(sid = %session.id(), %error, "invalid websocket frame");
    session.close_with(CloseReason::TransportError);
    End::Close(Some(error.close_code()))
}

/// Runs the upgrade handshake on a new WebSocket: `2probe` → `3probe`, then
/// `5`, by `deadline` (the upgrade timeout), its writes included. Messages
/// read after the `5` are left in `pending`. On failure, the close frame to
/// send, if any: none after a write that failed or ran out of time.
async fn probe(
    session: &Arc<Session>,
    io: &mut WsIo,
    reader: &mut Reader,
    pending: &mut Pending,
    deadline: Instant,
    deflate: Option<&DeflateParams>,
) -> Result<(), Option<End>> {
    let mut probed = false;
    loop {
        while let Some(message) = reader
            .next(&mut pending.bytes, &mut pending.at)
            .map_err(|error| Some(End::Close(Some(error.close_code()))))?
        {
            let text = match message {
                WsMessage::Text(text) => text,
                WsMessage::Ping(payload) => {
                    let mut pong = Vec::new();
                    encode_frame(Opcode::Pong, &payload, &mut pong);
                    if !write_by(io, &pong, deadline).await {
                        return Err(None);
                    }
                    continue;
                }
                WsMessage::Pong => continue,
                WsMessage::Binary(_) | WsMessage::Close(_) => return Err(Some(End::Close(None))),
            };
            match decode_text(&text) {
                Ok(Packet::Ping("probe")) if !probed => {
                    let mut answer = Vec::new();
                    encode_frame(Opcode::Text, b"3probe", &mut answer);
                    if !write_by(io, &answer, deadline).await {
                        return Err(None);
                    }
                    probed = true;
                    if !set_upgrade(session, Upgrade::Probing, io, deflate) {
                        return Err(Some(End::Close(None)));
                    }
                    // Release the parked poll with a noop so the client can pause polling.
                    session.writer.notify_one();
                }
                Ok(Packet::Upgrade) if probed => {
                    if !set_upgrade(session, Upgrade::Done, io, deflate) {
                        return Err(Some(End::Close(None)));
                    }
                    // The connection's task steps the heartbeat from now on.
                    session.wake_heartbeat();
                    tracing::debug!(sid = %session.id(), "session upgraded to websocket");
                    return Ok(());
                }
                _ => return Err(Some(End::Close(None))),
            }
        }
        // All handled: read more into the same buffer.
        pending.bytes.resize(PROBE_READ, 0);
        match timeout_at(deadline, io.read_some(&mut pending.bytes)).await {
            Ok(Ok(n)) if n > 0 => {
                pending.bytes.truncate(n);
                pending.at = 0;
            }
            _ => return Err(Some(End::Close(None))),
        }
    }
}

/// Writes `bytes` whole by `deadline`; whether it could.
async fn write_by(io: &mut WsIo, bytes: &[u8], deadline: Instant) -> bool {
    matches!(timeout_at(deadline, io.write_all(bytes)).await, Ok(Ok(())))
}

/// Moves the upgrade on, unless the session closed meanwhile. Once done, the
/// socket is the session's, and senders may write to it.
fn set_upgrade(
    session: &Session,
    step: Upgrade,
    io: &WsIo,
    deflate: Option<&DeflateParams>,
) -> bool {
    let mut state = session.lock();
    if state.closed.is_some() {
        return false;
    }
    state.upgrade = step;
    if step == Upgrade::Done {
        state.carrier = Carrier::WebSocket(writer(&session.shared, io, deflate));
    }
    true
}

/// The session's writer on `io`, compressing as permessage-deflate was
/// agreed on, if it was.
fn writer(
    shared: &EngineCore,
    io: &WsIo,
    deflate: Option<&DeflateParams>,
) -> crate::transport::websocket::Writer {
    io.writer()
        .deflating(deflate, shared.config.per_message_deflate.as_ref())
}

/// Serves an open session: reads and handles frames, writes what waits, steps
/// the heartbeat. Returns how the stream should end.
async fn serve(
    session: &Arc<Session>,
    connection: &Arc<dyn Connection>,
    io: &mut WsIo,
    reader: &mut Reader,
) -> End {
    let mut wake = session.lock().heartbeat.next_wake();
    let heartbeat = tokio::time::sleep_until(wake);
    tokio::pin!(heartbeat);
    loop {
        let writable = session.writer.notified();
        // Write what waits as far as the socket takes it. When it is full, the
        // wait for room is one more branch below, so the task goes on reading
        // and stepping the heartbeat: a client that stops reading still times
        // out, and its session can still be closed.
        let blocked = match io.flush_some(session) {
            Ok(done) => !done,
            Err(_) => {
                session.close_with(CloseReason::TransportError);
                return End::Drop;
            }
        };
        if session.is_closed() {
            return End::Close(None);
        }
        let room = io.writable();
        let mut handle = |m| on_incoming(session, connection, m);
        tokio::select! {
            read = io.read_serving(session, reader, &mut handle) => {
                match read {
                    Ok(Read::Handled) => {}
                    Ok(Read::Stopped(end)) => return end,
                    Ok(Read::Eof) => {
                        session.close_with(CloseReason::TransportClose);
                        return End::Drop;
                    }
                    Err(ReadFailure::Io(error)) => {
                        session.close_with(io_close_reason(&error));
                        return End::Drop;
                    }
                    Err(ReadFailure::Ws(error)) => return protocol_error(session, error),
                }
            }
            () = writable => {}
            ready = room, if blocked => {
                if ready.is_err() {
                    session.close_with(CloseReason::TransportError);
                    return End::Drop;
                }
            }
            () = heartbeat.as_mut() => {
                match session.heartbeat_step(Instant::now(), TransportKind::WebSocket) {
                    Some(next) => wake = next,
                    // Timed out: the next turn of the loop writes and closes.
                    None => continue,
                }
            }
        }
        // A pong may have moved the schedule; re-arm only when it changed.
        let next = session.lock().heartbeat.next_wake();
        if next != wake || heartbeat.is_elapsed() {
            wake = next;
            heartbeat.as_mut().reset(wake);
        }
    }
}

/// Handles one message or control frame from the client; how the connection
/// ends, when the message ends the session.
fn on_incoming(
    session: &Arc<Session>,
    connection: &Arc<dyn Connection>,
    message: WsMessage,
) -> Option<End> {
    let handled = match message {
        // Nearly every frame is a message: handed up as it is, no second look.
        WsMessage::Text(text) if text.starts_with('4') => {
            session.on_message_frame(connection, Text::from_checked(text));
            Ok(())
        }
        WsMessage::Text(text) => match decode_text(&text) {
            // Node's WebSocket transport ignores a close packet: only the
            // WebSocket's own close (or the ping timeout) ends the session.
            Ok(Packet::Close) => Ok(()),
            Ok(packet) => session.on_packet(connection, packet, text.as_bytes()),
            Err(_) => Err(CloseReason::ParseError),
        },
        WsMessage::Binary(bytes) => session.on_binary_frame(connection, &bytes),
        WsMessage::Ping(payload) => {
            send_pong(session, &payload);
            Ok(())
        }
        WsMessage::Pong => Ok(()),
        WsMessage::Close(code) => {
            session.close_with(CloseReason::TransportClose);
            // Answer the closing handshake with the client's own code.
            return Some(End::Close(code));
        }
    };
    let reason = handled.err()?;
    session.close_with(reason);
    // An Engine.IO close packet ends it quietly; anything else is closed
    // properly.
    Some(if reason == CloseReason::TransportClose {
        End::Drop
    } else {
        End::Close(None)
    })
}

/// Answers a WebSocket ping, ahead of queued messages.
fn send_pong(session: &Session, payload: &Bytes) {
    let mut pong = Vec::new();
    encode_frame(Opcode::Pong, payload, &mut pong);
    if session.lock().write_raw(&pong) == WriteNow::Partial {
        session.writer.notify_one();
    }
}

/// How a failed read ends the session: as in Node, a reset connection (no
/// close frame, no FIN) is a transport error; a plain end of stream is a close.
fn io_close_reason(error: &io::Error) -> CloseReason {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => CloseReason::TransportClose,
        _ => CloseReason::TransportError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConnectInfo, Engine, EngineConfig, Handler, Message, Sid};

    struct Nothing;

    impl Handler for Nothing {
        fn on_open(&self, _: &Arc<Session>) -> Arc<dyn Connection> {
            Arc::new(Nothing)
        }
    }

    impl Connection for Nothing {
        fn on_message(self: Arc<Self>, _: Message) {}
        fn on_close(&self, _: CloseReason) {}
    }

    /// An idle WebSocket connection is mostly its task, and tokio allocates a
    /// task's future in a cell of a multiple of 128 bytes: in release builds
    /// this future is 592 bytes, which keeps the cell at 768 (it was 896 when
    /// the future also held the open and close steps). The bound here is the
    /// test build's size, which moves with the same code. At 632 bytes (with
    /// the `max_deflate_sessions` slot) the cell is still 768: the heap per
    /// idle connection measured by the server's `idle_heap.rs` did not move.
    #[tokio::test]
    async fn connection_task_stays_small() {
        let engine = Engine::new(EngineConfig::default(), Nothing);
        let slot = engine.shared.reserve_session(None).expect("a slot");
        let info = ConnectInfo {
            uri: "/engine.io/".parse().unwrap(),
            headers: Default::default(),
            remote_addr: None,
            issued: 0,
            extensions: Default::default(),
            secure: false,
        };
        let on_upgrade = hyper::upgrade::on(http::Request::new(()));
        let task = run(
            engine.shared.clone(),
            on_upgrade,
            Accepted::New(Box::new((Sid::random(), info, slot))),
            None,
            None,
        );
        let size = std::mem::size_of_val(&task);
        eprintln!("connection task future: {size} bytes");
        assert!(size <= 632, "the connection task's future is {size} bytes");
    }
}
