//! The engine-wide budget for bytes waiting in outboxes
//! (`EngineConfig::max_total_buffered_bytes`): when a send takes the total
//! over it, the sessions that hold the most are closed first, and their
//! handler runs later, never on the sender's stack.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio_engine::{CloseReason, EngineConfig, OutPacket, Session, Sid};
use futures_util::SinkExt;
use support::{Event, Server, ws_next, ws_next_text};
use tokio_tungstenite::tungstenite::Message as M;

const KIB: usize = 1024;

fn binary(len: usize) -> OutPacket {
    OutPacket::Binary(Bytes::from(vec![7u8; len]))
}

/// A long-polling session that never polls: whatever is sent to it waits.
async fn silent_session(server: &mut Server) -> Arc<Session> {
    let sid = server.polling_handshake().await;
    assert!(matches!(server.next_event().await, Event::Open(_)));
    server.engine.session(Sid::parse(&sid).unwrap()).unwrap()
}

#[tokio::test]
async fn over_the_budget_the_biggest_session_is_closed_first() {
    let config = EngineConfig::default().max_total_buffered_bytes(2048 * KIB);
    let mut server = Server::start(config).await;
    let a = silent_session(&mut server).await;
    let b = silent_session(&mut server).await;
    let c = silent_session(&mut server).await;
    let mut healthy = server.websocket("transport=websocket").await;
    ws_next_text(&mut healthy).await; // open
    let Event::Open(h) = server.next_event().await else {
        panic!("an open event");
    };
    let h = server.engine.session(Sid::parse(&h).unwrap()).unwrap();

    a.send(binary(900 * KIB)).unwrap();
    b.send(binary(600 * KIB)).unwrap();
    c.send(binary(300 * KIB)).unwrap();
    assert_eq!(server.engine.buffered_bytes(), 1800 * KIB);

    // One broadcast of 256 KiB: A's outbox takes the total over 2 MiB.
    let broadcast = binary(256 * KIB);
    for session in [&a, &b, &c, &h] {
        let _ = session.send(broadcast.clone());
    }
    assert!(a.is_closed(), "the session holding the most is closed");
    assert!(!b.is_closed() && !c.is_closed() && !h.is_closed());
    assert!(server.engine.buffered_bytes() <= 2048 * KIB);
    // Its handler did not run inside the sends: it runs on a task of its own.
    while let Ok(event) = server.events.try_recv() {
        assert!(
            !matches!(event, Event::Close(..)),
            "on_close ran on the sender's stack"
        );
    }
    assert_eq!(server.next_close().await, CloseReason::TransportError);

    // The healthy client got the broadcast and goes on.
    assert_eq!(
        ws_next(&mut healthy).await,
        Some(M::binary(vec![7u8; 256 * KIB]))
    );
    healthy.send(M::text("4still here")).await.unwrap();
    assert_eq!(ws_next_text(&mut healthy).await, "4still here");
    // And the other silent sessions keep what was sent to them.
    let url = server.url(&format!("transport=polling&sid={}", b.id()));
    let poll = server.request("GET", &url, "").await;
    let encoded = |n: usize| 1 + n.div_ceil(3) * 4;
    assert_eq!(poll.body.len(), encoded(600 * KIB) + 1 + encoded(256 * KIB));
    assert!(!b.is_closed());
    tokio::time::sleep(Duration::from_millis(50)).await;
    while let Ok(event) = server.events.try_recv() {
        assert!(
            !matches!(event, Event::Close(..)),
            "no other session closed: {event:?}"
        );
    }
}

/// What closed sessions held leaves the count; an open one's queue drains
/// into it as it is written.
#[tokio::test]
async fn the_count_follows_the_outboxes() {
    let mut server = Server::start(EngineConfig::default()).await;
    let a = silent_session(&mut server).await;
    a.send(binary(100 * KIB)).unwrap();
    a.send(binary(50 * KIB)).unwrap();
    assert_eq!(server.engine.buffered_bytes(), 150 * KIB);
    let url = server.url(&format!("transport=polling&sid={}", a.id()));
    server.request("GET", &url, "").await;
    assert_eq!(server.engine.buffered_bytes(), 0);
    a.send(binary(10 * KIB)).unwrap();
    assert_eq!(server.engine.buffered_bytes(), 10 * KIB);
    a.close();
    drop(a);
    assert_eq!(server.next_close().await, CloseReason::ForcedClose);
    // A server close with no poll parked waits for the client's next poll
    // (as Node's does), its frames still counted; that poll takes them.
    assert_eq!(server.engine.buffered_bytes(), 10 * KIB);
    server.request("GET", &url, "").await;
    let last = server.request("GET", &url, "").await;
    assert_eq!(last.text(), "6\x1e1", "the close packet last");
    // The closed session's frames are gone once nothing holds it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.engine.buffered_bytes(), 0);
    assert_eq!(server.engine.session_count(), 0);
}

/// A server close waiting for its client's last poll still answers to the
/// budget: over it, its frames are dropped and the session forgotten.
#[tokio::test]
async fn a_buffered_close_gives_its_frames_up_over_the_budget() {
    let config = EngineConfig::default().max_total_buffered_bytes(256 * KIB);
    let mut server = Server::start(config).await;
    let a = silent_session(&mut server).await;
    a.send(binary(200 * KIB)).unwrap();
    a.close();
    assert_eq!(server.next_close().await, CloseReason::ForcedClose);
    assert_eq!(server.engine.session_count(), 1, "waits for the last poll");
    let b = silent_session(&mut server).await;
    b.send(binary(100 * KIB)).unwrap();
    assert_eq!(server.engine.session_count(), 1, "the closed one is gone");
    assert_eq!(server.engine.buffered_bytes(), 100 * KIB);
    assert!(!b.is_closed());
}
