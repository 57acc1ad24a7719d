//! Writes gathered while a read's messages are handled (the engine's cork,
//! issue 17): clients here send many messages per write, so the server reads
//! several at once and corks what they send. Acks still come back once each
//! and in order, a burst of broadcasts from one read reaches every socket once
//! and in order, and the outbound queue limit still cuts off a client that
//! stops reading. No timing is asserted.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferrio::{DisconnectReason, SocketIo, SocketIoConfig};
use futures_util::{SinkExt, StreamExt};
use support::{TIMEOUT, TestServer, WsClient, answer_pings, channel, eventually};
use tokio_tungstenite::tungstenite::Message as M;

/// Where a socket's id and disconnect reason are reported.
type Gone = tokio::sync::mpsc::UnboundedSender<(String, DisconnectReason)>;

/// A server that acknowledges `"n"` with its argument and broadcasts `"burst"`
/// (its arguments, to every other socket), as `"b"`; disconnects go to `gone`.
fn server_io(config: SocketIoConfig, gone: Option<Gone>) -> SocketIo {
    let io = SocketIo::with_config(config);
    io.on_connection(move |socket| {
        let gone = gone.clone();
        async move {
            answer_pings(&socket);
            socket.on("n", |_, event| async move {
                let i: u64 = event.arg(0).unwrap();
                event.reply(&i).unwrap();
            });
            socket.on("burst", |socket, event| async move {
                let _ = socket.broadcast().emit_args("b", event.args().clone());
            });
            if let Some(tx) = gone {
                socket.on_disconnect(move |socket, reason| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send((socket.id().to_string(), reason));
                    }
                });
            }
        }
    });
    io
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_acked_messages_per_socket_come_back_once_and_in_order() {
    const N: u64 = 10_000;
    const SOCKETS: usize = 4;
    const PER_WRITE: u64 = 500;
    let server = TestServer::start(server_io(SocketIoConfig::default(), None)).await;
    let mut runs = Vec::new();
    for _ in 0..SOCKETS {
        let (client, _) = server.connected("/").await;
        runs.push(tokio::spawn(async move {
            let (mut sink, mut stream) = client.ws.split();
            let sender = tokio::spawn(async move {
                for i in 0..N {
                    sink.feed(M::text(format!(r#"42{i}["n",{i}]"#)))
                        .await
                        .unwrap();
                    // Hundreds of messages per write: the server reads many at once.
                    if i % PER_WRITE == PER_WRITE - 1 {
                        sink.flush().await.unwrap();
                    }
                }
                sink.flush().await.unwrap();
                sink
            });
            for i in 0..N {
                let message = tokio::time::timeout(TIMEOUT, stream.next())
                    .await
                    .expect("an ack in time")
                    .expect("open")
                    .expect("no error");
                assert_eq!(message, M::text(format!("43{i}[{i}]")), "ack {i}");
            }
            sender.await.unwrap()
        }));
    }
    for run in runs {
        let _sink = run.await.expect("every ack, in order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_broadcasts_read_at_once_reaches_a_thousand_sockets_once_and_in_order() {
    const SOCKETS: usize = 1000;
    const BURST: u64 = 50;
    let server = TestServer::start(server_io(SocketIoConfig::default(), None)).await;
    let (mut sender, _) = server.connected("/").await;
    let mut clients: Vec<WsClient> = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS / 100 {
        let batch = futures_util::future::join_all((0..100).map(|_| server.connected("/"))).await;
        clients.extend(batch.into_iter().map(|(c, _)| c));
    }
    assert_eq!(server.io.sockets().socket_count(), SOCKETS + 1);

    // The whole burst in one write, and an end marker after it.
    for n in 0..BURST {
        sender.feed(format!(r#"42["burst",{n}]"#)).await;
    }
    sender.feed(r#"42["burst","end"]"#.to_owned()).await;
    sender.flush().await;

    let results = futures_util::future::join_all(clients.iter_mut().map(|c| async move {
        let mut got = Vec::new();
        loop {
            let (_, name, args) = c.recv_event().await;
            assert_eq!(name, "b");
            if args[0] == "end" {
                return got;
            }
            got.push(args[0].as_u64().expect("a number"));
        }
    }))
    .await;
    let expected: Vec<u64> = (0..BURST).collect();
    for (i, got) in results.iter().enumerate() {
        assert_eq!(got, &expected, "socket {i}: every broadcast once, in order");
    }
    // Nothing more is pending for anyone.
    let checks = futures_util::future::join_all(
        clients
            .iter_mut()
            .enumerate()
            .map(|(i, c)| async move { c.round_trip("/", i as u64).await }),
    )
    .await;
    assert!(checks.iter().all(Vec::is_empty), "no broadcast twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corked_broadcasts_still_cut_off_a_client_that_stops_reading() {
    /// The outbound queue limit per session.
    const QUEUE_LIMIT: usize = 256 * 1024;
    /// Broadcasts per write of the sender, and the padding of each: 64 KiB a burst.
    const BURST: u64 = 16;
    const PAD: usize = 4 * 1024;
    /// Enough bursts to fill the slow client's socket buffers and its queue.
    const BURSTS: u64 = 200;
    const HEALTHY: usize = 10;

    let config = SocketIoConfig::default().with_engine(|e| e.max_buffered_bytes(QUEUE_LIMIT));
    let (tx, mut gone) = channel();
    let io = server_io(config, Some(tx));
    let server = TestServer::start(io).await;
    let (mut sender, _) = server.connected("/").await;
    // Connected, then never read again.
    let (_slow, slow_sid) = server.connected("/").await;
    let total = BURST * BURSTS;
    let counters: Vec<Arc<AtomicU64>> = (0..HEALTHY).map(|_| Arc::default()).collect();
    let mut readers = Vec::new();
    for counter in &counters {
        let (mut client, _) = server.connected("/").await;
        let counter = counter.clone();
        readers.push(tokio::spawn(async move {
            for n in 0..total {
                let (_, name, args) = client.recv_event().await;
                assert_eq!(name, "b");
                assert_eq!(args[0].as_u64(), Some(n), "every broadcast, in order");
                counter.store(n + 1, Ordering::Release);
            }
            client
        }));
    }

    let pad = "x".repeat(PAD);
    for burst in 0..BURSTS {
        // Stay within a burst of the slowest healthy client, so that only the
        // client that stopped reading ever fills its queue.
        let sent = burst * BURST;
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while counters.iter().any(|c| c.load(Ordering::Acquire) < sent) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "healthy clients stalled"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for n in sent..sent + BURST {
            sender.feed(format!(r#"42["burst",{n},"{pad}"]"#)).await;
        }
        sender.flush().await;
    }
    let mut healthy = Vec::new();
    for reader in readers {
        healthy.push(reader.await.expect("a healthy client got every broadcast"));
    }
    let (sid, reason) = gone.next().await;
    assert_eq!(sid, slow_sid, "only the slow client is cut off");
    assert_eq!(reason, DisconnectReason::TransportError);
    assert!(gone.try_next().is_none(), "no healthy client disconnected");
    let io = server.io.clone();
    eventually("the slow socket is gone", || {
        io.sockets().socket_count() == HEALTHY + 1
    })
    .await;
}
