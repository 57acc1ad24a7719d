//! Connection state recovery with the classic and sharded adapters: Node
//! keeps no sessions with them, ferrio keeps them in the process, so a client
//! that comes back to the same node (sticky load balancing) recovers: the
//! official `socket.io-client` 4.8 drops its transport, misses events sent to
//! its rooms by another client of the same node, and comes back with its
//! id, its rooms and every missed event once, in order, before `connect`.

mod support;

use std::time::Duration;

use ferrio::{RecoveryConfig, SocketIoConfig};
use ferrio_redis::{RedisAdapterConfig, SubscriptionMode};
use support::ferrio::FerrioNode;
use support::process::interop_dir;
use support::redis::RedisServer;

async fn recovers_on_the_same_node(config: RedisAdapterConfig) {
    let redis = RedisServer::start();
    let io_config = SocketIoConfig::default().connection_state_recovery(
        RecoveryConfig::default()
            .max_disconnection_duration(Duration::from_secs(30))
            .skip_middlewares(true),
    );
    let f = FerrioNode::start_full(&redis.url(), config, io_config).await;
    let out = tokio::process::Command::new("node")
        .arg(interop_dir().join("socketio/recovery-client.mjs"))
        .args(["--url", &f.url(), "--mode", "websocket"])
        .current_dir(interop_dir())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("in time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"ok\":true"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_adapter_recovers_on_the_same_node() {
    recovers_on_the_same_node(RedisAdapterConfig::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_adapter_recovers_on_the_same_node() {
    recovers_on_the_same_node(RedisAdapterConfig::default().sharded(SubscriptionMode::Dynamic))
        .await;
}
