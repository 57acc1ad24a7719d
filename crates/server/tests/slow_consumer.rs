//! A client that stops reading while the server broadcasts: the server's memory
//! stays bounded by the outbound queue limit (`max_buffered_bytes`, set to
//! 1 MiB here), the slow client is disconnected with a reason ("transport
//! error"), and 100 healthy clients receive every message, in order.
//!
//! The broadcast is 100 MB by default (1 600 events of 64 KiB, each a binary
//! attachment, so the clients need not parse it), to each of the 101 clients.
//! `SLOW_CONSUMER_MB` changes the total. The broadcaster keeps at most a few
//! messages ahead of the slowest *healthy* client (they are in this process too,
//! and must not be cut off for falling behind), so only the client that stopped
//! reading ever fills its queue.
//!
//! Memory is the process's `VmRSS` from `/proc/self/status`, sampled every few
//! milliseconds: its peak growth over the run must stay far below what holding
//! the broadcast for the slow client would take.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferrio::{DisconnectReason, SocketIo, SocketIoConfig};
use serde_json::Value;
use support::{Bin, TestServer, WsClient, channel, eventually};

/// The outbound queue limit per session.
const QUEUE_LIMIT: usize = 1 << 20;
/// One broadcast message: a binary attachment of this size.
const MESSAGE: usize = 64 * 1024;
/// Healthy clients (the slow one comes on top).
const HEALTHY: usize = 100;
/// How many messages the broadcaster may be ahead of the slowest healthy
/// client: 8 × 64 KiB = 512 KiB, half the queue limit.
const WINDOW: u64 = 4;
/// The bound on the process's RSS growth during the broadcast. This process
/// holds both ends of 101 WebSocket connections, each with its read and write
/// buffers (about 50 MiB in all, measured: the same for 20, 100 or 300 MiB
/// broadcast), plus at most a queue limit for the slow client. Holding the
/// broadcast for the slow client would take 100 MiB on top.
const RSS_GROWTH_LIMIT: u64 = 64 << 20;
/// How much the RSS may rise after the first quarter of the broadcast (when
/// every buffer has reached its working size): a server that kept what the slow
/// client does not read would grow by the other three quarters, 75 MiB.
const LATE_GROWTH_LIMIT: u64 = 12 << 20;

/// The process's resident set size, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

/// Samples [`rss`] on a thread of its own until `stop`; returns the peak
/// before `late` was set and the peak after.
fn sample_peak_rss(
    late: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let (mut early, mut after) = (rss(), 0);
        while !stop.load(Ordering::Relaxed) {
            let now = rss();
            if late.load(Ordering::Relaxed) {
                after = after.max(now);
            } else {
                early = early.max(now);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        (early, after.max(rss()))
    })
}

/// Reads `total` broadcast messages `["blob", n, <64 KiB>]` in order, counting
/// them in `received`.
async fn read_all(mut client: WsClient, total: u64, received: Arc<AtomicU64>) -> WsClient {
    for n in 0..total {
        let packet = client.recv_packet().await;
        assert_eq!(
            (packet.kind, packet.attachments),
            (5, 1),
            "a binary event: {packet:?}"
        );
        let data = packet.data.expect("event data");
        assert_eq!(data[0], "blob");
        assert_eq!(data[1].as_u64(), Some(n), "every message, in order");
        assert_eq!(data[2]["_placeholder"], Value::Bool(true));
        let blob = client.recv_binary().await;
        assert_eq!(blob.len(), MESSAGE);
        assert_eq!(blob[..8], n.to_le_bytes(), "the attachment of message {n}");
        received.store(n + 1, Ordering::Release);
    }
    client
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_cut_off_and_the_others_get_everything() {
    let total_mib: u64 = std::env::var("SLOW_CONSUMER_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let total = total_mib * (1 << 20) / MESSAGE as u64;

    let io = SocketIo::with_config(
        SocketIoConfig::default().with_engine(|e| e.max_buffered_bytes(QUEUE_LIMIT)),
    );
    let (tx, mut gone) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on_disconnect(move |socket, reason| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((socket.id().to_string(), reason));
                }
            });
        }
    });
    let server = TestServer::start(io).await;

    // The slow client: connected to `/`, then never read again (its WebSocket
    // stream is kept, so the TCP connection stays open).
    let (slow, slow_sid) = server.connected("/").await;
    let mut healthy = Vec::new();
    for _ in 0..HEALTHY {
        healthy.push(server.connected("/").await.0);
    }
    assert_eq!(server.io.sockets().socket_count(), HEALTHY + 1);

    let counters: Vec<Arc<AtomicU64>> = (0..HEALTHY).map(|_| Arc::default()).collect();
    let readers: Vec<_> = healthy
        .into_iter()
        .zip(&counters)
        .map(|(client, counter)| tokio::spawn(read_all(client, total, counter.clone())))
        .collect();

    let baseline = rss();
    let late = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak_rss(late.clone(), stop.clone());
    let started = Instant::now();

    let mut slow_reason = None;
    for n in 0..total {
        if n == total / 4 {
            late.store(true, Ordering::Relaxed);
        }
        // Stay at most WINDOW messages ahead of the slowest healthy client.
        while counters
            .iter()
            .any(|c| c.load(Ordering::Acquire) + WINDOW <= n)
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut blob = vec![0u8; MESSAGE];
        blob[..8].copy_from_slice(&n.to_le_bytes());
        server.io.emit("blob", &(n, Bin(blob))).unwrap();
        if slow_reason.is_none() {
            if let Some(report) = gone.try_next() {
                slow_reason = Some(report);
            }
        }
    }
    let mut clients = Vec::new();
    for reader in readers {
        clients.push(reader.await.expect("a healthy client got every message"));
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (early_peak, late_peak) = sampler.join().unwrap();
    let peak = early_peak.max(late_peak);

    let (sid, reason) = match slow_reason {
        Some(report) => report,
        None => gone.next().await,
    };
    assert_eq!(sid, slow_sid, "only the slow client is disconnected");
    assert_eq!(reason, DisconnectReason::TransportError);
    assert_eq!(reason.as_str(), "transport error");
    assert!(gone.try_next().is_none(), "no healthy client disconnected");
    let io = server.io.clone();
    eventually("the slow socket is gone", || {
        io.sockets().socket_count() == HEALTHY
    })
    .await;

    let mib = |b: u64| b as f64 / 1048576.0;
    let growth = peak.saturating_sub(baseline);
    let late_growth = late_peak.saturating_sub(early_peak);
    eprintln!(
        "slow consumer: {total} messages of {MESSAGE} B ({total_mib} MiB) to {HEALTHY} healthy \
         clients + 1 slow in {elapsed:.1?}; RSS baseline {:.1} MiB, peak {:.1} MiB \
         (growth {:.1} MiB, limit {:.0} MiB); peak in the first quarter {:.1} MiB, \
         after {:.1} MiB",
        mib(baseline),
        mib(peak),
        mib(growth),
        mib(RSS_GROWTH_LIMIT),
        mib(early_peak),
        mib(late_peak),
    );
    assert!(
        growth < RSS_GROWTH_LIMIT,
        "RSS grew by {growth} B during the broadcast"
    );
    assert!(
        late_growth < LATE_GROWTH_LIMIT,
        "RSS kept growing after the first quarter of the broadcast: +{late_growth} B"
    );

    drop(slow);
    for client in clients {
        client.close().await;
    }
    server.shutdown().await;
}
