//! Connection state recovery: its settings, and which disconnections it covers.

use std::time::Duration;

use crate::DisconnectReason;

/// Connection state recovery settings (Node's `connectionStateRecovery`),
/// turned on with
/// [`SocketIoConfig::connection_state_recovery`](crate::SocketIoConfig::connection_state_recovery).
///
/// With recovery on, every event sent without an acknowledgement and not
/// `volatile` gets an offset, appended as its last argument, and is kept in
/// the namespace adapter's log. A socket that leaves for a recoverable
/// reason (the transport closed or failed, a ping timeout, …) leaves a
/// session behind. When its client comes back within
/// [`max_disconnection_duration`](Self::max_disconnection_duration) with the
/// session's private id and the last offset it saw, the new socket has the
/// old id, rooms and data, [`Socket::recovered`](crate::Socket::recovered)
/// is `true`, and every packet it missed is written before the CONNECT
/// reply. Otherwise it gets a fresh session, as in Node.
///
/// Node's log has no size limit; ferrio's is bounded by
/// [`max_logged_packets`](Self::max_logged_packets) and
/// [`max_logged_bytes`](Self::max_logged_bytes). A client whose last offset
/// has left the log gets a fresh session, never part of what it missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// How long a session and the packets of the log are kept. Default 2
    /// minutes, as in Node.
    pub max_disconnection_duration: Duration,
    /// Whether a socket that recovered skips the namespace's connection
    /// middleware (a failed recovery always runs it). Per-event middleware
    /// always runs. Default `true`, as in Node.
    pub skip_middlewares: bool,
    /// The most packets the in-memory log of one namespace keeps; the oldest
    /// go first. Default 10 000.
    pub max_logged_packets: usize,
    /// The most bytes the in-memory log of one namespace keeps: each packet's
    /// frames, its room names and about 100 bytes of bookkeeping. The oldest
    /// go first. Default 8 MiB (8 388 608).
    pub max_logged_bytes: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_logged_packets: 10_000,
            max_logged_bytes: 8 << 20,
        }
    }
}

impl RecoveryConfig {
    /// Sets [`max_disconnection_duration`](Self::max_disconnection_duration)
    /// (default 2 minutes).
    pub fn max_disconnection_duration(mut self, duration: Duration) -> Self {
        self.max_disconnection_duration = duration;
        self
    }
    /// Sets [`skip_middlewares`](Self::skip_middlewares) (default `true`).
    pub fn skip_middlewares(mut self, skip: bool) -> Self {
        self.skip_middlewares = skip;
        self
    }
    /// Sets [`max_logged_packets`](Self::max_logged_packets) (default 10 000).
    pub fn max_logged_packets(mut self, max: usize) -> Self {
        self.max_logged_packets = max;
        self
    }
    /// Sets [`max_logged_bytes`](Self::max_logged_bytes) (default 8 MiB).
    pub fn max_logged_bytes(mut self, bytes: usize) -> Self {
        self.max_logged_bytes = bytes;
        self
    }
}

impl DisconnectReason {
    /// Whether a socket that left for this reason may recover its session:
    /// the connection was lost (transport closed or failed, ping timeout,
    /// forced close, server shutdown), as opposed to a deliberate leave
    /// (either side's namespace disconnect) or a parse error. Node's list.
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            Self::TransportError
                | Self::TransportClose
                | Self::ForcedClose
                | Self::PingTimeout
                | Self::ServerShuttingDown
                | Self::ForcedServerClose
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recoverable_reasons_are_nodes() {
        use DisconnectReason::*;
        for reason in [
            TransportError,
            TransportClose,
            ForcedClose,
            PingTimeout,
            ServerShuttingDown,
            ForcedServerClose,
        ] {
            assert!(reason.is_recoverable(), "{reason}");
        }
        for reason in [
            ClientNamespaceDisconnect,
            ServerNamespaceDisconnect,
            ParseError,
        ] {
            assert!(!reason.is_recoverable(), "{reason}");
        }
    }
}
