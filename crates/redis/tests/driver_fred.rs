//! The driver spike (memo §5.2), kept as the driver's tests: fred 10.1's
//! `SubscriberClient` against the local `redis-server` 7.0 (standalone).
//!
//! * PSUBSCRIBE, SUBSCRIBE and SSUBSCRIBE on one connection, each receiving;
//! * a Redis restart, after which `manage_subscriptions()` subscribes again;
//! * a 10 000-message burst with a raised broadcast capacity, nothing lost.

#[path = "support/redis.rs"]
mod redis;

use std::time::{Duration, Instant};

use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::{Message, MessageKind};
use redis::RedisServer;

const WAIT: Duration = Duration::from_secs(15);

fn config(server: &RedisServer) -> Config {
    Config::from_url(&server.url()).expect("valid url")
}

fn perf(capacity: usize) -> PerformanceConfig {
    PerformanceConfig {
        broadcast_channel_capacity: capacity,
        ..Default::default()
    }
}

async fn publisher(server: &RedisServer) -> Client {
    let client = Client::new(
        config(server),
        None,
        None,
        Some(ReconnectPolicy::new_constant(0, 100)),
    );
    client.init().await.expect("publisher connects");
    client
}

async fn subscriber(server: &RedisServer, capacity: usize) -> SubscriberClient {
    let sub = SubscriberClient::new(
        config(server),
        Some(perf(capacity)),
        None,
        Some(ReconnectPolicy::new_constant(0, 100)),
    );
    sub.init().await.expect("subscriber connects");
    sub
}

/// Receives until `want` (kind, channel, payload) are all seen.
async fn expect_messages(
    rx: &mut tokio::sync::broadcast::Receiver<Message>,
    want: &[(MessageKind, &str, &str)],
) {
    let mut missing: Vec<(MessageKind, String, String)> = want
        .iter()
        .map(|(k, c, p)| (k.clone(), c.to_string(), p.to_string()))
        .collect();
    let deadline = Instant::now() + WAIT;
    while !missing.is_empty() {
        let msg = tokio::time::timeout_at(deadline.into(), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("still missing {missing:?}"))
            .expect("receiver open");
        let payload = msg
            .value
            .as_str()
            .map(|s| s.to_string())
            .unwrap_or_default();
        missing.retain(|(k, c, p)| !(*k == msg.kind && c == &*msg.channel && *p == payload));
    }
}

async fn subscribe_all(sub: &SubscriberClient) {
    sub.psubscribe("socket.io#/#*").await.expect("psubscribe");
    sub.subscribe(vec!["socket.io-request#/#", "socket.io-response#/#"])
        .await
        .expect("subscribe");
    sub.ssubscribe("shard#/#").await.expect("ssubscribe");
}

async fn publish_all(publisher: &Client, tag: &str) {
    let _: i64 = publisher
        .publish("socket.io#/#r1#", format!("p-{tag}"))
        .await
        .unwrap();
    let _: i64 = publisher
        .publish("socket.io-request#/#", format!("s-{tag}"))
        .await
        .unwrap();
    let _: i64 = publisher
        .spublish("shard#/#", format!("sh-{tag}"))
        .await
        .unwrap();
}

fn wanted(tag: &str) -> Vec<(MessageKind, &'static str, String)> {
    vec![
        (MessageKind::PMessage, "socket.io#/#r1#", format!("p-{tag}")),
        (
            MessageKind::Message,
            "socket.io-request#/#",
            format!("s-{tag}"),
        ),
        (MessageKind::SMessage, "shard#/#", format!("sh-{tag}")),
    ]
}

async fn expect_tagged(rx: &mut tokio::sync::broadcast::Receiver<Message>, tag: &str) {
    let want = wanted(tag);
    let borrowed: Vec<(MessageKind, &str, &str)> = want
        .iter()
        .map(|(k, c, p)| (k.clone(), *c, p.as_str()))
        .collect();
    expect_messages(rx, &borrowed).await;
}

#[tokio::test]
async fn psubscribe_subscribe_and_ssubscribe_on_a_standalone_redis_7() {
    let server = RedisServer::start();
    let sub = subscriber(&server, 64).await;
    let mut rx = sub.message_rx();
    subscribe_all(&sub).await;
    let publisher = publisher(&server).await;

    publish_all(&publisher, "1").await;
    expect_tagged(&mut rx, "1").await;

    let counts: Vec<(String, i64)> = publisher
        .pubsub_numsub("socket.io-request#/#")
        .await
        .expect("numsub");
    assert_eq!(counts, vec![("socket.io-request#/#".to_owned(), 1)]);
}

#[tokio::test]
async fn subscriptions_come_back_after_a_redis_restart() {
    let mut server = RedisServer::start();
    let sub = subscriber(&server, 64).await;
    let _resubscribe = sub.manage_subscriptions();
    let mut rx = sub.message_rx();
    subscribe_all(&sub).await;
    let publisher = publisher(&server).await;
    publish_all(&publisher, "before").await;
    expect_tagged(&mut rx, "before").await;

    server.restart();
    let restarted = Instant::now();

    // Publish until every kind arrives again (the subscriber reconnects and
    // subscribes again on its own; the publisher reconnects too).
    let deadline = Instant::now() + WAIT;
    let mut round = 0;
    loop {
        round += 1;
        let tag = format!("after-{round}");
        if tokio::time::timeout(Duration::from_millis(200), publish_all(&publisher, &tag))
            .await
            .is_ok()
        {
            let want = wanted(&tag);
            let borrowed: Vec<(MessageKind, &str, &str)> = want
                .iter()
                .map(|(k, c, p)| (k.clone(), *c, p.as_str()))
                .collect();
            let got = tokio::time::timeout(Duration::from_millis(300), async {
                let mut missing: Vec<(MessageKind, String, String)> = borrowed
                    .iter()
                    .map(|(k, c, p)| (k.clone(), c.to_string(), p.to_string()))
                    .collect();
                while !missing.is_empty() {
                    let Ok(msg) = rx.recv().await else { continue };
                    let payload = msg
                        .value
                        .as_str()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    missing.retain(|(k, c, p)| {
                        !(*k == msg.kind && c == &*msg.channel && *p == payload)
                    });
                }
            })
            .await;
            if got.is_ok() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no resubscription within {WAIT:?}"
        );
    }
    eprintln!(
        "resubscribed {:?} after the restart ({round} rounds)",
        restarted.elapsed()
    );
    let counts: Vec<(String, i64)> = publisher
        .pubsub_numsub("socket.io-request#/#")
        .await
        .unwrap();
    assert_eq!(counts, vec![("socket.io-request#/#".to_owned(), 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_10_000_messages_arrives_whole_with_a_raised_capacity() {
    const N: usize = 10_000;
    let server = RedisServer::start();
    let sub = subscriber(&server, 65_536).await;
    let mut rx = sub.message_rx();
    sub.psubscribe("socket.io#/#*").await.unwrap();
    let publisher = publisher(&server).await;

    let sending = tokio::spawn(async move {
        for i in 0..N {
            let _: i64 = publisher
                .publish("socket.io#/#", i.to_string())
                .await
                .unwrap();
        }
    });
    let mut next = 0usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    while next < N {
        let msg = tokio::time::timeout_at(deadline.into(), rx.recv())
            .await
            .expect("burst arrives in time")
            .expect("no message lagged (a Lagged error would fail here)");
        assert_eq!(
            msg.value.as_str().as_deref(),
            Some(next.to_string().as_str())
        );
        next += 1;
    }
    sending.await.unwrap();
}
