//! ferrio's own server, in process, with the handlers of server.mjs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio::{ConnectError, Parser, Payload, Socket, SocketIo, SocketIoConfig};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::TestServer;

/// A ferrio server on 127.0.0.1, stopped on drop.
pub struct FerrioServer {
    port: u16,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    parser: Parser,
}

impl FerrioServer {
    /// Starts the server on a free port.
    pub async fn spawn() -> Self {
        Self::spawn_with_parser(Parser::Default).await
    }

    /// Starts the server with this parser on a free port.
    pub async fn spawn_with_parser(parser: Parser) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let mut server = Self {
            port,
            running: None,
            parser,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: TcpListener) {
        let io = build_io(self.parser);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = io
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await;
        });
        self.running = Some((stop, task));
    }
}

impl Drop for FerrioServer {
    fn drop(&mut self) {
        if let Some((_, task)) = self.running.take() {
            task.abort();
        }
    }
}

impl TestServer for FerrioServer {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn parser(&self) -> ferrio_client::Parser {
        self.parser
    }

    async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    async fn start(&mut self) {
        let mut attempt = 0;
        let listener = loop {
            attempt += 1;
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(e) if attempt < 40 => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("cannot bind port {} again: {e}", self.port),
            }
        };
        self.serve(listener);
    }
}

/// The namespaces and events of server.mjs, on a fresh `SocketIo`.
fn build_io(parser: Parser) -> SocketIo {
    let io = SocketIo::with_config(SocketIoConfig::default().parser(parser));
    io.on_connection(setup);
    io.of("/admin").on_connection(setup);
    let private = io.of("/private");
    private.use_middleware(|socket: Arc<Socket>| async move {
        let auth = socket.handshake().auth();
        if auth["token"] == "letmein" {
            Ok(())
        } else {
            Err(ConnectError::new("not authorized").with_data(json!({"code": 401, "auth": auth})))
        }
    });
    private.on_connection(setup);
    io
}

async fn setup(socket: Arc<Socket>) {
    socket.on("echo", |socket, event| async move {
        let _ = socket.emit_args("echo", event.into_args());
    });
    socket.on("echo-ack", |_socket, event| async move {
        if let Some(ack) = event.ack() {
            let _ = ack.send_args(event.args().clone());
        }
    });
    socket.on("ask", |socket, event| async move {
        let question: serde_json::Value = event.arg(0).unwrap_or_default();
        let answer = socket
            .timeout(Duration::from_secs(5))
            .emit_with_ack("question", &question)
            .await;
        let _ = match answer {
            Ok(args) if !args.is_empty() => {
                socket.emit_args("answer", args.into_iter().take(1).collect::<Vec<_>>())
            }
            Ok(_) => socket.emit_args("answer", vec![]),
            Err(e) => socket.emit("answer-error", &e.to_string()),
        };
    });
    socket.on("ask-all", |socket, event| async move {
        let question: serde_json::Value = event.arg(0).unwrap_or_default();
        let answer = socket
            .timeout(Duration::from_secs(5))
            .emit_with_ack("question", &question)
            .await;
        let _ = match answer {
            Ok(args) => socket.emit_args("answer-all", args),
            Err(e) => socket.emit("answer-error", &e.to_string()),
        };
    });
    socket.on("binary", |socket, _event| async move {
        let _ = socket.emit_args(
            "binary",
            vec![
                Payload::Binary(Bytes::from_static(&[1, 2, 3])),
                Payload::Object(vec![(
                    "nested".into(),
                    Payload::Binary(Bytes::from_static(&[4, 5])),
                )]),
            ],
        );
    });
    socket.on("whoami", |socket, event| async move {
        let handshake = socket.handshake();
        let header = handshake
            .headers()
            .get("x-ferrio-test")
            .and_then(|v| v.to_str().ok());
        let _ = event.reply(&json!({
            "id": socket.id().as_str(),
            "nsp": socket.namespace().name(),
            "auth": handshake.auth(),
            "transport": socket.transport().as_str(),
            "query": handshake.query(),
            "header": header,
        }));
    });
    socket.on("disconnect-me", |socket, _event| async move {
        socket.disconnect();
    });
}
