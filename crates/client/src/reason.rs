//! Why a socket disconnected.

use std::fmt;

use crate::engine::CloseReason;

/// Why a socket left its namespace, worded as socket.io-client words it.
///
/// After [`IoServerDisconnect`](Self::IoServerDisconnect) and
/// [`IoClientDisconnect`](Self::IoClientDisconnect) the socket does not
/// reconnect on its own; after the others the manager reconnects (unless
/// reconnection is off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server disconnected the socket (`socket.disconnect()` there).
    IoServerDisconnect,
    /// The client disconnected the socket, or closed its manager.
    IoClientDisconnect,
    /// The server sent no ping within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The connection was closed (the server went away, for instance).
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The server sent something that could not be decoded.
    ParseError,
}

impl DisconnectReason {
    /// The reason as socket.io-client words it (`"io server disconnect"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IoServerDisconnect => "io server disconnect",
            Self::IoClientDisconnect => "io client disconnect",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::ParseError => "parse error",
        }
    }

    /// Whether the manager reconnects after this (when reconnection is on).
    pub fn will_reconnect(self) -> bool {
        !matches!(self, Self::IoServerDisconnect | Self::IoClientDisconnect)
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> Self {
        match reason {
            CloseReason::PingTimeout => Self::PingTimeout,
            CloseReason::TransportClose => Self::TransportClose,
            CloseReason::TransportError => Self::TransportError,
            CloseReason::ParseError => Self::ParseError,
            CloseReason::Forced => Self::IoClientDisconnect,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
