//! HTTP long-polling: payloads, parking, overlap, cancellation and limits.

mod support;

use std::time::Duration;

use ferrio_engine::{CloseReason, EngineConfig, Message};
use http::StatusCode;
use support::{Event, Server};

fn post_url(server: &Server, sid: &str) -> String {
    server.url(&format!("transport=polling&sid={sid}"))
}

#[tokio::test]
async fn one_posts_messages_come_back_in_the_next_poll() {
    let server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let reply = server
        .request("POST", &url, "4hello\x1ebAQIDBA==\x1e4héllo")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "ok");
    assert_eq!(reply.headers["content-type"], "text/html");
    let poll = server.request("GET", &url, "").await;
    assert_eq!(poll.text(), "4hello\x1ebAQIDBA==\x1e4héllo");
    assert_eq!(poll.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn a_parked_poll_is_answered_when_a_message_arrives() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let poll = {
        let server = &server;
        let url = url.clone();
        async move { server.request("GET", &url, "").await }
    };
    let post = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.request("POST", &url, "4a\x1e4b").await
    };
    let (poll, post) = tokio::join!(poll, post);
    assert_eq!(post.text(), "ok");
    assert_eq!(
        poll.text(),
        "4a\x1e4b",
        "both echoes of one POST in one response"
    );
    assert!(matches!(server.next_event().await, Event::Open(_)));
    assert!(
        matches!(server.next_event().await, Event::Message(_, Message::Text(t)) if t.as_str() == "a")
    );
}

#[tokio::test]
async fn a_second_concurrent_poll_destroys_the_session() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let first = {
        let server = &server;
        let url = url.clone();
        async move { server.request("GET", &url, "").await }
    };
    let second = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.request("GET", &url, "").await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(first.text(), "1", "the parked poll learns of the close");
    assert_eq!(server.next_close().await, CloseReason::TransportError);
    assert_eq!(
        server.request("GET", &url, "").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
/// Node: "poll connection closed prematurely", a transport error (D3).
async fn a_poll_cancelled_by_the_client_destroys_the_session() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let poll = server.request("GET", &url, "");
    // The client gives up on its poll and drops the connection.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), poll)
            .await
            .is_err()
    );
    assert_eq!(server.next_close().await, CloseReason::TransportError);
    assert_eq!(server.engine.session_count(), 0);
}

#[tokio::test]
async fn an_invalid_payload_destroys_the_session() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let reply = server
        .request("POST", &post_url(&server, &sid), "9nonsense")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.next_close().await, CloseReason::ParseError);
}

#[tokio::test]
/// Node: "invalid heartbeat direction", a transport error (D3).
async fn a_client_ping_is_a_transport_error() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    server.request("POST", &post_url(&server, &sid), "2").await;
    assert_eq!(server.next_close().await, CloseReason::TransportError);
}

/// Node ignores open and upgrade packets on an established transport (D3).
#[tokio::test]
async fn open_and_upgrade_packets_are_ignored() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let reply = server.request("POST", &url, "0\x1e5\x1e4still here").await;
    assert_eq!(reply.text(), "ok");
    let poll = server.request("GET", &url, "").await;
    assert_eq!(poll.text(), "4still here");
    assert_eq!(server.engine.session_count(), 1);
    while let Ok(event) = server.events.try_recv() {
        assert!(!matches!(event, Event::Close(..)), "{event:?}");
    }
}

/// Node: a binary content type on a v4 POST is "invalid content": an empty
/// 400, and the session ends with "transport error" (D3).
#[tokio::test]
async fn a_binary_post_ends_the_session() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let reply = server
        .request_with(
            "POST",
            &post_url(&server, &sid),
            "4hello",
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.text(), "");
    assert_eq!(server.next_close().await, CloseReason::TransportError);
}

/// Node's polling transport answers any method but GET and POST with an
/// empty 500, and keeps the session (D15).
#[tokio::test]
async fn other_methods_get_an_empty_500() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let reply = server.request("PUT", &post_url(&server, &sid), "").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.text(), "");
    assert_eq!(server.engine.session_count(), 1);
    while let Ok(event) = server.events.try_recv() {
        assert!(!matches!(event, Event::Close(..)), "{event:?}");
    }
}

#[tokio::test]
async fn a_client_close_packet_ends_the_session() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let reply = server.request("POST", &post_url(&server, &sid), "1").await;
    assert_eq!(reply.text(), "ok");
    assert_eq!(server.next_close().await, CloseReason::TransportClose);
}

#[tokio::test]
async fn a_server_close_is_sent_as_a_close_packet() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let poll = {
        let server = &server;
        let url = url.clone();
        async move { server.request("GET", &url, "").await }
    };
    let post = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.request("POST", &url, "4first\x1e4close-me").await
    };
    let (poll, _) = tokio::join!(poll, post);
    assert_eq!(poll.text(), "4first\x1e1");
    assert_eq!(server.next_close().await, CloseReason::ForcedClose);
}

#[tokio::test]
async fn bodies_over_max_payload_get_413() {
    let server = Server::start(EngineConfig::default().max_payload(1000)).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let big = format!("4{}", "x".repeat(2000));
    assert_eq!(
        server.request("POST", &url, big).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // The session itself is still usable.
    assert_eq!(server.request("POST", &url, "4ok").await.text(), "ok");
}

#[tokio::test]
async fn binary_content_type_is_refused() {
    let server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let reply = server
        .request_with(
            "POST",
            &post_url(&server, &sid),
            "4x",
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn large_poll_responses_are_compressed_when_accepted() {
    use std::io::Read;
    let server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let message = format!("4{}", "abc".repeat(1000));
    server.request("POST", &url, message.clone()).await;
    let reply = server
        .request_with("GET", &url, "", &[("accept-encoding", "gzip, deflate")])
        .await;
    assert_eq!(reply.headers["content-encoding"], "gzip");
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&reply.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, message);
}

/// Node buffers a server close while no poll is parked: the client's next
/// poll gets what was queued and the close packet, where it used to get
/// "Session ID unknown" (D17).
#[tokio::test]
async fn a_server_close_waits_for_the_next_poll() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let session = server
        .engine
        .session(ferrio_engine::Sid::parse(&sid).unwrap())
        .unwrap();
    session.send_text("last words").unwrap();
    session.close();
    assert_eq!(server.next_close().await, CloseReason::ForcedClose);
    assert!(session.send_text("too late").is_err());
    // As Node: what was queued first, then a noop and the close.
    let poll = server.request("GET", &url, "").await;
    assert_eq!(poll.status, StatusCode::OK);
    assert_eq!(poll.text(), "4last words");
    let poll = server.request("GET", &url, "").await;
    assert_eq!(poll.text(), "6\x1e1");
    // Then the session is gone.
    assert_eq!(server.engine.session_count(), 0);
    let after = server.request("GET", &url, "").await;
    assert_eq!(after.text(), r#"{"code":1,"message":"Session ID unknown"}"#);
}

/// A buffered close waits 30 s at most (Node's `closeTimeout`).
#[tokio::test(start_paused = true)]
async fn a_buffered_close_is_forgotten_after_30_s() {
    let mut server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let session = server
        .engine
        .session(ferrio_engine::Sid::parse(&sid).unwrap())
        .unwrap();
    session.close();
    drop(session);
    assert_eq!(server.next_close().await, CloseReason::ForcedClose);
    assert_eq!(server.engine.session_count(), 1);
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert_eq!(server.engine.session_count(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.engine.session_count(), 0);
}

/// Node compresses a poll's answer when any of its packets asks for it;
/// `compress: false` on every packet leaves it plain.
#[tokio::test]
async fn compress_false_on_every_frame_leaves_the_answer_plain() {
    let server = Server::start(EngineConfig::default()).await;
    let sid = server.polling_handshake().await;
    let url = post_url(&server, &sid);
    let session = server
        .engine
        .session(ferrio_engine::Sid::parse(&sid).unwrap())
        .unwrap();
    let big = "x".repeat(4096);
    let gzip = [("accept-encoding", "gzip, deflate")];
    session
        .send_with(ferrio_engine::OutPacket::message(&big), false)
        .unwrap();
    let plain = server.request_with("GET", &url, "", &gzip).await;
    assert!(!plain.headers.contains_key("content-encoding"));
    assert_eq!(plain.text(), format!("4{big}"));
    // One frame that may be compressed: the whole answer is.
    session
        .send_with(ferrio_engine::OutPacket::message(&big), false)
        .unwrap();
    session.send_text("small").unwrap();
    let compressed = server.request_with("GET", &url, "", &gzip).await;
    assert_eq!(compressed.headers["content-encoding"], "gzip");
    // Deflate when the client prefers it (q-values, as Node's `accepts`).
    session.send_text(&big).unwrap();
    let deflate = [("accept-encoding", "gzip;q=0.5, deflate")];
    let reply = server.request_with("GET", &url, "", &deflate).await;
    assert_eq!(reply.headers["content-encoding"], "deflate");
}
