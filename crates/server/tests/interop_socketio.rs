//! The official `socket.io-client` (npm 4.8, run by Node) against ferrio with the
//! conformance handlers, over WebSocket only, long-polling only, and polling
//! upgraded to WebSocket: auth payloads, events with mixed and binary arguments,
//! acks both ways and their timeout, broadcast, rooms, server and client
//! disconnects, middleware refusals, dynamic and unknown namespaces,
//! multiplexing, thousands of acknowledged emits in order, and a stream of
//! emits through the upgrade.
//!
//! Each mode runs with the default parser and with `socket.io-msgpack-parser`
//! on both sides ([`Parser::MsgPack`]).
//!
//! The scenarios live in `interop/socketio/client.mjs`; this side runs the
//! server, then checks what only the server sees: why each socket left, and
//! that nothing is left behind after each scenario. Plus the connect timeout,
//! with a bare WebSocket that never joins a namespace.

use ferrio_test_support::node;

#[path = "../examples/conformance/handlers.rs"]
mod handlers;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrio::engine::{Cors, EngineConfig};
use ferrio::{DisconnectReason, Parser, Socket, SocketIo, SocketIoConfig};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Every scenario of `client.mjs`, run in this order in each mode.
const SCENARIOS: [&str; 16] = [
    "auth",
    "message",
    "message-ack",
    "echo",
    "binary",
    "broadcast",
    "rooms",
    "ask",
    "disconnect-me",
    "private",
    "dynamic",
    "invalid-namespace",
    "multiplex",
    "client-disconnect",
    "order",
    "during-upgrade",
];

/// Emits with acks in the `order` scenario, sent in bursts of `ORDER_WINDOW`
/// (the next once the last is acknowledged).
///
/// One burst of 10 000 is too much for a debug build on two shared cores: the
/// client's pong queues behind its own 20 000 packets, and the server takes
/// longer than the ping timeout to read them (Node's engine.io 6.6.12 would
/// also extend the timeout once on that traffic; ferrio-engine does not).
const ORDER_COUNT: &str = "10000";
const ORDER_WINDOW: &str = "1000";

/// Namespaces where the test records why sockets leave (dynamic children share
/// their parent's handlers, which the test has no handle on).
const RECORDED: [&str; 3] = ["/", "/custom", "/private"];

/// A socket leaving a namespace, as the server saw it.
#[derive(Debug)]
struct Disconnect {
    nsp: String,
    id: String,
    reason: DisconnectReason,
}

/// ferrio with the conformance handlers on a loopback port.
struct Server {
    addr: SocketAddr,
    io: SocketIo,
    disconnects: mpsc::UnboundedReceiver<Disconnect>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        Self::with_parser(Parser::Default).await
    }

    async fn with_parser(parser: Parser) -> Self {
        // `RUST_LOG=ferrio=debug,ferrio_engine=debug` shows the server's trace.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        // The conformance server's options, with a roomier ping timeout (1000 ms
        // instead of 200): the tests share two cores with the build and with
        // each other, and a missed pong here would be the machine's fault.
        let engine = EngineConfig::default()
            .path("/socket.io/")
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(1000))
            .max_payload(1_000_000)
            .cors(Cors::default());
        let io = SocketIo::with_config(
            SocketIoConfig::default()
                .engine(engine)
                .connect_timeout(Duration::from_millis(1000))
                .parser(parser),
        );
        handlers::install(&io);

        // Test-only observers: why each socket left.
        let (tx, disconnects) = mpsc::unbounded_channel();
        for nsp in RECORDED {
            let tx = tx.clone();
            io.of(nsp).on_connection(move |socket: Arc<Socket>| {
                let tx = tx.clone();
                socket.on_disconnect(move |socket, reason| {
                    let _ = tx.send(Disconnect {
                        nsp: socket.namespace().name().to_owned(),
                        id: socket.id().as_str().to_owned(),
                        reason,
                    });
                    async {}
                });
                async {}
            });
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = io.clone();
        let task = tokio::spawn(async move {
            served
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            io,
            disconnects,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until every socket in `ids` (nsp, id) has left, and returns why
    /// each did. Panics on a socket nobody announced, or after a generous wait.
    async fn disconnects_of(
        &mut self,
        ids: &[(String, String)],
        context: &str,
    ) -> HashMap<String, DisconnectReason> {
        let mut reasons = HashMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while reasons.len() < ids.len() {
            let Ok(Some(d)) = tokio::time::timeout_at(deadline, self.disconnects.recv()).await
            else {
                let missing: Vec<_> = ids
                    .iter()
                    .filter(|(_, id)| !reasons.contains_key(id))
                    .collect();
                panic!("{context}: no disconnect on the server for {missing:?}");
            };
            assert!(
                ids.iter().any(|(nsp, id)| *nsp == d.nsp && *id == d.id),
                "{context}: a socket the client did not report left: {d:?}"
            );
            let again = reasons.insert(d.id.clone(), d.reason);
            assert!(again.is_none(), "{context}: {d:?} left twice");
        }
        reasons
    }

    /// Waits until no Engine.IO session and no socket is left.
    ///
    /// Polled: the last steps of a close (a polling client's close request,
    /// or a ping timeout if the process exited first) have no event to await.
    async fn wait_idle(&self, context: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let sessions = self.io.engine().session_count();
            let sockets: Vec<_> = self
                .io
                .namespaces()
                .iter()
                .filter(|n| n.socket_count() > 0)
                .map(|n| (n.name().to_owned(), n.socket_count()))
                .collect();
            if sessions == 0 && sockets.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{context}: still {sessions} sessions and sockets {sockets:?} after 15 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

/// Runs `client.mjs` for one scenario, off the runtime's worker threads.
async fn run_client(
    url: &str,
    mode: &'static str,
    scenario: &'static str,
    parser: Parser,
) -> node::NodeOutput {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut args = vec!["--url", &url, "--mode", mode, "--scenario", scenario];
        args.extend(["--parser", parser.name()]);
        let mut timeout = Duration::from_secs(60);
        if scenario == "order" {
            args.extend(["--count", ORDER_COUNT, "--window", ORDER_WINDOW]);
            args.extend(["--timeout", "90000"]);
            timeout = Duration::from_secs(120);
        }
        node::run_node("socketio/client.mjs", &args, timeout)
    })
    .await
    .unwrap()
}

/// The (nsp, id) of every namespace connection the client reported.
fn reported_sockets(output: &node::NodeOutput) -> Vec<(String, String)> {
    output
        .lines_with_event("socket")
        .iter()
        .map(|line| {
            let field = |key| {
                node::json_field(line, key)
                    .unwrap_or_else(|| panic!("no {key} in {line}"))
                    .to_owned()
            };
            (field("nsp"), field("id"))
        })
        .collect()
}

async fn run_mode(mode: &'static str, parser: Parser) {
    node::ensure_npm_deps();
    let mut server = Server::with_parser(parser).await;
    let url = server.url();
    // The transport every connection ends up on.
    let transport = if mode == "polling" {
        "polling"
    } else {
        "websocket"
    };
    for scenario in SCENARIOS {
        let context = format!("{mode}/{scenario}");
        let output = run_client(&url, mode, scenario, parser).await;
        output.assert_ok();
        let result = output.result_line().unwrap_or_default();
        assert!(
            result.contains(&format!("\"transports\":[\"{transport}\"]")),
            "{context}: connections ended on other transports: {result}"
        );
        if mode == "upgrade" {
            assert!(
                !output.lines_with_event("upgraded").is_empty(),
                "{context}: no upgrade\n{output}"
            );
        }

        let sockets = reported_sockets(&output);
        assert!(
            !sockets.is_empty(),
            "{context}: no socket connected\n{output}"
        );
        let recorded: Vec<_> = sockets
            .iter()
            .filter(|(nsp, _)| RECORDED.contains(&nsp.as_str()))
            .cloned()
            .collect();
        let reasons = server.disconnects_of(&recorded, &context).await;
        for (nsp, id) in &recorded {
            let expected = match scenario {
                // The server disconnected it (the client saw "io server disconnect").
                "disconnect-me" => DisconnectReason::ServerNamespaceDisconnect,
                // Every other socket is left by the client with `socket.disconnect()`
                // (in "client-disconnect" while the connection stays up for another
                // namespace; elsewhere when the scenario is over).
                _ => DisconnectReason::ClientNamespaceDisconnect,
            };
            assert_eq!(reasons[id], expected, "{context}: socket {id} of {nsp}");
        }
        if scenario == "client-disconnect" {
            // Both namespaces were left one by one, and seen as such.
            for key in ["custom", "main"] {
                let id = node::json_field(result, key).expect("ids in the result");
                assert_eq!(
                    reasons.get(id),
                    Some(&DisconnectReason::ClientNamespaceDisconnect),
                    "{context}: {key}"
                );
            }
        }
        server.wait_idle(&context).await;
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_over_websocket() {
    run_mode("websocket", Parser::Default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_over_polling() {
    run_mode("polling", Parser::Default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_upgrading_from_polling() {
    run_mode("upgrade", Parser::Default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_socket_io_client_over_websocket() {
    run_mode("websocket", Parser::MsgPack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_socket_io_client_over_polling() {
    run_mode("polling", Parser::MsgPack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_socket_io_client_upgrading_from_polling() {
    run_mode("upgrade", Parser::MsgPack).await;
}

// ---------------------------------------------------------------- connect timeout

type Ws = WebSocketStream<TcpStream>;

async fn raw_websocket(addr: SocketAddr) -> Ws {
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let open = next_text(&mut ws).await.expect("an open packet");
    assert!(
        open.starts_with("0{"),
        "expected the open packet, got {open}"
    );
    ws
}

/// The next Engine.IO text packet, answering pings on the way; `None` once the
/// connection is closed.
async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message or a close within 10 s");
        match next {
            Some(Ok(WsMessage::Text(t))) if t.as_str() == "2" => {
                // Answer the heartbeat, or the session would end on a ping timeout.
                if ws.send(WsMessage::text("3")).await.is_err() {
                    return None;
                }
            }
            Some(Ok(WsMessage::Text(t))) => return Some(t.to_string()),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Waits for the next ping and answers it.
async fn answer_ping(ws: &mut Ws) {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a ping within 10 s");
        match next {
            Some(Ok(WsMessage::Text(t))) if t.as_str() == "2" => {
                ws.send(WsMessage::text("3")).await.unwrap();
                return;
            }
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            other => panic!("expected a ping, got {other:?}"),
        }
    }
}

/// A connection that joins no namespace is closed after `connect_timeout`
/// (1 s here); one that joined a namespace stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_that_joins_no_namespace_is_closed_after_connect_timeout() {
    let server = Server::start().await;
    let started = Instant::now();
    let mut idle = raw_websocket(server.addr).await;
    let mut joined = raw_websocket(server.addr).await;
    joined.send(WsMessage::text("40")).await.unwrap();
    let reply = next_text(&mut joined).await.expect("a CONNECT reply");
    assert!(reply.starts_with("40{\"sid\":"), "CONNECT reply {reply}");
    assert_eq!(
        next_text(&mut joined).await.as_deref(),
        Some("42[\"auth\",{}]")
    );

    // The idle one answers pings but is closed anyway, once the timeout passed.
    let got = next_text(&mut idle).await;
    let elapsed = started.elapsed();
    assert_eq!(got, None, "expected a close, got a packet");
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed after {elapsed:?}, before the 1 s connect timeout"
    );

    // The joined one outlives its own timeout, which fired a moment later: two
    // heartbeats on, it still answers an event, and it is the only session left.
    for _ in 0..2 {
        answer_ping(&mut joined).await;
    }
    joined
        .send(WsMessage::text("42[\"echo\",\"still here\"]"))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut joined).await.as_deref(),
        Some("42[\"echo\",\"still here\"]")
    );
    assert_eq!(server.io.engine().session_count(), 1);
    drop(joined);
    server.shutdown().await;
}
