//! The HTTP face of the engine: request routing, error answers, CORS and
//! compression. Long-polling lives in `polling`; the HTTP half of a WebSocket
//! in `upgrade`, its connection in `crate::transport`.

mod compress;
mod cors;
mod errors;
mod polling;
mod polling_v3;
mod upgrade;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;

pub(crate) use errors::EngineError;

use crate::engine::EngineCore;
use crate::limits::Refused;
use crate::session::Upgrade;
use crate::session::info::query_param;
use crate::{Engine, Session, Sid, TransportKind};

/// A request body the engine can read: any [`http_body::Body`] that may move
/// to another task (hyper's, axum's). Public methods spell the bound out, so
/// that this name stays private.
pub(crate) trait RequestBody:
    http_body::Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static
{
}

impl<B> RequestBody for B
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
}

/// The response body of every engine answer.
pub(crate) type Body = Full<Bytes>;

/// The engine seen from HTTP: it answers requests, and is a tower service.
impl Engine {
    /// Answers one HTTP request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        route(&self.shared, req).await
    }
}

impl<B> tower_service::Service<Request<B>> for Engine
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let engine = self.clone();
        Box::pin(async move { Ok(engine.handle(req).await) })
    }
}

pub(crate) async fn route<B: RequestBody>(
    shared: &Arc<EngineCore>,
    req: Request<B>,
) -> Response<Body> {
    let config = &shared.config;
    if !config.handles_path(req.uri().path()) {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    }
    let (mut parts, body) = req.into_parts();
    let origin = parts.headers.get(header::ORIGIN).cloned();
    let refused = match (&config.cors, &origin) {
        (Some(c), Some(origin)) => !cors::allows(c, origin),
        _ => false,
    };
    let is_ws = upgrade::is_upgrade_request(&parts.headers);
    let mut response = if let (&Method::OPTIONS, Some(cors)) = (&parts.method, &config.cors) {
        cors::preflight(cors, &parts.headers)
    } else if refused {
        tracing::debug!(origin = ?origin, "request from an origin not allowed");
        let error = EngineError::Forbidden("Origin not allowed".into());
        report(shared, &parts, &error);
        // ferrio's own check (Node has none): the same 403 over both
        // transports, so that a refused cross-site WebSocket is told apart.
        error.into_response()
    } else {
        match dispatch(shared, &mut parts, body, is_ws).await {
            Ok(mut response) => {
                add_headers(config, &parts, response.headers_mut());
                response
            }
            Err(error) => {
                report(shared, &parts, &error);
                if is_ws {
                    error.into_upgrade_response()
                } else {
                    error.into_response()
                }
            }
        }
    };
    if let Some(cors) = &config.cors {
        cors::apply(cors, origin.as_ref(), response.headers_mut());
    }
    response
}

/// Lets the application add headers to a response: `initial_headers` on a
/// handshake's, then `headers` on every one.
fn add_headers(config: &crate::EngineConfig, parts: &Parts, headers: &mut http::HeaderMap) {
    let initial = query_param(parts.uri.query().unwrap_or(""), "sid").is_none();
    if let (true, Some(hook)) = (initial, &config.initial_headers) {
        hook(headers, parts);
    }
    if let Some(hook) = &config.headers {
        hook(headers, parts);
    }
}

/// Tells the `connection_error` hook of a refused request.
fn report(shared: &EngineCore, parts: &Parts, error: &EngineError) {
    let (Some(hook), Some(code)) = (&shared.config.connection_error, error.code()) else {
        return;
    };
    let query = parts.uri.query().unwrap_or("");
    let param = |name| query_param(query, name).unwrap_or_default();
    let context = match error {
        EngineError::UnknownTransport => serde_json::json!({ "transport": param("transport") }),
        EngineError::UnknownSid => serde_json::json!({ "sid": param("sid") }),
        EngineError::BadHandshakeMethod => serde_json::json!({ "method": parts.method.as_str() }),
        EngineError::Forbidden(message) => serde_json::json!({ "message": message }),
        EngineError::Unavailable(message) => serde_json::json!({ "message": message }),
        EngineError::UnsupportedProtocolVersion => {
            serde_json::json!({ "protocol": param("EIO") })
        }
        EngineError::BadRequest | EngineError::PayloadTooLarge => serde_json::json!({}),
    };
    hook(&crate::ConnectionError {
        request: parts,
        code,
        message: crate::hooks::message_of(code),
        context,
    });
}

async fn dispatch<B: RequestBody>(
    shared: &Arc<EngineCore>,
    parts: &mut Parts,
    body: B,
    is_ws: bool,
) -> Result<Response<Body>, EngineError> {
    let query = parts.uri.query().unwrap_or("");
    let transport = query_param(query, "transport")
        .and_then(TransportKind::parse)
        .filter(|t| shared.config.allows(*t))
        .ok_or(EngineError::UnknownTransport)?;
    match query_param(query, "sid") {
        Some(sid) => {
            let session = Sid::parse(sid)
                .and_then(|sid| shared.get(sid))
                .ok_or(EngineError::UnknownSid)?;
            if (transport == TransportKind::WebSocket) != is_ws {
                return Err(EngineError::BadRequest);
            }
            resume(shared, session, parts, body, transport).await
        }
        None => handshake(shared, parts, body, transport, is_ws).await,
    }
}

/// A request of an open session: a poll, a payload, or its upgrade. As in
/// Node, `allow_request` is not asked again.
async fn resume<B: RequestBody>(
    shared: &Arc<EngineCore>,
    session: Arc<Session>,
    parts: &mut Parts,
    body: B,
    transport: TransportKind,
) -> Result<Response<Body>, EngineError> {
    // The client came back: its handshake is no longer in progress.
    shared.limits.answered(session.id());
    match transport {
        TransportKind::Polling => {
            let on_polling = {
                let state = session.lock();
                state.transport() == TransportKind::Polling && state.upgrade != Upgrade::Done
            };
            if !on_polling {
                return Err(EngineError::BadRequest);
            }
            match parts.method {
                Method::GET => Ok(polling::get(session, &parts.headers).await),
                Method::POST => Ok(polling::post(session, &parts.headers, body).await),
                // Node's polling transport: 500 with no body, session kept.
                _ => Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, "")),
            }
        }
        TransportKind::WebSocket => {
            upgrade::upgrade(shared, parts, upgrade::Target::Session(session))
        }
    }
}

/// A new session's first request: a polling handshake, or a WebSocket. The
/// checks run in Node's order: method, transport, `allow_request`, then the
/// protocol version.
async fn handshake<B: RequestBody>(
    shared: &Arc<EngineCore>,
    parts: &mut Parts,
    _body: B,
    transport: TransportKind,
    is_ws: bool,
) -> Result<Response<Body>, EngineError> {
    if parts.method != Method::GET {
        return Err(EngineError::BadHandshakeMethod);
    }
    if (transport == TransportKind::WebSocket) != is_ws {
        return Err(EngineError::BadRequest);
    }
    if let Some(check) = &shared.config.allow_request {
        check(parts).await.map_err(EngineError::Forbidden)?;
    }
    match query_param(parts.uri.query().unwrap_or(""), "EIO") {
        Some("4") => {}
        Some("3") if shared.config.allow_eio3 => {}
        _ => return Err(EngineError::UnsupportedProtocolVersion),
    }
    if shared.is_shutting_down() {
        return Err(EngineError::BadRequest);
    }
    let sid = new_sid(shared, parts)?;
    match transport {
        TransportKind::Polling => polling::handshake(shared, parts, sid).await,
        TransportKind::WebSocket => upgrade::upgrade(shared, parts, upgrade::Target::New(sid)),
    }
}

/// The id of a new session: the application's
/// ([`generate_id`](crate::EngineConfig::generate_id)) when it has a
/// generator and the id is valid and free, else a random one.
fn new_sid(shared: &EngineCore, parts: &Parts) -> Result<Sid, EngineError> {
    let Some(generate) = &shared.config.generate_id else {
        return Ok(Sid::random());
    };
    let id = generate(parts);
    match Sid::parse(&id) {
        Some(sid) if shared.get(sid).is_none() => Ok(sid),
        _ => {
            tracing::debug!(
                id,
                "generated session id refused: not 20 URL-safe characters, or in use"
            );
            Err(EngineError::BadRequest)
        }
    }
}

/// The answer to a handshake refused for want of a session slot.
pub(crate) fn refused_session(refused: Refused) -> EngineError {
    EngineError::Unavailable(match refused {
        Refused::Full => "Too many sessions",
        Refused::AddressFull => "Too many sessions from this address",
    })
}

pub(crate) fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
