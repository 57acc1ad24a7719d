//! Node's server hooks and API in ferrio (issue 16): `new_namespace`, the
//! adapter's room events, the socket-level upgrade event, async dynamic
//! namespaces, `send`, the listener API (`prepend_any`, `listeners_any`,
//! `off_any`, `remove_all_listeners`, `listeners`, `event_names`),
//! `io.close()`, `fetch_sockets`, `RemoteSocket::timeout`, the cleanup of
//! empty children; and the D-items only a ferrio server can show: the connect
//! timeout with middleware in flight (D11), no event before the CONNECT reply
//! (D20), no room joined after the end (D4).
//! `node_parity.rs` runs the rest against Node too.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrio::adapter::{
    Adapter, AdapterContext, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions,
    MemoryAdapter, RoomObserver,
};
use ferrio::{
    AckResponses, DisconnectReason, Payload, RemoteSocket, Room, SocketId, SocketIo, SocketIoConfig,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use support::{TIMEOUT, TestServer, WsClient, channel};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as M;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The in-memory adapter, counting how many times an adapter was closed.
struct Counting {
    inner: MemoryAdapter,
    closed: Arc<AtomicUsize>,
}

struct CountingFactory(Arc<AtomicUsize>);

impl AdapterFactory for CountingFactory {
    fn create(&self, ctx: AdapterContext) -> Arc<dyn Adapter> {
        Arc::new(Counting {
            inner: MemoryAdapter::new(&ctx),
            closed: self.0.clone(),
        })
    }
}

impl Adapter for Counting {
    fn close(&self) -> BoxFuture<'_, ()> {
        self.closed.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {})
    }
    fn add_all(&self, id: SocketId, rooms: &[Room]) {
        self.inner.add_all(id, rooms)
    }
    fn del(&self, id: SocketId, room: &Room) {
        self.inner.del(id, room)
    }
    fn del_all(&self, id: SocketId) {
        self.inner.del_all(id)
    }
    fn socket_rooms(&self, id: SocketId) -> Vec<Room> {
        self.inner.socket_rooms(id)
    }
    fn rooms(&self) -> Vec<Room> {
        self.inner.rooms()
    }
    fn broadcast(
        &self,
        packet: ferrio_proto::socketio::Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.broadcast(packet, opts)
    }
    fn broadcast_with_ack(
        &self,
        packet: ferrio_proto::socketio::Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        self.inner.broadcast_with_ack(packet, opts, timeout)
    }
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        self.inner.fetch_sockets(opts)
    }
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.add_sockets(opts, rooms)
    }
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.del_sockets(opts, rooms)
    }
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.disconnect_sockets(opts, close)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn close_stops_the_listener_closes_every_socket_and_the_adapters() {
    let closed = Arc::new(AtomicUsize::new(0));
    let io = SocketIo::with_adapter(SocketIoConfig::default(), CountingFactory(closed.clone()));
    io.of("/admin");
    let (tx, mut reasons) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on_disconnect(move |_, reason| {
                let _ = tx.send(reason);
                async {}
            });
        }
    });
    let server = TestServer::start(io.clone()).await;
    let (mut client, _) = server.connected("/").await;
    tokio::time::timeout(TIMEOUT, io.close())
        .await
        .expect("close resolves");
    assert_eq!(reasons.next().await, DisconnectReason::ServerShuttingDown);
    assert_eq!(closed.load(Ordering::SeqCst), 2, "both adapters closed");
    let refused = TcpStream::connect(server.addr).await;
    assert!(refused.is_err(), "the listener is gone: {refused:?}");
    client.expect_closed().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn new_namespace_is_told_of_each_namespace_made_after_the_main_one() {
    let io = SocketIo::new();
    let (tx, mut made) = channel();
    io.on_new_namespace(move |nsp| {
        let _ = tx.send(nsp.name().to_owned());
    });
    io.of("/");
    io.of("/a");
    io.of("a");
    io.of_pattern(r"^/room-\d+$").unwrap();
    let server = TestServer::start(io.clone()).await;
    assert_eq!(made.next().await, "/a");
    let mut client = server.ws().await;
    client.connect("/room-1").await;
    assert_eq!(made.next().await, "/room-1");
    // `of` on a name a pattern accepts makes a child through it.
    let child = io.of("/room-2");
    assert_eq!(made.next().await, "/room-2");
    assert!(io.namespaces().iter().any(|n| n.name() == "/room-2"));
    drop(child);
    assert!(made.try_next().is_none());
}

/// Records the room events of an adapter.
#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl RoomObserver for Events {
    fn room_created(&self, room: &Room) {
        self.0.lock().unwrap().push(format!("create {room}"));
    }
    fn room_deleted(&self, room: &Room) {
        self.0.lock().unwrap().push(format!("delete {room}"));
    }
    fn room_joined(&self, room: &Room, id: SocketId) {
        self.0.lock().unwrap().push(format!("join {room} {id}"));
    }
    fn room_left(&self, room: &Room, id: SocketId) {
        self.0.lock().unwrap().push(format!("leave {room} {id}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn room_events_come_in_nodes_order() {
    let io = SocketIo::new();
    let events = Arc::new(Events::default());
    assert!(io.sockets().adapter().observe_rooms(events.clone()));
    let (tx, mut left) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.join("r");
            socket.leave("r");
            socket.join("s");
            socket.on_disconnect(move |_, _| {
                let _ = tx.send(());
                async {}
            });
        }
    });
    let server = TestServer::start(io).await;
    let (client, id) = server.connected("/").await;
    client.close().await;
    left.next().await;
    let events = events.0.lock().unwrap().clone();
    let (before, after) = events.split_at(8);
    assert_eq!(
        before,
        [
            format!("create {id}"),
            format!("join {id} {id}"),
            "create r".to_owned(),
            format!("join r {id}"),
            format!("leave r {id}"),
            "delete r".to_owned(),
            "create s".to_owned(),
            format!("join s {id}"),
        ]
    );
    let mut after = after.to_vec();
    after.sort();
    let mut expected = vec![
        format!("leave {id} {id}"),
        format!("delete {id}"),
        format!("leave s {id}"),
        "delete s".to_owned(),
    ];
    expected.sort();
    assert_eq!(after, expected);
}

/// The upgrade listeners are the connection's (Node's `socket.conn.on("upgrade")`):
/// the socket's `remove_all_listeners` leaves them, as Node's
/// `socket.removeAllListeners()` leaves `socket.conn`'s (the Admin UI relies on it).
#[tokio::test(flavor = "multi_thread")]
async fn the_upgrade_to_websocket_is_told_to_the_socket() {
    let io = SocketIo::new();
    let (tx, mut upgraded) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on_upgrade(move |socket| {
                let _ = tx.send(socket.transport());
            });
            socket.on("a", |_, _| async {});
            socket.remove_all_listeners();
            assert!(socket.event_names().is_empty());
        }
    });
    let server = TestServer::start(io).await;
    let client = server.polling().await;
    assert_eq!(server.post(&client, "40").await.text(), "ok");
    assert!(server.poll_packets(&client, 1).await[0].starts_with("40{"));
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket&sid={}",
        server.addr, client.sid
    );
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(url.into_client_request().unwrap(), stream)
        .await
        .unwrap();
    ws.send(M::text("2probe")).await.unwrap();
    let probe = tokio::time::timeout(TIMEOUT, ws.next()).await.unwrap();
    assert_eq!(probe.unwrap().unwrap(), M::text("3probe"));
    ws.send(M::text("5")).await.unwrap();
    assert_eq!(upgraded.next().await, ferrio::TransportKind::WebSocket);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_dynamic_namespace_holds_the_clients_packets_until_it_decides() {
    let io = SocketIo::new();
    let (release, gate) = tokio::sync::watch::channel(false);
    let dynamic = io.of_async_fn(move |name, auth| {
        let mut gate = gate.clone();
        async move {
            let _ = gate.wait_for(|open| *open).await;
            match auth["token"].as_str() {
                Some("ok") => Ok(name.starts_with("/db-")),
                _ => Err(format!("no token for {name}")),
            }
        }
    });
    let (tx, mut heard) = channel();
    dynamic.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on("hello", move |socket, _| {
                let _ = tx.send(socket.namespace().name().to_owned());
                async {}
            });
        }
    });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.send(r#"40/db-1,{"token":"ok"}"#).await;
    client.send(r#"42/db-1,["hello"]"#).await;
    client.send(r#"40/db-2,{"token":"no"}"#).await;
    release.send_replace(true);
    let mut replies = vec![client.recv_text().await, client.recv_text().await];
    replies.sort();
    assert!(replies[0].starts_with("40/db-1,{\"sid\":"), "{replies:?}");
    assert_eq!(replies[1], r#"44/db-2,{"message":"Invalid namespace"}"#);
    assert_eq!(
        heard.next().await,
        "/db-1",
        "the waiting packet was delivered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emptied_child_closes_its_adapter_with_cleanup_on() {
    let closed = Arc::new(AtomicUsize::new(0));
    let io = SocketIo::with_adapter(
        SocketIoConfig::default().cleanup_empty_child_namespaces(true),
        CountingFactory(closed.clone()),
    );
    io.of_pattern(r"^/c-\d+$").unwrap();
    let server = TestServer::start(io.clone()).await;
    let mut client = server.ws().await;
    client.connect("/c-1").await;
    client.send("41/c-1,").await;
    support::eventually("the child's adapter closed", || {
        closed.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(io.namespaces().iter().all(|n| n.name() != "/c-1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn send_is_a_message_event_and_fetch_sockets_and_remote_timeouts_work() {
    let io = SocketIo::new();
    io.on_connection(|socket| async move {
        socket.on("message", |socket, event| async move {
            let text: String = event.arg(0).unwrap_or_default();
            let _ = socket.send(&format!("back:{text}"));
        });
    });
    let server = TestServer::start(io.clone()).await;
    let (mut client, id) = server.connected("/").await;
    client.emit("/", None, "message", &[json!("hi")]).await;
    assert_eq!(client.recv_text().await, r#"42["message","back:hi"]"#);
    io.send(&"all").unwrap();
    assert_eq!(client.recv_text().await, r#"42["message","all"]"#);

    let sockets = io.fetch_sockets().await.unwrap();
    assert_eq!(sockets.len(), 1);
    assert_eq!(sockets[0].id.as_str(), id);
    let remote = sockets[0].clone();
    let asked = tokio::spawn(async move {
        remote
            .timeout(Duration::from_secs(5))
            .emit_with_ack("q", &1)
            .await
    });
    let (packet, name, _) = client.recv_event().await;
    assert_eq!(name, "q");
    client.ack("/", packet.id.unwrap(), &[json!("a")]).await;
    let answers = asked.await.unwrap().unwrap();
    assert_eq!(answers.responses.len(), 1);
    assert_eq!(answers.responses[0].to_value(0), Some(json!("a")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_listener_api_lists_prepends_and_removes() {
    let io = SocketIo::new();
    let (tx, mut log) = channel::<String>();
    let (ids_tx, mut ids) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        let ids_tx = ids_tx.clone();
        async move {
            let t = tx.clone();
            let a1 = socket.on("a", move |_, _| {
                let _ = t.send("a1".into());
                async {}
            });
            let t = tx.clone();
            let a2 = socket.on("a", move |_, _| {
                let _ = t.send("a2".into());
                async {}
            });
            socket.once("b", |_, _| async {});
            let t = tx.clone();
            let any = socket.on_any(move |_, e| {
                let _ = t.send(format!("any:{}", e.name()));
            });
            let t = tx.clone();
            let first = socket.prepend_any(move |_, e| {
                let _ = t.send(format!("first:{}", e.name()));
            });
            let out = socket.on_any_outgoing(|_, _, _| {});
            let out_first = socket.prepend_any_outgoing(|_, _, _| {});
            assert_eq!(socket.listeners("a"), [a1, a2]);
            assert_eq!(socket.event_names(), ["a", "b"]);
            assert_eq!(socket.listeners_any(), [first, any]);
            assert_eq!(socket.listeners_any_outgoing(), [out_first, out]);
            let _ = ids_tx.send(());
            let t = tx.clone();
            socket.on("strip", move |socket, _| {
                socket.off_any_outgoing();
                assert!(socket.listeners_any_outgoing().is_empty());
                socket.off_any();
                socket.remove_all_listeners();
                assert!(socket.event_names().is_empty());
                let _ = t.send("stripped".into());
                async {}
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut client, _) = server.connected("/").await;
    ids.next().await;
    client.emit("/", None, "a", &[]).await;
    for expected in ["first:a", "any:a", "a1", "a2"] {
        assert_eq!(log.next().await, expected);
    }
    client.emit("/", None, "strip", &[]).await;
    assert_eq!(log.next().await, "first:strip");
    assert_eq!(log.next().await, "any:strip");
    assert_eq!(log.next().await, "stripped");
    client.emit("/", None, "a", &[]).await;
    // Nothing can say "no listener ran" sooner: give it the time to.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(log.try_next().is_none(), "nothing listens any more");
}

/// D11: at the connect timeout, a connection with no namespace is closed,
/// even while a connection middleware still runs (Node checks
/// `nsps.size === 0` only).
#[tokio::test(flavor = "multi_thread")]
async fn the_connect_timeout_closes_while_middleware_runs() {
    let io = SocketIo::with_config(
        SocketIoConfig::default().connect_timeout(Duration::from_millis(300)),
    );
    io.use_middleware(|_| std::future::pending());
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.send("40").await;
    client.expect_closed().await;
    support::eventually("the session gone", || {
        server.io.engine().session_count() == 0
    })
    .await;
}

/// D20: with broadcasts running on other threads, the first packet a client
/// gets on a namespace is the CONNECT reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_event_precedes_the_connect_reply() {
    let io = SocketIo::new();
    let server = TestServer::start(io.clone()).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut broadcasters = Vec::new();
    for _ in 0..2 {
        let (io, stop) = (io.clone(), stop.clone());
        broadcasters.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let _ = io.emit("tick", &());
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut clients: Vec<WsClient> = Vec::new();
    for _ in 0..200 {
        let mut client = server.ws().await;
        client.send("40").await;
        let first = client.recv_text().await;
        assert!(first.starts_with("40{"), "first packet {first:?}");
        clients.push(client);
        if clients.len() > 20 {
            clients.remove(0);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for b in broadcasters {
        b.await.unwrap();
    }
}

/// D4: a join after the socket left (an async handler after an `.await`)
/// adds no room.
#[tokio::test(flavor = "multi_thread")]
async fn a_join_after_the_end_adds_no_room() {
    let io = SocketIo::new();
    let (tx, mut done) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let tx = tx.clone();
            socket.on("later", move |socket, _| {
                let tx = tx.clone();
                async move {
                    while socket.connected() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    socket.join("stale");
                    let _ = tx.send(socket.namespace().adapter().rooms());
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut client, _) = server.connected("/").await;
    client.emit("/", None, "later", &[]).await;
    client.send("41").await;
    assert_eq!(done.next().await, Vec::<Room>::new());
}

/// A broadcast made while the CONNECT reply is being sent (here, while an
/// engine observer told of that send holds the connecting thread) reaches
/// the socket after the reply: the client knows it is connected by then, so
/// a broadcast skipping it would be lost for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_during_the_connect_reply_is_not_lost() {
    struct SlowFirstSend {
        in_window: std::sync::mpsc::Sender<()>,
        once: std::sync::atomic::AtomicBool,
    }
    impl ferrio::EngineObserver for SlowFirstSend {
        fn sent(&self, _: &ferrio_engine::Session, _: usize, _: usize) {
            if !self.once.swap(true, Ordering::AcqRel) {
                let _ = self.in_window.send(());
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    let io = SocketIo::new();
    let (in_window, window) = std::sync::mpsc::channel();
    io.observe_engine(Arc::new(SlowFirstSend {
        in_window,
        once: std::sync::atomic::AtomicBool::new(false),
    }));
    let server = TestServer::start(io.clone()).await;
    let mut client = server.ws().await;
    client.send("40").await;
    let broadcaster = tokio::task::spawn_blocking(move || {
        window.recv().expect("the reply is being sent");
        io.emit("during", &()).unwrap();
    });
    let first = client.recv_text().await;
    assert!(first.starts_with("40{"), "first packet {first:?}");
    assert_eq!(client.recv_text().await, r#"42["during"]"#);
    broadcaster.await.unwrap();
}
