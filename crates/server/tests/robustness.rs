//! What a peer cannot make the server hold or do, socket.io layer: binary
//! packets that never complete, the queue of a namespace still connecting in
//! bytes, oversize broadcasts, dynamic namespaces, ghost sockets and
//! acknowledgement waiters (security review findings 4, 6, 7, 9, 11 and 13).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrio::adapter::{
    Adapter, AdapterContext, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions,
    MemoryAdapter,
};
use ferrio::{AckResponses, Payload, RemoteSocket, Room, SocketId, SocketIo, SocketIoConfig};
use support::{TIMEOUT, TestServer, answer_pings, channel, eventually, header};

/// Finding 6: a header announcing 2 attachments, one attachment, then only
/// Engine.IO pongs: the connection is closed with "parse error" once the
/// completion timeout has passed.
#[tokio::test]
async fn an_incomplete_binary_packet_closes_the_connection_after_the_timeout() {
    let timeout = Duration::from_millis(500);
    let io = SocketIo::with_config(SocketIoConfig::default().packet_completion_timeout(timeout));
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
    let server = TestServer::start(io).await;
    let (mut client, _) = server.connected("/").await;
    let text = format!(
        "4{}{}",
        header(5, "/", None, 2),
        r#"["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    client.send(&text).await;
    client.send_binary(&[1; 1000]).await;
    let started = tokio::time::Instant::now();
    // Pongs every 100 ms until the socket leaves: they keep the session
    // alive, and must not keep the packet.
    let reason = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(reason) = reasons.try_next() {
            break reason;
        }
        assert!(started.elapsed() < TIMEOUT, "the socket never left");
        use futures_util::SinkExt;
        let pong = tokio_tungstenite::tungstenite::Message::text("3");
        let _ = client.ws.send(pong).await;
    };
    assert_eq!(reason.as_str(), "parse error");
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout / 2, "{elapsed:?}");
    client.expect_closed().await;
}

/// Finding 6: a binary packet that completes in time is handled as usual, and
/// a later one gets the whole timeout again.
#[tokio::test]
async fn binary_packets_completed_in_time_go_through() {
    let timeout = Duration::from_millis(1000);
    let io = SocketIo::with_config(SocketIoConfig::default().packet_completion_timeout(timeout));
    let (tx, mut sizes) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        answer_pings(&socket);
        async move {
            socket.on("up", move |_, event| {
                let _ = tx.send(event.binary(0).map(|b| b.len()));
                async {}
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut client, _) = server.connected("/").await;
    for _ in 0..3 {
        let text = format!(
            "4{}{}",
            header(5, "/", None, 1),
            r#"["up",{"_placeholder":true,"num":0}]"#
        );
        client.send(&text).await;
        tokio::time::sleep(timeout / 4).await;
        client.send_binary(&[7; 10]).await;
        assert_eq!(sizes.next().await, Some(10));
    }
    client.round_trip("/", 1).await;
}

/// Finding 4: while connection middleware runs, the packets waiting for the
/// namespace are limited in bytes (attachments counted), not only in number.
#[tokio::test]
async fn the_connecting_queue_is_limited_in_bytes() {
    let io = SocketIo::with_config(SocketIoConfig::default().max_pending_bytes(10_000));
    io.use_middleware(|_| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.send("40").await;
    // 2 × 4 KB text fits; a binary packet whose 4 KB is in its attachment
    // does not.
    let text = format!(r#"42["a","{}"]"#, "x".repeat(4000));
    client.send(&text).await;
    client.send(&text).await;
    let binary = format!(
        "4{}{}",
        header(5, "/", None, 1),
        r#"["b",{"_placeholder":true,"num":0}]"#
    );
    client.send(&binary).await;
    client.send_binary(&[0; 4000]).await;
    tokio::time::timeout(TIMEOUT, client.expect_closed())
        .await
        .expect("closed for the bytes waiting");
}

/// Finding 4: under the byte limit, packets wait and are handled once the
/// middleware lets the socket in.
#[tokio::test]
async fn packets_under_the_byte_limit_wait_for_the_middleware() {
    let io = SocketIo::with_config(SocketIoConfig::default().max_pending_bytes(10_000));
    let gate = Arc::new(tokio::sync::Notify::new());
    let open = gate.clone();
    io.use_middleware(move |_| {
        let gate = gate.clone();
        async move {
            gate.notified().await;
            Ok(())
        }
    });
    let (tx, mut seen) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        answer_pings(&socket);
        async move {
            socket.on("a", move |_, _| {
                let _ = tx.send(());
                async {}
            });
        }
    });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.send("40").await;
    let text = format!(r#"42["a","{}"]"#, "x".repeat(4000));
    client.send(&text).await;
    client.send(&text).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    open.notify_one();
    let reply = client.recv_packet().await;
    assert_eq!(reply.kind, 0, "{reply:?}");
    seen.next().await;
    seen.next().await;
    client.round_trip("/", 1).await;
}

/// A memory adapter that closes the socket's whole connection when the socket
/// is added to its own room, as `finish_connect` does right after inserting
/// it: the close lands in the window between the namespace's insert and the
/// socket joining its client (finding 11), every time.
struct ClosingAdapter(MemoryAdapter);

struct ClosingAdapters;

impl AdapterFactory for ClosingAdapters {
    fn create(&self, ctx: AdapterContext) -> Arc<dyn Adapter> {
        Arc::new(ClosingAdapter(MemoryAdapter::new(&ctx)))
    }
}

impl Adapter for ClosingAdapter {
    fn add_all(&self, id: SocketId, rooms: &[Room]) {
        self.0.add_all(id, rooms);
        if rooms.len() == 1 && &*rooms[0] == id.as_str() {
            let socket = self.0.local_targets(&BroadcastOptions::default());
            if let Some(socket) = socket.into_iter().find(|s| s.id() == id) {
                socket.disconnect_with(true);
            }
        }
    }
    fn del(&self, id: SocketId, room: &Room) {
        self.0.del(id, room)
    }
    fn del_all(&self, id: SocketId) {
        self.0.del_all(id)
    }
    fn socket_rooms(&self, id: SocketId) -> Vec<Room> {
        self.0.socket_rooms(id)
    }
    fn rooms(&self) -> Vec<Room> {
        self.0.rooms()
    }
    fn broadcast(
        &self,
        packet: ferrio_proto::socketio::Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.broadcast(packet, opts)
    }
    fn broadcast_with_ack(
        &self,
        packet: ferrio_proto::socketio::Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        self.0.broadcast_with_ack(packet, opts, timeout)
    }
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        self.0.fetch_sockets(opts)
    }
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.add_sockets(opts, rooms)
    }
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.del_sockets(opts, rooms)
    }
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.disconnect_sockets(opts, close)
    }
}

/// Finding 11: a connection closed while its CONNECT is being answered leaves
/// no socket behind, and every connection handler is matched by a disconnect
/// handler.
#[tokio::test]
async fn a_close_during_connect_leaves_no_ghost_socket() {
    let io = SocketIo::with_adapter(SocketIoConfig::default(), ClosingAdapters);
    let connected = Arc::new(AtomicUsize::new(0));
    let disconnected = Arc::new(AtomicUsize::new(0));
    let (c, d) = (connected.clone(), disconnected.clone());
    io.on_connection(move |socket| {
        c.fetch_add(1, Ordering::SeqCst);
        let d = d.clone();
        socket.on_disconnect(move |_, _| {
            d.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        async {}
    });
    let server = TestServer::start(io.clone()).await;
    for _ in 0..20 {
        let mut client = server.ws().await;
        client.send("40").await;
        tokio::time::timeout(TIMEOUT, client.expect_closed())
            .await
            .expect("closed");
    }
    eventually("the sessions are gone", || io.engine().session_count() == 0).await;
    assert_eq!(io.sockets().socket_count(), 0, "no ghost socket");
    assert_eq!(
        connected.load(Ordering::SeqCst),
        disconnected.load(Ordering::SeqCst),
        "every connection handler has its disconnect handler"
    );
}

/// Finding 7: a relayed packet larger than a client's outbox is refused at the
/// emitter; the room's clients are not disconnected for it.
#[tokio::test]
async fn a_broadcast_too_large_for_an_outbox_is_refused_at_the_emitter() {
    let io = SocketIo::with_config(
        SocketIoConfig::default().with_engine(|e| e.max_buffered_bytes(100_000)),
    );
    let (tx, mut results) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        answer_pings(&socket);
        async move {
            socket.on("join", |socket, _| {
                socket.join("room");
                async {}
            });
            socket.on("relay", move |socket, event| {
                let sent = socket.to("room").emit_args("relay", event.into_args());
                let _ = tx.send(sent);
                async {}
            });
        }
    });
    let server = TestServer::start(io.clone()).await;
    let mut room = Vec::new();
    for _ in 0..3 {
        let (mut client, _) = server.connected("/").await;
        client.emit("/", None, "join", &[]).await;
        client.round_trip("/", 1).await;
        room.push(client);
    }
    // 3 × 40 KB attachments: 120 KB, more than the 100 KB outbox.
    let (mut sender, _) = server.connected("/").await;
    let text = format!(
        "4{}{}",
        header(5, "/", None, 3),
        r#"["relay",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]"#
    );
    sender.send(&text).await;
    for _ in 0..3 {
        sender.send_binary(&[9; 40_000]).await;
    }
    match results.next().await {
        Err(ferrio::EmitError::TooLarge { size, limit }) => {
            assert!(size > 120_000, "{size}");
            assert_eq!(limit, 100_000);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    for (i, client) in room.iter_mut().enumerate() {
        let skipped = client.round_trip("/", 2 + i as u64).await;
        assert!(skipped.is_empty(), "nothing was relayed: {skipped:?}");
    }
    assert_eq!(io.sockets().socket_count(), 4, "nobody was disconnected");
    // One socket alone: the same answer, the socket kept.
    let me = io.sockets().local_sockets().pop().unwrap();
    let big = Payload::Binary(vec![0; 100_001].into());
    assert!(matches!(
        me.emit_args("big", vec![big]),
        Err(ferrio::EmitError::TooLarge { .. })
    ));
    assert!(me.connected());
}

/// Finding 13: broadcasts with acks that time out, and an `emit_with_ack`
/// whose future is dropped, leave no waiter on a client that never answers;
/// an `emit_with_ack` with no timeout of its own gets the default one.
#[tokio::test]
async fn acknowledgement_waiters_never_leak() {
    let io =
        SocketIo::with_config(SocketIoConfig::default().ack_timeout(Duration::from_millis(50)));
    let server = TestServer::start(io.clone()).await;
    let (_silent, _) = server.connected("/").await;
    let socket = io.sockets().local_sockets().pop().unwrap();
    let numbers: Vec<u32> = (0..1000).collect();
    let asks = numbers.iter().map(|i| {
        io.broadcast()
            .timeout(Duration::from_millis(10))
            .emit_with_ack("question", i)
    });
    for answers in futures_util::future::join_all(asks).await {
        let answers = answers.unwrap();
        assert!(answers.timed_out());
        assert_eq!(answers.expected, 1);
    }
    assert_eq!(socket.pending_acks(), 0, "broadcast waiters forgotten");

    let dropped = tokio::time::timeout(
        Duration::from_millis(1),
        socket.emit_with_ack("question", &()),
    )
    .await;
    assert!(dropped.is_err(), "no answer comes");
    assert_eq!(socket.pending_acks(), 0, "a dropped emit_with_ack forgets");

    let timed_out = socket.emit_with_ack("question", &()).await;
    assert_eq!(
        timed_out,
        Err(ferrio::AckError::Timeout),
        "the default timeout"
    );
    assert_eq!(socket.pending_acks(), 0);
}

/// Finding 9: with `cleanup_empty_child_namespaces`, a dynamic child goes
/// away with its last socket: 10 000 distinct names connected and left bring
/// the namespace count back to where it was.
#[tokio::test]
async fn empty_dynamic_namespaces_are_removed_with_cleanup_on() {
    let io = SocketIo::with_config(SocketIoConfig::default().cleanup_empty_child_namespaces(true));
    io.of_pattern(r"^/dyn-\d+$").unwrap();
    let baseline = io.namespaces().len();
    let server = TestServer::start(io.clone()).await;
    let mut client = server.ws().await;
    const NAMES: usize = 10_000;
    const BATCH: usize = 500;
    for batch in 0..NAMES / BATCH {
        for i in batch * BATCH..(batch + 1) * BATCH {
            client.feed(format!("40/dyn-{i},")).await;
            client.feed(format!("41/dyn-{i},")).await;
        }
        client.flush().await;
        for i in batch * BATCH..(batch + 1) * BATCH {
            let reply = client.recv_packet().await;
            assert_eq!((reply.kind, reply.nsp), (0, format!("/dyn-{i}")));
        }
    }
    eventually("the children are removed", || {
        io.namespaces().len() == baseline
    })
    .await;
    // A name used again gets a child again.
    client.connect("/dyn-1").await;
    assert_eq!(io.namespaces().len(), baseline + 1);
}

/// Finding 9: without cleanup (the default, as in Node) children stay; and a
/// name longer than `max_namespace_len` gets CONNECT_ERROR and no child.
#[tokio::test]
async fn long_namespace_names_are_refused() {
    let io = SocketIo::new();
    io.of_pattern(r"^/dyn-\d+$").unwrap();
    let baseline = io.namespaces().len();
    let server = TestServer::start(io.clone()).await;
    let mut client = server.ws().await;
    client.connect("/dyn-1").await;
    client.send("41/dyn-1,").await;
    let long = format!("/dyn-{}", "1".repeat(10_000));
    client.send(&format!("40{long},")).await;
    let reply = client.recv_packet().await;
    assert_eq!(reply.kind, 4, "CONNECT_ERROR");
    assert_eq!(reply.data.unwrap()["message"], "Invalid namespace");
    let name = format!("/dyn-{}", "1".repeat(251));
    assert_eq!(name.len(), 256);
    client.connect(&name).await;
    assert_eq!(io.namespaces().len(), baseline + 2, "/dyn-1 stays");
}

/// Finding 11: a connection closed from another thread while the socket's
/// connection handlers run ends the socket once they have, so the disconnect
/// listeners they add after the close still run, and no socket stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_during_the_connection_handlers_runs_every_disconnect_listener() {
    let io = SocketIo::new();
    let disconnected = Arc::new(AtomicUsize::new(0));
    let (d, closer) = (disconnected.clone(), io.clone());
    io.on_connection(move |socket| {
        let (d1, d2) = (d.clone(), d.clone());
        socket.on_disconnect(move |_, _| {
            d1.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        // The whole server closes, from another thread, before this
        // handler goes on.
        let closer = closer.clone();
        std::thread::spawn(move || drop(closer.close()))
            .join()
            .unwrap();
        socket.on_disconnect(move |_, _| {
            d2.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        async {}
    });
    let server = TestServer::start(io.clone()).await;
    let mut client = server.ws().await;
    client.send("40").await;
    tokio::time::timeout(TIMEOUT, client.expect_closed())
        .await
        .expect("closed");
    eventually("both disconnect listeners ran", || {
        disconnected.load(Ordering::SeqCst) == 2
    })
    .await;
    assert_eq!(io.sockets().socket_count(), 0, "no ghost socket");
}

/// Finding 11, as an attacker would try it over long-polling: a POST of `40`
/// while the parked GET's connection is dropped (which closes the session),
/// many times. No socket stays, and the connection and disconnect handlers
/// ran as many times each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_racing_a_dropped_poll_leave_no_ghost_socket() {
    use tokio::io::AsyncWriteExt;
    const ROUNDS: usize = 1000;
    let io = SocketIo::new();
    let connected = Arc::new(AtomicUsize::new(0));
    let disconnected = Arc::new(AtomicUsize::new(0));
    let (c, d) = (connected.clone(), disconnected.clone());
    io.on_connection(move |socket| {
        c.fetch_add(1, Ordering::SeqCst);
        let d = d.clone();
        socket.on_disconnect(move |_, _| {
            d.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        async {}
    });
    let server = TestServer::start(io.clone()).await;
    for _ in 0..ROUNDS {
        let client = server.polling().await;
        let path = server.path(&format!("transport=polling&sid={}", client.sid));
        let mut get = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        get.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let drop_get = async move {
            tokio::task::yield_now().await;
            drop(get);
        };
        tokio::join!(server.post(&client, "40"), drop_get);
    }
    io.close().await;
    eventually("every session is closed", || {
        io.engine().session_count() == 0
    })
    .await;
    eventually("every disconnect handler ran", || {
        disconnected.load(Ordering::SeqCst) >= connected.load(Ordering::SeqCst)
    })
    .await;
    assert_eq!(io.sockets().socket_count(), 0, "no ghost socket");
    assert_eq!(
        connected.load(Ordering::SeqCst),
        disconnected.load(Ordering::SeqCst)
    );
}
