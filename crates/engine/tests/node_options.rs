//! Two engine options of Node's engine.io, against Node's own server
//! (interop/engineio/echo-server.mjs) and against ferrio-engine, so that the
//! expectations are shown to be Node's (issue 16):
//!
//! - `initialPacket` (`EngineConfig::initial_packet`): a message right after
//!   the open packet, over both transports, seen by the official
//!   engine.io-client before any other;
//! - `addTrailingSlash` (`EngineConfig::add_trailing_slash`): which request
//!   paths the engine answers, with `true` (the default) and `false`.

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferrio_engine::{EngineConfig, Message};
use ferrio_test_support::node;
use support::{Server, ws_next, ws_next_text};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Node's echo server with these extra options; its port.
fn node_server(args: &[&str]) -> (node::NodeProcess, u16) {
    node::ensure_npm_deps();
    let mut args = args.to_vec();
    args.extend(["--ping-interval", "25000", "--ping-timeout", "20000"]);
    let mut process = node::spawn_node("engineio/echo-server.mjs", &args);
    let port = process.wait_for_port(Duration::from_secs(20));
    (process, port)
}

/// Raw requests to a local port (Node's).
fn raw_to(port: u16) -> RawPeer {
    RawPeer(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Raw HTTP and WebSocket requests to a server at an address.
struct RawPeer(std::net::SocketAddr);

impl RawPeer {
    async fn get(&self, path_and_query: &str) -> (u16, String) {
        use http_body_util::{BodyExt, Full};
        let stream = tokio::net::TcpStream::connect(self.0).await.unwrap();
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let request = http::Request::builder()
            .uri(path_and_query)
            .header("host", self.0.to_string())
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
            .await
            .expect("an answer in time")
            .unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn websocket(&self) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect(self.0).await.unwrap();
        let url = format!("ws://{}/engine.io/?EIO=4&transport=websocket", self.0);
        tokio_tungstenite::client_async(url, stream)
            .await
            .expect("websocket accepted")
            .0
    }
}

/// The client's script in one mode; its result must be ok.
async fn engine_io_client(port: u16, mode: &'static str) {
    let url = format!("http://127.0.0.1:{port}");
    let output = tokio::task::spawn_blocking(move || {
        node::run_node(
            "engineio/client.mjs",
            &[
                "--url",
                &url,
                "--mode",
                mode,
                "--scenario",
                "initial-packet",
            ],
            Duration::from_secs(30),
        )
    })
    .await
    .unwrap();
    output.assert_ok();
}

/// What a polling handshake and a WebSocket open show of the initial packet:
/// the first poll's body after the open packet, and the WebSocket's second
/// frame.
async fn initial_packet_seen(peer: &RawPeer) -> (String, String) {
    let (status, body) = peer.get("/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 200, "{body}");
    let after_open = body
        .split_once('\u{1e}')
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_default();
    let mut ws = peer.websocket().await;
    let open = ws_next_text(&mut ws).await;
    assert!(open.starts_with("0{"), "{open}");
    let second = ws_next_text(&mut ws).await;
    (after_open, second)
}

fn welcome() -> EngineConfig {
    EngineConfig::default().initial_packet(Message::Text("welcome".into()))
}

/// `initialPacket`: the official engine.io-client gets the message first,
/// then the session goes on, in each transport mode, from Node and from
/// ferrio.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_packet_reaches_the_engine_io_client_first() {
    let (mut reference, node_port) = node_server(&["--initial-packet", "welcome"]);
    let ferrio = Server::start(welcome()).await;
    for mode in ["websocket", "polling", "upgrade"] {
        engine_io_client(node_port, mode).await;
        engine_io_client(ferrio.addr.port(), mode).await;
    }
    reference.kill();
}

/// `initialPacket` on the wire: `4welcome` after the open packet, in the
/// first poll's payload and as the WebSocket's second frame, as Node sends
/// it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_packet_follows_the_open_packet_on_the_wire() {
    let (mut reference, node_port) = node_server(&["--initial-packet", "welcome"]);
    let expected = initial_packet_seen(&raw_to(node_port)).await;
    assert_eq!(expected, ("4welcome".to_owned(), "4welcome".to_owned()));
    let ferrio = Server::start(welcome()).await;
    let got = initial_packet_seen(&RawPeer(ferrio.addr)).await;
    assert_eq!(got, expected, "ferrio, then Node");
    reference.kill();

    // Without the option, nothing follows the open packet.
    let plain = Server::start(EngineConfig::default()).await;
    let (status, body) = RawPeer(plain.addr)
        .get("/engine.io/?EIO=4&transport=polling")
        .await;
    assert_eq!(status, 200);
    assert!(!body.contains('\u{1e}'), "{body}");
}

/// A binary initial packet: base64 (`b…`) in the poll, a binary frame over
/// WebSocket (Node sends a Buffer `initialPacket` the same way).
#[tokio::test]
async fn a_binary_initial_packet_is_sent_as_binary() {
    let config =
        EngineConfig::default().initial_packet(Message::Binary(Bytes::from_static(&[1, 2, 3])));
    let server = Server::start(config).await;
    let peer = RawPeer(server.addr);
    let (_, body) = peer.get("/engine.io/?EIO=4&transport=polling").await;
    assert!(body.ends_with("\u{1e}bAQID"), "{body}");
    let mut ws = peer.websocket().await;
    ws_next_text(&mut ws).await;
    let second = ws_next(&mut ws).await.expect("open");
    assert_eq!(second, WsMessage::Binary(Bytes::from_static(&[1, 2, 3])));
}

/// The request paths a polling handshake is answered on (200) or not (404),
/// under `/engine.io/`.
const PATHS: [&str; 6] = [
    "/engine.io/",
    "/engine.io",
    "/engine.iofoo",
    "/engine.io/foo",
    "/engine.i",
    "/elsewhere",
];

async fn statuses(peer: &RawPeer) -> Vec<(&'static str, u16)> {
    let mut out = Vec::new();
    for path in PATHS {
        let (status, _) = peer.get(&format!("{path}?EIO=4&transport=polling")).await;
        out.push((path, status));
    }
    out
}

/// `addTrailingSlash`: with `true` (the default) only paths under
/// `/engine.io/` are the engine's, `/engine.io/foo` included; with `false`
/// every path that starts with `/engine.io` is (Node's prefix test). The
/// rest get 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_are_answered_as_node_answers_them() {
    for (flag, add) in [("true", true), ("false", false)] {
        let (mut reference, node_port) = node_server(&["--add-trailing-slash", flag]);
        let expected = statuses(&raw_to(node_port)).await;
        reference.kill();
        let ferrio = Server::start(EngineConfig::default().add_trailing_slash(add)).await;
        let got = statuses(&RawPeer(ferrio.addr)).await;
        assert_eq!(
            got, expected,
            "add_trailing_slash({add}): ferrio, then Node"
        );
    }
    // What Node gave, written out.
    let ferrio = Server::start(EngineConfig::default()).await;
    assert_eq!(
        statuses(&RawPeer(ferrio.addr)).await,
        [
            ("/engine.io/", 200),
            ("/engine.io", 404),
            ("/engine.iofoo", 404),
            ("/engine.io/foo", 200),
            ("/engine.i", 404),
            ("/elsewhere", 404),
        ]
    );
    let lax = Server::start(EngineConfig::default().add_trailing_slash(false)).await;
    assert_eq!(
        statuses(&RawPeer(lax.addr)).await,
        [
            ("/engine.io/", 200),
            ("/engine.io", 200),
            ("/engine.iofoo", 200),
            ("/engine.io/foo", 200),
            ("/engine.i", 404),
            ("/elsewhere", 404),
        ]
    );
}

/// An Engine.IO v3 session (`allow_eio3`) gets the initial packet too, in
/// v3 framing (Node sends it whatever the protocol).
#[tokio::test]
async fn a_v3_session_gets_the_initial_packet_in_v3_framing() {
    let server = Server::start(welcome().allow_eio3(true)).await;
    let (status, body) = RawPeer(server.addr)
        .get("/engine.io/?EIO=3&transport=polling&b64=1")
        .await;
    assert_eq!(status, 200);
    assert!(body.ends_with("8:4welcome"), "{body}");
}
