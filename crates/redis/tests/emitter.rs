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

/// `@socket.io/redis-emitter` 5.1 (Node) drives a ferrio node: broadcasts with
/// binary to all, to a room, to another namespace with except and volatile;
/// socketsJoin/Leave without uid; serverSideEmit to `on_server_side`;
/// disconnectSockets(true).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_emitter_drives_a_ferrio_node() {
    use support::ferrio::{FerrioNode, RustClients};
    use support::process::JsonProcess;

    let redis = RedisServer::start();
    let f = FerrioNode::start(&redis.url()).await;
    let mut js = OfficialClients::start().await;
    let mut rs = RustClients::default();
    let a = js.connect("a", &f.url(), "/", None).await;
    rs.connect("b", &f.url(), "/", None).await;
    js.connect("admin", &f.url(), "/admin", None).await;
    js.emit("a", "join", json!(["r3"])).await;
    js.emit_with_ack("a", "echo", json!([0])).await.unwrap();
    let (tx, mut server_side) = tokio::sync::mpsc::unbounded_channel();
    f.io.sockets().on_server_side("evt", move |args, _ack| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(args.to_value(0));
        }
    });

    let mut emitter = JsonProcess::node("socketio/emitter.mjs", &[("REDIS_URL", redis.url())]);
    emitter.wait_for(|v| v["event"] == "ready").await;
    let mut id = 0;
    let mut run = async |emitter: &mut JsonProcess, mut cmd: serde_json::Value| {
        id += 1;
        cmd["id"] = json!(id);
        emitter.send(cmd).await;
        let done = emitter
            .wait_for(|v| v["event"] == "done" && v["id"] == json!(id))
            .await;
        assert_eq!(done.get("error"), None, "{done}");
    };

    run(
        &mut emitter,
        json!({"cmd": "emit", "event": "all", "args": ["x", {"$bin": "09"}, {"d": {"$date": 0}}]}),
    )
    .await;
    let expected = json!(["x", {"$bin": "09"}, {"d": "1970-01-01T00:00:00.000Z"}]);
    assert_eq!(js.recv("a", "all").await, expected);
    assert_eq!(rs.recv("b", "all").await, expected);

    run(
        &mut emitter,
        json!({"cmd": "emit", "event": "room", "args": [1], "rooms": ["r3"]}),
    )
    .await;
    assert_eq!(js.recv("a", "room").await, json!([1]));
    assert_eq!(rs.recv_within("b", "room", SHORT).await, None);

    run(&mut emitter, json!({"cmd": "emit", "nsp": "/admin", "event": "adm", "args": [2], "except": ["nobody"], "volatile": true})).await;
    assert_eq!(js.recv("admin", "adm").await, json!([2]));
    assert_eq!(js.recv_within("a", "adm", SHORT).await, None);

    run(
        &mut emitter,
        json!({"cmd": "sockets-join", "rooms": ["r3"], "room": "r4"}),
    )
    .await;
    let nsp = f.io.sockets();
    let mut members = Vec::new();
    for _ in 0..50 {
        members = nsp
            .to("r4")
            .fetch_sockets()
            .await
            .unwrap()
            .iter()
            .map(|s| s.id.to_string())
            .collect();
        if members == [a.clone()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(members, std::slice::from_ref(&a));
    run(&mut emitter, json!({"cmd": "sockets-leave", "room": "r4"})).await;
    for _ in 0..50 {
        members = nsp
            .to("r4")
            .fetch_sockets()
            .await
            .unwrap()
            .iter()
            .map(|s| s.id.to_string())
            .collect();
        if members.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(members.is_empty());

    run(
        &mut emitter,
        json!({"cmd": "server-side-emit", "event": "evt", "args": [{"k": 1}]}),
    )
    .await;
    let got = tokio::time::timeout(Duration::from_secs(5), server_side.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, Some(json!({"k": 1})));

    run(
        &mut emitter,
        json!({"cmd": "disconnect-sockets", "rooms": ["r3"], "close": true}),
    )
    .await;
    // As from Node: a DISCONNECT first, then the connection closes.
    assert_eq!(js.disconnected("a").await, "io server disconnect");
    emitter.stop().await;
    rs.close();
    js.stop().await;
    f.stop().await;
}
