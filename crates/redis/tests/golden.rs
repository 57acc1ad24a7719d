//! Golden tests: the bytes a ferrio node publishes for a broadcast equal a
//! Node node's (socket.io 4.8 + @socket.io/redis-adapter 8.3 + notepack.io
//! 3.0.1) for the same canonical payloads, captured by a raw PSUBSCRIBE'd (or
//! SSUBSCRIBE'd) connection: classic and sharded. Only the sender's uid
//! differs. Each side's message is captured before the other side publishes,
//! so the pairs come in order.

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferrio_proto::socketio::Payload;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use serde_json::json;
use support::ferrio::FerrioNode;
use support::node::NodeNode;
use support::redis::RedisServer;

/// The next `count` messages of the capture: (channel, bytes).
async fn capture(
    rx: &mut tokio::sync::broadcast::Receiver<fred::types::Message>,
    count: usize,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while out.len() < count {
        let msg = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a broadcast is published")
            .expect("capture open");
        let bytes = msg.value.into_bytes().expect("bulk payload").to_vec();
        out.push((msg.channel.to_string(), bytes));
    }
    out
}

/// The bytes with the sender's uid (`93 a6 <6 bytes>`) blanked.
fn without_uid(mut bytes: Vec<u8>) -> Vec<u8> {
    assert_eq!(&bytes[..2], &[0x93, 0xa6], "[uid(6), packet, opts]");
    for b in &mut bytes[2..8] {
        *b = b'?';
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrio_publishes_nodes_bytes_for_the_canonical_broadcasts() {
    let redis = RedisServer::start();
    let mut n = NodeNode::start(&redis.url(), &[]).await;
    let f = FerrioNode::start(&redis.url()).await;
    let sub = SubscriberClient::new(Config::from_url(&redis.url()).unwrap(), None, None, None);
    sub.init().await.unwrap();
    let mut rx = sub.message_rx();
    sub.psubscribe("socket.io#/#*").await.unwrap();

    // 1. Every socket, binary and nested arguments.
    n.call(json!({"cmd": "emit", "event": "hello", "args": ["world", 1, 2.5, {"$bin": "010203"}, {"n": null, "a": [true, {"b": "c"}]}]}))
        .await
        .unwrap();
    let mut got = capture(&mut rx, 1).await;
    let args = vec![
        Payload::Json(json!("world")),
        Payload::Json(json!(1)),
        Payload::Json(json!(2.5)),
        Payload::Binary(Bytes::from_static(&[1, 2, 3])),
        Payload::Json(json!({"n": null, "a": [true, {"b": "c"}]})),
    ];
    f.io.sockets().broadcast().emit_args("hello", args).unwrap();
    got.extend(capture(&mut rx, 1).await);
    // 2. One room, except another.
    n.call(json!({"cmd": "emit", "event": "x", "args": [{"b": null}], "rooms": ["r1"], "except": ["r2"]}))
        .await
        .unwrap();
    got.extend(capture(&mut rx, 1).await);
    f.io.sockets()
        .to("r1")
        .except("r2")
        .emit("x", &(json!({"b": null}),))
        .unwrap();
    got.extend(capture(&mut rx, 1).await);
    // 3. Two rooms, volatile.
    n.call(
        json!({"cmd": "emit", "event": "y", "args": [], "rooms": ["r1", "r9"], "volatile": true}),
    )
    .await
    .unwrap();
    got.extend(capture(&mut rx, 1).await);
    f.io.sockets()
        .to(vec!["r1".to_owned(), "r9".to_owned()])
        .volatile()
        .emit_args("y", Vec::new())
        .unwrap();
    got.extend(capture(&mut rx, 1).await);

    for pair in got.chunks(2) {
        let [(node_channel, node), (ferrio_channel, ferrio)] = pair else {
            unreachable!()
        };
        assert_eq!(node_channel, ferrio_channel);
        assert_eq!(
            without_uid(ferrio.clone()),
            without_uid(node.clone()),
            "on {node_channel}:\n ferrio {}\n node   {}",
            hex(ferrio),
            hex(node)
        );
    }
    assert_eq!(got[2].0, "socket.io#/#r1#");
    assert_eq!(got[4].0, "socket.io#/#");
    n.stop().await;
    f.stop().await;
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The bytes with the envelope's uid blanked: `"uid":"…"` in JSON, the 16
/// bytes after `a3 "uid" b0` in msgpack.
fn without_cluster_uid(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.first() == Some(&b'{') {
        let text = String::from_utf8(out).expect("JSON text");
        let at = text.find("\"uid\":\"").expect("a uid") + 7;
        let end = at + text[at..].find('"').expect("closing quote");
        return format!("{}?{}", &text[..at], &text[end..]).into_bytes();
    }
    let marker = [0xa3, b'u', b'i', b'd', 0xb0];
    let at = out.windows(5).position(|w| w == marker).expect("a uid") + 5;
    for b in &mut out[at..at + 16] {
        *b = b'?';
    }
    out
}

/// The same with the sharded adapter (dynamic): JSON for plain payloads,
/// msgpack of the whole envelope for binary ones, equal to a Node node's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrio_publishes_nodes_bytes_for_sharded_broadcasts() {
    use ferrio_redis::{RedisAdapterConfig, SubscriptionMode};
    let redis = RedisServer::start();
    let mut n = NodeNode::start(&redis.url(), &[("REDIS_ADAPTER", "sharded")]).await;
    let f = FerrioNode::start_with(
        &redis.url(),
        RedisAdapterConfig::default().sharded(SubscriptionMode::Dynamic),
    )
    .await;
    let sub = SubscriberClient::new(Config::from_url(&redis.url()).unwrap(), None, None, None);
    sub.init().await.unwrap();
    let mut rx = sub.message_rx();
    sub.ssubscribe(vec!["socket.io#/#", "socket.io#/#r1#"])
        .await
        .unwrap();

    n.call(json!({"cmd": "emit", "event": "hello", "args": ["world", 1, 2.5, {"n": null}]}))
        .await
        .unwrap();
    let mut got = capture(&mut rx, 1).await;
    f.io.sockets()
        .emit("hello", &("world", 1, 2.5, json!({"n": null})))
        .unwrap();
    got.extend(capture(&mut rx, 1).await);
    n.call(json!({"cmd": "emit", "event": "bin", "args": [{"$bin": "010203"}, {"a": [true]}]}))
        .await
        .unwrap();
    got.extend(capture(&mut rx, 1).await);
    let args = vec![
        Payload::Binary(Bytes::from_static(&[1, 2, 3])),
        Payload::Json(json!({"a": [true]})),
    ];
    f.io.sockets().broadcast().emit_args("bin", args).unwrap();
    got.extend(capture(&mut rx, 1).await);
    n.call(json!({"cmd": "emit", "event": "x", "args": [1], "rooms": ["r1"], "except": ["r2"]}))
        .await
        .unwrap();
    got.extend(capture(&mut rx, 1).await);
    f.io.sockets()
        .to("r1")
        .except("r2")
        .emit("x", &(1,))
        .unwrap();
    got.extend(capture(&mut rx, 1).await);

    for pair in got.chunks(2) {
        let [(node_channel, node), (ferrio_channel, ferrio)] = pair else {
            unreachable!()
        };
        assert_eq!(node_channel, ferrio_channel);
        assert_eq!(
            without_cluster_uid(ferrio),
            without_cluster_uid(node),
            "on {node_channel}:\n ferrio {}\n node   {}",
            String::from_utf8_lossy(ferrio),
            String::from_utf8_lossy(node)
        );
    }
    assert_eq!(got[4].0, "socket.io#/#r1#");
    assert_ne!(got[2].1.first(), Some(&b'{'), "binary: msgpack");
    n.stop().await;
    f.stop().await;
}
