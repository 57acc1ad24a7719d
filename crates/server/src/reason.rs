use ferrio_engine::CloseReason;

/// Why a socket left its namespace, with the reference server's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the connection.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent something malformed.
    ParseError,
    /// The server closed the connection.
    ForcedClose,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The server closed the connection while disconnecting every socket.
    ForcedServerClose,
    /// The client left the namespace (`socket.disconnect()` on its side).
    ClientNamespaceDisconnect,
    /// The server disconnected the socket (`socket.disconnect()` here).
    ServerNamespaceDisconnect,
}

impl DisconnectReason {
    /// The reason as the reference server words it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
            Self::ServerShuttingDown => "server shutting down",
            Self::ForcedServerClose => "forced server close",
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
        }
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => Self::TransportClose,
            CloseReason::TransportError => Self::TransportError,
            CloseReason::PingTimeout => Self::PingTimeout,
            CloseReason::ParseError => Self::ParseError,
            CloseReason::ServerShutdown => Self::ServerShuttingDown,
            _ => Self::ForcedClose,
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
