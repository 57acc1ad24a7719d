//! What an idle connection keeps on the heap, measured with a counting global
//! allocator while the official socket.io-client holds the connections from a
//! Node process (so only the server's allocations are counted). The server
//! runs the benchmark contract's handlers, as in `ferrio bench idle`.
//!
//! The bound guards the idle-memory figure of BENCHMARKS.md: 2 613 bytes per
//! connection when it was written (what malloc was asked for; the RSS figure
//! adds the allocator's rounding and the kernel's pages). Run with
//! `--nocapture` to see it.

#[path = "../examples/bench_server/handlers.rs"]
mod handlers;
mod support;

use std::time::Duration;

use ferrio_test_support::node::{ensure_npm_deps, spawn_node};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// Connections opened before the first measurement (warming the server up).
const FIRST: usize = 200;
/// Connections measured.
const MORE: usize = 2_000;
/// The most the heap may grow per idle connection.
const BOUND: f64 = 2_800.0;

/// The heap in use once it has settled: the lowest of a few samples.
async fn settled_heap() -> usize {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut lowest = usize::MAX;
    for _ in 0..3 {
        lowest = lowest.min(ALLOCATOR.current_usage());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    lowest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_keeps_a_bounded_heap() {
    ensure_npm_deps();
    let io = ferrio::SocketIo::new();
    handlers::install(&io);
    let server = support::TestServer::start(io.clone()).await;
    let url = format!("http://{}", server.addr);
    let (first, more) = (FIRST.to_string(), MORE.to_string());
    let mut clients = spawn_node("socketio/idle-clients.mjs", &[&url, &first, &more]);

    let wait = Duration::from_secs(60);
    clients.wait_for_event("ready", wait);
    let before = settled_heap().await;
    let _ = io.emit("more", &());
    let line = clients.wait_for_event("ready", wait);
    assert!(
        line.contains(&format!("\"connected\":{}", FIRST + MORE)),
        "{line}"
    );
    let after = settled_heap().await;

    let per_connection = (after as f64 - before as f64) / MORE as f64;
    println!("heap per idle connection: {per_connection:.0} bytes ({before} → {after})");
    assert!(
        per_connection <= BOUND,
        "an idle connection keeps {per_connection:.0} bytes of heap, more than {BOUND}"
    );
    clients.kill();
    server.shutdown().await;
}
