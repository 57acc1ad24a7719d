//! Delivery semantics (DESIGN.md decisions 3 and 4): handlers start in arrival
//! order, emits of one handler arrive in order, many acked emits all come back
//! in order, a broadcast reaches each socket exactly once, and a full outbound
//! queue is an error, never a silent drop.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrio::{DisconnectReason, EmitError, SocketIo, SocketIoConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use support::{TIMEOUT, TestServer, WsClient, answer_pings, channel};
use tokio_tungstenite::tungstenite::Message as M;

#[tokio::test(flavor = "multi_thread")]
async fn handlers_start_in_arrival_order_even_when_they_await() {
    const N: u64 = 300;
    let io = SocketIo::with_config(SocketIoConfig::default());
    let starts = Arc::new(Mutex::new(Vec::new()));
    let recorded = starts.clone();
    io.on_connection(move |socket| {
        let starts = recorded.clone();
        async move {
            socket.on("msg", move |socket, event| {
                let starts = starts.clone();
                async move {
                    let i: u64 = event.arg(0).unwrap();
                    // Recorded before the first await.
                    starts.lock().unwrap().push(i);
                    socket.emit("a", &i).unwrap();
                    if i % 2 == 1 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    socket.emit("b", &i).unwrap();
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut c, _) = server.connected("/").await;
    for i in 0..N {
        c.feed(format!(r#"42["msg",{i}]"#)).await;
    }
    c.flush().await;

    let mut a_order = Vec::new();
    let mut b_seen = std::collections::HashSet::new();
    while b_seen.len() < N as usize {
        let (_, name, args) = c.recv_event().await;
        let i = args[0].as_u64().unwrap();
        match name.as_str() {
            "a" => a_order.push(i),
            "b" => {
                assert!(
                    a_order.contains(&i),
                    "b {i} after a {i}: one handler's emits in order"
                );
                assert!(b_seen.insert(i), "b {i} once");
            }
            other => panic!("unexpected {other}"),
        }
    }
    let expected: Vec<u64> = (0..N).collect();
    assert_eq!(
        *starts.lock().unwrap(),
        expected,
        "handlers started in order"
    );
    assert_eq!(a_order, expected, "emits before the first await in order");
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_acked_emits_arrive_in_order_and_are_all_acknowledged() {
    const N: u64 = 10_000;
    let io = SocketIo::with_config(SocketIoConfig::default());
    let next = Arc::new(AtomicU64::new(0));
    let (tx, mut out_of_order) = channel::<(u64, u64)>();
    let counter = next.clone();
    io.on_connection(move |socket| {
        let next = counter.clone();
        let tx = tx.clone();
        async move {
            socket.on("n", move |_, event| {
                let next = next.clone();
                let tx = tx.clone();
                async move {
                    let i: u64 = event.arg(0).unwrap();
                    let expected = next.fetch_add(1, Ordering::SeqCst);
                    if i != expected {
                        let _ = tx.send((expected, i));
                    }
                    event.reply(&i).unwrap();
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let (c, _) = server.connected("/").await;
    let (mut sink, mut stream) = c.ws.split();

    let sender = tokio::spawn(async move {
        for i in 0..N {
            sink.feed(M::text(format!(r#"42{i}["n",{i}]"#)))
                .await
                .unwrap();
            if i % 100 == 99 {
                sink.flush().await.unwrap();
            }
        }
        sink.flush().await.unwrap();
        sink
    });
    let receiver = async {
        for i in 0..N {
            let message = tokio::time::timeout(TIMEOUT, stream.next())
                .await
                .expect("an ack in time")
                .expect("open")
                .expect("no error");
            assert_eq!(message, M::text(format!("43{i}[{i}]")), "ack {i}");
        }
    };
    receiver.await;
    let _sink = sender.await.unwrap();
    assert_eq!(next.load(Ordering::SeqCst), N);
    assert_eq!(out_of_order.try_next(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broadcast_to_a_thousand_sockets_reaches_each_exactly_once() {
    const SOCKETS: usize = 1000;
    let io = SocketIo::with_config(SocketIoConfig::default());
    io.on_connection(|socket| async move {
        answer_pings(&socket);
        let parity = if socket.id().as_str().as_bytes()[0] % 2 == 0 {
            "even"
        } else {
            "odd"
        };
        socket.join(["all", parity]);
    });
    let server = TestServer::start(io).await;
    let mut clients: Vec<WsClient> = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS / 100 {
        let batch = futures_util::future::join_all((0..100).map(|_| server.connected("/"))).await;
        clients.extend(batch.into_iter().map(|(c, _)| c));
    }
    assert_eq!(server.io.sockets().socket_count(), SOCKETS);

    server.io.emit("b1", &1).unwrap();
    // Every socket is in "all" and in one of the others: still once each.
    server
        .io
        .to(["all", "even", "odd"])
        .emit("b2", &json!({"n": 2}))
        .unwrap();
    server.io.emit("end", &()).unwrap();

    let results = futures_util::future::join_all(clients.iter_mut().map(|c| async move {
        let mut names = Vec::new();
        loop {
            let (_, name, _) = c.recv_event().await;
            let end = name == "end";
            names.push(name);
            if end {
                return names;
            }
        }
    }))
    .await;
    for (i, names) in results.iter().enumerate() {
        assert_eq!(names, &["b1", "b2", "end"], "socket {i}");
    }
    // Nothing more is pending for anyone.
    let checks = futures_util::future::join_all(
        clients
            .iter_mut()
            .enumerate()
            .map(|(i, c)| async move { c.round_trip("/", i as u64).await }),
    )
    .await;
    assert!(checks.iter().all(Vec::is_empty));
}

fn tiny_queue_config() -> SocketIoConfig {
    SocketIoConfig::default().with_engine(|e| e.max_buffered_bytes(64 * 1024))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_outbound_queue_makes_emit_fail_and_nothing_is_dropped() {
    let io = SocketIo::with_config(tiny_queue_config());
    let (tx, mut report) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            answer_pings(&socket);
            socket.on("volatile-now", |socket, _| async move {
                socket.volatile().emit("volatile", &()).unwrap();
            });
            socket.on("flood", move |socket, _| {
                let tx = tx.clone();
                async move {
                    let blob = "x".repeat(8 * 1024);
                    let mut sent: u64 = 0;
                    loop {
                        match socket.emit("blob", &(sent, blob.as_str())) {
                            Ok(()) => sent += 1,
                            Err(error) => {
                                // The writer is stuck on a full socket, so the
                                // queue is not drained: a volatile emit is
                                // dropped (the one allowed drop), and says Ok.
                                let volatile = socket.volatile().emit("volatile", &());
                                assert!(volatile.is_ok(), "{volatile:?}");
                                let _ = tx.send((sent, error));
                                return;
                            }
                        }
                        assert!(sent < 1_000_000, "the queue never filled");
                        if sent % 8 == 0 {
                            // Let the writer drain into the socket meanwhile.
                            tokio::task::yield_now().await;
                        }
                    }
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut c, _) = server.connected("/").await;
    // Ask for the flood and stop reading.
    c.emit("/", None, "flood", &[]).await;
    let (sent, error) = report.next().await;
    assert!(matches!(error, EmitError::QueueFull), "{error:?}");
    assert!(sent > 0);

    // Every emit that succeeded arrives, in order, and nothing else (not the
    // volatile one).
    for i in 0..sent {
        let (_, name, args) = c.recv_event().await;
        assert_eq!((name.as_str(), args[0].as_u64()), ("blob", Some(i)));
    }
    assert!(c.round_trip("/", 1).await.is_empty());
    // Once drained, a volatile emit goes out.
    c.emit("/", None, "volatile-now", &[]).await;
    assert_eq!(c.recv_text().await, r#"42["volatile"]"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broadcast_disconnects_a_client_that_cannot_keep_up_with_a_reason() {
    let io = SocketIo::with_config(tiny_queue_config());
    let (tx, mut reasons) = channel();
    let gone = Arc::new(AtomicBool::new(false));
    let flag = gone.clone();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        let flag = flag.clone();
        async move {
            socket.on_disconnect(move |_, reason| {
                let tx = tx.clone();
                let flag = flag.clone();
                async move {
                    flag.store(true, Ordering::SeqCst);
                    let _ = tx.send(reason);
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut c, _) = server.connected("/").await;

    let io = server.io.clone();
    let flooding = tokio::spawn(async move {
        let blob = "x".repeat(8 * 1024);
        let mut n: u64 = 0;
        while !gone.load(Ordering::SeqCst) {
            io.emit("blob", &(n, blob.as_str())).unwrap();
            n += 1;
            assert!(n < 1_000_000, "the slow client was never disconnected");
            if n % 8 == 0 {
                tokio::task::yield_now().await;
            }
        }
        n
    });
    assert_eq!(reasons.next().await, DisconnectReason::TransportError);
    let broadcast = flooding.await.unwrap();

    // What the client got is a gap-free prefix of what was broadcast.
    let mut next = 0;
    while let Some(frame) = c.next_frame().await {
        let support::Frame::Text(text) = frame else {
            panic!("text expected")
        };
        let packet = support::SioPacket::parse_message(&text);
        let data = packet.data.unwrap();
        assert_eq!(data[0], "blob");
        assert_eq!(data[1].as_u64(), Some(next), "no gap");
        next += 1;
    }
    assert!(
        next < broadcast,
        "the client was cut off, not silently skipped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn listeners_of_the_connection_handler_are_ready_for_the_first_event_after_async_middleware()
{
    // The connection handler runs up to its first await before the client's
    // first event is dispatched, even when connection middleware awaited (and
    // so finished on another task), and even when the handler is slow.
    let io = SocketIo::with_config(SocketIoConfig::default());
    io.use_middleware(|_socket| async move {
        tokio::task::yield_now().await;
        Ok(())
    });
    io.on_connection(|socket| async move {
        // Slow synchronous work before the listeners are registered.
        std::thread::sleep(Duration::from_millis(30));
        socket.on("hello", |_, event| async move {
            event.reply(&"hi").unwrap();
        });
    });
    let server = TestServer::start(io).await;
    for round in 0..5 {
        let mut c = server.ws().await;
        c.connect("/").await;
        c.emit("/", Some(round), "hello", &[]).await;
        let answer = c.next_frame().await;
        assert_eq!(
            answer,
            Some(support::Frame::Text(format!(r#"43{round}["hi"]"#))),
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn listeners_of_the_connection_handler_are_ready_for_the_first_event_over_polling() {
    // The same over long-polling, where the CONNECT reply is fetched by a GET
    // served on another task than the one running the connection handler.
    let io = SocketIo::with_config(SocketIoConfig::default());
    io.use_middleware(|_socket| async move {
        tokio::task::yield_now().await;
        Ok(())
    });
    io.on_connection(|socket| async move {
        std::thread::sleep(Duration::from_millis(100));
        socket.on("hello", |_, event| async move {
            event.reply(&"hi").unwrap();
        });
    });
    let server = TestServer::start(io).await;
    for round in 0..3 {
        let client = server.polling().await;
        assert_eq!(server.post(&client, "40").await.text(), "ok");
        let reply = server.poll_packets(&client, 1).await;
        assert!(reply[0].starts_with("40{"), "{reply:?}");
        assert_eq!(
            server
                .post(&client, &format!(r#"42{round}["hello"]"#))
                .await
                .text(),
            "ok"
        );
        assert_eq!(
            server.poll_packets(&client, 1).await,
            [format!(r#"43{round}["hi"]"#)],
            "round {round}"
        );
    }
}
