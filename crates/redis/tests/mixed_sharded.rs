//! Mixed clusters on the sharded adapter (`createShardedAdapter`, SSUBSCRIBE
//! on a standalone Redis 7), for each subscription mode: a Node node N and a
//! ferrio node F (memo §7.2 scenarios 15–17). The contract's rows
//! (`interop/socketio/cluster-client.mjs`) run from each side; binary
//! broadcasts and room broadcasts run both ways with official clients.

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferrio_proto::socketio::Payload;
use ferrio_redis::{RedisAdapterConfig, SubscriptionMode};
use fred::prelude::*;
use serde_json::json;
use support::ferrio::FerrioNode;
use support::node::{NodeNode, OfficialClients};
use support::process::interop_dir;
use support::redis::RedisServer;

const SHORT: Duration = Duration::from_millis(500);

/// Runs every row of the contract with client A on the first URL.
async fn contract(urls: &str) {
    let out = tokio::process::Command::new("node")
        .arg(interop_dir().join("socketio/cluster-client.mjs"))
        .args(["--urls", urls, "--servers", "2"])
        .current_dir(interop_dir())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("in time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"ok\":true"),
        "{urls}:\n{stdout}"
    );
}

async fn shard_subscribers(redis: &RedisServer, channel: &str) -> i64 {
    let raw = Client::new(Config::from_url(&redis.url()).unwrap(), None, None, None);
    raw.init().await.unwrap();
    let counts: Vec<(String, i64)> = raw.pubsub_shardnumsub(channel).await.unwrap();
    let _ = raw.quit().await;
    counts.first().map_or(0, |c| c.1)
}

async fn mixed(mode: SubscriptionMode, node_mode: &str) {
    let redis = RedisServer::start();
    let mut n = NodeNode::start(
        &redis.url(),
        &[
            ("REDIS_ADAPTER", "sharded"),
            ("REDIS_SUBSCRIPTION_MODE", node_mode),
        ],
    )
    .await;
    let f = FerrioNode::start_with(&redis.url(), RedisAdapterConfig::default().sharded(mode)).await;

    // Scenario 17: SHARDNUMSUB counts both.
    assert_eq!(f.io.sockets().server_count().await.unwrap(), 2);
    assert_eq!(n.call(json!({"cmd": "server-count"})).await, Ok(json!(2)));

    // Scenarios 15 (6, 7, 8, 9): every row of the contract, from each side.
    contract(&format!("{},{}", n.url(), f.url())).await;
    contract(&format!("{},{}", f.url(), n.url())).await;

    // Scenarios 15 (1, 3) and 16: binary broadcasts and rooms, both ways.
    let mut js = OfficialClients::start().await;
    js.connect("on", &n.url(), "/", None).await;
    js.connect("of", &f.url(), "/", None).await;
    js.emit("of", "join", json!(["r1"])).await;
    js.emit("on", "join", json!(["r1"])).await;
    js.emit_with_ack("of", "echo", json!([0])).await.unwrap();
    js.emit_with_ack("on", "echo", json!([0])).await.unwrap();
    if mode != SubscriptionMode::Static {
        // F subscribed r1's shard channel when its socket joined (N did too,
        // for its own socket): two subscribers.
        let mut subscribers = 0;
        for _ in 0..50 {
            subscribers = shard_subscribers(&redis, "socket.io#/#r1#").await;
            if subscribers == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(subscribers, 2);
    }
    n.call(
        json!({"cmd": "emit", "event": "bin", "args": [{"$bin": "010203"}, {"d": {"$date": 0}}]}),
    )
    .await
    .unwrap();
    assert_eq!(
        js.recv("of", "bin").await,
        json!([{"$bin": "010203"}, {"d": "1970-01-01T00:00:00.000Z"}])
    );
    f.io.sockets()
        .broadcast()
        .emit_args(
            "bin2",
            vec![
                Payload::Binary(Bytes::from_static(&[4, 5])),
                Payload::Json(json!({"n": 1})),
            ],
        )
        .unwrap();
    assert_eq!(
        js.recv("on", "bin2").await,
        json!([{"$bin": "0405"}, {"n": 1}])
    );
    n.call(json!({"cmd": "emit", "event": "in-r1", "args": ["from-n"], "rooms": ["r1"]}))
        .await
        .unwrap();
    assert_eq!(js.recv("of", "in-r1").await, json!(["from-n"]));
    assert_eq!(js.recv("on", "in-r1").await, json!(["from-n"]));
    f.io.sockets().to("r1").emit("in-r1", &("from-f",)).unwrap();
    assert_eq!(js.recv("on", "in-r1").await, json!(["from-f"]));
    assert_eq!(js.recv("of", "in-r1").await, json!(["from-f"]));
    assert_eq!(
        js.recv_within("of", "in-r1", SHORT).await,
        None,
        "once each"
    );

    // After F's last member leaves r1, F drops r1's shard channel (dynamic
    // modes): N's socket is still in r1, so one subscriber remains.
    js.emit("of", "leave", json!(["r1"])).await;
    js.emit_with_ack("of", "echo", json!([0])).await.unwrap();
    if mode != SubscriptionMode::Static {
        let mut subscribers = 0;
        for _ in 0..50 {
            subscribers = shard_subscribers(&redis, "socket.io#/#r1#").await;
            if subscribers == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(subscribers, 1);
    }
    js.stop().await;

    // Scenario 17: the count drops when F leaves.
    f.stop().await;
    let mut count = json!(null);
    for _ in 0..50 {
        count = n.call(json!({"cmd": "server-count"})).await.unwrap();
        if count == json!(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count, json!(1));
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_static() {
    mixed(SubscriptionMode::Static, "static").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic() {
    mixed(SubscriptionMode::Dynamic, "dynamic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic_private() {
    mixed(SubscriptionMode::DynamicPrivate, "dynamic-private").await;
}
