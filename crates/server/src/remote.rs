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

    /// Targets it with a time limit for acknowledgements:
    /// `socket.timeout(d).emit_with_ack(…)` on a fetched socket, as Node's
    /// `remoteSocket.timeout(ms).emitWithAck(…)` (its answer is in the
    /// [`AckResponses`](crate::AckResponses), wherever it is connected).
    pub fn timeout(&self, timeout: std::time::Duration) -> crate::BroadcastOperator {
        self.namespace.to(self.id).timeout(timeout)
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

/// Why the details of a socket another server sent could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocketDetailsError {
    /// They are not a JSON object.
    #[error("socket details are a JSON object")]
    NotAnObject,
    /// The `id` is missing or not a socket id.
    #[error("socket details without a valid id")]
    Id,
    /// The handshake could not be read.
    #[error(transparent)]
    Handshake(#[from] crate::HandshakeError),
}

impl SocketDetails {
    /// The details as a Node server sends them: `{id, handshake, rooms, data}`
    /// in that order (CLUSTER_AND_RECOVERY.md §2.8).
    pub fn to_node_json(&self) -> serde_json::Value {
        let mut json = serde_json::Map::new();
        json.insert("id".into(), self.id.as_str().into());
        json.insert("handshake".into(), self.handshake.to_node_json());
        let rooms = self.rooms.iter().map(|r| serde_json::Value::from(&**r));
        json.insert("rooms".into(), rooms.collect());
        json.insert("data".into(), self.data.clone());
        serde_json::Value::Object(json)
    }

    /// The details another server sent. Rooms that are not strings are left
    /// out; missing data reads `{}`.
    pub fn from_node_json(json: serde_json::Value) -> Result<Self, SocketDetailsError> {
        let serde_json::Value::Object(mut json) = json else {
            return Err(SocketDetailsError::NotAnObject);
        };
        let id = json
            .get("id")
            .and_then(serde_json::Value::as_str)
            .and_then(SocketId::parse)
            .ok_or(SocketDetailsError::Id)?;
        let handshake = json
            .remove("handshake")
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
        let rooms = match json.get("rooms") {
            Some(serde_json::Value::Array(rooms)) => rooms
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(Room::from)
                .collect(),
            _ => Vec::new(),
        };
        let data = json
            .remove("data")
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
        Ok(Self {
            id,
            handshake: Handshake::from_node_json(handshake)?,
            rooms,
            data,
        })
    }

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
