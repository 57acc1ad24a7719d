//! The Node cluster node of `interop/socketio/cluster-server.mjs` keeps the
//! cluster contract with Node alone (two Node nodes on one Redis): the
//! reference that the mixed-cluster tests hold ferrio to.

mod support;

use serde_json::json;
use support::node::{NodeNode, OfficialClients};
use support::redis::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_node_nodes_keep_the_cluster_contract() {
    let redis = RedisServer::start();
    let mut a = NodeNode::start(&redis.url(), &[]).await;
    let mut b = NodeNode::start(&redis.url(), &[]).await;
    let mut clients = OfficialClients::start().await;
    let on_a = clients
        .connect("a", &a.url(), "/", Some(json!("from-a")))
        .await;
    let on_b = clients
        .connect("b", &b.url(), "/", Some(json!("from-b")))
        .await;

    assert_eq!(
        clients.emit_with_ack("a", "server-count", json!([])).await,
        Ok(json!([2]))
    );
    let mut ids = vec![on_a.clone(), on_b.clone()];
    ids.sort();
    assert_eq!(
        clients
            .emit_with_ack("a", "fetch-sockets", json!([null]))
            .await,
        Ok(json!([ids]))
    );

    clients.emit("a", "broadcast", json!([{"x": 1}])).await;
    assert_eq!(clients.recv("b", "broadcast").await, json!([{"x": 1}]));
    assert_eq!(clients.recv("a", "broadcast").await, json!([{"x": 1}]));

    clients
        .emit_with_ack("a", "sockets-join", json!([on_b, "r1"]))
        .await
        .unwrap();
    clients.emit("a", "room", json!(["r1", "in-r1"])).await;
    assert_eq!(clients.recv("b", "room").await, json!(["in-r1"]));

    let asked = clients
        .emit_with_ack("b", "ask-all", json!([7]))
        .await
        .unwrap();
    assert_eq!(
        asked,
        json!([{"timedOut": false, "responses": ["from-a", "from-b"]}])
    );
    let said = clients
        .emit_with_ack("b", "server-side", json!([{"v": [1]}]))
        .await
        .unwrap();
    assert_eq!(said, json!([[{"v": [1]}]]));

    assert_eq!(a.call(json!({"cmd": "server-count"})).await, Ok(json!(2)));
    let details = b.call(json!({"cmd": "fetch-sockets"})).await.unwrap();
    assert_eq!(details.as_array().map(|a| a.len()), Some(2));

    clients.stop().await;
    a.stop().await;
    b.stop().await;
}

/// The contract's rows (`interop/socketio/cluster-client.mjs`, the same
/// script the conformance example is checked with) on two Node nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_script_passes_on_two_node_nodes() {
    let redis = RedisServer::start();
    let a = NodeNode::start(&redis.url(), &[]).await;
    let b = NodeNode::start(&redis.url(), &[]).await;
    let dir = support::process::interop_dir();
    let urls = format!("{},{}", a.url(), b.url());
    let out = tokio::process::Command::new("node")
        .arg(dir.join("socketio/cluster-client.mjs"))
        .args(["--urls", &urls, "--servers", "2"])
        .current_dir(&dir)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"ok\":true"),
        "{stdout}"
    );
    a.stop().await;
    b.stop().await;
}
