//! The limits on what a peer can make the server hold, each at a small value:
//! sessions, connections, request heads, and packets waiting for a namespace
//! that is still connecting. (Payload size, attachments, JSON depth, the header
//! read timeout and handshakes in progress are in `malformed.rs` and
//! `protocol_errors.rs`.)

mod support;

use std::time::Duration;

use ferrio::engine::EngineConfig;
use ferrio::{ServeConfig, SocketIo, SocketIoConfig};
use http::StatusCode;
use support::{TIMEOUT, TestServer, answer_pings, channel, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn with_engine(f: impl FnOnce(EngineConfig) -> EngineConfig) -> SocketIoConfig {
    SocketIoConfig::default().with_engine(f)
}

/// A raw WebSocket handshake request for a new session.
fn ws_handshake(server: &TestServer) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.path("transport=websocket")
    )
}

/// Reads until a response head is complete; returns it (empty if the
/// connection closed first).
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_server_refuses_handshakes_with_503_until_a_session_ends() {
    let io = SocketIo::with_config(with_engine(|e| e.max_sessions(2)));
    let server = TestServer::start(io).await;
    let first = server.ws().await;
    let _second = server.polling().await;

    let refused = server
        .http("GET", &server.path("transport=polling"), "")
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused.text(),
        r#"{"code":4,"message":"Too many sessions"}"#
    );
    // A WebSocket handshake is refused before the upgrade, with the same answer.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(ws_handshake(&server).as_bytes())
        .await
        .unwrap();
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert_eq!(server.io.engine().session_count(), 2);

    first.close().await;
    let engine = server.io.engine().clone();
    eventually("the WebSocket session ends", || engine.session_count() == 1).await;
    let mut third = server.ws().await;
    third.connect("/").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listener_at_max_connections_accepts_once_one_closes() {
    let io = SocketIo::new();
    io.on_connection(|socket| async move { answer_pings(&socket) });
    let server = TestServer::start_with(io, ServeConfig::default().max_connections(3)).await;
    // Two WebSocket connections (they keep their place after the upgrade) and
    // an idle TCP connection.
    let (mut a, _) = server.connected("/").await;
    let (b, _) = server.connected("/").await;
    let idle = TcpStream::connect(server.addr).await.unwrap();

    // The fourth connects (the kernel's backlog) but is not served...
    let mut waiting = TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        server.path("transport=polling")
    );
    waiting.write_all(request.as_bytes()).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut byte)).await;
    assert!(early.is_err(), "served while at the limit: {early:?}");
    assert!(
        a.round_trip("/", 1).await.is_empty(),
        "the others still are"
    );

    // ... until one of the three goes.
    b.close().await;
    let head = tokio::time::timeout(TIMEOUT, read_head(&mut waiting))
        .await
        .expect("served once a place is free");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    drop(idle);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_head_over_max_header_bytes_gets_431() {
    let server = TestServer::start_with(
        SocketIo::new(),
        ServeConfig::default().max_header_bytes(16 * 1024),
    )
    .await;
    for (size, expected) in [(8 * 1024, "HTTP/1.1 200"), (20 * 1024, "HTTP/1.1 431")] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            server.path("transport=polling"),
            "a".repeat(size)
        );
        // The server may answer and close before reading all of a big head.
        let _ = stream.write_all(request.as_bytes()).await;
        let head = tokio::time::timeout(TIMEOUT, read_head(&mut stream))
            .await
            .unwrap();
        assert!(head.starts_with(expected), "{size} bytes: {head}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn packets_for_a_connecting_namespace_are_bounded() {
    let io = SocketIo::with_config(SocketIoConfig::default().max_pending_packets(4));
    let (seen, mut events) = channel::<String>();
    let (gate_tx, gate) = tokio::sync::watch::channel(false);
    // Middleware that waits for the test to open the gate.
    io.use_middleware(move |_| {
        let mut gate = gate.clone();
        async move {
            let _ = gate.wait_for(|open| *open).await;
            Ok(())
        }
    });
    io.on_connection(move |socket| {
        let seen = seen.clone();
        async move {
            socket.on("e", move |_, event| {
                let seen = seen.clone();
                async move {
                    let _ = seen.send(event.arg::<String>(0).unwrap());
                }
            });
        }
    });
    let server = TestServer::start(io).await;

    // Up to the limit, the packets wait and are handled in order.
    let mut patient = server.ws().await;
    patient.send("40").await;
    for i in 0..4 {
        patient.send(&format!(r#"42["e","{i}"]"#)).await;
    }
    // One more, on another connection, closes it.
    let mut eager = server.ws().await;
    eager.send("40").await;
    for i in 0..5 {
        eager.send(&format!(r#"42["e","x{i}"]"#)).await;
    }
    eager.expect_closed().await;

    gate_tx.send(true).unwrap();
    let reply = patient.recv_packet().await;
    assert_eq!(reply.kind, 0, "CONNECT reply: {reply:?}");
    for i in 0..4 {
        assert_eq!(events.next().await, i.to_string());
    }
    assert!(events.try_next().is_none());
}
