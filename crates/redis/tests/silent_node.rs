//! A node that is subscribed (so NUMSUB counts it) but never answers, as a
//! stopped or hung Node process would be: F's cluster requests end within
//! `requests_timeout` with Node's errors, and F keeps working (memo §7.2
//! scenarios 17 and 30).

mod support;

use std::time::{Duration, Instant};

use ferrio_redis::RedisAdapterConfig;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use support::ferrio::FerrioNode;
use support::redis::RedisServer;

const TIMEOUT: Duration = Duration::from_millis(700);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_a_silent_node_time_out_cleanly() {
    let redis = RedisServer::start();
    let f = FerrioNode::start_with(
        &redis.url(),
        RedisAdapterConfig::default().requests_timeout(TIMEOUT),
    )
    .await;
    // The silent node: subscribed to the request channel, answering nothing.
    let silent = SubscriberClient::new(Config::from_url(&redis.url()).unwrap(), None, None, None);
    silent.init().await.unwrap();
    silent.subscribe("socket.io-request#/#").await.unwrap();
    let nsp = f.io.sockets();
    assert_eq!(nsp.server_count().await.unwrap(), 2);

    let started = Instant::now();
    let fetched = nsp.broadcast().fetch_sockets().await;
    let took = started.elapsed();
    let error = fetched
        .expect_err("no answer from the silent node")
        .to_string();
    assert!(
        error.contains("timeout reached while waiting for fetchSockets response"),
        "{error}"
    );
    assert!(
        took >= TIMEOUT && took < TIMEOUT + Duration::from_millis(500),
        "{took:?}"
    );

    let rooms = nsp.adapter().all_rooms().await;
    assert!(
        rooms
            .expect_err("no answer")
            .to_string()
            .contains("allRooms")
    );

    let started = Instant::now();
    let answers = nsp
        .timeout(TIMEOUT)
        .server_side_emit_with_ack("hello", &(1,))
        .await
        .expect("partial answers, not an error");
    assert!(answers.timed_out());
    assert_eq!((answers.responses.len(), answers.expected), (0, 1));
    assert!(started.elapsed() < TIMEOUT + Duration::from_millis(500));

    let started = Instant::now();
    let acks = nsp
        .timeout(TIMEOUT)
        .emit_with_ack("question", &(1,))
        .await
        .expect("acks");
    assert!(
        acks.timed_out(),
        "the silent server never reported its clients"
    );
    assert!(started.elapsed() < TIMEOUT + Duration::from_millis(500));

    // Nothing is left waiting, and the node still serves: once the silent
    // node is gone, requests complete at once.
    let _ = silent.quit().await;
    let mut count = 0;
    for _ in 0..50 {
        count = nsp.server_count().await.unwrap();
        if count == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count, 1);
    let started = Instant::now();
    assert!(nsp.broadcast().fetch_sockets().await.unwrap().is_empty());
    assert!(started.elapsed() < TIMEOUT);
    f.stop().await;
}
