//! The Socket.IO side of the conformance server: namespaces, middleware and
//! event handlers the protocol suites and ferrio's interop tests expect.
//! Shared with the tests, which include this file.

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

/// Installs every namespace and handler on `io`.
pub fn install(io: &SocketIo) {
    on_main_connection(io);
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
