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
    let path = req.uri().path();
    if path != config.path && path != config.path.trim_end_matches('/') {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    let refused = match (&config.cors, &origin) {
        (Some(c), Some(origin)) => !cors::allows(c, origin),
        _ => false,
    };
    let mut response = if req.method() == Method::OPTIONS && config.cors.is_some() {
        cors::preflight(req.headers())
    } else if refused {
        tracing::debug!(origin = ?origin, "request from an origin not allowed");
        EngineError::Forbidden("Origin not allowed".into()).into_response()
    } else {
        match dispatch(shared, req).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    };
    if let Some(cors) = &config.cors {
        cors::apply(cors, origin.as_ref(), response.headers_mut());
    }
    response
}

async fn dispatch<B: RequestBody>(
    shared: &Arc<EngineCore>,
    req: Request<B>,
) -> Result<Response<Body>, EngineError> {
    let query = req.uri().query().unwrap_or("");
    let transport = query_param(query, "transport")
        .and_then(TransportKind::parse)
        .filter(|t| shared.config.allows(*t))
        .ok_or(EngineError::UnknownTransport)?;
    let is_ws = upgrade::is_upgrade_request(&req);
    if (transport == TransportKind::WebSocket) != is_ws {
        return Err(EngineError::BadRequest);
    }
    match query_param(query, "sid") {
        Some(sid) => {
            let session = Sid::parse(sid)
                .and_then(|sid| shared.get(sid))
                .ok_or(EngineError::UnknownSid)?;
            resume(shared, session, req, transport).await
        }
        None => handshake(shared, req, transport).await,
    }
}

/// A request of an open session: a poll, a payload, or its upgrade.
async fn resume<B: RequestBody>(
    shared: &Arc<EngineCore>,
    session: Arc<Session>,
    req: Request<B>,
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
            match *req.method() {
                Method::GET => Ok(polling::get(session, req.headers()).await),
                Method::POST => Ok(polling::post(session, req).await),
                _ => Err(EngineError::BadRequest),
            }
        }
        TransportKind::WebSocket => {
            let (parts, body) = req.into_parts();
            check_request(shared, &parts)?;
            let mut req = Request::from_parts(parts, body);
            upgrade::upgrade(shared, &mut req, Some(session))
        }
    }
}

/// A new session's first request: a polling handshake, or a WebSocket.
async fn handshake<B: RequestBody>(
    shared: &Arc<EngineCore>,
    req: Request<B>,
    transport: TransportKind,
) -> Result<Response<Body>, EngineError> {
    if req.method() != Method::GET {
        return Err(EngineError::BadHandshakeMethod);
    }
    match query_param(req.uri().query().unwrap_or(""), "EIO") {
        Some("4") => {}
        Some("3") if shared.config.allow_eio3 => {}
        _ => return Err(EngineError::UnsupportedProtocolVersion),
    }
    let (parts, body) = req.into_parts();
    check_request(shared, &parts)?;
    if shared.is_shutting_down() {
        return Err(EngineError::BadRequest);
    }
    let mut req = Request::from_parts(parts, body);
    match transport {
        TransportKind::Polling => polling::handshake(shared, req).await,
        TransportKind::WebSocket => upgrade::upgrade(shared, &mut req, None),
    }
}

fn check_request(shared: &EngineCore, parts: &http::request::Parts) -> Result<(), EngineError> {
    match &shared.config.allow_request {
        Some(check) => check(parts).map_err(EngineError::Forbidden),
        None => Ok(()),
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
