//! The HTTP half of a WebSocket: the checks of the upgrade request (RFC 6455
//! §4.2.1), the session it opens or upgrades, and the `101 Switching
//! Protocols` answer. The connection itself is the WebSocket module's.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use tungstenite::handshake::derive_accept_key;

use super::{Body, EngineError, refused_session};
use crate::engine::EngineCore;
use crate::session::{Upgrade, info::connect_info};
use crate::transport::websocket::{self, Accepted};
use crate::{Session, TransportKind};

/// Whether a request asks for a WebSocket.
pub(crate) fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Accepts a WebSocket: a new session when `session` is `None`, else an upgrade
/// of that polling session. The connection itself runs in a task of its own.
pub(crate) fn upgrade<B>(
    shared: &Arc<EngineCore>,
    req: &mut Request<B>,
    session: Option<Arc<Session>>,
) -> Result<Response<Body>, EngineError> {
    // RFC 6455 §4.2.1: a GET, with a key of 16 base64-encoded bytes.
    if req.method() != Method::GET {
        return Err(EngineError::BadRequest);
    }
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|key| is_valid_key(key.as_bytes()))
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
    let accepted = match session {
        Some(session) => {
            let mut state = session.lock();
            if !shared.config.allow_upgrades
                || state.transport() != TransportKind::Polling
                || state.upgrade != Upgrade::None
            {
                return Err(EngineError::BadRequest);
            }
            state.upgrade = Upgrade::Requested;
            drop(state);
            Accepted::Upgrade(session)
        }
        None => {
            let info = connect_info(req);
            let slot = shared
                .reserve_session(info.remote_addr)
                .map_err(refused_session)?;
            Accepted::New(Box::new((info, slot)))
        }
    };
    let deflate = websocket::negotiate(shared.config.per_message_deflate.as_ref(), req.headers());
    websocket::spawn(shared, on_upgrade, accepted, deflate.as_ref().map(|d| d.0));

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some((_, answer)) = deflate {
        headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, answer);
    }
    Ok(response)
}

/// Whether `key` is 16 bytes in base64: 22 base64 characters then `==`
/// (the check Node's `ws` makes).
fn is_valid_key(key: &[u8]) -> bool {
    match key.split_at_checked(22) {
        Some((data, b"==")) => data
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_key;

    #[test]
    fn keys_must_be_16_bytes_of_base64() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_valid_key(b"+/+/AAAAAAAAAAAAAAAAAA=="));
        for bad in [
            &b""[..],
            b"abc",
            b"dGhlIHNhbXBsZSBub25jZQ",
            b"dGhlIHNhbXBsZSBub25jZQ=",
            b"dGhlIHNhbXBsZSBub25jZQ===",
            b"dGhlIHNhbXBsZSBub25jZ?==",
            b"dGhlIHNhbXBsZSBub25jZQ=A",
            b"dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==",
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }
}
