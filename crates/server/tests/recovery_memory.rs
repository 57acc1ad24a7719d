//! The memory bound of the recovery log: a long broadcast to a connected
//! client, with nobody disconnected, keeps the server's peak RSS flat once
//! the log is full (Node's log has no such bound: it keeps every packet of the
//! last two minutes).
//!
//! The server runs in a child process (this test binary re-executed: the
//! hidden test [`recovery_memory_child`]), so that its peak RSS (`VmHWM`,
//! reset through `clear_refs` once the log is full) is its own.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrio::{RecoveryConfig, SocketIo, SocketIoConfig};
use support::TestServer;

const CHILD_ENV: &str = "FERRIO_RECOVERY_MEMORY_CHILD";
const MIB: u64 = 1 << 20;
/// Each broadcast's argument.
const PAYLOAD: usize = 512;
/// Broadcasts that fill the default log (8 MiB) before the baseline.
const WARM_UP: usize = 20_000;
/// Broadcasts measured: about 60 MiB of log without its bound.
const MEASURED: usize = 100_000;
/// What the peak RSS may grow by after the log is full.
const BOUND: u64 = 16 * MIB;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Broadcasts `n` events to everyone, waiting for the client to keep up.
async fn broadcast(io: &SocketIo, received: &AtomicUsize, sent: &mut usize, n: usize) {
    let payload = "x".repeat(PAYLOAD);
    for _ in 0..n {
        io.emit("tick", &payload).unwrap();
        *sent += 1;
        while *sent - received.load(Ordering::Acquire) > 500 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    while received.load(Ordering::Acquire) < *sent {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The server, in the child: prints `GROWTH <bytes>`.
async fn child() {
    let recovery = RecoveryConfig::default();
    let io = SocketIo::with_config(SocketIoConfig::default().connection_state_recovery(recovery));
    let server = TestServer::start(io.clone()).await;
    let mut client = server.ws().await;
    client.send("40").await;
    let reply = client.recv_text().await;
    assert!(reply.starts_with("40{"), "{reply}");
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while client
            .next_frame_within(Duration::from_secs(60))
            .await
            .ok()
            .flatten()
            .is_some()
        {
            counter.fetch_add(1, Ordering::Release);
        }
    });
    let mut sent = 0;
    broadcast(&io, &received, &mut sent, WARM_UP).await;
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let baseline = status_kib("VmRSS:") * 1024;
    broadcast(&io, &received, &mut sent, MEASURED).await;
    let peak = status_kib("VmHWM:") * 1024;
    println!("GROWTH {}", peak.saturating_sub(baseline));
}

/// The server of the child process; does nothing in a normal test run.
#[test]
#[ignore = "the server, run in a child process by the other test"]
fn recovery_memory_child() {
    if std::env::var(CHILD_ENV).is_ok() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(child());
    }
}

#[test]
fn a_long_broadcast_with_nobody_disconnected_keeps_the_peak_rss_flat() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "recovery_memory_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let growth: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("GROWTH "))
        .and_then(|g| g.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no figure from the child: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    eprintln!(
        "FIGURE recovery log: peak RSS growth {:.1} MiB over {MEASURED} broadcasts of {PAYLOAD} bytes (bound {} MiB)",
        growth as f64 / MIB as f64,
        BOUND / MIB
    );
    assert!(growth <= BOUND, "peak RSS grew by {growth} bytes");
}
