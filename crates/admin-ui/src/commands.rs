//! The dashboard's commands, when not read-only (Node's
//! `registerFeatureHandlers`): `emit`, `join`, `leave`, `_disconnect`, each
//! on every socket of a namespace or of a room of it (`filter`). Unlike
//! Node's `io.of(name)`, a namespace that does not exist is not made.

use std::sync::Arc;

use ferrio::{BroadcastOperator, Event, Payload, Socket};
use serde_json::Value;

use crate::namespaces::Namespaces;

/// Listens to the commands on an admin socket.
pub(crate) fn register(socket: &Arc<Socket>, namespaces: &Arc<Namespaces>) {
    let found = namespaces.clone();
    socket.on("emit", move |_socket, event| {
        let namespaces = found.clone();
        async move {
            let (Some(target), Some(Value::String(name))) =
                (target(&namespaces, &event, 1), event.args().to_value(2))
            else {
                return;
            };
            let args: Vec<Payload> = event.args().iter().skip(3).cloned().collect();
            if let Err(error) = target.emit_args(&name, args) {
                tracing::debug!(%error, "admin emit failed");
            }
        }
    });
    for (command, join) in [("join", true), ("leave", false)] {
        let found = namespaces.clone();
        socket.on(command, move |_socket, event| {
            let namespaces = found.clone();
            async move {
                let (Some(target), Some(Value::String(room))) =
                    (target(&namespaces, &event, 2), event.args().to_value(1))
                else {
                    return;
                };
                let done = if join {
                    target.sockets_join(room).await
                } else {
                    target.sockets_leave(room).await
                };
                if let Err(error) = done {
                    tracing::debug!(%error, "admin {} failed", if join { "join" } else { "leave" });
                }
            }
        });
    }
    let found = namespaces.clone();
    socket.on("_disconnect", move |_socket, event| {
        let namespaces = found.clone();
        async move {
            let Some(target) = target(&namespaces, &event, 2) else {
                return;
            };
            let close = event.args().to_value(1).is_some_and(|c| truthy(&c));
            if let Err(error) = target.disconnect_sockets(close).await {
                tracing::debug!(%error, "admin disconnect failed");
            }
        }
    });
}

/// The sockets a command is for: those of the namespace named by the first
/// argument, in the room named by argument `filter_at` if it is a non-empty
/// string (every socket of the namespace when it is absent, null, `""` or
/// `false`). `None` when the namespace does not exist or the filter is of
/// another type.
fn target(namespaces: &Namespaces, event: &Event, filter_at: usize) -> Option<BroadcastOperator> {
    let Some(Value::String(name)) = event.args().to_value(0) else {
        return None;
    };
    let nsp = namespaces.find(&name)?;
    match event.args().to_value(filter_at) {
        Some(Value::String(room)) if !room.is_empty() => Some(nsp.to(room)),
        None | Some(Value::Null) | Some(Value::Bool(false)) => Some(nsp.broadcast()),
        Some(Value::String(_)) => Some(nsp.broadcast()),
        Some(_) => None,
    }
}

/// JavaScript truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
