//! The msgpack parser (`SocketIoConfig::parser(Parser::MsgPack)`) at the edges,
//! with raw clients: malformed MessagePack closes the offending connection
//! with a reason while the server and its other clients go on, and a client
//! with the other parser is turned away as Node's server turns it away (the
//! same raw exchange is run against socket.io 4.8 with
//! `socket.io-msgpack-parser`, `interop/socketio/reference-server.mjs`).
//!
//! The interop suites run the official clients: `socket.io-client` with the
//! msgpack parser in `interop_socketio.rs`, python-socketio in
//! `interop_python.rs`.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio::{DisconnectReason, Parser, Socket, SocketIo, SocketIoConfig};
use ferrio_proto::socketio::msgpack;
use ferrio_proto::socketio::{DecoderConfig, Packet, PacketKind, Payload};
use ferrio_test_support::node;
use serde_json::{Value, json};
use support::{Frame, TIMEOUT, TestServer, WsClient, channel};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A msgpack packet from a JSON value of the map (what a test sends).
fn packet(value: Value) -> Vec<u8> {
    msgpack::encode_value(&value).unwrap()
}

/// Reads a binary message as a msgpack packet.
fn read(bytes: &[u8]) -> Packet<Payload> {
    msgpack::decode_packet(&Bytes::copy_from_slice(bytes), &DecoderConfig::default())
        .unwrap_or_else(|e| panic!("not a msgpack packet ({e}): {bytes:02x?}"))
}

/// A WebSocket client of the server at `addr`, its open packet read.
async fn ws(addr: SocketAddr) -> WsClient {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    WsClient::open(addr, url.into_client_request().unwrap()).await
}

/// Joins `/` with the msgpack parser; returns the socket id.
async fn join(client: &mut WsClient) -> String {
    client
        .send_binary(&packet(json!({"type": 0, "nsp": "/"})))
        .await;
    let reply = read(&client.recv_binary().await);
    assert_eq!(reply.kind, PacketKind::Connect, "{reply:?}");
    let data = reply.data.and_then(|d| d.to_value()).unwrap_or_default();
    data["sid"].as_str().expect("a sid").to_owned()
}

/// Emits `ping` with ack `id` and waits for the ack, `["pong", n]`.
async fn round_trip(client: &mut WsClient, id: u64, n: u64) {
    let ping = json!({"type": 2, "nsp": "/", "data": ["ping", n], "id": id});
    client.send_binary(&packet(ping)).await;
    let ack = read(&client.recv_binary().await);
    assert_eq!((ack.kind, ack.id), (PacketKind::Ack, Some(id)), "{ack:?}");
    assert_eq!(
        ack.data.and_then(|d| d.to_value()),
        Some(json!(["pong", n]))
    );
}

/// A msgpack server answering `ping` with `["pong", n]`, and telling why
/// each socket left.
async fn server() -> (TestServer, support::Rx<(String, DisconnectReason)>) {
    let io = SocketIo::with_config(
        SocketIoConfig::default()
            .with_engine(|e| e.ping_interval(Duration::from_secs(2)))
            .parser(Parser::MsgPack),
    );
    let (tx, left) = channel();
    io.of("/").on_connection(move |socket: Arc<Socket>| {
        socket.on("ping", |_socket, event| async move {
            let n: u64 = event.arg(0).unwrap_or_default();
            let _ = event.reply(&("pong", n));
        });
        let tx = tx.clone();
        socket.on_disconnect(move |socket, reason| {
            let _ = tx.send((socket.id().as_str().to_owned(), reason));
            async {}
        });
        async {}
    });
    (TestServer::start(io).await, left)
}

/// Everything a peer could send that is no msgpack packet.
fn malformed() -> Vec<(&'static str, Frame)> {
    let event = packet(json!({"type": 2, "nsp": "/", "data": ["ping", 1]}));
    let mut bomb = packet(json!({"type": 2, "nsp": "/"}));
    // The map says 2 entries: make it 3, the last `data` 10 000 arrays deep.
    bomb[0] = 0x83;
    bomb.extend_from_slice(b"\xa4data");
    bomb.extend(std::iter::repeat_n(0x91, 10_000));
    bomb.push(0);
    let mut trailing = event.clone();
    trailing.push(0);
    let bin = |bytes: Vec<u8>| Frame::Binary(bytes);
    vec![
        ("the never-used marker c1", bin(vec![0xc1])),
        ("an empty message", bin(Vec::new())),
        ("a truncated packet", bin(event[..event.len() - 3].to_vec())),
        ("trailing bytes", bin(trailing)),
        (
            "a map of 2^32 - 1 entries, 1 byte long",
            bin(b"\xdf\xff\xff\xff\xff".to_vec()),
        ),
        (
            "a string of 4 GiB announced",
            bin(b"\xdb\xff\xff\xff\xff".to_vec()),
        ),
        ("nesting 10 000 deep", bin(bomb)),
        (
            "an array, not a map",
            bin(packet(json!([2, "/", ["ping"]]))),
        ),
        (
            "type 5",
            bin(packet(json!({"type": 5, "nsp": "/", "data": ["a"]}))),
        ),
        (
            "no namespace",
            bin(packet(json!({"type": 2, "data": ["ping", 1]}))),
        ),
        (
            "an id that is a string",
            bin(packet(
                json!({"type": 2, "nsp": "/", "data": ["ping", 1], "id": "1"}),
            )),
        ),
        (
            "an event that is no array",
            bin(packet(json!({"type": 2, "nsp": "/", "data": {"a": 1}}))),
        ),
        (
            "a text packet of the default parser",
            Frame::Text(r#"42["ping",1]"#.into()),
        ),
    ]
}

/// Each malformed message closes its connection: the socket on it leaves with
/// "forced close" (as for a malformed text packet, and in Node), nothing panics, and a
/// client on another connection keeps its acked round trips, before, between
/// and after; new clients still join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_msgpack_closes_that_connection_and_nothing_else() {
    let (server, mut left) = server().await;
    let mut healthy = ws(server.addr).await;
    join(&mut healthy).await;
    let mut n = 0;
    round_trip(&mut healthy, n, n).await;
    for (case, frame) in malformed() {
        let mut bad = ws(server.addr).await;
        let sid = join(&mut bad).await;
        match frame {
            Frame::Binary(bytes) => bad.send_binary(&bytes).await,
            Frame::Text(text) => bad.send(&format!("4{text}")).await,
        }
        bad.expect_closed().await;
        let (gone, reason) = left.next().await;
        assert_eq!(gone, sid, "{case}: another socket left");
        assert_eq!(reason, DisconnectReason::ForcedClose, "{case}");
        n += 1;
        round_trip(&mut healthy, n, n).await;
    }
    // An ACK without an id is ignored, as Node's socket ignores it ("bad ack").
    healthy
        .send_binary(&packet(json!({"type": 3, "nsp": "/", "data": [1]})))
        .await;
    n += 1;
    round_trip(&mut healthy, n, n).await;
    let mut late = ws(server.addr).await;
    join(&mut late).await;
    round_trip(&mut late, 7, 7).await;
    assert_eq!(
        server.io.engine().session_count(),
        2,
        "only the good ones are left"
    );
    server.shutdown().await;
}

/// The reason a socket leaves on malformed msgpack is the one socket.io 4.8
/// with the msgpack parser gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_msgpack_ends_the_socket_with_nodes_reason() {
    let (mut node, node_addr) = node_server(Parser::MsgPack);
    let (server, mut left) = server().await;
    for (case, frame) in malformed().into_iter().take(4) {
        let Frame::Binary(bytes) = frame else {
            continue;
        };
        let mut on_node = ws(node_addr).await;
        let sid = join(&mut on_node).await;
        on_node.send_binary(&bytes).await;
        on_node.expect_closed().await;
        let line = tokio::task::block_in_place(|| node.wait_for_event("disconnect", TIMEOUT));
        assert_eq!(
            node::json_field(&line, "id"),
            Some(sid.as_str()),
            "{case}: {line}"
        );
        let node_reason = node::json_field(&line, "reason")
            .unwrap_or_default()
            .to_owned();

        let mut on_ferrio = ws(server.addr).await;
        join(&mut on_ferrio).await;
        on_ferrio.send_binary(&bytes).await;
        on_ferrio.expect_closed().await;
        let (_, reason) = left.next().await;
        assert_eq!(reason.to_string(), node_reason, "{case}");
    }
    node.kill();
    server.shutdown().await;
}

/// Binary data in nested arguments goes inline, both ways, and a text-free
/// exchange needs no attachment: one binary message per packet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_arguments_travel_inline() {
    let io = SocketIo::with_config(SocketIoConfig::default().parser(Parser::MsgPack));
    io.of("/").on_connection(|socket: Arc<Socket>| {
        socket.on("upload", |socket, event| async move {
            let _ = socket.emit_args("upload-back", event.args().clone());
        });
        async {}
    });
    let server = TestServer::start(io).await;
    let mut client = ws(server.addr).await;
    join(&mut client).await;
    let arg = Payload::Object(vec![
        ("file".into(), Bytes::from_static(&[0, 1, 255]).into()),
        (
            "parts".into(),
            Payload::Array(vec![json!(1).into(), Bytes::from_static(b"x").into()]),
        ),
    ]);
    let data = Payload::Array(vec![json!("upload").into(), arg.clone()]);
    let mut out = Vec::new();
    msgpack::write_packet(&Packet::new(PacketKind::Event, "/", Some(data)), &mut out).unwrap();
    client.send_binary(&out).await;
    let back = read(&client.recv_binary().await);
    assert_eq!(back.kind, PacketKind::Event);
    assert_eq!(
        back.data,
        Some(Payload::Array(vec![json!("upload-back").into(), arg]))
    );
    server.shutdown().await;
}

// ------------------------------------------------------------ parser mismatch

/// socket.io 4.8 (Node) with the given parser, on a port of its own.
fn node_server(parser: Parser) -> (node::NodeProcess, SocketAddr) {
    node::ensure_npm_deps();
    let mut process = node::spawn_node(
        "socketio/reference-server.mjs",
        &[
            "--port",
            "0",
            "--ping-interval",
            "2000",
            "--ping-timeout",
            "2000",
            "--parser",
            parser.name(),
        ],
    );
    let port = process.wait_for_port(TIMEOUT);
    (process, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// ferrio with the given parser.
async fn ferrio_server(parser: Parser) -> TestServer {
    let io = SocketIo::with_config(SocketIoConfig::default().parser(parser));
    io.of("/").on_connection(|_socket: Arc<Socket>| async {});
    TestServer::start(io).await
}

/// What a client with the other parser sees: its CONNECT gets no reply, the
/// connection is closed. `connect` is its CONNECT in its own format.
async fn mismatched_connect(addr: SocketAddr, connect: Frame) -> Vec<Frame> {
    let mut client = ws(addr).await;
    match connect {
        Frame::Text(text) => client.send(&text).await,
        Frame::Binary(bytes) => client.send_binary(&bytes).await,
    }
    let mut seen = Vec::new();
    while let Some(frame) = client.next_frame().await {
        seen.push(frame);
    }
    seen
}

/// A client of the default parser on a msgpack server: its text CONNECT is
/// refused and the connection closed, on ferrio as on Node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_parser_client_on_a_msgpack_server_is_closed_as_by_node() {
    let connect = Frame::Text("40".into());
    let (mut node, node_addr) = node_server(Parser::MsgPack);
    let on_node = mismatched_connect(node_addr, connect.clone()).await;
    node.kill();
    let server = ferrio_server(Parser::MsgPack).await;
    let on_ferrio = mismatched_connect(server.addr, connect).await;
    assert_eq!(on_node, Vec::<Frame>::new(), "Node: closed, nothing sent");
    assert_eq!(on_ferrio, on_node, "ferrio as Node");
    server.shutdown().await;
}

/// A msgpack client on a server of the default parser: the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_msgpack_client_on_a_default_parser_server_is_closed_as_by_node() {
    let connect = Frame::Binary(packet(json!({"type": 0, "nsp": "/"})));
    let (mut node, node_addr) = node_server(Parser::Default);
    let on_node = mismatched_connect(node_addr, connect.clone()).await;
    node.kill();
    let server = ferrio_server(Parser::Default).await;
    let on_ferrio = mismatched_connect(server.addr, connect).await;
    assert_eq!(on_node, Vec::<Frame>::new(), "Node: closed, nothing sent");
    assert_eq!(on_ferrio, on_node, "ferrio as Node");
    server.shutdown().await;
}
