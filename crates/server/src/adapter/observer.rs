//! Room lifecycle notifications, for adapters that subscribe per room and
//! for applications (Node's adapter events).

use crate::{Room, SocketId};

/// Told when a room of this node comes to exist or stops existing, and when
/// a local socket joins or leaves one (Node's `create-room`, `delete-room`,
/// `join-room` and `leave-room` adapter events, in Node's order: a room is
/// created before its first member joins, and deleted after its last left).
/// The sharded Redis adapter's dynamic modes subscribe to a channel per room
/// with it; an application adds one with [`Adapter::observe_rooms`](super::Adapter::observe_rooms).
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
    /// Socket `id` joined `room`, which it was not in. Default: nothing.
    fn room_joined(&self, room: &Room, id: SocketId) {
        let _ = (room, id);
    }
    /// Socket `id` left `room`, which it was in. Default: nothing.
    fn room_left(&self, room: &Room, id: SocketId) {
        let _ = (room, id);
    }
}
