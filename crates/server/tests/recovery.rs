//! Connection state recovery on the wire (CLUSTER_AND_RECOVERY.md §3): which
//! packets get an offset, the CONNECT reply's `pid`, the missed packets
//! written before it, every refusal, every disconnect reason, and
//! `skip_middlewares`. A raw client reads the frames, so the order is checked
//! as it is sent.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrio::{DisconnectReason, RecoveryConfig, Room, SocketId, SocketIo, SocketIoConfig};
use serde_json::{Value, json};
use support::{Bin, Rx, TestServer, WsClient, answer_pings, channel};

/// What a connection handler saw of its socket.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    id: String,
    recovered: bool,
    rooms: Vec<String>,
    data: Value,
}

fn sorted(rooms: Vec<Room>) -> Vec<String> {
    let mut rooms: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
    rooms.sort();
    rooms
}

/// A server with recovery on whose new sockets join `r` and get data, and
/// that reports each connection and each disconnect reason.
fn recording(config: SocketIoConfig) -> (SocketIo, Rx<Seen>, Rx<DisconnectReason>) {
    let io = SocketIo::with_config(config);
    let (seen_tx, seen) = channel();
    let (ended_tx, ended) = channel();
    io.on_connection(move |socket| {
        let seen_tx = seen_tx.clone();
        let ended_tx = ended_tx.clone();
        async move {
            answer_pings(&socket);
            if !socket.recovered() {
                socket.join("r");
                socket.set_data(&json!({"user": "u1"})).unwrap();
            }
            socket.on("leave", |socket, _| async move { socket.disconnect() });
            socket.on_disconnect(move |_, reason| {
                let ended_tx = ended_tx.clone();
                async move {
                    let _ = ended_tx.send(reason);
                }
            });
            let _ = seen_tx.send(Seen {
                id: socket.id().to_string(),
                recovered: socket.recovered(),
                rooms: sorted(socket.rooms()),
                data: socket.data_value(),
            });
        }
    });
    (io, seen, ended)
}

fn with_recovery(recovery: RecoveryConfig) -> SocketIoConfig {
    SocketIoConfig::default().connection_state_recovery(recovery)
}

/// Reads up to the CONNECT reply: the events before it (name and
/// arguments), and the reply's data.
async fn until_connect(client: &mut WsClient) -> (Vec<(String, Vec<Value>)>, Value) {
    let mut events = Vec::new();
    loop {
        let mut packet = client.recv_packet().await;
        match packet.kind {
            0 => return (events, packet.data.expect("a CONNECT reply has data")),
            2 | 5 => {
                client.fill_attachments(&mut packet).await;
                let mut items = packet.data.unwrap().as_array().unwrap().clone();
                let name = items.remove(0).as_str().unwrap().to_owned();
                events.push((name, items));
            }
            other => panic!("unexpected packet {other} before the CONNECT reply: {packet:?}"),
        }
    }
}

/// A session as its client knows it: socket id, private id, last offset.
#[derive(Debug, Clone)]
struct Known {
    sid: String,
    pid: String,
    offset: String,
}

/// Connects, reads one broadcast to learn an offset, and returns the client.
async fn connect_and_learn_offset(server: &TestServer) -> (WsClient, Known) {
    let mut client = server.ws().await;
    client.send("40").await;
    let (before, reply) = until_connect(&mut client).await;
    assert!(before.is_empty());
    let sid = reply["sid"].as_str().unwrap().to_owned();
    let pid = reply["pid"]
        .as_str()
        .expect("a pid with recovery on")
        .to_owned();
    assert_eq!(reply.as_object().unwrap().len(), 2, "{reply}");
    assert_eq!(pid.len(), 20);
    assert_ne!(pid, sid);
    server.io.to(sid.as_str()).emit("hello", &1).unwrap();
    let (_, name, args) = client.recv_event().await;
    assert_eq!(name, "hello");
    assert_eq!(args.len(), 2, "{args:?}");
    let offset = args[1].as_str().expect("the offset is a string").to_owned();
    (client, Known { sid, pid, offset })
}

/// Connects, learns an offset, then closes the transport; returns what the
/// client knows once the server saw the socket leave.
async fn lose_transport(
    server: &TestServer,
    seen: &mut Rx<Seen>,
    ended: &mut Rx<DisconnectReason>,
) -> Known {
    let (client, known) = connect_and_learn_offset(server).await;
    assert!(!seen.next().await.recovered);
    client.close().await;
    assert_eq!(ended.next().await, DisconnectReason::TransportClose);
    known
}

/// Comes back with `auth`; returns the events before the CONNECT reply, the
/// reply, and the client.
async fn come_back(
    server: &TestServer,
    auth: Value,
) -> (WsClient, Vec<(String, Vec<Value>)>, Value) {
    let mut client = server.ws().await;
    client.send(&format!("40{auth}")).await;
    let (missed, reply) = until_connect(&mut client).await;
    (client, missed, reply)
}

fn resume(known: &Known) -> Value {
    json!({"pid": known.pid, "offset": known.offset})
}

/// Asserts a fresh session: a new id and pid, nothing replayed.
fn assert_fresh(known: &Known, missed: &[(String, Vec<Value>)], reply: &Value, seen: &Seen) {
    assert!(missed.is_empty(), "nothing replayed: {missed:?}");
    assert_ne!(reply["sid"], known.sid.as_str());
    assert_ne!(reply["pid"], known.pid.as_str());
    assert_eq!(reply["pid"].as_str().map(str::len), Some(20));
    assert!(!seen.recovered);
    assert_eq!(seen.id, reply["sid"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_lost_its_transport_gets_back_its_id_rooms_data_and_missed_events_before_the_reply()
 {
    let (io, mut seen, mut ended) = recording(with_recovery(RecoveryConfig::default()));
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;

    let io = &server.io;
    io.emit("m1", &1).unwrap();
    io.to("r").emit("m2", &2).unwrap();
    io.to("elsewhere").emit("not-mine", &0).unwrap();
    io.to(known.sid.as_str()).emit("m3", &3).unwrap();
    io.except("r").emit("not-mine", &0).unwrap();
    io.of("/")
        .broadcast()
        .volatile()
        .emit("not-logged", &0)
        .unwrap();
    io.emit("m4", &Bin(vec![1, 2, 3])).unwrap();

    let (mut client, missed, reply) = come_back(&server, resume(&known)).await;
    let names: Vec<&str> = missed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["m1", "m2", "m3", "m4"],
        "in order, before the reply"
    );
    assert_eq!(missed[0].1[0], 1);
    assert_eq!(missed[3].1[0], json!({"_bytes": [1, 2, 3]}));
    let offsets: Vec<&str> = missed.iter().map(|(_, a)| a[1].as_str().unwrap()).collect();
    for pair in offsets.windows(2) {
        assert_ne!(pair[0], pair[1]);
    }
    assert_eq!(reply, json!({"sid": known.sid, "pid": known.pid}));

    let back = seen.next().await;
    assert_eq!(
        back,
        Seen {
            id: known.sid.clone(),
            recovered: true,
            rooms: sorted(vec![Room::from("r"), Room::from(known.sid.as_str())]),
            data: json!({"user": "u1"}),
        }
    );

    // Live again, in its rooms, with offsets.
    io.to("r").emit("live", &5).unwrap();
    let (_, name, args) = client.recv_event().await;
    assert_eq!(name, "live");
    assert!(args[1].is_string());
    client.round_trip("/", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_events_without_ack_and_not_volatile_get_an_offset_as_their_last_argument() {
    let (io, mut seen, _ended) = recording(with_recovery(RecoveryConfig::default()));
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.send("40").await;
    let (_, reply) = until_connect(&mut client).await;
    let id = SocketId::parse(reply["sid"].as_str().unwrap()).unwrap();
    seen.next().await;
    let socket = server.io.of("/").get_socket(id).unwrap();

    socket.emit("direct", &1).unwrap();
    let text = client.recv_text().await;
    assert!(text.starts_with(r#"42["direct",1,""#), "{text}");

    socket.volatile().emit("volatile", &2).unwrap();
    assert_eq!(client.recv_text().await, r#"42["volatile",2]"#);

    server
        .io
        .of("/")
        .broadcast()
        .volatile()
        .emit("broadcast-volatile", &3)
        .unwrap();
    assert_eq!(client.recv_text().await, r#"42["broadcast-volatile",3]"#);

    server.io.emit("broadcast", &4).unwrap();
    let text = client.recv_text().await;
    assert!(text.starts_with(r#"42["broadcast",4,""#), "{text}");

    let asked = {
        let socket = socket.clone();
        tokio::spawn(async move { socket.emit_with_ack("ask", &5).await })
    };
    let packet = client.recv_packet().await;
    assert_eq!(
        (packet.kind, packet.data.clone()),
        (2, Some(json!(["ask", 5])))
    );
    client.ack("/", packet.id.unwrap(), &[json!("ok")]).await;
    asked.await.unwrap().unwrap();

    socket.emit("bin", &Bin(vec![9])).unwrap();
    let text = client.recv_text().await;
    assert!(
        text.starts_with(r#"451-["bin",{"_placeholder":true,"num":0},""#),
        "the offset is the last argument of a binary event too: {text}"
    );
    assert_eq!(client.recv_binary().await, [9]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_recovery_there_is_no_pid_and_no_offset() {
    let (io, _seen, _ended) = recording(SocketIoConfig::default());
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    let sid = client.connect("/").await;
    server.io.emit("a", &1).unwrap();
    assert_eq!(client.recv_text().await, r#"42["a",1]"#);
    let socket = server
        .io
        .of("/")
        .get_socket(SocketId::parse(&sid).unwrap())
        .unwrap();
    socket.emit("b", &2).unwrap();
    assert_eq!(client.recv_text().await, r#"42["b",2]"#);
    assert!(!socket.recovered());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_pid_a_malformed_offset_or_an_offset_not_a_string_gives_a_fresh_session() {
    let (io, mut seen, mut ended) = recording(with_recovery(RecoveryConfig::default()));
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    server.io.emit("missed", &1).unwrap();

    let attempts = [
        json!({"pid": "AAAAAAAAAAAAAAAAAAAA", "offset": known.offset}),
        json!({"pid": known.pid, "offset": "not an offset"}),
        json!({"pid": known.pid, "offset": 5}),
        json!({"pid": known.pid}),
        json!({"pid": 7, "offset": known.offset}),
    ];
    for auth in attempts {
        let (_client, missed, reply) = come_back(&server, auth.clone()).await;
        assert_fresh(&known, &missed, &reply, &seen.next().await);
    }
    // None of these took the session: it is still there.
    let (_client, missed, reply) = come_back(&server, resume(&known)).await;
    assert_eq!(missed.len(), 1);
    assert_eq!(reply["sid"], known.sid.as_str());
    assert!(seen.next().await.recovered);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_is_taken_by_its_recovery_and_cannot_be_recovered_twice() {
    let (io, mut seen, mut ended) = recording(with_recovery(RecoveryConfig::default()));
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    let (_first, _, reply) = come_back(&server, resume(&known)).await;
    assert_eq!(reply["sid"], known.sid.as_str());
    assert!(seen.next().await.recovered);
    let (_second, missed, reply) = come_back(&server, resume(&known)).await;
    assert_fresh(&known, &missed, &reply, &seen.next().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_gives_a_fresh_session() {
    let recovery = RecoveryConfig::default().max_disconnection_duration(Duration::from_millis(200));
    let (io, mut seen, mut ended) = recording(with_recovery(recovery));
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_client, missed, reply) = come_back(&server, resume(&known)).await;
    assert_fresh(&known, &missed, &reply, &seen.next().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offset_older_than_the_log_gives_a_fresh_session_never_a_partial_replay() {
    let recovery = RecoveryConfig::default().max_logged_packets(3);
    let (io, mut seen, mut ended) = recording(with_recovery(recovery));
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    for i in 0..3 {
        server.io.emit("missed", &i).unwrap();
    }
    let (_client, missed, reply) = come_back(&server, resume(&known)).await;
    assert_fresh(&known, &missed, &reply, &seen.next().await);

    // The byte budget works the same way.
    let recovery = RecoveryConfig::default().max_logged_bytes(1000);
    let (io, mut seen, mut ended) = recording(with_recovery(recovery));
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    server.io.emit("missed", &"x".repeat(1000)).unwrap();
    let (_client, missed, reply) = come_back(&server, resume(&known)).await;
    assert_fresh(&known, &missed, &reply, &seen.next().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn missed_packets_larger_than_the_outbox_give_a_fresh_session() {
    let config =
        with_recovery(RecoveryConfig::default()).with_engine(|e| e.max_buffered_bytes(10_000));
    let (io, mut seen, mut ended) = recording(config);
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    for _ in 0..3 {
        server.io.emit("missed", &"x".repeat(4000)).unwrap();
    }
    let (_client, missed, reply) = come_back(&server, resume(&known)).await;
    assert_fresh(&known, &missed, &reply, &seen.next().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn leaving_on_purpose_is_not_recoverable() {
    let (io, mut seen, mut ended) = recording(with_recovery(RecoveryConfig::default()));
    let server = TestServer::start(io).await;

    // The server disconnects the socket.
    let (mut client, known) = connect_and_learn_offset(&server).await;
    seen.next().await;
    client.emit("/", None, "leave", &[]).await;
    assert_eq!(
        ended.next().await,
        DisconnectReason::ServerNamespaceDisconnect
    );
    client.close().await;
    let (_c, missed, reply) = come_back(&server, resume(&known)).await;
    assert_fresh(&known, &missed, &reply, &seen.next().await);

    // The client leaves the namespace.
    let (mut client, known) = connect_and_learn_offset(&server).await;
    seen.next().await;
    client.send("41").await;
    assert_eq!(
        ended.next().await,
        DisconnectReason::ClientNamespaceDisconnect
    );
    client.close().await;
    let (_c, missed, reply) = come_back(&server, resume(&known)).await;
    assert_fresh(&known, &missed, &reply, &seen.next().await);

    // The client sends Engine.IO garbage ("parse error"). A Socket.IO packet
    // the parser refuses ends with "forced close" instead, recoverable in
    // Node too.
    let (mut client, known) = connect_and_learn_offset(&server).await;
    seen.next().await;
    client.send("x").await;
    assert_eq!(ended.next().await, DisconnectReason::ParseError);
    let (_c, missed, reply) = come_back(&server, resume(&known)).await;
    assert_fresh(&known, &missed, &reply, &seen.next().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ping_timeout_is_recoverable() {
    let config = with_recovery(RecoveryConfig::default()).with_engine(|e| {
        e.ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(200))
    });
    let (io, mut seen, mut ended) = recording(config);
    let server = TestServer::start(io).await;
    let (mut client, known) = connect_and_learn_offset(&server).await;
    seen.next().await;
    client.auto_pong = false;
    client.expect_closed().await;
    assert_eq!(ended.next().await, DisconnectReason::PingTimeout);
    server.io.emit("missed", &1).unwrap();
    let (_c, missed, reply) = come_back(&server, resume(&known)).await;
    assert_eq!(missed.len(), 1);
    assert_eq!(reply["sid"], known.sid.as_str());
    assert!(seen.next().await.recovered);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forced_close_by_the_server_is_recoverable() {
    let (io, mut seen, mut ended) = recording(with_recovery(RecoveryConfig::default()));
    let server = TestServer::start(io).await;
    let (mut client, known) = connect_and_learn_offset(&server).await;
    seen.next().await;
    let session = server
        .io
        .engine()
        .session(SocketId::parse(&client.eio_sid).unwrap())
        .unwrap();
    session.close();
    client.expect_closed().await;
    assert_eq!(ended.next().await, DisconnectReason::ForcedClose);
    let (_c, missed, reply) = come_back(&server, resume(&known)).await;
    assert!(missed.is_empty());
    assert_eq!(reply["sid"], known.sid.as_str());
    assert!(seen.next().await.recovered);
}

/// A server whose connection middleware counts its runs and reports what it
/// saw of the socket.
fn with_middleware(
    skip: bool,
) -> (
    SocketIo,
    Rx<Seen>,
    Rx<Seen>,
    Rx<DisconnectReason>,
    Arc<AtomicUsize>,
) {
    let recovery = RecoveryConfig::default().skip_middlewares(skip);
    let (io, seen, ended) = recording(with_recovery(recovery));
    let runs = Arc::new(AtomicUsize::new(0));
    let (mw_tx, mw_seen) = channel();
    let counter = runs.clone();
    io.of("/").use_middleware(move |socket| {
        counter.fetch_add(1, Ordering::SeqCst);
        let _ = mw_tx.send(Seen {
            id: socket.id().to_string(),
            recovered: socket.recovered(),
            rooms: sorted(socket.rooms()),
            data: socket.data_value(),
        });
        async { Ok(()) }
    });
    (io, mw_seen, seen, ended, runs)
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_middlewares_skips_connection_middleware_on_a_successful_recovery_only() {
    let (io, mut mw, mut seen, mut ended, runs) = with_middleware(true);
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    mw.next().await;
    let (_c, _, reply) = come_back(&server, resume(&known)).await;
    assert_eq!(reply["sid"], known.sid.as_str());
    assert!(seen.next().await.recovered);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "skipped on recovery");

    // A failed recovery runs it.
    let (_c, _, reply) = come_back(&server, json!({"pid": "x", "offset": "1"})).await;
    assert_ne!(reply["sid"], known.sid.as_str());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert!(!mw.next().await.recovered);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_skip_middlewares_the_middleware_sees_the_recovered_socket() {
    let (io, mut mw, mut seen, mut ended, runs) = with_middleware(false);
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    mw.next().await;
    server.io.to("r").emit("missed", &1).unwrap();
    let (_c, missed, reply) = come_back(&server, resume(&known)).await;
    assert_eq!(missed.len(), 1);
    assert_eq!(reply["sid"], known.sid.as_str());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let in_middleware = mw.next().await;
    assert_eq!(
        in_middleware,
        Seen {
            id: known.sid.clone(),
            recovered: true,
            rooms: sorted(vec![Room::from("r"), Room::from(known.sid.as_str())]),
            data: json!({"user": "u1"}),
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_middleware_refusing_a_recovered_socket_leaves_its_rooms() {
    let recovery = RecoveryConfig::default().skip_middlewares(false);
    let (io, mut seen, mut ended) = recording(with_recovery(recovery));
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    io.of("/").use_middleware(move |socket| {
        let refuse = counter.fetch_add(1, Ordering::SeqCst) > 0 && socket.recovered();
        async move {
            match refuse {
                true => Err(ferrio::ConnectError::new("no")),
                false => Ok(()),
            }
        }
    });
    let server = TestServer::start(io).await;
    let known = lose_transport(&server, &mut seen, &mut ended).await;
    let mut client = server.ws().await;
    client.send(&format!("40{}", resume(&known))).await;
    let packet = client.recv_packet().await;
    assert_eq!(packet.kind, 4, "CONNECT_ERROR: {packet:?}");
    let rooms = server.io.of("/").adapter().rooms();
    assert!(
        !rooms.iter().any(|r| **r == *"r" || **r == *known.sid),
        "{rooms:?}"
    );
}
