//! The server that protocol conformance suites are pointed at.
//!
//! Listens on `127.0.0.1:$PORT` (default 3000) and serves, with ping interval
//! 300 ms, ping timeout 200 ms, max payload 1 000 000 and CORS for any origin:
//!
//! - `/engine.io/`: an Engine.IO echo server (every message back as it came);
//! - `/socket.io/`: a Socket.IO server (connect timeout 1000 ms) with the
//!   namespaces and events the suites expect (see `socketio_handlers`).
//!
//! ```text
//! PORT=3000 cargo run -p ferrio --example conformance
//! ```

use std::sync::Arc;
use std::time::Duration;

use ferrio::engine::{CloseReason, Cors, Engine, EngineConfig, Handler, Message, Session};
use ferrio::{ConnectError, Payload, Socket, SocketIo, SocketIoConfig};
use serde_json::{Value, json};

/// The Engine.IO echo handler.
struct Echo;

impl Handler for Echo {
    fn on_open(&self, _session: &Arc<Session>) {}

    fn on_message(&self, session: &Arc<Session>, message: Message) {
        if session.send(message.into()).is_err() {
            session.close();
        }
    }

    fn on_close(&self, _session: &Arc<Session>, _reason: CloseReason) {}
}

fn engine_config(path: &str) -> EngineConfig {
    EngineConfig::default()
        .path(path)
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .cors(Cors::default())
}

fn payload_json(p: &Payload) -> Value {
    match p {
        Payload::Json(v) => v.clone(),
        _ => Value::Null,
    }
}

/// Emits an event with the event's own arguments, binary ones included.
fn emit_same(socket: &Socket, name: &str, event: &ferrio::Event) {
    let _ = socket.emit_args(name, event.args().to_vec());
}

fn on_main_connection(io: &SocketIo) {
    io.on_connection(|socket: Arc<Socket>| async move {
        let _ = socket.emit("auth", &socket.handshake().auth);
        socket.on("message", |socket, event| async move {
            emit_same(&socket, "message-back", &event);
        });
        socket.on("message-with-ack", |_socket, event| async move {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args().to_vec());
            }
        });
        socket.on("echo", |socket, event| async move {
            match event.ack() {
                Some(ack) => {
                    let _ = ack.send_args(event.args().to_vec());
                }
                None => emit_same(&socket, "echo", &event),
            }
        });
        socket.on("broadcast", |socket, event| async move {
            let _ = socket
                .namespace()
                .broadcast()
                .emit_args("broadcast", event.args().to_vec());
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
            if let (Ok(room), Some(payload)) = (event.arg::<String>(0), event.args().get(1)) {
                let _ = socket
                    .namespace()
                    .to(room)
                    .emit_args("room", vec![payload.clone()]);
            }
        });
        socket.on("ask", |socket, event| async move {
            let value = event
                .args()
                .first()
                .map(payload_json)
                .unwrap_or(Value::Null);
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

fn socketio_handlers(io: &SocketIo) {
    on_main_connection(io);
    io.of("/custom")
        .on_connection(|socket: Arc<Socket>| async move {
            let _ = socket.emit("auth", &socket.handshake().auth);
        });
    let private = io.of("/private");
    private.use_middleware(|socket: Arc<Socket>| async move {
        if socket.handshake().auth.get("token") == Some(&json!("secret")) {
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

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);

    let io = SocketIo::with_config(
        SocketIoConfig::default()
            .engine(engine_config("/socket.io/"))
            .connect_timeout(Duration::from_millis(1000)),
    );
    socketio_handlers(&io);
    let echo = Engine::new(engine_config("/engine.io/"), Echo);
    let service = tower_layer::Layer::layer(&io.layer(), echo.clone());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!("conformance server on http://{}", listener.local_addr()?);
    let closer = io.clone();
    ferrio::engine::serve_with(
        listener,
        service,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
        move || {
            closer.close();
            echo.shutdown();
        },
    )
    .await
}
