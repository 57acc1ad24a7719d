//! Development mode: every socket's connection, upgrade, events,
//! disconnection and room changes, told to the dashboards as they happen
//! (Node's `registerVerboseListeners`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrio::adapter::RoomObserver;
use ferrio::{Namespace, Payload, Room, SocketId};
use serde_json::{Value, json};

use crate::date::now_json;
use crate::outbox::Outbox;
use crate::serialize::{data_of, mark, mark_transport, serialize_local};

/// Tells the dashboards of `nsp`'s room changes from now on.
pub(crate) fn observe_rooms(nsp: &Namespace, outbox: &Arc<Outbox>) {
    let observer = Arc::new(Rooms {
        nsp: nsp.name().to_owned(),
        outbox: outbox.clone(),
    });
    if !nsp.adapter().observe_rooms(observer) {
        tracing::warn!(
            nsp = nsp.name(),
            "the adapter tells no room changes: the admin UI will not see them"
        );
    }
}

/// Tells the dashboards of the sockets that connect to `nsp` from now on,
/// and to every namespace that shares its connection handlers (a dynamic
/// namespace's children): call it once per [`HandlersId`](ferrio::HandlersId).
pub(crate) fn observe_sockets(nsp: &Namespace, admin_name: &str, outbox: &Arc<Outbox>) {
    let admin_name = admin_name.to_owned();
    let outbox = outbox.clone();
    nsp.on_connection(move |socket| {
        let outbox = outbox.clone();
        let is_admin = socket.namespace().name() == admin_name;
        async move {
            let nsp_name = socket.namespace().name().to_owned();
            // Its own room, joined just before it was connected: told here,
            // so that an admin socket hears of its own too (Node's client
            // holds what comes before CONNECT; ferrio sends nothing before).
            let own: Room = socket.id().as_str().into();
            outbox.push("room_joined", room_args(&nsp_name, &own, socket.id()));
            for update in mark(&socket) {
                outbox.push("socket_updated", vec![update]);
            }
            // The application's later changes of the data (Node's `Proxy` on
            // `socket.data`); not the transport kept in `_admin`.
            let updates = outbox.clone();
            // A hash of the data last told, not a copy of it per socket.
            let last = AtomicU64::new(hash_of(&data_of(&socket.data_value())));
            socket.on_data_set(move |socket| {
                let data = data_of(&socket.data_value());
                let hash = hash_of(&data);
                if last.swap(hash, Ordering::AcqRel) != hash {
                    let update = json!({
                        "id": socket.id().as_str(),
                        "nsp": socket.namespace().name(),
                        "data": data,
                    });
                    updates.push("socket_updated", vec![update]);
                }
            });
            outbox.push(
                "socket_connected",
                vec![serialize_local(&socket), now_json()],
            );
            let upgrades = outbox.clone();
            socket.on_upgrade(move |socket| {
                mark_transport(socket);
                let update = json!({
                    "id": socket.id().as_str(),
                    "nsp": socket.namespace().name(),
                    "transport": socket.transport().as_str(),
                });
                upgrades.push("socket_updated", vec![update]);
            });
            if !is_admin {
                let received = outbox.clone();
                socket.on_any(move |socket, event| {
                    let mut args = vec![Payload::Json(event.name().into())];
                    args.extend(event.args().iter().cloned());
                    received.push_payloads(
                        "event_received",
                        event_args(socket.namespace().name(), socket.id(), args),
                    );
                });
                let sent = outbox.clone();
                socket.on_any_outgoing(move |socket, name, event_args_sent| {
                    let mut args = vec![Payload::Json(name.into())];
                    args.extend(event_args_sent.iter().cloned());
                    sent.push_payloads(
                        "event_sent",
                        event_args(socket.namespace().name(), socket.id(), args),
                    );
                });
            }
            let disconnects = outbox.clone();
            socket.on_disconnect(move |socket, reason| {
                disconnects.push(
                    "socket_disconnected",
                    vec![
                        nsp_name.clone().into(),
                        socket.id().as_str().into(),
                        reason.as_str().into(),
                        now_json(),
                    ],
                );
                async {}
            });
        }
    });
}

/// A hash of a JSON value (of its text).
fn hash_of(value: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.to_string().hash(&mut hasher);
    hasher.finish()
}

/// `(nsp, id, [event, ...args], date)`, the arguments of `event_received`
/// and `event_sent`.
fn event_args(nsp: &str, id: SocketId, args: Vec<Payload>) -> Vec<Payload> {
    vec![
        Payload::Json(nsp.into()),
        Payload::Json(id.as_str().into()),
        Payload::Array(args),
        Payload::Json(now_json()),
    ]
}

/// Tells the dashboards of a namespace's room joins and leaves (called under
/// the adapter's lock: it only queues).
struct Rooms {
    nsp: String,
    outbox: Arc<Outbox>,
}

/// `(nsp, room, id, date)`, the arguments of `room_joined` and `room_left`.
fn room_args(nsp: &str, room: &Room, id: SocketId) -> Vec<Value> {
    vec![
        nsp.into(),
        Value::from(&**room),
        id.as_str().into(),
        now_json(),
    ]
}

impl Rooms {
    fn tell(&self, event: &'static str, room: &Room, id: SocketId) {
        self.outbox.push(event, room_args(&self.nsp, room, id));
    }
}

impl RoomObserver for Rooms {
    fn room_created(&self, _room: &Room) {}

    fn room_deleted(&self, _room: &Room) {}

    fn room_joined(&self, room: &Room, id: SocketId) {
        // A socket's own room is told by the connection listener.
        if **room != *id.as_str() {
            self.tell("room_joined", room, id);
        }
    }

    fn room_left(&self, room: &Room, id: SocketId) {
        self.tell("room_left", room, id);
    }
}
