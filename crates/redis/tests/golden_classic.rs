//! Golden test: the bytes a ferrio node publishes for a broadcast equal a Node
//! node's (socket.io 4.8 + @socket.io/redis-adapter 8.3 + notepack.io 3.0.1)
//! for the same canonical payloads, captured by a raw PSUBSCRIBE'd connection.
//! Only the sender's uid (6 random characters at a fixed place) differs.

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
    let args = vec![
        Payload::Json(json!("world")),
        Payload::Json(json!(1)),
        Payload::Json(json!(2.5)),
        Payload::Binary(Bytes::from_static(&[1, 2, 3])),
        Payload::Json(json!({"n": null, "a": [true, {"b": "c"}]})),
    ];
    f.io.sockets().broadcast().emit_args("hello", args).unwrap();
    // 2. One room, except another.
    n.call(json!({"cmd": "emit", "event": "x", "args": [{"b": null}], "rooms": ["r1"], "except": ["r2"]}))
        .await
        .unwrap();
    f.io.sockets()
        .to("r1")
        .except("r2")
        .emit("x", &(json!({"b": null}),))
        .unwrap();
    // 3. Two rooms, volatile.
    n.call(
        json!({"cmd": "emit", "event": "y", "args": [], "rooms": ["r1", "r9"], "volatile": true}),
    )
    .await
    .unwrap();
    f.io.sockets()
        .to(vec!["r1".to_owned(), "r9".to_owned()])
        .volatile()
        .emit_args("y", Vec::new())
        .unwrap();

    let got = capture(&mut rx, 6).await;
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
