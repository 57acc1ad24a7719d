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
}
