//! Heartbeat, abandoned sessions and graceful shutdown over real sockets.

mod support;

use std::time::Duration;

use ferrio_engine::{CloseReason, EngineConfig};
use futures_util::SinkExt;
use support::{Server, ws_next, ws_next_text};
use tokio_tungstenite::tungstenite::Message as M;

fn quick_heartbeat() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(100))
}

#[tokio::test]
async fn a_session_that_answers_pings_survives_many_of_them() {
    let mut server = Server::start(quick_heartbeat()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await;
    for _ in 0..5 {
        match ws_next(&mut ws).await.unwrap() {
            M::Text(t) => assert_eq!(t.as_str(), "2"),
            other => panic!("expected a ping, got {other:?}"),
        }
        ws.send(M::text("3")).await.unwrap();
    }
    ws.send(M::text("4alive")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4alive");
    assert!(server.events.try_recv().is_ok(), "open event");
    assert!(
        !std::iter::from_fn(|| server.events.try_recv().ok())
            .any(|e| matches!(e, support::Event::Close(..))),
        "no close while answering pings"
    );
}

#[tokio::test]
async fn an_unanswered_ping_closes_the_session() {
    let mut server = Server::start(quick_heartbeat()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await;
    assert_eq!(server.next_close().await, CloseReason::PingTimeout);
    assert_eq!(ws_next(&mut ws).await, Some(M::text("2")));
    assert!(matches!(ws_next(&mut ws).await, Some(M::Close(_)) | None));
}

#[tokio::test]
async fn abandoned_polling_handshakes_leave_no_session_behind() {
    let server = Server::start(quick_heartbeat()).await;
    for _ in 0..1000 {
        server.polling_handshake().await;
    }
    assert!(server.engine.session_count() > 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.engine.session_count() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "sessions leaked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn shutdown_closes_every_session_with_its_reason() {
    let mut server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await;
    server.polling_handshake().await;
    let engine = server.engine.clone();
    let mut events =
        std::mem::replace(&mut server.events, tokio::sync::mpsc::unbounded_channel().1);
    server.shutdown().await;
    assert_eq!(engine.session_count(), 0);
    let reasons: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e {
            support::Event::Close(_, r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [CloseReason::ServerShutdown; 2]);
    assert!(matches!(ws_next(&mut ws).await, Some(M::Close(_)) | None));
}
