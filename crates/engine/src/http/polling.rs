//! HTTP long-polling: a GET is parked until frames are queued, a POST delivers
//! a payload of packets.

use std::sync::Arc;

use bytes::Bytes;
use ferrio_proto::engine::{RECORD_SEPARATOR, decode_payload, encode_payload_binary};
use http::Response;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use super::{Body, EngineError, RequestBody, compress, polling_v3, refused_session};
use crate::engine::EngineCore;
use crate::limits::Refused;
use crate::session::{Upgrade, info::connect_info};
use crate::{CloseReason, OutPacket, Protocol, Session, Sid, TransportKind};

/// Answers a poll: parks until the session has frames, then returns them all.
pub(crate) async fn get(session: Arc<Session>, request: &HeaderMap) -> Response<Body> {
    let overlapping = {
        let mut state = session.lock();
        // Once upgraded, a late poll is answered with a noop below.
        state
            .polling()
            .is_some_and(|polling| std::mem::replace(&mut polling.poll_active, true))
    };
    if overlapping {
        // Overlapping polls: the reference closes the session.
        session.close_with(CloseReason::TransportError);
        return EngineError::BadRequest.into_response();
    }
    let mut guard = PollGuard {
        session: &session,
        answered: false,
    };
    // Whether the session was closed before this poll came: a buffered
    // server close (see `Session::close_with`).
    let mut first = true;
    let (payload, content_type, compress) = loop {
        let writable = session.writer.notified();
        {
            let mut state = session.lock();
            let buffered = std::mem::replace(&mut first, false);
            if let Some(reason) = state.closed {
                if buffered && !state.outbox.is_empty() {
                    // As Node: what was queued goes first, alone; the close
                    // waits for the next poll.
                    let (frames, compress) = state.take_poll_answer();
                    let (payload, content_type) = answer(&session, frames, &[]);
                    break (payload, content_type, compress);
                }
                let (frames, compress) = state.take_poll_answer();
                // A client that closed is answered with a noop, as the
                // reference does; so is a buffered close, before its `1`.
                let last: &[&'static str] = match reason {
                    CloseReason::TransportClose => &["6"],
                    _ if buffered => &["6", "1"],
                    _ => &["1"],
                };
                let (payload, content_type) = answer(&session, frames, last);
                drop(state);
                // A buffered server close is taken: the session is gone.
                session.forget();
                break (payload, content_type, compress);
            }
            if matches!(state.upgrade, Upgrade::Probing | Upgrade::Done) {
                let (payload, content_type) = answer(&session, [OutPacket::NOOP], &[]);
                break (payload, content_type, true);
            }
            if !state.outbox.is_empty() && state.polling().is_none_or(|polling| polling.hold == 0) {
                let (frames, compress) = state.take_poll_answer();
                let (payload, content_type) = answer(&session, frames, &[]);
                break (payload, content_type, compress);
            }
        }
        writable.await;
    };
    guard.answered = true;
    drop(guard);
    // Node compresses an answer when one of its packets asked for it.
    let threshold = session
        .shared
        .config
        .http_compression_threshold
        .filter(|_| compress);
    let Ok((payload, encoding)) = compress::compress(payload, request, threshold).await else {
        // Its frames are lost: the session cannot go on.
        session.close_with(CloseReason::TransportError);
        return EngineError::BadRequest.into_response();
    };
    let mut response = Response::new(Full::new(Bytes::from(payload)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, encoding);
    }
    response
}

/// Marks the end of a poll; a poll dropped before it was answered means the
/// client went away, which ends the session with "transport error" (Node's
/// "poll connection closed prematurely").
struct PollGuard<'a> {
    session: &'a Arc<Session>,
    answered: bool,
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        if let Some(polling) = self.session.lock().polling() {
            polling.poll_active = false;
        }
        if !self.answered {
            self.session.close_with(CloseReason::TransportError);
        }
    }
}

/// Marks a POST whose body is being read; a POST dropped before its body
/// was in (the request timed out, the connection broke) ends the session
/// with "transport error", as the reference does when a data request's
/// connection closes early.
struct PostGuard<'a> {
    session: &'a Arc<Session>,
    received: bool,
}

impl PostGuard<'_> {
    /// The body was read (or refused): the POST goes on without the guard.
    fn received(mut self) -> Self {
        self.received = true;
        self
    }
}

impl Drop for PostGuard<'_> {
    fn drop(&mut self) {
        if !self.received {
            if let Some(polling) = self.session.lock().polling() {
                polling.post_active = false;
            }
            self.session.close_with(CloseReason::TransportError);
        }
    }
}

/// A poll's answer and its content type: the frames, then the control
/// packet that ends the session, if any.
fn answer(
    session: &Session,
    frames: impl IntoIterator<Item = OutPacket>,
    last: &[&'static str],
) -> (Vec<u8>, HeaderValue) {
    if session.protocol() != Protocol::V4 {
        return polling_v3::encode(frames, last, session.base64);
    }
    let mut payload = encode(frames);
    for last in last {
        if !payload.is_empty() {
            payload.push(RECORD_SEPARATOR);
        }
        payload.extend_from_slice(last.as_bytes());
    }
    (
        payload,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    )
}

fn encode(frames: impl IntoIterator<Item = OutPacket>) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        if !out.is_empty() {
            out.push(RECORD_SEPARATOR);
        }
        match frame {
            OutPacket::Text(text) => out.extend_from_slice(text.as_bytes()),
            OutPacket::Binary(bytes) => encode_payload_binary(&bytes, &mut out),
            // Made for a WebSocket only, which a session never leaves.
            OutPacket::Deflated(_) => {}
        }
    }
    out
}

/// Opens a long-polling session and answers its first poll (the open
/// packet), within the handshake limits: the handshake counts as pending
/// until the client comes back.
pub(crate) async fn handshake(
    shared: &Arc<EngineCore>,
    req: &Parts,
    sid: Sid,
) -> Result<Response<Body>, EngineError> {
    let (config, limits) = (&shared.config, &shared.limits);
    let info = connect_info(req);
    let share = shared.share(info.remote_addr, config.max_pending_handshakes_per_address);
    limits
        .reserve_pending(config.max_pending_handshakes, share)
        .map_err(|refused| {
            EngineError::Unavailable(match refused {
                Refused::Full => "Too many handshakes in progress",
                Refused::AddressFull => "Too many handshakes in progress from this address",
            })
        })?;
    let slot = shared
        .reserve_session(info.remote_addr)
        .map_err(|refused| {
            limits.cancel_pending(share);
            refused_session(refused)
        })?;
    let Some(session) = shared.open_session(sid, info, TransportKind::Polling) else {
        limits.cancel_pending(share);
        return Err(EngineError::BadRequest);
    };
    drop(slot);
    limits.add_pending(session.id(), share);
    if session.is_closed() {
        // Closed before it was marked (by `on_open`, say):
        // its close no longer unmarks it, so do it here.
        limits.answered(session.id());
    }
    let mut response = get(session.clone(), &req.headers).await;
    if let Some(cookie) = &config.cookie {
        if let Ok(v) = cookie.header_value(session.id().as_str()).parse() {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// Takes a payload of packets from the client and answers `ok`.
pub(crate) async fn post<B: RequestBody>(
    session: Arc<Session>,
    headers: &HeaderMap,
    body: B,
) -> Response<Body> {
    // v4 payloads are text; a binary content type is a v3 client. On a v4
    // session Node ends the session ("invalid content") and answers an
    // empty 400.
    let binary = polling_v3::is_binary(headers);
    if session.protocol() == Protocol::V4
        && headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == b"application/octet-stream")
    {
        session.close_with(CloseReason::TransportError);
        return super::plain(http::StatusCode::BAD_REQUEST, "");
    }
    let overlapping = {
        let mut state = session.lock();
        state
            .polling()
            .is_some_and(|polling| std::mem::replace(&mut polling.post_active, true))
    };
    if overlapping {
        session.close_with(CloseReason::TransportError);
        return EngineError::BadRequest.into_response();
    }
    let limit = session.shared.config.max_payload;
    let guard = PostGuard {
        session: &session,
        received: false,
    };
    let body = Limited::new(body, limit).collect().await;
    let body = match body {
        Ok(body) => {
            drop(guard.received());
            body.to_bytes()
        }
        Err(e) => {
            drop(guard.received());
            if let Some(polling) = session.lock().polling() {
                polling.post_active = false;
            }
            if e.is::<LengthLimitError>() {
                return EngineError::PayloadTooLarge.into_response();
            }
            session.close_with(CloseReason::TransportError);
            return EngineError::BadRequest.into_response();
        }
    };
    let outcome = deliver(&session, &body, binary);
    let release = {
        let mut state = session.lock();
        let held = state.polling().is_some_and(|polling| {
            polling.post_active = false;
            polling.hold -= 1;
            polling.hold > 0
        });
        !held && !state.outbox.is_empty()
    };
    if release {
        session.writer.notify_one();
    }
    match outcome {
        Ok(()) => ok(),
        Err(CloseReason::TransportClose) => {
            session.close_with(CloseReason::TransportClose);
            ok()
        }
        Err(reason) => {
            session.close_with(reason);
            EngineError::BadRequest.into_response()
        }
    }
}

/// Hands every packet of a payload to the session, holding the outbox so the
/// frames they cause leave together in the next poll.
fn deliver(session: &Arc<Session>, body: &Bytes, binary: bool) -> Result<(), CloseReason> {
    if let Some(polling) = session.lock().polling() {
        polling.hold += 1;
    }
    // Fetched once per request: a closed session delivers nothing more.
    let Some(connection) = session.connection() else {
        return Ok(());
    };
    if session.protocol() != Protocol::V4 {
        return polling_v3::deliver(session, &connection, body, binary);
    }
    for packet in decode_payload(body) {
        let packet = packet.map_err(|_| CloseReason::ParseError)?;
        session.on_packet(&connection, packet, body)?;
    }
    Ok(())
}

fn ok() -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}
