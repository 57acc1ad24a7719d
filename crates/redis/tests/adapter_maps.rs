//! `Namespace::adapter_sids` / `adapter_rooms` on a Redis-backed namespace are
//! this node's membership maps, as Node's `nsp.adapter.sids` / `rooms` are with
//! any adapter: a socket that joined a room in connection middleware is in
//! them before it connects (each Redis adapter hands the maps of its local
//! adapter; built from the connected sockets, they missed it).

mod support;

use std::time::Duration;

use ferrio::Room;
use ferrio_client::TransportKind;
use ferrio_redis::{RedisAdapterConfig, StreamsOptions, SubscriptionMode};
use support::ferrio::FerrioNode;
use support::redis::RedisServer;
use tokio::sync::{mpsc, watch};

const WAIT: Duration = Duration::from_secs(10);

async fn a_socket_in_middleware_is_in_the_maps(config: RedisAdapterConfig) {
    let redis = RedisServer::start();
    let node = FerrioNode::start_with(&redis.url(), config).await;
    let nsp = node.io.of("/maps");
    nsp.ready().await.expect("/maps subscribed");
    let (joined_tx, mut joined) = mpsc::unbounded_channel();
    let (release, gate) = watch::channel(false);
    nsp.use_middleware(move |socket| {
        let joined_tx = joined_tx.clone();
        let mut gate = gate.clone();
        async move {
            socket.join("m");
            let _ = joined_tx.send(socket.id());
            let _ = gate.wait_for(|open| *open).await;
            Ok(())
        }
    });
    let client = ferrio_client::io(&format!("{}/maps", node.url()))
        .expect("valid url")
        .config(
            ferrio_client::ManagerConfig::default()
                .transports([TransportKind::WebSocket])
                .reconnection(false),
        )
        .force_new(true)
        .build();
    let id = tokio::time::timeout(WAIT, joined.recv())
        .await
        .expect("the middleware runs")
        .expect("an id");

    let sids = nsp.adapter_sids();
    assert!(
        sids.get(&id)
            .is_some_and(|rooms| rooms.contains(&Room::from("m"))),
        "{sids:?}"
    );
    let rooms = nsp.adapter_rooms();
    assert!(
        rooms
            .get(&Room::from("m"))
            .is_some_and(|ids| ids.contains(&id)),
        "{rooms:?}"
    );

    let _ = release.send(true);
    let deadline = tokio::time::Instant::now() + WAIT;
    while client.id().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "connects");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.disconnect();
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic() {
    a_socket_in_middleware_is_in_the_maps(RedisAdapterConfig::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded() {
    a_socket_in_middleware_is_in_the_maps(
        RedisAdapterConfig::default().sharded(SubscriptionMode::Dynamic),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams() {
    a_socket_in_middleware_is_in_the_maps(
        RedisAdapterConfig::default().streams(StreamsOptions::default()),
    )
    .await;
}
