//! The cluster contract of issue 14 (item 5) on a ferrio node, as
//! `interop/socketio/cluster-server.mjs` keeps it on Node: added to the
//! conformance handlers for `/`, plus `join` and `hello` on `/admin`.

use std::sync::Arc;
use std::time::Duration;

use ferrio::{Namespace, Payload, Socket, SocketIo};
use serde_json::{Value, json};

fn answer_hello(nsp: &Namespace) {
    nsp.on_server_side("hello", |args, ack| async move {
        if let Some(ack) = ack {
            let first = args
                .payload(0)
                .cloned()
                .unwrap_or(Payload::Json(Value::Null));
            ack.send_payload(first);
        }
    });
}

/// Installs the contract's events on `/` (each socket) and the server-side
/// `hello` on `/` and `/admin`.
pub fn install(io: &SocketIo) {
    let root = io.sockets();
    answer_hello(&root);
    let admin = io.of("/admin");
    answer_hello(&admin);
    admin.on_connection(|socket: Arc<Socket>| async move {
        socket.on("join", |socket, event| async move {
            if let Ok(room) = event.arg::<String>(0) {
                socket.join(room);
            }
        });
    });
}

/// The contract's events for one socket of `/`.
pub fn on_socket(socket: &Arc<Socket>) {
    socket.on("server-count", |socket, event| async move {
        let n = socket.namespace().server_count().await.unwrap_or(0);
        if let Some(ack) = event.ack() {
            let _ = ack.send(&(n,));
        }
    });
    socket.on("fetch-sockets", |socket, event| async move {
        let room = event.arg::<Option<String>>(0).ok().flatten();
        let op = match room {
            Some(room) => socket.namespace().to(room),
            None => socket.namespace().broadcast(),
        };
        let reply = match op.fetch_sockets().await {
            Ok(sockets) => {
                let mut ids: Vec<String> = sockets.iter().map(|s| s.id.to_string()).collect();
                ids.sort();
                json!(ids)
            }
            Err(e) => json!({"error": e.to_string()}),
        };
        if let Some(ack) = event.ack() {
            let _ = ack.send(&(reply,));
        }
    });
    socket.on("sockets-join", |socket, event| async move {
        if let (Ok(room), Ok(other)) = (event.arg::<String>(0), event.arg::<String>(1)) {
            let _ = socket.namespace().to(room).sockets_join(other).await;
        }
        if let Some(ack) = event.ack() {
            let _ = ack.send(&());
        }
    });
    socket.on("sockets-leave", |socket, event| async move {
        if let (Ok(room), Ok(other)) = (event.arg::<String>(0), event.arg::<String>(1)) {
            let _ = socket.namespace().to(room).sockets_leave(other).await;
        }
        if let Some(ack) = event.ack() {
            let _ = ack.send(&());
        }
    });
    socket.on("disconnect-room", |socket, event| async move {
        if let Some(ack) = event.ack() {
            let _ = ack.send(&());
        }
        if let Ok(room) = event.arg::<String>(0) {
            let _ = socket.namespace().to(room).disconnect_sockets(false).await;
        }
    });
    socket.on("local-broadcast", |socket, event| async move {
        if let Some(payload) = event.args().payload(0) {
            let _ = socket
                .namespace()
                .local()
                .emit_args("broadcast", vec![payload.clone()]);
        }
    });
    socket.on("ask-all", |socket, event| async move {
        let value = event
            .args()
            .payload(0)
            .cloned()
            .unwrap_or(Payload::Json(Value::Null));
        let reply = match socket
            .namespace()
            .timeout(Duration::from_secs(1))
            .emit_with_ack("question", &(value.to_value().unwrap_or(Value::Null),))
            .await
        {
            Ok(answers) => {
                let mut responses: Vec<Value> = answers
                    .responses
                    .iter()
                    .map(|args| args.to_value(0).unwrap_or(Value::Null))
                    .collect();
                responses.sort_by_key(|v| v.to_string());
                json!({"timedOut": answers.timed_out(), "responses": responses})
            }
            Err(e) => json!({"error": e.to_string()}),
        };
        if let Some(ack) = event.ack() {
            let _ = ack.send(&(reply,));
        }
    });
    socket.on("server-side", |socket, event| async move {
        let value = event.args().to_value(0).unwrap_or(Value::Null);
        let reply = match socket
            .namespace()
            .timeout(Duration::from_secs(1))
            .server_side_emit_with_ack("hello", &(value,))
            .await
        {
            Ok(answers) => Value::Array(
                answers
                    .responses
                    .iter()
                    .filter_map(Payload::to_value)
                    .collect(),
            ),
            Err(e) => json!({"error": e.to_string()}),
        };
        if let Some(ack) = event.ack() {
            let _ = ack.send(&(reply,));
        }
    });
}
