use std::sync::Arc;

/// A room's name. Every socket is in the room named by its own id.
pub type Room = Arc<str>;

/// One room or several: `"a"`, `String`, `["a", "b"]`, `vec![…]`.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl IntoRooms for Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for crate::SocketId {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter()
            .cloned()
            .flat_map(IntoRooms::into_rooms)
            .collect()
    }
}
