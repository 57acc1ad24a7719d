//! The emitter, both ways: ferrio's [`Emitter`] drives a Node cluster node's
//! clients, and Node's `@socket.io/redis-emitter` drives a ferrio node's.

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferrio_proto::socketio::Payload;
use ferrio_redis::Emitter;
use serde_json::json;
use support::node::{NodeNode, OfficialClients};
use support::redis::RedisServer;

const SHORT: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrios_emitter_drives_a_node_cluster() {
    let redis = RedisServer::start();
    let mut n = NodeNode::start(&redis.url(), &[]).await;
    let mut js = OfficialClients::start().await;
    let a = js.connect("a", &n.url(), "/", None).await;
    js.connect("b", &n.url(), "/", None).await;
    js.connect("admin", &n.url(), "/admin", None).await;
    js.emit("a", "join", json!(["r3"])).await;
    js.emit_with_ack("a", "echo", json!([0])).await.unwrap();

    let emitter = Emitter::connect(&redis.url(), "socket.io").await.unwrap();
    // To everyone, with binary.
    emitter
        .emit_args(
            "all",
            vec![
                Payload::Json(json!("x")),
                Payload::Binary(Bytes::from_static(&[9])),
            ],
        )
        .await
        .unwrap();
    assert_eq!(js.recv("a", "all").await, json!(["x", {"$bin": "09"}]));
    assert_eq!(js.recv("b", "all").await, json!(["x", {"$bin": "09"}]));
    // To a room.
    emitter.to("r3").emit("room", &("r3 only",)).await.unwrap();
    assert_eq!(js.recv("a", "room").await, json!(["r3 only"]));
    assert_eq!(js.recv_within("b", "room", SHORT).await, None);
    // Another namespace, except a room, volatile.
    emitter
        .of("admin")
        .except("nobody")
        .volatile()
        .emit("adm", &(1,))
        .await
        .unwrap();
    assert_eq!(js.recv("admin", "adm").await, json!([1]));
    assert_eq!(js.recv_within("a", "adm", SHORT).await, None);
    // Join and leave.
    emitter.to("r3").sockets_join(&["r4"]).await.unwrap();
    let mut members = json!(null);
    for _ in 0..50 {
        members = js
            .emit_with_ack("b", "fetch-sockets", json!(["r4"]))
            .await
            .unwrap();
        if members == json!([[a]]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(members, json!([[a]]));
    emitter.sockets_leave(&["r4"]).await.unwrap();
    for _ in 0..50 {
        members = js
            .emit_with_ack("b", "fetch-sockets", json!(["r4"]))
            .await
            .unwrap();
        if members == json!([[]]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(members, json!([[]]));
    // Server-side.
    emitter.server_side_emit("evt", &(1, "two")).await.unwrap();
    let got = n
        .wait_for(|v| v["event"] == "server-side" && v["name"] == "evt")
        .await;
    assert_eq!(got["args"], json!([1, "two"]));
    // Disconnect.
    emitter.to("r3").disconnect_sockets(false).await.unwrap();
    assert_eq!(js.disconnected("a").await, "io server disconnect");
    assert!(emitter.emit("disconnect", &()).await.is_err(), "reserved");
    js.stop().await;
    n.stop().await;
}
