//! The `conformance` example (`crates/server/examples/conformance`), run as
//! its own process with `REDIS_URL` and `REDIS_KEY`, joins a cluster with a
//! Node node: `interop/socketio/cluster-client.mjs` checks every row of the
//! cluster contract with one official client on each node.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use support::node::NodeNode;
use support::process::{WAIT, interop_dir};
use support::redis::{RedisServer, free_port};
use tokio::process::Command;

/// Builds the example (a no-op when it is fresh) and returns its path.
fn conformance_example() -> PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "ferrio", "--example", "conformance"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --example conformance");
    let exe = std::env::current_exe().expect("test path");
    // target/debug/deps/<test> -> target/debug/examples/conformance
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    debug.join("examples").join("conformance")
}

async fn wait_listening(port: u16) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the example listens on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The example and a Node node on one Redis, both with these variables
/// (beside `REDIS_URL`); then every row of the contract.
async fn cluster_with(env: &[(&str, &str)]) {
    let example = tokio::task::spawn_blocking(conformance_example)
        .await
        .unwrap();
    let redis = RedisServer::start();
    let n = NodeNode::start(&redis.url(), env).await;
    let port = free_port();
    let mut f = Command::new(example);
    for (k, v) in env {
        f.env(k, v);
    }
    let mut f = f
        .env("REDIS_URL", redis.url())
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts");
    wait_listening(port).await;

    let urls = format!("{},http://127.0.0.1:{port}", n.url());
    let out = Command::new("node")
        .arg(interop_dir().join("socketio/cluster-client.mjs"))
        .args(["--urls", &urls, "--servers", "2"])
        .current_dir(interop_dir())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the contract runs in time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"ok\":true"),
        "contract failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "server-count",
        "fetch-sockets",
        "sockets-join",
        "ask-all",
        "server-side",
        "disconnect-room",
    ] {
        assert!(
            stdout.contains(&format!("\"{row}\"")),
            "row {row} not checked:\n{stdout}"
        );
    }
    let _ = f.kill().await;
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_example_joins_a_node_cluster_with_redis_url() {
    cluster_with(&[("REDIS_KEY", "contract")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_example_joins_a_sharded_node_cluster() {
    cluster_with(&[
        ("REDIS_ADAPTER", "sharded"),
        ("REDIS_SUBSCRIPTION_MODE", "dynamic"),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_example_joins_a_streams_node_cluster() {
    cluster_with(&[("REDIS_ADAPTER", "streams"), ("REDIS_KEY", "streams")]).await;
}
