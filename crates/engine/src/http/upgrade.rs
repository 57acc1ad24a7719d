//! The HTTP half of a WebSocket: the checks of the upgrade request (RFC 6455
//! §4.2.1), the session it opens or upgrades, and the `101 Switching
//! Protocols` answer. The connection itself is the WebSocket module's.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use tungstenite::handshake::derive_accept_key;

use super::{Body, EngineError, refused_session};
use crate::engine::EngineCore;
use crate::session::{Upgrade, info::connect_info};
use crate::transport::websocket::{self, Accepted};
use crate::{Session, Sid, TransportKind};

/// Whether a request asks for a WebSocket.
pub(crate) fn is_upgrade_request(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// What a WebSocket request is for.
pub(crate) enum Target {
    /// A new session, with this id.
    New(Sid),
    /// The upgrade of an open session.
    Session(Arc<Session>),
}

/// Accepts a WebSocket: a new session, or an upgrade of a polling session.
/// The connection itself runs in a task of its own.
///
/// A WebSocket for a session that cannot take it (one that is upgrading,
/// upgraded, or on WebSocket from the start) is accepted and then closed,
/// the session left alone, as Node does.
pub(crate) fn upgrade(
    shared: &Arc<EngineCore>,
    parts: &mut Parts,
    target: Target,
) -> Result<Response<Body>, EngineError> {
    // RFC 6455 §4.2.1: a GET, with a key of 16 base64-encoded bytes.
    if parts.method != Method::GET {
        return Err(EngineError::BadRequest);
    }
    let key = parts
        .headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|key| is_valid_key(key.as_bytes()))
        .ok_or(EngineError::BadRequest)?;
    if parts
        .headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(EngineError::BadRequest);
    }
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = parts
        .extensions
        .remove::<OnUpgrade>()
        .ok_or(EngineError::BadRequest)?;
    let accepted = match target {
        Target::Session(session) => {
            let mut state = session.lock();
            if shared.config.allow_upgrades
                && state.transport() == TransportKind::Polling
                && state.upgrade == Upgrade::None
            {
                state.upgrade = Upgrade::Requested;
                drop(state);
                Accepted::Upgrade(session)
            } else {
                tracing::debug!(sid = %session.id(), "websocket for a session that cannot upgrade: closed once open");
                Accepted::Refused
            }
        }
        Target::New(sid) => {
            let info = connect_info(parts);
            let slot = shared
                .reserve_session(info.remote_addr)
                .map_err(refused_session)?;
            Accepted::New(Box::new((sid, info, slot)))
        }
    };
    let mut deflate =
        websocket::negotiate(shared.config.per_message_deflate.as_ref(), &parts.headers);
    let mut deflate_slot = None;
    if let Some((params, _)) = &deflate
        && (!params.server_no_context_takeover || !params.client_no_context_takeover)
    {
        deflate_slot = shared
            .limits
            .reserve_deflate(shared.config.max_deflate_sessions);
        if deflate_slot.is_none() {
            tracing::warn!(
                max = shared.config.max_deflate_sessions,
                "max_deflate_sessions reached: this WebSocket runs uncompressed"
            );
            deflate = None;
        }
    }
    websocket::spawn(
        shared,
        on_upgrade,
        accepted,
        deflate.as_ref().map(|d| d.0),
        deflate_slot,
    );

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
