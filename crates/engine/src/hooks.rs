//! The engine's hooks: functions of the application the engine calls on a
//! request, as the reference server's `allowRequest`, `generateId` and its
//! `initial_headers`, `headers` and `connection_error` events.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::HeaderMap;
use http::request::Parts;

/// What an [`allow_request`](crate::EngineConfig::allow_request) check
/// answers: `Err(message)` refuses the request with HTTP 403 and
/// `{"code":4,"message":message}` (a WebSocket gets 400 and the message).
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A check run on every request that opens a session (one without a `sid`),
/// as Node's `allowRequest`; it may wait (for a database, say).
pub type RequestCheck = Arc<dyn Fn(&Parts) -> CheckFuture + Send + Sync>;

/// A session id generator, as Node's `generateId`: called once per handshake
/// with the request.
pub type IdGenerator = Arc<dyn Fn(&Parts) -> String + Send + Sync>;

/// A function that may add headers to a response, as Node's `headers` and
/// `initial_headers` events: called with the response's headers and the
/// request.
pub type HeadersHook = Arc<dyn Fn(&mut HeaderMap, &Parts) + Send + Sync>;

/// A function told of every refused request, as Node's `connection_error`
/// event.
pub type ConnectionErrorHook = Arc<dyn Fn(&ConnectionError<'_>) + Send + Sync>;

/// A refused request, as Node's `connection_error` event describes it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectionError<'a> {
    /// The request, without its body.
    pub request: &'a Parts,
    /// The Engine.IO error code: 0 unknown transport, 1 unknown session id,
    /// 2 bad handshake method, 3 bad request, 4 forbidden, 5 unsupported
    /// protocol version.
    pub code: u8,
    /// The reference server's message for the code (`"Forbidden"` for 4,
    /// whatever the check answered: that is in the context).
    pub message: &'static str,
    /// What Node's `context` holds for this error: `{"transport":…}` (0),
    /// `{"sid":…}` (1), `{"method":…}` (2), `{"name":…}` (3, when known),
    /// `{"message":…}` (4), `{"protocol":…}` (5).
    pub context: serde_json::Value,
}

/// The reference server's message for an error code.
pub(crate) fn message_of(code: u8) -> &'static str {
    match code {
        0 => "Transport unknown",
        1 => "Session ID unknown",
        2 => "Bad handshake method",
        4 => "Forbidden",
        5 => "Unsupported protocol version",
        _ => "Bad request",
    }
}

/// A function told of the messages a session accepted to send (queued or
/// written), for monitoring (what Node's raw socket `packetCreate` event
/// with data counts): the number of messages and their bytes, text
/// messages without their type character. Pings, pongs and other control
/// packets are not counted. Called on the sender's stack, after the
/// session's lock is released: it must be quick.
pub type SentHook = std::sync::Arc<dyn Fn(&crate::Session, usize, usize) + Send + Sync>;
