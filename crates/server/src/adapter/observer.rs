//! Room lifecycle notifications, for adapters that subscribe per room.

use crate::Room;

/// Told when a room of this node comes to exist or stops existing (Node's
/// `create-room` and `delete-room` adapter events). The sharded Redis adapter's
/// dynamic modes subscribe to a channel per room with it.
///
/// A room exists while it has a member. A socket's own room (named by its id)
/// exists while the socket is in it or another socket joined it.
///
/// The calls are made while the adapter's rooms are locked: an observer must
/// not call back into the adapter; it queues its work instead.
pub trait RoomObserver: Send + Sync + 'static {
    /// `room` got its first member.
    fn room_created(&self, room: &Room);
    /// `room` lost its last member.
    fn room_deleted(&self, room: &Room);
}
