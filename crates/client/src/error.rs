//! The client's errors.

use std::fmt;

use serde_json::Value;

use crate::ArgsError;

/// What went wrong opening or running a connection: a bad configuration, a
/// server that cannot be reached, or one that does not speak Engine.IO v4.
///
/// The type is opaque; ask what kind of error it is with the `is_*` methods.
/// The message is meant for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Config,
    Transport,
    Handshake,
    Timeout,
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }

    pub(crate) fn transport(message: impl Into<String>) -> Self {
        Self::new(Kind::Transport, message)
    }

    pub(crate) fn handshake(message: impl Into<String>) -> Self {
        Self::new(Kind::Handshake, message)
    }

    pub(crate) fn timeout() -> Self {
        Self::new(Kind::Timeout, "timeout")
    }

    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The URL or an option is not usable (for example an unknown scheme).
    pub fn is_config(&self) -> bool {
        self.kind == Kind::Config
    }

    /// The server could not be reached, or the connection failed.
    pub fn is_transport(&self) -> bool {
        self.kind == Kind::Transport
    }

    /// The server answered, but not with a valid Engine.IO v4 handshake.
    pub fn is_handshake(&self) -> bool {
        self.kind == Kind::Handshake
    }

    /// The connection did not open within the manager's `timeout`.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// An error's message followed by those of its sources: `a: b: c`.
pub(crate) fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        // Some errors repeat their source's message in their own.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

/// Why a socket could not join its namespace: the payload of a
/// `connect_error` event.
///
/// Either the server refused (a middleware error, or an unknown namespace):
/// then [`message`](Self::message) and [`data`](Self::data) are what the
/// server sent; or the connection itself failed, and the message says how.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    message: String,
    data: Option<Value>,
    from_server: bool,
}

impl ConnectError {
    pub(crate) fn from_server(message: String, data: Option<Value>) -> Self {
        Self {
            message,
            data,
            from_server: true,
        }
    }

    pub(crate) fn from_connection(error: &Error) -> Self {
        Self {
            message: error.to_string(),
            data: None,
            from_server: false,
        }
    }

    /// The message: `err.message` in JavaScript.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The data the server attached to its refusal: `err.data` in JavaScript.
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }

    /// Whether the server refused the connection (a CONNECT_ERROR packet), as
    /// opposed to the connection failing.
    pub fn is_from_server(&self) -> bool {
        self.from_server
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// Why an event or an acknowledgement was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The arguments could not be serialized.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// The event name is reserved (`connect`, `disconnect`, …).
    #[error("`{0}` is a reserved event name")]
    Reserved(String),
    /// There is no connection to send an acknowledgement on.
    #[error("the socket is disconnected")]
    Disconnected,
    /// This event was acknowledged already.
    #[error("the event was acknowledged already")]
    AlreadyAcknowledged,
}

/// Why an acknowledgement did not come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The timeout passed first.
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected after the event was sent and before the
    /// answer came (or a volatile event was dropped).
    #[error("socket has been disconnected")]
    Disconnected,
    /// The event could not be sent at all.
    #[error(transparent)]
    Emit(#[from] EmitError),
}
