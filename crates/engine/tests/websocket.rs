//! WebSocket sessions and the upgrade from long-polling.

mod support;

use std::time::Duration;

use ferrio_engine::{CloseReason, EngineConfig, TransportKind};
use futures_util::SinkExt;
use http::StatusCode;
use support::{Event, Server, ws_next, ws_next_text};
use tokio_tungstenite::tungstenite::Message as M;

#[tokio::test]
async fn text_and_binary_echo_in_order() {
    let server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await; // open
    for i in 0..1000 {
        ws.feed(M::text(format!("4m{i}"))).await.unwrap();
    }
    ws.feed(M::binary(vec![1u8, 2, 3])).await.unwrap();
    ws.flush().await.unwrap();
    for i in 0..1000 {
        assert_eq!(ws_next_text(&mut ws).await, format!("4m{i}"));
    }
    assert_eq!(ws_next(&mut ws).await, Some(M::binary(vec![1u8, 2, 3])));
}

/// Echoes written while the client does not read overflow the socket: the
/// sender writes what the socket takes, the connection's task the rest, and
/// the client gets every byte in order.
#[tokio::test]
async fn echoes_larger_than_the_socket_buffers_arrive_whole_and_in_order() {
    let server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await; // open
    let messages: Vec<String> = (0..100)
        .map(|i| {
            format!(
                "4{i}:{}",
                char::from(b'a' + (i % 26) as u8).to_string().repeat(60_000)
            )
        })
        .collect();
    for m in &messages {
        ws.feed(M::text(m.clone())).await.unwrap();
    }
    ws.flush().await.unwrap();
    // Let the server write until the socket is full before reading anything.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for m in &messages {
        assert!(
            ws_next_text(&mut ws).await == *m,
            "message out of order or damaged"
        );
    }
}

/// A client that stops reading while the server has much to send still has
/// its messages read, so its session can be closed; the connection is then
/// dropped within a ping timeout, freeing its place (here the only one).
#[tokio::test]
async fn a_client_that_stops_reading_can_still_be_closed_and_is_dropped() {
    let config = EngineConfig::default().ping_timeout(Duration::from_millis(300));
    let serve = ferrio_engine::ServeConfig::default().max_connections(1);
    let mut server = Server::start_with(config, serve).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await; // open
    // Echoes of 6 MB, never read: more than the socket buffers hold.
    let chunk = format!("4{}", "x".repeat(100_000));
    let sent = tokio::time::timeout(Duration::from_secs(10), async {
        for _ in 0..60 {
            ws.feed(M::text(chunk.clone())).await.unwrap();
        }
        ws.send(M::text("4close-me")).await.unwrap();
    })
    .await;
    assert!(
        sent.is_ok(),
        "the server stopped reading while it could not write"
    );
    assert_eq!(server.next_close().await, CloseReason::ForcedClose);
    // The stuck connection goes, so the listener takes a new one.
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        server.try_websocket("transport=websocket"),
    )
    .await;
    let mut next = next
        .expect("the dropped connection's place freed within 5 s")
        .expect("a websocket");
    assert!(ws_next_text(&mut next).await.starts_with('0'));
    drop(ws);
}

/// A WebSocket-level ping (not an Engine.IO one) is answered with a pong
/// carrying its bytes, and the session goes on.
#[tokio::test]
async fn websocket_pings_get_pongs() {
    let server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await; // open
    ws.send(M::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::StreamExt::next(&mut ws),
    )
    .await
    .expect("an answer within 5 s");
    assert_eq!(
        pong.unwrap().unwrap(),
        M::Pong(b"are you there".to_vec().into())
    );
    ws.send(M::text("4still here")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4still here");
}

#[tokio::test]
/// Node: "invalid heartbeat direction", a transport error (D3).
async fn a_client_ping_closes_the_session() {
    let mut server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await;
    ws.send(M::text("2")).await.unwrap();
    assert_eq!(server.next_close().await, CloseReason::TransportError);
    assert!(ws_next(&mut ws).await.is_none() || ws_next(&mut ws).await.is_none());
}

#[tokio::test]
async fn garbage_closes_only_that_session() {
    let mut server = Server::start(EngineConfig::default()).await;
    let mut good = server.websocket("transport=websocket").await;
    ws_next_text(&mut good).await;
    let mut bad = server.websocket("transport=websocket").await;
    ws_next_text(&mut bad).await;
    bad.send(M::text("x-not-a-packet")).await.unwrap();
    assert_eq!(server.next_close().await, CloseReason::ParseError);
    good.send(M::text("4still")).await.unwrap();
    assert_eq!(ws_next_text(&mut good).await, "4still");
}

#[tokio::test]
async fn messages_over_max_payload_close_the_session() {
    let mut server = Server::start(EngineConfig::default().max_payload(100)).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await;
    ws.send(M::text(format!("4{}", "x".repeat(200))))
        .await
        .unwrap();
    assert_eq!(server.next_close().await, CloseReason::TransportError);
    // Close code 1009, as `ws` sends it.
    assert!(matches!(ws_next(&mut ws).await, Some(M::Close(Some(f))) if u16::from(f.code) == 1009));
}

/// Node's WebSocket transport ignores close, open and upgrade packets:
/// the session goes on (D3).
#[tokio::test]
async fn close_open_and_upgrade_packets_over_websocket_are_ignored() {
    let mut server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await;
    for packet in ["1", "0", "5", "6"] {
        ws.send(M::text(packet)).await.unwrap();
    }
    ws.send(M::text("4still here")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4still here");
    assert_eq!(server.engine.session_count(), 1);
    while let Ok(event) = server.events.try_recv() {
        assert!(!matches!(event, Event::Close(..)), "{event:?}");
    }
}

/// A second WebSocket for a session that already has one: Node accepts it
/// (101) and then closes it with a bare close frame, and the session is left
/// alone (D16).
#[tokio::test]
async fn a_second_websocket_for_a_websocket_session_is_opened_then_closed() {
    let mut server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    let open = ws_next_text(&mut ws).await;
    let json: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let sid = json["sid"].as_str().unwrap();
    let mut second = server
        .try_websocket(&format!("transport=websocket&sid={sid}"))
        .await
        .expect("101, as in Node");
    assert!(matches!(
        ws_next(&mut second).await,
        Some(M::Close(None)) | None
    ));
    ws.send(M::text("4still here")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4still here");
    assert_eq!(server.engine.session_count(), 1);
    while let Ok(event) = server.events.try_recv() {
        assert!(!matches!(event, Event::Close(..)), "{event:?}");
    }
}

#[tokio::test]
async fn server_and_client_close() {
    let mut server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await;
    ws.send(M::text("4close-me")).await.unwrap();
    assert_eq!(server.next_close().await, CloseReason::ForcedClose);
    assert!(matches!(ws_next(&mut ws).await, Some(M::Close(_)) | None));

    let mut ws = server.websocket("transport=websocket").await;
    ws_next_text(&mut ws).await;
    ws.close(None).await.unwrap();
    assert_eq!(server.next_close().await, CloseReason::TransportClose);
}

/// Opens a polling session and a probe WebSocket for it.
async fn start_upgrade(
    server: &Server,
) -> (
    String,
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
) {
    let sid = server.polling_handshake().await;
    let ws = server
        .websocket(&format!("transport=websocket&sid={sid}"))
        .await;
    (sid, ws)
}

#[tokio::test]
async fn upgrade_probe_noop_and_switch() {
    let mut server = Server::start(EngineConfig::default()).await;
    let (sid, mut ws) = start_upgrade(&server).await;
    let poll_url = server.url(&format!("transport=polling&sid={sid}"));
    let session = server
        .engine
        .session(ferrio_engine::Sid::parse(&sid).unwrap())
        .unwrap();

    // A parked poll is released with a noop once the probe is answered.
    let poll = {
        let server = &server;
        let url = poll_url.clone();
        async move { server.request("GET", &url, "").await }
    };
    let probe = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ws.send(M::text("2probe")).await.unwrap();
        ws_next_text(&mut ws).await
    };
    let (poll, pong) = tokio::join!(poll, probe);
    assert_eq!(pong, "3probe");
    assert_eq!(poll.text(), "6");
    assert_eq!(session.transport(), TransportKind::Polling);

    // Something queued before the switch is delivered over the WebSocket.
    session.send_text("queued").unwrap();
    ws.send(M::text("5")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4queued");
    assert!(matches!(server.next_event().await, Event::Open(_)));
    assert!(matches!(server.next_event().await, Event::Upgrade(_)));
    assert_eq!(session.transport(), TransportKind::WebSocket);

    ws.send(M::text("4over-ws")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4over-ws");

    // Polling is now refused. A second WebSocket for the sid is accepted
    // and closed at once, as in Node (D16).
    let refused = server.request("GET", &poll_url, "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.text(), r#"{"code":3,"message":"Bad request"}"#);
    let mut second = server
        .try_websocket(&format!("transport=websocket&sid={sid}"))
        .await
        .expect("101, as in Node");
    assert!(matches!(
        ws_next(&mut second).await,
        Some(M::Close(None)) | None
    ));
    ws.send(M::text("4alive")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4alive");
}

#[tokio::test]
/// Node: a WebSocket for a session that is upgrading is accepted and
/// closed; the upgrade in progress goes on (D16).
async fn a_second_probe_socket_is_closed_while_upgrading() {
    let mut server = Server::start(EngineConfig::default()).await;
    let (sid, mut ws) = start_upgrade(&server).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut second = server
        .try_websocket(&format!("transport=websocket&sid={sid}"))
        .await
        .expect("101, as in Node");
    assert!(matches!(
        ws_next(&mut second).await,
        Some(M::Close(None)) | None
    ));
    // The first probe socket still upgrades the session.
    ws.send(M::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    ws.send(M::text("5")).await.unwrap();
    assert!(matches!(server.next_event().await, Event::Open(_)));
    assert!(matches!(server.next_event().await, Event::Upgrade(_)));
    ws.send(M::text("4upgraded")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4upgraded");
}

#[tokio::test]
async fn an_unfinished_upgrade_times_out_and_polling_goes_on() {
    let server =
        Server::start(EngineConfig::default().upgrade_timeout(Duration::from_millis(200))).await;
    let (sid, mut ws) = start_upgrade(&server).await;
    ws.send(M::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    // No `5`: the server closes the probe socket after the upgrade timeout.
    assert!(matches!(ws_next(&mut ws).await, Some(M::Close(_)) | None));
    let url = server.url(&format!("transport=polling&sid={sid}"));
    assert_eq!(
        server.request("POST", &url, "4still-polling").await.text(),
        "ok"
    );
    assert_eq!(
        server.request("GET", &url, "").await.text(),
        "4still-polling"
    );
    // And the session may try again.
    let mut again = server
        .websocket(&format!("transport=websocket&sid={sid}"))
        .await;
    again.send(M::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut again).await, "3probe");
}

#[tokio::test]
async fn a_wrong_first_packet_aborts_the_upgrade() {
    let server = Server::start(EngineConfig::default()).await;
    let (sid, mut ws) = start_upgrade(&server).await;
    ws.send(M::text("4not-a-probe")).await.unwrap();
    assert!(matches!(ws_next(&mut ws).await, Some(M::Close(_)) | None));
    let url = server.url(&format!("transport=polling&sid={sid}"));
    assert_eq!(server.request("POST", &url, "4x").await.text(), "ok");
}

#[tokio::test]
async fn after_an_upgrade_the_websocket_carries_the_heartbeat() {
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(200));
    let mut server = Server::start(config).await;
    let (_sid, mut ws) = start_upgrade(&server).await;
    ws.send(M::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    ws.send(M::text("5")).await.unwrap();
    // Pings now arrive over the WebSocket; answering them keeps the session.
    for _ in 0..3 {
        assert_eq!(ws_next(&mut ws).await, Some(M::text("2")));
        ws.send(M::text("3")).await.unwrap();
    }
    // An unanswered one ends it.
    assert_eq!(ws_next(&mut ws).await, Some(M::text("2")));
    assert_eq!(server.next_close().await, CloseReason::PingTimeout);
}

/// A TCP connection to `addr` whose receive buffer is small, so that a client
/// that does not read fills the server's side quickly.
async fn connect_small_rcvbuf(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(addr).await.unwrap()
}

/// A self-signed certificate for `localhost` (rcgen): the server's TLS
/// settings, and the certificate for the client to trust.
fn self_signed() -> (
    ferrio_engine::TlsConfig,
    ferrio_engine::rustls::pki_types::CertificateDer<'static>,
) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let tls = ferrio_engine::TlsConfig::from_pem(
        certified.cert.pem().as_bytes(),
        certified.key_pair.serialize_pem().as_bytes(),
    )
    .unwrap();
    (tls, certified.cert.der().clone())
}

type TlsWs =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// Opens a `wss://` WebSocket to the engine, over a socket with a small
/// receive buffer.
async fn tls_websocket(
    server: &Server,
    query: &str,
    cert: &ferrio_engine::rustls::pki_types::CertificateDer<'static>,
) -> Result<TlsWs, tokio_tungstenite::tungstenite::Error> {
    use ferrio_engine::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = connect_small_rcvbuf(server.addr).await;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await?;
    let url = format!(
        "wss://localhost:{}{}",
        server.addr.port(),
        server.url(query)
    );
    tokio_tungstenite::client_async(url, tls)
        .await
        .map(|(ws, _)| ws)
}

/// The next text message of a `wss://` WebSocket, skipping pings.
async fn tls_next_text(ws: &mut TlsWs) -> String {
    use futures_util::StreamExt;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a websocket message within 5 s");
        match next {
            Some(Ok(M::Text(t))) if t.as_str() != "2" => return t.to_string(),
            Some(Ok(M::Text(_) | M::Ping(_) | M::Pong(_))) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// Finding 2 of the security review, over TLS: the connection's task writes to
/// a TLS stream without leaving its loop, so a client that stops reading still
/// has its messages read, its session can be closed, and its connection is
/// dropped within a ping timeout, freeing its place (here the only one).
#[tokio::test]
async fn over_tls_a_client_that_stops_reading_can_still_be_closed_and_is_dropped() {
    let (tls, cert) = self_signed();
    let config = EngineConfig::default().ping_timeout(Duration::from_millis(300));
    let serve = ferrio_engine::ServeConfig::default()
        .max_connections(1)
        .tls(tls);
    let mut server = Server::start_with(config, serve).await;
    let mut ws = tls_websocket(&server, "transport=websocket", &cert)
        .await
        .unwrap();
    assert!(tls_next_text(&mut ws).await.starts_with('0'));
    // Echoes of 6 MB, never read: more than the socket buffers hold.
    let chunk = format!("4{}", "x".repeat(100_000));
    let sent = tokio::time::timeout(Duration::from_secs(10), async {
        for _ in 0..60 {
            ws.feed(M::text(chunk.clone())).await.unwrap();
        }
        ws.send(M::text("4close-me")).await.unwrap();
    })
    .await;
    assert!(
        sent.is_ok(),
        "the server stopped reading while it could not write"
    );
    assert_eq!(server.next_close().await, CloseReason::ForcedClose);
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        tls_websocket(&server, "transport=websocket", &cert),
    )
    .await;
    let mut next = next
        .expect("the dropped connection's place freed within 5 s")
        .expect("a websocket");
    assert!(tls_next_text(&mut next).await.starts_with('0'));
    drop(ws);
}

/// Finding 2 of the security review, over TLS: a client that stops reading
/// (and so never answers a ping) while the server has much to send is timed
/// out by the heartbeat, within `ping_interval + ping_timeout`, and its
/// connection's place is freed. Before the fix its task waited in a write
/// forever: never timed out, never dropped.
#[tokio::test]
async fn over_tls_a_client_that_stops_reading_times_out_and_frees_its_place() {
    let (tls, cert) = self_signed();
    let (interval, ping_timeout) = (Duration::from_millis(500), Duration::from_millis(300));
    let config = EngineConfig::default()
        .ping_interval(interval)
        .ping_timeout(ping_timeout);
    let serve = ferrio_engine::ServeConfig::default()
        .max_connections(1)
        .tls(tls);
    let mut server = Server::start_with(config, serve).await;
    let mut ws = tls_websocket(&server, "transport=websocket", &cert)
        .await
        .unwrap();
    assert!(tls_next_text(&mut ws).await.starts_with('0'));
    let opened = std::time::Instant::now();
    // 6 MB of echoes the client never reads, sent by a task of its own (the
    // client's writes may block while the server's task is stuck).
    let writer = tokio::spawn(async move {
        let chunk = format!("4{}", "x".repeat(100_000));
        for _ in 0..60 {
            if ws.feed(M::text(chunk.clone())).await.is_err() {
                break;
            }
        }
        let _ = ws.flush().await;
        ws
    });
    assert_eq!(server.next_close().await, CloseReason::PingTimeout);
    let closed = opened.elapsed();
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        tls_websocket(&server, "transport=websocket", &cert),
    )
    .await;
    let freed = opened.elapsed();
    let mut next = next
        .expect("the timed-out connection's place freed within 5 s")
        .expect("a websocket");
    assert!(tls_next_text(&mut next).await.starts_with('0'));
    eprintln!(
        "a non-reading TLS client (ping interval {interval:?}, ping timeout {ping_timeout:?}) \
         was closed after {closed:?}; its place was free after {freed:?}"
    );
    assert!(closed < interval + ping_timeout + Duration::from_secs(2));
    // And what waited for it is dropped with its connection.
    assert_eq!(server.engine.buffered_bytes(), 0, "its queue is freed");
    writer.abort();
}

/// Finding 2 of the security review, the upgrade probe: a probe socket whose
/// client sends WebSocket pings and never reads their pongs is dropped at the
/// upgrade timeout, its place in `max_connections` freed, even though the
/// pongs cannot be written.
#[tokio::test]
async fn a_probe_that_does_not_read_its_pongs_is_dropped_at_the_upgrade_timeout() {
    let upgrade_timeout = Duration::from_millis(200);
    let config = EngineConfig::default().upgrade_timeout(upgrade_timeout);
    let serve = ferrio_engine::ServeConfig::default().max_connections(2);
    let server = Server::start_with(config, serve).await;
    // Two polling sessions, then a probe socket for each: both places taken.
    let sids = [
        server.polling_handshake().await,
        server.polling_handshake().await,
    ];
    let mut pingers = Vec::new();
    for sid in &sids {
        let tcp = connect_small_rcvbuf(server.addr).await;
        let url = format!(
            "ws://{}{}",
            server.addr,
            server.url(&format!("transport=websocket&sid={sid}"))
        );
        let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
        pingers.push(tokio::spawn(async move {
            let payload = vec![b'p'; 125];
            for _ in 0..50_000 {
                if ws.feed(M::Ping(payload.clone().into())).await.is_err() {
                    break;
                }
            }
            let _ = ws.flush().await;
            // Never read: keep the socket open.
            std::future::pending::<()>().await;
        }));
    }
    let started = std::time::Instant::now();
    let next = tokio::time::timeout(
        upgrade_timeout + Duration::from_secs(1),
        server.try_websocket("transport=websocket"),
    )
    .await;
    let mut next = next
        .expect("a place freed within 1 s of the upgrade timeout")
        .expect("a websocket");
    assert!(ws_next_text(&mut next).await.starts_with('0'));
    eprintln!(
        "a new connection was accepted after {:?}",
        started.elapsed()
    );
    for pinger in pingers {
        pinger.abort();
    }
}
