//! The Admin UI over a mixed cluster: a Node server with the official
//! `instrument()` and `@socket.io/redis-adapter`, and a ferrio server with
//! this crate's `instrument()` and `ferrio-redis`, on one Redis. A dashboard
//! logged in to the Node server sees the ferrio server's stats, a socket
//! connecting to it, and that socket in `all_sockets` with the clientId and
//! transport ferrio keeps in its data, as Node's instrument does.
//!
//! Needs `redis-server` (7) and Node.js with the npm packages of `interop/`.

#[path = "../../redis/tests/support/redis.rs"]
mod redis;

use std::time::Duration;

use ferrio::{SocketIo, SocketIoConfig};
use ferrio_admin_ui::{Auth, Options, instrument};
use ferrio_redis::{RedisAdapter, RedisAdapterConfig};
use ferrio_test_support::node;
use serde_json::{Value, json};

/// bcrypt of "secret", cost 4, made by bcryptjs.
const HASH: &str = "$2a$04$1sKkx5IJoyA/gIu7WSzobeVRTxFqiC/B9ILIHZXoRJN/kfFNYhj52";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_on_a_node_server_sees_the_ferrio_server_of_its_cluster() {
    node::ensure_npm_deps();
    let redis = redis::RedisServer::start();

    let adapter = RedisAdapter::connect(&redis.url(), RedisAdapterConfig::default())
        .await
        .expect("Redis reachable");
    let io = SocketIo::with_adapter(SocketIoConfig::default(), adapter);
    let options = Options::new(Auth::basic("admin", HASH)).server_id("ferrio");
    instrument(&io, options).expect("valid options");
    io.sockets().ready().await.expect("/ subscribed");
    io.of("/admin").ready().await.expect("/admin subscribed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ferrio_url = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let server = io.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });

    let redis_url = redis.url();
    let mut node_server = node::spawn_node(
        "admin-ui/node-server.mjs",
        &["--hash", HASH, "--redis", &redis_url, "--server-id", "node"],
    );
    let node_port = node_server.wait_for_port(Duration::from_secs(20));
    let node_url = format!("http://127.0.0.1:{node_port}");

    let out = tokio::task::spawn_blocking(move || {
        node::run_node(
            "admin-ui/cluster.mjs",
            &["--admin", &node_url, "--other", &ferrio_url],
            Duration::from_secs(60),
        )
    })
    .await
    .expect("node ran");
    node_server.kill();
    let line = out
        .lines_with_event("result")
        .first()
        .map(|l| l.to_string())
        .unwrap_or_else(|| panic!("no result: {out:?}"));
    let result: Value = serde_json::from_str(&line).expect("JSON");
    let socket = json!({
        "nsp": "/",
        "transport": "websocket",
        "clientId": 12,
        "rooms": 1,
        "handshakeKeys": ["address", "headers", "issued", "query", "secure", "time", "url", "xdomain"],
    });
    assert_eq!(result["serverIds"], json!(["ferrio", "node"]), "{line}");
    assert_eq!(result["connected"], socket, "{line}");
    assert_eq!(result["listed"], socket, "{line}");
}
