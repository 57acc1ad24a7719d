//! Finding 3 of the security review: frames shared by every recipient of a
//! broadcast stay shared while they wait for clients that do not read. Before
//! the fix each blocked WebSocket copied them into a buffer of its own, so
//! 300 such clients held 300 copies of the broadcast.
//!
//! Alone in its test binary: it measures the process's memory.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferrio_engine::{EngineConfig, OutPacket, Sid};
use support::{Event, Server};

/// Clients that stop reading.
const CLIENTS: usize = 300;
/// The broadcast: this many binary messages of `MESSAGE` bytes, 4 MiB in all.
/// Over loopback the kernel takes the first 2.5 MB or so into each socket's
/// send buffer; then each outbox fills to its 1 MiB limit.
const MESSAGES: usize = 64;
const MESSAGE: usize = 64 * 1024;
/// The bound on the process's RSS growth: holding a copy of what waits per
/// client would take about 300 MiB.
const RSS_GROWTH_LIMIT: u64 = 64 << 20;

/// A line of `/proc/self/status`, in bytes.
fn status_bytes(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .expect("the key in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a size in kB");
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_clients_that_do_not_read_is_held_once() {
    let config = EngineConfig::default().max_buffered_bytes(1 << 20);
    let mut server = Server::start(config).await;
    let mut clients = Vec::new();
    let mut sessions = Vec::new();
    for _ in 0..CLIENTS {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let tcp = socket.connect(server.addr).await.unwrap();
        let url = format!("ws://{}{}", server.addr, server.url("transport=websocket"));
        let (ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
        clients.push(ws);
        let Event::Open(sid) = server.next_event().await else {
            panic!("an open event");
        };
        sessions.push(server.engine.session(Sid::parse(&sid).unwrap()).unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let baseline = status_bytes("VmRSS:");
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = status_bytes("VmRSS:");
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(status_bytes("VmRSS:"));
                std::thread::sleep(Duration::from_millis(2));
            }
            peak.max(status_bytes("VmRSS:"))
        })
    };
    let mut refused = 0;
    for n in 0..MESSAGES {
        let mut message = vec![0u8; MESSAGE];
        message[0] = n as u8;
        let message = Bytes::from(message);
        for session in &sessions {
            if session.send(OutPacket::Binary(message.clone())).is_err() {
                refused += 1;
            }
        }
    }
    // Let the connections' tasks write what they can.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    let growth = peak.saturating_sub(baseline);
    let mib = |b: u64| b as f64 / 1048576.0;
    eprintln!(
        "{CLIENTS} clients not reading, {} MiB broadcast: RSS {:.1} MiB before, peak {:.1} MiB \
         (growth {:.1} MiB, limit {:.0} MiB; VmHWM {:.1} MiB); {refused} sends refused",
        (MESSAGES * MESSAGE) >> 20,
        mib(baseline),
        mib(peak),
        mib(growth),
        mib(RSS_GROWTH_LIMIT),
        mib(status_bytes("VmHWM:")),
    );
    assert!(
        sessions.iter().all(|s| !s.is_closed()),
        "every client is still connected"
    );
    assert!(
        growth < RSS_GROWTH_LIMIT,
        "RSS grew by {:.1} MiB",
        mib(growth)
    );
    drop(clients);
}
