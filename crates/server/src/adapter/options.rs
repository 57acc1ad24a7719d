use std::collections::HashSet;
use std::time::Duration;

use crate::Room;

/// Flags of a broadcast, set by the operators (`volatile`, `local`, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastFlags {
    /// Only this node's sockets.
    pub local: bool,
    /// May be dropped for a socket that is not ready to take it.
    pub volatile: bool,
    /// Whether the client asked for compression (kept for the wire; ferrio does
    /// not compress WebSocket frames).
    pub compress: bool,
    /// How long to wait for acknowledgements.
    pub timeout: Option<Duration>,
}

/// Which sockets an operation targets: those in any of `rooms` (all sockets
/// when empty), minus those in any of `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// Target rooms; empty means every socket of the namespace.
    pub rooms: HashSet<Room>,
    /// Rooms whose sockets are left out.
    pub except: HashSet<Room>,
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
