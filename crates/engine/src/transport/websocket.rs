//! WebSocket: the handshake answer, the upgrade probe, and one task per
//! connection that reads frames and writes the session's outbox.

use std::sync::Arc;

use bytes::Bytes;
use ferrio_proto::engine::{Packet, decode_binary, decode_text};
use futures_util::{FutureExt, SinkExt, StreamExt};
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

use crate::engine::Shared;
use crate::http::{Body, EngineError, connect_info};
use crate::limits::SessionSlot;
use crate::session::{ConnectInfo, Upgrade};
use crate::{CloseReason, Frame, Session, TransportKind};

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Whether a request asks for a WebSocket.
pub(crate) fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Accepts a WebSocket: a new session when `session` is `None`, else an upgrade
/// of that polling session. The connection itself runs in a task of its own.
pub(crate) fn upgrade<B>(
    shared: &Arc<Shared>,
    req: &mut Request<B>,
    session: Option<Arc<Session>>,
) -> Result<Response<Body>, EngineError> {
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(EngineError::BadRequest)?;
    if req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(EngineError::BadRequest);
    }
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = req
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or(EngineError::BadRequest)?;
    let target = match session {
        Some(session) => {
            let mut state = session.lock();
            if !shared.config.allow_upgrades
                || state.transport != TransportKind::Polling
                || state.upgrade != Upgrade::None
            {
                return Err(EngineError::BadRequest);
            }
            state.upgrade = Upgrade::Requested;
            drop(state);
            Target::Upgrade(session)
        }
        None => Target::New(Box::new(connect_info(req)), shared.reserve_session()?),
    };
    tokio::spawn(run(shared.clone(), on_upgrade, target));

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    Ok(response)
}

enum Target {
    /// A new session, with the place reserved for it (`max_sessions`).
    New(Box<ConnectInfo>, SessionSlot),
    Upgrade(Arc<Session>),
}

// Why tokio-tungstenite (measured here against fastwebsockets 0.10, 10 000 idle
// connections and 200 000 echoes, server pinned to one core): with a 4 KiB read
// buffer it costs 5.8 KiB per idle connection against 5.6, and 7.4 µs of server
// CPU per echo against 6.2 (9.1 against 8.8 at a fixed 20 000 msg/s). For that
// small gap fastwebsockets would cost us: its `read_frame` is not cancel-safe (it
// cannot sit in this task's `select!`), it bounds frames but not reassembled
// messages, it accepts unmasked client frames, it cannot coalesce writes, and it
// has had no minor release in nearly two years. tungstenite's default 128 KiB
// read buffer, allocated and zeroed eagerly, is what made it look slow (134 KiB
// and 12.2 µs per message), hence the small one below.
fn ws_config(shared: &Shared) -> WebSocketConfig {
    config(shared.config.max_payload)
}

/// The WebSocket settings of every connection, for a payload limit. Public
/// (hidden) for `examples/ws_echo.rs`, which runs the Autobahn suite on them.
#[doc(hidden)]
pub fn config(max_payload: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max_payload))
        .max_frame_size(Some(max_payload))
        // Idle connections should cost little: start with a small read buffer.
        .read_buffer_size(1024)
}

async fn run(shared: Arc<Shared>, on_upgrade: OnUpgrade, target: Target) {
    let io = match on_upgrade.await {
        Ok(io) => TokioIo::new(io),
        Err(e) => {
            tracing::debug!(error = %e, "websocket upgrade failed");
            if let Target::Upgrade(session) = target {
                session.lock().upgrade = Upgrade::None;
            }
            return;
        }
    };
    let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config(&shared))).await;
    let session = match target {
        Target::New(info, _slot) => shared.open_session(*info, TransportKind::WebSocket),
        Target::Upgrade(session) => {
            if !probe(&session, &mut ws).await {
                {
                    let mut state = session.lock();
                    if state.upgrade != Upgrade::Done {
                        state.upgrade = Upgrade::None;
                    }
                }
                let _ = ws.close(None).await;
                return;
            }
            session
        }
    };
    serve_connection(&session, &mut ws).await;
}

/// Runs the upgrade handshake on a new WebSocket: `2probe` → `3probe`, then
/// `5` within the upgrade timeout. Returns whether the session moved over.
async fn probe(session: &Arc<Session>, ws: &mut Ws) -> bool {
    let deadline = Instant::now() + session.shared.config.upgrade_timeout;
    let mut probed = false;
    loop {
        let frame = match timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => text,
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
            _ => return false,
        };
        match decode_text(&frame) {
            Ok(Packet::Ping("probe")) if !probed => {
                if ws.send(WsMessage::text("3probe")).await.is_err() {
                    return false;
                }
                probed = true;
                if !set_upgrade(session, Upgrade::Probing) {
                    return false;
                }
                // Release the parked poll with a noop so the client can pause polling.
                session.writer.notify_one();
            }
            Ok(Packet::Upgrade) if probed => {
                if !set_upgrade(session, Upgrade::Done) {
                    return false;
                }
                // The connection's task steps the heartbeat from now on.
                session.wake_heartbeat();
                tracing::debug!(sid = %session.id(), "session upgraded to websocket");
                session.shared.handler.on_upgrade(session);
                return true;
            }
            _ => return false,
        }
    }
}

/// Frames read back to back before the outbox is written.
const READ_BATCH: usize = 64;

/// Moves the upgrade on, unless the session closed meanwhile.
fn set_upgrade(session: &Session, step: Upgrade) -> bool {
    let mut state = session.lock();
    if state.closed.is_some() {
        return false;
    }
    state.upgrade = step;
    if step == Upgrade::Done {
        state.transport = TransportKind::WebSocket;
    }
    true
}

/// The connection's one task: writes the outbox (all waiting frames, then one
/// flush) and reads frames, until either side ends the session.
async fn serve_connection(session: &Arc<Session>, ws: &mut Ws) {
    let mut wake = session.lock().heartbeat.next_wake();
    let heartbeat = tokio::time::sleep_until(wake);
    tokio::pin!(heartbeat);
    loop {
        let writable = session.writer.notified();
        let (frames, closed) = {
            let mut state = session.lock();
            (state.take_outbox(), state.closed)
        };
        if !frames.is_empty() && write_all(ws, frames).await.is_err() {
            session.close_with(CloseReason::TransportError);
            return;
        }
        if closed.is_some() {
            let _ = ws.close(None).await;
            return;
        }
        tokio::select! {
            message = ws.next() => {
                // Take every frame that has already arrived (up to a budget)
                // before writing, so their answers leave in one flush.
                let mut message = message;
                let mut budget = READ_BATCH;
                loop {
                    if let Err(reason) = on_frame(session, message) {
                        session.close_with(reason);
                        if reason != CloseReason::TransportClose {
                            let _ = ws.close(None).await;
                        }
                        return;
                    }
                    budget -= 1;
                    if budget == 0 {
                        break;
                    }
                    match ws.next().now_or_never() {
                        Some(next) => message = next,
                        None => break,
                    }
                }
            }
            () = writable => {}
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

/// How a WebSocket read error ends the session.
fn close_reason(error: &tungstenite::Error) -> CloseReason {
    use tungstenite::error::ProtocolError;
    match error {
        // The peer went away without a close frame: a plain disconnect.
        tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed
        | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            CloseReason::TransportClose
        }
        // Oversized messages, bad framing, invalid UTF-8: the peer's fault.
        tungstenite::Error::Capacity(_)
        | tungstenite::Error::Protocol(_)
        | tungstenite::Error::Utf8(_) => CloseReason::ParseError,
        _ => CloseReason::TransportError,
    }
}

async fn write_all(
    ws: &mut Ws,
    frames: impl IntoIterator<Item = Frame>,
) -> Result<(), tungstenite::Error> {
    for frame in frames {
        let message = match frame {
            Frame::Text(text) => WsMessage::Text(text.into_ws()),
            Frame::Binary(bytes) => WsMessage::Binary(bytes),
        };
        ws.feed(message).await?;
    }
    ws.flush().await
}

fn on_frame(
    session: &Arc<Session>,
    message: Option<Result<WsMessage, tungstenite::Error>>,
) -> Result<(), CloseReason> {
    match message {
        Some(Ok(WsMessage::Text(text))) => {
            let source = Bytes::from(text.clone());
            let packet = decode_text(text.as_str()).map_err(|_| CloseReason::ParseError)?;
            session.on_packet(packet, &source)
        }
        Some(Ok(WsMessage::Binary(bytes))) => session.on_packet(decode_binary(&bytes), &bytes),
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => Ok(()),
        Some(Ok(WsMessage::Close(_))) | None => Err(CloseReason::TransportClose),
        Some(Err(error)) => Err(close_reason(&error)),
    }
}
