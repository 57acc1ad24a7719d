//! How sockets end: every disconnect reason as a server `on_disconnect` handler
//! sees it, `disconnecting` before the rooms are left and `disconnect` after,
//! and the connect timeout (§6.3, §6.4).

mod support;

use std::time::Duration;

use ferrio::{AckError, DisconnectReason, EmitError, Room, SocketId, SocketIo, SocketIoConfig};
use support::{Rx, TIMEOUT, TestServer, answer_pings, channel};

/// What the handlers saw of one socket's end.
#[derive(Debug, Clone, PartialEq)]
struct Ended {
    id: String,
    nsp: String,
    reason: DisconnectReason,
    rooms_disconnecting: Vec<Room>,
    rooms_after: Vec<Room>,
    connected_after: bool,
}

/// A server whose sockets (on `/` and `/admin`) join rooms `r1` and `r2` and
/// report their end.
fn recording_io(config: SocketIoConfig) -> (SocketIo, Rx<Ended>) {
    let io = SocketIo::with_config(config);
    let (tx, rx) = channel();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                answer_pings(&socket);
                socket.join(["r1", "r2"]);
                socket.on("leave", |socket, _| async move { socket.disconnect() });
                socket.on("close-all", |socket, _| async move {
                    socket.disconnect_with(true)
                });
                // `disconnecting` sees the rooms; `disconnect` runs after they
                // were left. Both are recorded in one report.
                let (rooms_tx, rooms_rx) = std::sync::mpsc::channel();
                socket.on_disconnecting(move |socket, _reason| {
                    let rooms_tx = rooms_tx.clone();
                    async move {
                        let _ = rooms_tx.send(sorted(socket.rooms()));
                    }
                });
                let rooms_rx = std::sync::Mutex::new(rooms_rx);
                socket.on_disconnect(move |socket, reason| {
                    let tx = tx.clone();
                    let disconnecting = rooms_rx.lock().unwrap().try_recv().unwrap_or_default();
                    async move {
                        let _ = tx.send(Ended {
                            id: socket.id().to_string(),
                            nsp: socket.namespace().name().to_owned(),
                            reason,
                            rooms_disconnecting: disconnecting,
                            rooms_after: socket.rooms(),
                            connected_after: socket.connected(),
                        });
                    }
                });
            }
        });
    }
    (io, rx)
}

fn sorted(mut rooms: Vec<Room>) -> Vec<Room> {
    rooms.sort();
    rooms
}

/// Checks one report: the reason, and the rooms before and after.
fn check(ended: &Ended, id: &str, nsp: &str, reason: DisconnectReason) {
    assert_eq!(
        (ended.id.as_str(), ended.nsp.as_str(), ended.reason),
        (id, nsp, reason)
    );
    let mut expected: Vec<Room> = vec![id.into(), "r1".into(), "r2".into()];
    expected.sort();
    assert_eq!(
        ended.rooms_disconnecting, expected,
        "disconnecting: rooms still there"
    );
    assert!(ended.rooms_after.is_empty(), "disconnect: rooms left");
    assert!(!ended.connected_after);
}

async fn start(config: SocketIoConfig) -> (TestServer, Rx<Ended>) {
    let (io, rx) = recording_io(config);
    (TestServer::start(io).await, rx)
}

fn default_config() -> SocketIoConfig {
    SocketIoConfig::default()
}

#[tokio::test(flavor = "multi_thread")]
async fn transport_close_when_the_client_closes_the_websocket() {
    let (server, mut ended) = start(default_config()).await;
    let (client, id) = server.connected("/").await;
    client.close().await;
    check(
        &ended.next().await,
        &id,
        "/",
        DisconnectReason::TransportClose,
    );

    // Dropping the TCP connection without a close frame is a close too.
    let (client, id) = server.connected("/").await;
    drop(client);
    check(
        &ended.next().await,
        &id,
        "/",
        DisconnectReason::TransportClose,
    );

    // Every namespace of the connection ends with the same reason.
    let mut client = server.ws().await;
    let main = client.connect("/").await;
    let admin = client.connect("/admin").await;
    client.close().await;
    let mut both = [ended.next().await, ended.next().await];
    both.sort_by(|a, b| a.nsp.cmp(&b.nsp));
    check(&both[0], &main, "/", DisconnectReason::TransportClose);
    check(&both[1], &admin, "/admin", DisconnectReason::TransportClose);
    assert_eq!(server.io.of("/").socket_count(), 0);
    assert_eq!(server.io.of("/").adapter().rooms(), Vec::<Room>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn transport_error_when_the_transport_fails() {
    let (server, mut ended) = start(default_config()).await;

    // Two overlapping long-polling GETs: the transport is in error.
    let client = server.polling().await;
    assert_eq!(server.post(&client, "40").await.text(), "ok");
    let reply = server.poll_packets(&client, 1).await;
    let data: serde_json::Value = serde_json::from_str(&reply[0][2..]).unwrap();
    let id = data["sid"].as_str().unwrap().to_owned();
    // Whichever arrives second is refused and ends the session; the parked one
    // is then answered.
    let path = server.path(&format!("transport=polling&sid={}", client.sid));
    let (a, b) = tokio::time::timeout(
        TIMEOUT,
        futures_util::future::join(raw_get(server.addr, &path), raw_get(server.addr, &path)),
    )
    .await
    .expect("both polls answered");
    assert!(
        [a, b].contains(&http::StatusCode::BAD_REQUEST),
        "one poll refused: {a} {b}"
    );
    check(
        &ended.next().await,
        &id,
        "/",
        DisconnectReason::TransportError,
    );

    // A connection reset by the peer (RST, no close frame) is an error as well.
    let (client, id) = server.connected("/").await;
    client.ws.get_ref().set_zero_linger().unwrap();
    drop(client);
    check(
        &ended.next().await,
        &id,
        "/",
        DisconnectReason::TransportError,
    );
}

/// A GET on a fresh connection, returning its status (for a parked poll).
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> http::StatusCode {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header("host", addr.to_string())
        .body(Full::new(bytes::Bytes::new()))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status();
    let _ = res.into_body().collect().await;
    status
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_timeout_when_the_client_does_not_answer_pings() {
    let config = default_config().with_engine(|e| {
        e.ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(200))
    });
    let (server, mut ended) = start(config).await;
    let (mut client, id) = server.connected("/").await;
    assert_eq!(client.open["pingInterval"], 100);
    assert_eq!(client.open["pingTimeout"], 200);

    // A client that answers stays through many pings.
    let (mut alive, _) = server.connected("/").await;
    let mut round = 0;
    while alive.pings < 5 {
        round += 1;
        alive.round_trip("/", round).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    client.auto_pong = false;
    client.expect_closed().await;
    assert!(client.pings >= 1);
    check(&ended.next().await, &id, "/", DisconnectReason::PingTimeout);
    assert!(ended.try_next().is_none(), "the live client stays");
    alive.round_trip("/", 1000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn parse_error_when_the_client_sends_garbage() {
    let (server, mut ended) = start(default_config()).await;
    let (mut client, id) = server.connected("/").await;
    // A Socket.IO packet its parser refuses: "forced close", as in Node
    // (`Client.onerror` closes the connection).
    client.send("42[]").await;
    client.expect_closed().await;
    check(&ended.next().await, &id, "/", DisconnectReason::ForcedClose);

    // Garbage at the Engine.IO level is a parse error.
    let (mut client, id) = server.connected("/").await;
    client.send("x").await;
    client.expect_closed().await;
    check(&ended.next().await, &id, "/", DisconnectReason::ParseError);
}

#[tokio::test(flavor = "multi_thread")]
async fn forced_close_when_the_server_closes_the_engine_session() {
    let (server, mut ended) = start(default_config()).await;
    let mut client = server.ws().await;
    let main = client.connect("/").await;
    let admin = client.connect("/admin").await;
    let session = server
        .io
        .engine()
        .session(SocketId::parse(&client.eio_sid).unwrap())
        .expect("the session is open");
    session.close();
    client.expect_closed().await;
    let mut both = [ended.next().await, ended.next().await];
    both.sort_by(|a, b| a.nsp.cmp(&b.nsp));
    check(&both[0], &main, "/", DisconnectReason::ForcedClose);
    check(&both[1], &admin, "/admin", DisconnectReason::ForcedClose);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_shutting_down_on_io_close() {
    let (server, mut ended) = start(default_config()).await;
    let mut a = server.ws().await;
    let a_main = a.connect("/").await;
    let a_admin = a.connect("/admin").await;
    let (mut b, b_main) = server.connected("/").await;

    server.io.close().await;
    a.expect_closed().await;
    b.expect_closed().await;
    let mut all: Vec<Ended> = vec![ended.next().await, ended.next().await, ended.next().await];
    all.sort_by(|x, y| x.id.cmp(&y.id));
    let mut expected = vec![(a_main, "/"), (a_admin, "/admin"), (b_main, "/")];
    expected.sort();
    for (end, (id, nsp)) in all.iter().zip(&expected) {
        check(end, id, nsp, DisconnectReason::ServerShuttingDown);
    }
    assert_eq!(server.io.engine().session_count(), 0);

    // New sessions are refused: as Node's `io.close()` closes its HTTP
    // server, the listener is gone.
    let refused = tokio::net::TcpStream::connect(server.addr).await;
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_namespace_disconnect_on_a_disconnect_packet() {
    let (server, mut ended) = start(default_config()).await;
    let mut client = server.ws().await;
    let main = client.connect("/").await;
    let admin = client.connect("/admin").await;
    client.send("41/admin,").await;
    check(
        &ended.next().await,
        &admin,
        "/admin",
        DisconnectReason::ClientNamespaceDisconnect,
    );
    client.send("41").await;
    check(
        &ended.next().await,
        &main,
        "/",
        DisconnectReason::ClientNamespaceDisconnect,
    );
    // The connection stays open with no namespace.
    let again = client.connect("/").await;
    client.round_trip("/", 1).await;
    assert_ne!(again, main);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_namespace_disconnect_on_socket_disconnect() {
    let (server, mut ended) = start(default_config()).await;
    let mut client = server.ws().await;
    let main = client.connect("/").await;
    let admin = client.connect("/admin").await;

    client.send(r#"42/admin,["leave"]"#).await;
    assert_eq!(client.recv_text().await, "41/admin,");
    check(
        &ended.next().await,
        &admin,
        "/admin",
        DisconnectReason::ServerNamespaceDisconnect,
    );
    client.round_trip("/", 1).await;

    // `disconnect_with(true)` leaves every namespace (each is told) and closes
    // the connection, as `socket.disconnect(true)` does in Node.
    let admin = client.connect("/admin").await;
    client.send(r#"42["close-all"]"#).await;
    let mut told = Vec::new();
    while let Some(frame) = client.next_frame().await {
        told.push(frame);
    }
    told.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(
        told,
        [
            support::Frame::Text("41".into()),
            support::Frame::Text("41/admin,".into())
        ]
    );
    let mut both = [ended.next().await, ended.next().await];
    both.sort_by(|a, b| a.nsp.cmp(&b.nsp));
    check(
        &both[0],
        &main,
        "/",
        DisconnectReason::ServerNamespaceDisconnect,
    );
    check(
        &both[1],
        &admin,
        "/admin",
        DisconnectReason::ServerNamespaceDisconnect,
    );
    assert_eq!(server.io.engine().session_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disconnected_socket_refuses_emits_and_fails_pending_acks() {
    let io = SocketIo::with_config(default_config());
    let (tx, mut results) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let pending = {
                let socket = socket.clone();
                tokio::spawn(async move { socket.emit_with_ack("question", &()).await })
            };
            let tx2 = tx.clone();
            socket.on_disconnect(move |socket, _| {
                let tx = tx2.clone();
                async move {
                    let emit = socket.emit("late", &1);
                    let _ = tx.send(format!(
                        "{:?}",
                        emit.map_err(|e| matches!(e, EmitError::Disconnected))
                    ));
                }
            });
            let answer = pending.await.unwrap();
            let _ = tx.send(format!(
                "{:?}",
                answer.map_err(|e| e == AckError::Disconnected)
            ));
        }
    });
    let server = TestServer::start(io).await;
    let (mut client, _) = server.connected("/").await;
    let (_, name, _) = client.recv_event().await;
    assert_eq!(name, "question");
    client.send("41").await;
    let mut got = vec![results.next().await, results.next().await];
    got.sort();
    assert_eq!(got, ["Err(true)", "Err(true)"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_that_joins_no_namespace_is_closed_after_the_connect_timeout() {
    let config = default_config().connect_timeout(Duration::from_millis(300));
    let (server, mut ended) = start(config).await;
    let started = tokio::time::Instant::now();
    let mut idle = server.ws().await;
    let (mut joined, _) = server.connected("/").await;
    assert_eq!(idle.next_frame().await, None, "closed without a word");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A connection that joined stays, past the timeout.
    tokio::time::sleep(Duration::from_millis(600)).await;
    joined.round_trip("/", 1).await;
    assert!(ended.try_next().is_none());

    // A refused CONNECT is not a join: closed after the timeout too.
    let mut refused = server.ws().await;
    refused.send("40/nope,").await;
    assert_eq!(
        refused.recv_text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    assert_eq!(refused.next_frame().await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_that_joined_then_left_is_not_closed_by_the_connect_timeout() {
    // Node clears the connect timer on the first join; leaving every namespace
    // later keeps the Engine.IO connection open (§6.4).
    let config = default_config().connect_timeout(Duration::from_millis(300));
    let (server, mut ended) = start(config).await;
    let (mut client, id) = server.connected("/").await;
    client.send("41").await;
    check(
        &ended.next().await,
        &id,
        "/",
        DisconnectReason::ClientNamespaceDisconnect,
    );
    let outcome = client.next_frame_within(Duration::from_millis(900)).await;
    assert!(outcome.is_err(), "still open, nothing sent: {outcome:?}");
    client.connect("/").await;
    client.round_trip("/", 1).await;
}
