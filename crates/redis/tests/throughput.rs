//! A rough figure, not a benchmark (ignored by default): one ferrio node
//! broadcasts N events through Redis to another, which delivers them to one
//! ferrio-client socket. Prints the cost of `emit` on the sender (encode once,
//! queue), the end-to-end rate, the process CPU per broadcast (both nodes and
//! the client in this process; Redis apart) and what was lost.
//!
//! ```text
//! cargo test --release -p ferrio-redis --test throughput -- --ignored --nocapture
//! ```

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::ferrio::{FerrioNode, RustClients};
use support::redis::RedisServer;

const N: usize = 50_000;

/// User + system CPU of this process, from /proc/self/stat (Linux).
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the ")": state is field 0, utime 11, stime 12; 100 ticks a second.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --release --ignored --nocapture"]
async fn broadcast_throughput_between_two_ferrio_nodes() {
    let redis = RedisServer::start();
    let sender = FerrioNode::start(&redis.url()).await;
    let receiver = FerrioNode::start(&redis.url()).await;
    let mut rs = RustClients::default();
    rs.connect("c", &receiver.url(), "/", None).await;
    let nsp = sender.io.sockets();

    let cpu0 = cpu();
    let start = Instant::now();
    for i in 0..N {
        nsp.emit(
            "tick",
            &(i, "a short text payload", json!({"k": [1, 2, 3]})),
        )
        .unwrap();
    }
    let emitted = start.elapsed();
    let mut got = 0;
    let mut last = None;
    while got < N {
        match rs.recv_within("c", "tick", Duration::from_secs(10)).await {
            Some(args) => {
                got += 1;
                last = args[0].as_u64();
            }
            None => break,
        }
    }
    let total = start.elapsed();
    let cpu_used = cpu() - cpu0;
    eprintln!(
        "FIGURES: {N} broadcasts: emit {:.2} µs each (encode + queue); {got} delivered through Redis in {total:?} \
         ({:.0}/s); process CPU {:.1} µs per broadcast (sender + receiver + client); last {last:?}; \
         dropped {} publishes, lagged {} incoming",
        emitted.as_secs_f64() * 1e6 / N as f64,
        got as f64 / total.as_secs_f64(),
        cpu_used.as_secs_f64() * 1e6 / N as f64,
        sender.redis.dropped_publishes(),
        receiver.redis.lagged_messages(),
    );
    assert_eq!(got, N, "nothing lost");
    rs.close();
    sender.stop().await;
    receiver.stop().await;
}
