//! Engine.IO v3 clients behind `allow_eio3`: refused without it, and with
//! it the v3 handshake, payload framings, ping direction and binary frames.

mod support;

use ferrio_engine::{CloseReason, EngineConfig, Message};
use futures_util::SinkExt;
use http::StatusCode;
use support::{Event, Server, ws_next};
use tokio_tungstenite::tungstenite::Message as Ws;

fn v3() -> EngineConfig {
    EngineConfig::default().allow_eio3(true)
}

/// Opens a v3 polling session (`extra` is added to the query); returns the
/// sid and the handshake's body.
async fn handshake(server: &Server, extra: &str) -> (String, String) {
    let reply = server
        .request(
            "GET",
            &format!("/engine.io/?EIO=3&transport=polling{extra}"),
            "",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.text();
    let (len, packet) = text.split_once(':').expect("a v3 payload");
    assert_eq!(len.parse::<usize>().unwrap(), packet.encode_utf16().count());
    let json: serde_json::Value = serde_json::from_str(&packet[1..]).unwrap();
    (json["sid"].as_str().unwrap().to_owned(), packet.to_owned())
}

fn url(sid: &str) -> String {
    format!("/engine.io/?EIO=3&transport=polling&sid={sid}")
}

#[tokio::test]
async fn eio3_is_refused_unless_allowed() {
    let server = Server::start(EngineConfig::default()).await;
    let reply = server
        .request("GET", "/engine.io/?EIO=3&transport=polling", "")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.text(),
        r#"{"code":5,"message":"Unsupported protocol version"}"#
    );
}

#[tokio::test]
async fn a_v3_handshake_is_a_length_prefixed_open_packet() {
    let server = Server::start(v3()).await;
    let (_, open) = handshake(&server, "").await;
    assert!(open.starts_with(r#"0{"sid":"#), "{open}");
    assert!(open.contains(r#""pingInterval":25000,"pingTimeout":20000"#));
}

#[tokio::test]
async fn text_payloads_go_both_ways_with_utf16_lengths_and_base64_binary() {
    let mut server = Server::start(v3()).await;
    let (sid, _) = handshake(&server, "&b64=1").await;
    let post = server
        .request("POST", &url(&sid), "6:4hello4:4é😀10:b4AQIDBA==")
        .await;
    assert_eq!((post.status, post.text().as_str()), (StatusCode::OK, "ok"));
    let poll = server.request("GET", &url(&sid), "").await;
    assert_eq!(poll.headers["content-type"], "text/plain; charset=UTF-8");
    assert_eq!(poll.text(), "6:4hello4:4é😀10:b4AQIDBA==");
    assert!(matches!(server.next_event().await, Event::Open(_)));
    assert!(
        matches!(server.next_event().await, Event::Message(_, Message::Text(t)) if t.as_str() == "hello")
    );
}

#[tokio::test]
async fn binary_payloads_go_both_ways_when_the_client_takes_binary() {
    let server = Server::start(v3()).await;
    let (sid, _) = handshake(&server, "").await;
    let mut body = vec![0, 6, 0xff];
    body.extend_from_slice(b"4hello");
    body.extend([1, 4, 0xff, 4, 1, 2, 3]);
    let post = server
        .request_with(
            "POST",
            &url(&sid),
            body.clone(),
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!((post.status, post.text().as_str()), (StatusCode::OK, "ok"));
    let poll = server.request("GET", &url(&sid), "").await;
    assert_eq!(poll.headers["content-type"], "application/octet-stream");
    assert_eq!(poll.body.as_ref(), body.as_slice());
}

#[tokio::test]
async fn the_client_pings_and_the_server_pongs() {
    let server = Server::start(v3()).await;
    let (sid, _) = handshake(&server, "").await;
    let post = server.request("POST", &url(&sid), "1:2").await;
    assert_eq!(post.status, StatusCode::OK);
    let poll = server.request("GET", &url(&sid), "").await;
    assert_eq!(poll.text(), "1:3");
}

#[tokio::test]
async fn a_malformed_v3_payload_closes_its_session_only() {
    let mut server = Server::start(v3()).await;
    let (sid, _) = handshake(&server, "").await;
    let post = server.request("POST", &url(&sid), "9:4hello").await;
    assert_eq!(post.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.next_close().await, CloseReason::ParseError);
    // The server goes on: a new session opens and works.
    let (sid, _) = handshake(&server, "").await;
    let post = server.request("POST", &url(&sid), "1:2").await;
    assert_eq!(post.status, StatusCode::OK);
}

#[tokio::test]
async fn a_v3_websocket_carries_the_type_byte_in_binary_frames() {
    let mut server = Server::start(v3()).await;
    let mut ws = server.websocket_with("EIO=3&transport=websocket").await;
    let open = ws_next(&mut ws).await.unwrap();
    assert!(open.to_text().unwrap().starts_with(r#"0{"sid""#));
    ws.send(Ws::Binary(vec![4, 1, 2, 3].into())).await.unwrap();
    assert_eq!(
        ws_next(&mut ws).await.unwrap(),
        Ws::Binary(vec![4, 1, 2, 3].into())
    );
    ws.send(Ws::Text("2".into())).await.unwrap();
    assert_eq!(ws_next(&mut ws).await.unwrap(), Ws::Text("3".into()));
    assert!(matches!(server.next_event().await, Event::Open(_)));
    assert!(
        matches!(server.next_event().await, Event::Message(_, Message::Binary(b)) if b.as_ref() == [1, 2, 3])
    );
    // A binary frame of another type than message breaks the protocol.
    ws.send(Ws::Binary(vec![2, 1].into())).await.unwrap();
    assert_eq!(server.next_close().await, CloseReason::ParseError);
}
