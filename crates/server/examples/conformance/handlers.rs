//! The Socket.IO side of the conformance server: namespaces, middleware and
//! event handlers the protocol suites and ferrio's interop tests expect, and
//! the cluster contract of issue 14 (see [`on_cluster_events`]). Shared with
//! the tests, which include this file.

use std::sync::Arc;
use std::time::Duration;

use ferrio::{ConnectError, Socket, SocketIo};
use serde_json::{Value, json};

/// Emits an event with the event's own arguments, binary ones included.
fn emit_same(socket: &Socket, name: &str, event: &ferrio::Event) {
    let _ = socket.emit_args(name, event.args().clone());
}

fn on_main_connection(io: &SocketIo) {
    io.on_connection(|socket: Arc<Socket>| async move {
        let _ = socket.emit("auth", &socket.handshake().auth());
        socket.on("message", |socket, event| async move {
            emit_same(&socket, "message-back", &event);
        });
        socket.on("message-with-ack", |_socket, event| async move {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args().clone());
            }
        });
        socket.on("echo", |socket, event| async move {
            match event.ack() {
                Some(ack) => {
                    let _ = ack.send_args(event.args().clone());
                }
                None => emit_same(&socket, "echo", &event),
            }
        });
        socket.on("broadcast", |socket, event| async move {
            let _ = socket
                .namespace()
                .broadcast()
                .emit_args("broadcast", event.args().clone());
        });
        socket.on("join", |socket, event| async move {
            if let Ok(room) = event.arg::<String>(0) {
                socket.join(room);
            }
        });
        socket.on("leave", |socket, event| async move {
            if let Ok(room) = event.arg::<String>(0) {
                socket.leave(room);
            }
        });
        socket.on("room", |socket, event| async move {
            if let (Ok(room), Some(payload)) = (event.arg::<String>(0), event.args().payload(1)) {
                let _ = socket
                    .namespace()
                    .to(room)
                    .emit_args("room", vec![payload.clone()]);
            }
        });
        // `rooms` with `[rooms[], payload]`: `payload` to every socket in any of
        // the rooms, once each even when it is in several of them.
        socket.on("rooms", |socket, event| async move {
            if let (Ok(rooms), Some(payload)) =
                (event.arg::<Vec<String>>(0), event.args().payload(1))
            {
                let _ = socket
                    .namespace()
                    .to(rooms)
                    .emit_args("rooms", vec![payload.clone()]);
            }
        });
        socket.on("ask", |socket, event| async move {
            let value = event.args().to_value(0).unwrap_or(Value::Null);
            match socket
                .timeout(Duration::from_millis(1000))
                .emit_with_ack("question", &(value,))
                .await
            {
                Ok(reply) => {
                    let _ = socket.emit_args("answer", reply);
                }
                Err(_) => {
                    let _ = socket.emit("answer-timeout", &());
                }
            }
        });
        socket.on("disconnect-me", |socket, _event| async move {
            socket.disconnect();
        });
    });
}

/// The first argument of an event as JSON (`null` when missing).
fn first(event: &ferrio::Event) -> Value {
    event.args().to_value(0).unwrap_or(Value::Null)
}

/// Acknowledges an event with one value, if the client asked.
fn reply<T: serde::Serialize>(event: &ferrio::Event, value: &T) {
    if let Some(ack) = event.ack() {
        let _ = ack.send(&(value,));
    }
}

/// An error as the contract's answers carry it.
fn failure(error: impl std::fmt::Display) -> Value {
    json!({"error": error.to_string()})
}

/// The cluster contract (issue 14, item 5), on `/`. With the memory adapter
/// the cluster is this one node, and every rule holds there too:
///
/// | client sends | server does |
/// |---|---|
/// | `server-count` with ack | acks with the number of servers |
/// | `fetch-sockets` `[room or null]` with ack | acks with the sorted ids of the sockets in that room (null: all) |
/// | `sockets-join` `[room, other]` with ack | `to(room).sockets_join(other)`, then acks |
/// | `sockets-leave` `[room, other]` with ack | `to(room).sockets_leave(other)`, then acks |
/// | `disconnect-room` `[room]` with ack | acks, then `to(room).disconnect_sockets(false)` |
/// | `local-broadcast` `[payload]` | emits `broadcast` `[payload]` to this node's sockets |
/// | `ask-all` `[value]` with ack | `timeout(1 s).emit_with_ack("question", value)` to every socket; acks with `{"timedOut", "responses"}` (each answer's first argument, sorted by JSON text) |
/// | `server-side` `[value]` with ack | `timeout(1 s).server_side_emit_with_ack("hello", value)`; acks with the responses |
///
/// Every node answers the server-side event `hello` with its argument unchanged.
pub fn on_cluster_events(io: &SocketIo) {
    io.sockets()
        .on_server_side("hello", |args, ack| async move {
            if let (Some(ack), Some(value)) = (ack, args.payload(0)) {
                ack.send_payload(value.clone());
            }
        });
    io.on_connection(|socket: Arc<Socket>| async move {
        socket.on("server-count", |socket, event| async move {
            match socket.namespace().server_count().await {
                Ok(count) => reply(&event, &count),
                Err(e) => reply(&event, &failure(e)),
            }
        });
        socket.on("fetch-sockets", |socket, event| async move {
            let nsp = socket.namespace();
            let target = match first(&event) {
                Value::String(room) => nsp.to(room),
                _ => nsp.broadcast(),
            };
            match target.fetch_sockets().await {
                Ok(sockets) => {
                    let mut ids: Vec<&str> = sockets.iter().map(|s| s.id.as_str()).collect();
                    ids.sort_unstable();
                    reply(&event, &ids);
                }
                Err(e) => reply(&event, &failure(e)),
            }
        });
        socket.on("sockets-join", |socket, event| async move {
            if let (Ok(room), Ok(other)) = (event.arg::<String>(0), event.arg::<String>(1)) {
                let done = socket.namespace().to(room).sockets_join(other).await;
                reply(&event, &done.err().map(failure));
            }
        });
        socket.on("sockets-leave", |socket, event| async move {
            if let (Ok(room), Ok(other)) = (event.arg::<String>(0), event.arg::<String>(1)) {
                let done = socket.namespace().to(room).sockets_leave(other).await;
                reply(&event, &done.err().map(failure));
            }
        });
        socket.on("disconnect-room", |socket, event| async move {
            if let Ok(room) = event.arg::<String>(0) {
                reply(&event, &Value::Null);
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
            let asked = socket
                .namespace()
                .timeout(Duration::from_millis(1000))
                .emit_with_ack("question", &(first(&event),))
                .await;
            match asked {
                Ok(answers) => {
                    let mut responses: Vec<Value> = answers
                        .responses
                        .iter()
                        .map(|a| a.to_value(0).unwrap_or(Value::Null))
                        .collect();
                    responses.sort_by_cached_key(Value::to_string);
                    reply(
                        &event,
                        &json!({"timedOut": answers.timed_out(), "responses": responses}),
                    );
                }
                Err(e) => reply(&event, &failure(e)),
            }
        });
        socket.on("server-side", |socket, event| async move {
            let asked = socket
                .namespace()
                .timeout(Duration::from_millis(1000))
                .server_side_emit_with_ack("hello", &(first(&event),))
                .await;
            match asked {
                Ok(answers) => {
                    let responses: Vec<Value> = answers
                        .responses
                        .iter()
                        .map(|p| p.to_value().unwrap_or(Value::Null))
                        .collect();
                    reply(&event, &responses);
                }
                Err(e) => reply(&event, &failure(e)),
            }
        });
    });
}

/// Installs every namespace and handler on `io`.
pub fn install(io: &SocketIo) {
    on_main_connection(io);
    on_cluster_events(io);
    io.of("/custom")
        .on_connection(|socket: Arc<Socket>| async move {
            let _ = socket.emit("auth", &socket.handshake().auth());
        });
    let private = io.of("/private");
    private.use_middleware(|socket: Arc<Socket>| async move {
        if socket.handshake().auth().get("token") == Some(&json!("secret")) {
            Ok(())
        } else {
            Err(ConnectError::new("unauthorized").with_data(json!({"reason": "bad token"})))
        }
    });
    private.on_connection(|socket: Arc<Socket>| async move {
        let _ = socket.emit("welcome", &());
    });
    let dynamic = io.of_pattern(r"^/dyn-\d+$").expect("a valid pattern");
    dynamic.on_connection(|socket: Arc<Socket>| async move {
        let _ = socket.emit("nsp", socket.namespace().name());
    });
}
