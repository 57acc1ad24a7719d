use std::sync::Arc;

use serde::Serialize;

use crate::{EmitError, Handshake, IntoRooms, Namespace, Room, Socket, SocketId};

/// A socket found by `fetch_sockets`: on this server or, with a cluster
/// adapter, on another. Acting on it goes through the adapter.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteSocket {
    /// The socket's id.
    pub id: SocketId,
    /// Its handshake.
    pub handshake: Handshake,
    /// The rooms it is in.
    pub rooms: Vec<Room>,
    /// Its data (see [`Socket::set_data`]).
    pub data: serde_json::Value,
    namespace: Namespace,
}

impl RemoteSocket {
    /// The view of a local socket.
    pub fn from_local(socket: &Arc<Socket>) -> Self {
        Self {
            id: socket.id(),
            handshake: socket.handshake().clone(),
            rooms: socket.rooms(),
            data: socket.data_value(),
            namespace: socket.namespace().clone(),
        }
    }

    /// A socket another server described (see [`SocketDetails`]).
    pub fn from_details(namespace: Namespace, details: SocketDetails) -> Self {
        Self {
            id: details.id,
            handshake: details.handshake,
            rooms: details.rooms,
            data: details.data,
            namespace,
        }
    }

    /// What a cluster adapter learned of a socket on another server.
    pub fn new(
        namespace: Namespace,
        id: SocketId,
        handshake: Handshake,
        rooms: Vec<Room>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            id,
            handshake,
            rooms,
            data,
            namespace,
        }
    }

    /// Its description, as a server sends it to another.
    pub fn details(&self) -> SocketDetails {
        SocketDetails {
            id: self.id,
            handshake: self.handshake.clone(),
            rooms: self.rooms.clone(),
            data: self.data.clone(),
        }
    }

    /// Sends it an event.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.namespace.to(self.id).emit(event, data)
    }

    /// Makes it join rooms.
    pub async fn join(&self, rooms: impl IntoRooms) -> Result<(), EmitError> {
        self.namespace.to(self.id).sockets_join(rooms).await
    }

    /// Makes it leave rooms.
    pub async fn leave(&self, rooms: impl IntoRooms) -> Result<(), EmitError> {
        self.namespace.to(self.id).sockets_leave(rooms).await
    }

    /// Disconnects it; with `close`, its whole connection.
    pub async fn disconnect(&self, close: bool) -> Result<(), EmitError> {
        self.namespace.to(self.id).disconnect_sockets(close).await
    }
}

/// What one server tells another of a socket in answer to `fetchSockets`:
/// `{id, handshake, rooms, data}` in Node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketDetails {
    /// The socket's id.
    pub id: SocketId,
    /// Its handshake.
    pub handshake: Handshake,
    /// The rooms it is in, its own first.
    pub rooms: Vec<Room>,
    /// Its data (`{}` when none was set, as in Node).
    pub data: serde_json::Value,
}

impl SocketDetails {
    /// The details of a local socket.
    pub fn of_local(socket: &Arc<Socket>) -> Self {
        Self {
            id: socket.id(),
            handshake: socket.handshake().clone(),
            rooms: socket.rooms(),
            data: socket.data_value(),
        }
    }
}
