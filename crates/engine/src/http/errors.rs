use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;

/// The engine's response body ([`super::Body`]), named here so that the
/// error answers do not import their parent.
type Body = Full<Bytes>;

/// A refused request, answered as the reference server answers it:
/// `{"code":N,"message":M}` with status 400, or 403 for [`Forbidden`](Self::Forbidden).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EngineError {
    /// Code 0: the `transport` parameter is missing, unknown or disabled.
    UnknownTransport,
    /// Code 1: no open session has this `sid`.
    UnknownSid,
    /// Code 2: a handshake that is not a GET.
    BadHandshakeMethod,
    /// Code 3: anything else malformed.
    BadRequest,
    /// Code 4: the `allow_request` check refused, with its message.
    Forbidden(String),
    /// Code 5: `EIO` is not 4.
    UnsupportedProtocolVersion,
    /// A body over `max_payload`: 413, no JSON.
    PayloadTooLarge,
    /// A handshake refused because a limit is reached (`max_sessions`,
    /// `max_pending_handshakes`): 503 with code 4 and the message.
    Unavailable(&'static str),
}

impl EngineError {
    /// The Engine.IO error code, for the `connection_error` hook; `None`
    /// for an answer that is not one (413).
    pub(crate) fn code(&self) -> Option<u8> {
        Some(match self {
            Self::UnknownTransport => 0,
            Self::UnknownSid => 1,
            Self::BadHandshakeMethod => 2,
            Self::BadRequest => 3,
            Self::Forbidden(_) | Self::Unavailable(_) => 4,
            Self::UnsupportedProtocolVersion => 5,
            Self::PayloadTooLarge => return None,
        })
    }

    /// The answer to a refused WebSocket request, as Node's `abortUpgrade`
    /// writes it: `400 Bad Request` (whatever the code, `Forbidden`
    /// included), `Connection: close` and the message as `text/html`.
    /// A refusal for want of a session slot keeps its 503.
    pub(crate) fn into_upgrade_response(self) -> Response<Body> {
        let (status, message): (_, std::borrow::Cow<'_, str>) = match self {
            Self::Forbidden(m) if !m.is_empty() => (StatusCode::BAD_REQUEST, m.into()),
            Self::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m.into()),
            other => {
                let code = other.code().unwrap_or(3);
                (
                    StatusCode::BAD_REQUEST,
                    crate::hooks::message_of(code).into(),
                )
            }
        };
        let mut response = Response::new(Full::new(Bytes::from(message.into_owned())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/html"),
        );
        response
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let (status, code, message): (_, u8, std::borrow::Cow<'_, str>) = match self {
            Self::UnknownTransport => (StatusCode::BAD_REQUEST, 0, "Transport unknown".into()),
            Self::UnknownSid => (StatusCode::BAD_REQUEST, 1, "Session ID unknown".into()),
            Self::BadHandshakeMethod => (StatusCode::BAD_REQUEST, 2, "Bad handshake method".into()),
            Self::BadRequest => (StatusCode::BAD_REQUEST, 3, "Bad request".into()),
            Self::Forbidden(m) => {
                let m = if m.is_empty() {
                    "Forbidden".to_owned()
                } else {
                    m
                };
                (StatusCode::FORBIDDEN, 4, m.into())
            }
            Self::UnsupportedProtocolVersion => (
                StatusCode::BAD_REQUEST,
                5,
                "Unsupported protocol version".into(),
            ),
            Self::PayloadTooLarge => return super::plain(StatusCode::PAYLOAD_TOO_LARGE, ""),
            Self::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, 4, m.into()),
        };
        let body = serde_json::json!({ "code": code, "message": message }).to_string();
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(e: EngineError) -> (StatusCode, String) {
        let r = e.into_response();
        let status = r.status();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn bodies_match_the_reference() {
        assert_eq!(
            body_of(EngineError::UnknownSid).await,
            (
                StatusCode::BAD_REQUEST,
                r#"{"code":1,"message":"Session ID unknown"}"#.into()
            )
        );
        assert_eq!(
            body_of(EngineError::Forbidden(String::new())).await,
            (
                StatusCode::FORBIDDEN,
                r#"{"code":4,"message":"Forbidden"}"#.into()
            )
        );
        assert_eq!(
            body_of(EngineError::Unavailable("Too many sessions")).await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"code":4,"message":"Too many sessions"}"#.into()
            )
        );
        assert_eq!(
            body_of(EngineError::PayloadTooLarge).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    /// Node's `abortUpgrade`: 400 and the message as text/html, even for
    /// a forbidden request.
    #[tokio::test]
    async fn websocket_refusals_are_plain_400s() {
        for (error, message) in [
            (EngineError::UnknownSid, "Session ID unknown"),
            (EngineError::Forbidden("no token".into()), "no token"),
            (EngineError::Forbidden(String::new()), "Forbidden"),
            (
                EngineError::UnsupportedProtocolVersion,
                "Unsupported protocol version",
            ),
        ] {
            let r = error.into_upgrade_response();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
            assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html");
            assert_eq!(r.headers()[header::CONNECTION], "close");
            let bytes = r.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(bytes, message.as_bytes());
        }
    }
}
