//! A socket as the dashboard reads it (Node's `serialize`):
//! `{id, clientId, transport, nsp, data, handshake, rooms}`.

use std::sync::Arc;

use ferrio::{RemoteSocket, Socket};
use serde_json::{Map, Value};

/// The key of the socket's data under which Node's `instrument` keeps
/// `{clientId, transport}` (and which the dashboard is not shown).
pub(crate) const ADMIN_KEY: &str = "_admin";

/// Puts `_admin: {clientId, transport}` in a new socket's data, keeping what
/// middleware stored there, as Node does. Node copies those keys back one by
/// one through its `Proxy`, which sends `socket_updated` with the data so far
/// for each: the updates are returned, in that order.
pub(crate) fn mark(socket: &Arc<Socket>) -> Vec<Value> {
    let before = match socket.data_value() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut updates = Vec::new();
    let mut so_far = Map::new();
    for (key, value) in before.iter().filter(|(key, _)| key.as_str() != ADMIN_KEY) {
        so_far.insert(key.clone(), value.clone());
        let mut update = Map::new();
        update.insert("id".into(), socket.id().as_str().into());
        update.insert("nsp".into(), socket.namespace().name().into());
        update.insert("data".into(), Value::Object(so_far.clone()));
        updates.push(Value::Object(update));
    }
    let mut data = before;
    let client_id: String = socket.conn_id().as_str().chars().take(12).collect();
    let mut admin = Map::new();
    admin.insert("clientId".into(), client_id.into());
    admin.insert("transport".into(), socket.transport().as_str().into());
    data.insert(ADMIN_KEY.into(), Value::Object(admin));
    let _ = socket.set_data(&Value::Object(data));
    updates
}

/// Records the socket's new transport in its `_admin` data.
pub(crate) fn mark_transport(socket: &Arc<Socket>) {
    if let Value::Object(mut data) = socket.data_value() {
        if let Some(Value::Object(admin)) = data.get_mut(ADMIN_KEY) {
            admin.insert("transport".into(), socket.transport().as_str().into());
            let _ = socket.set_data(&Value::Object(data));
        }
    }
}

/// The socket's data without `_admin` (Node's `serializeData`).
pub(crate) fn data_of(data: &Value) -> Value {
    match data {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| key.as_str() != ADMIN_KEY)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A socket of namespace `nsp`, local or on another server, as the
/// dashboard reads it.
pub(crate) fn serialize(socket: &RemoteSocket, nsp: &str) -> Value {
    let admin = socket.data.get(ADMIN_KEY);
    let field = |name: &str| admin.and_then(|a| a.get(name)).cloned();
    let node = socket.handshake.to_node_json();
    let handshake_field = |name: &str| node.get(name).cloned().unwrap_or(Value::Null);
    let header = |name: &str| {
        node.get("headers")
            .and_then(|h| h.get(name))
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .cloned()
    };
    let address = header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for"))
        .unwrap_or_else(|| handshake_field("address"));
    let mut handshake = Map::new();
    handshake.insert("address".into(), address);
    for name in [
        "headers", "query", "issued", "secure", "time", "url", "xdomain",
    ] {
        handshake.insert(name.into(), handshake_field(name));
    }
    let mut json = Map::new();
    json.insert("id".into(), socket.id.as_str().into());
    // Left out when unknown, as `undefined` in Node's JSON.
    if let Some(client_id) = field("clientId") {
        json.insert("clientId".into(), client_id);
    }
    if let Some(transport) = field("transport") {
        json.insert("transport".into(), transport);
    }
    json.insert("nsp".into(), nsp.into());
    json.insert("data".into(), data_of(&socket.data));
    json.insert("handshake".into(), Value::Object(handshake));
    let rooms = socket.rooms.iter().map(|r| Value::from(&**r));
    json.insert("rooms".into(), rooms.collect());
    Value::Object(json)
}

/// A local socket as the dashboard reads it.
pub(crate) fn serialize_local(socket: &Arc<Socket>) -> Value {
    serialize(&RemoteSocket::from_local(socket), socket.namespace().name())
}
