//! Opens many idle Engine.IO WebSocket sessions against a server and reports
//! how much the server's resident memory grew per session.
//!
//! ```text
//! ulimit -n 20000
//! cargo run --release -p ferrio-engine --example eio_echo &
//! cargo run --release -p ferrio-engine --example idle_load -- 127.0.0.1:3000 10000 <server pid>
//! ```
//!
//! Each session finishes its handshake and then only answers pings. The server's
//! RSS is read from `/proc/<pid>/status` before the first connection and after
//! the last handshake (once it has settled).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server pid");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

async fn idle_session(addr: String, opened: tokio::sync::mpsc::Sender<()>) {
    let stream = TcpStream::connect(&addr).await.expect("connect");
    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("websocket handshake");
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.starts_with('0') => {}
        other => panic!("expected an open packet, got {other:?}"),
    }
    let _ = opened.send(()).await;
    while let Some(Ok(message)) = ws.next().await {
        if matches!(&message, Message::Text(t) if t.as_str() == "2")
            && ws.send(Message::text("3")).await.is_err()
        {
            break;
        }
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".into());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let pid: u32 = args
        .next()
        .and_then(|p| p.parse().ok())
        .expect("usage: idle_load ADDR COUNT PID");

    let before = rss_kib(pid);
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    for i in 0..count {
        tokio::spawn(idle_session(addr.clone(), tx.clone()));
        // Pace the storm a little so the accept queue never overflows.
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(tx);
    for _ in 0..count {
        rx.recv().await.expect("every session opens");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    let per = (after.saturating_sub(before)) as f64 / count as f64;
    println!("sessions: {count}");
    println!("server RSS before: {before} KiB, after: {after} KiB");
    println!("RSS growth per idle WebSocket session: {per:.2} KiB");
}
