use std::time::Duration;

use indexmap::IndexSet;

use crate::Room;

/// Flags of a broadcast, set by the operators (`volatile`, `local`, …).
///
/// A cluster adapter publishes only the flags that are set, as Node does
/// (`{}` by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastFlags {
    /// Only this node's sockets.
    pub local: bool,
    /// May be dropped for a socket that is not ready to take it.
    pub volatile: bool,
    /// Whether the sender asked for compression (`None`: it did not say). Kept
    /// for the wire; ferrio does not compress WebSocket frames.
    pub compress: Option<bool>,
    /// How long to wait for acknowledgements. A broadcast with acks always
    /// carries it here (the operator fills in its default), so that a cluster
    /// adapter publishes it (Node's `opts.flags.timeout`, in ms).
    pub timeout: Option<Duration>,
    /// The caller wants one answer, not a list: an ack asked of one remote
    /// socket (Node's `expectSingleResponse`).
    pub expect_single_response: bool,
}

/// Which sockets an operation targets: those in any of `rooms` (all sockets
/// when empty), minus those in any of `except`.
///
/// The sets keep the order the rooms were added in, as a JS `Set` does, so
/// that the messages a cluster adapter publishes are the same bytes as a Node
/// server's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// Target rooms; empty means every socket of the namespace.
    pub rooms: IndexSet<Room>,
    /// Rooms whose sockets are left out.
    pub except: IndexSet<Room>,
    /// The flags.
    pub flags: BroadcastFlags,
}

impl BroadcastOptions {
    /// Options selecting the sockets in these rooms.
    pub fn to_rooms(rooms: impl IntoIterator<Item = Room>) -> Self {
        Self {
            rooms: rooms.into_iter().collect(),
            ..Self::default()
        }
    }
}
