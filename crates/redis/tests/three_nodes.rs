//! A 3-node cluster: two ferrio nodes and one Node node on one Redis, with an
//! official client on each. Broadcasts, rooms, fetchSockets, server count,
//! acks and server-side events span all three.

mod support;

use serde_json::json;
use support::ferrio::FerrioNode;
use support::node::{NodeNode, OfficialClients};
use support::redis::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ferrio_nodes_and_a_node_node_form_one_cluster() {
    let redis = RedisServer::start();
    let n = NodeNode::start(&redis.url(), &[]).await;
    let f1 = FerrioNode::start(&redis.url()).await;
    let f2 = FerrioNode::start(&redis.url()).await;
    let mut js = OfficialClients::start().await;
    let a = js.connect("a", &n.url(), "/", Some(json!("a"))).await;
    let b = js.connect("b", &f1.url(), "/", Some(json!("b"))).await;
    let c = js.connect("c", &f2.url(), "/", Some(json!("c"))).await;

    for name in ["a", "b", "c"] {
        assert_eq!(
            js.emit_with_ack(name, "server-count", json!([])).await,
            Ok(json!([3]))
        );
    }
    let mut all = vec![a.clone(), b.clone(), c.clone()];
    all.sort();
    for name in ["a", "b", "c"] {
        assert_eq!(
            js.emit_with_ack(name, "fetch-sockets", json!([null])).await,
            Ok(json!([all]))
        );
    }
    for from in ["a", "b", "c"] {
        js.emit(from, "broadcast", json!([from])).await;
        for to in ["a", "b", "c"] {
            assert_eq!(js.recv(to, "broadcast").await, json!([from]));
        }
    }
    // Rooms: b joins "r" from a's node; c's broadcast to r reaches b only.
    js.emit_with_ack("a", "sockets-join", json!([b, "r"]))
        .await
        .unwrap();
    let mut members = json!(null);
    for _ in 0..50 {
        members = js
            .emit_with_ack("c", "fetch-sockets", json!(["r"]))
            .await
            .unwrap();
        if members == json!([[b]]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(members, json!([[b]]));
    js.emit("c", "room", json!(["r", "for-r"])).await;
    assert_eq!(js.recv("b", "room").await, json!(["for-r"]));

    for name in ["a", "b", "c"] {
        assert_eq!(
            js.emit_with_ack(name, "ask-all", json!([1])).await,
            Ok(json!([{"timedOut": false, "responses": ["a", "b", "c"]}]))
        );
        assert_eq!(
            js.emit_with_ack(name, "server-side", json!(["v"])).await,
            Ok(json!([["v", "v"]]))
        );
    }
    js.stop().await;
    n.stop().await;
    f1.stop().await;
    f2.stop().await;
}
