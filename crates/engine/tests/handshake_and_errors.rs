//! The handshake and the reference server's error answers.

mod support;

use std::time::Duration;

use ferrio_engine::{Cookie, Cors, EngineConfig, Origins, TransportKind};
use http::StatusCode;
use support::{Server, ws_next_text};

#[tokio::test]
async fn polling_handshake_sends_exactly_the_reference_fields() {
    let server = Server::start(EngineConfig::default()).await;
    let reply = server
        .request("GET", &server.url("transport=polling&t=abc"), "")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "text/plain; charset=UTF-8");
    let text = reply.text();
    assert!(text.starts_with('0'), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text[1..]).unwrap();
    let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "sid",
            "upgrades",
            "pingInterval",
            "pingTimeout",
            "maxPayload"
        ]
    );
    let sid = json["sid"].as_str().unwrap();
    assert_eq!(sid.len(), 20);
    assert!(
        sid.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(json["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(json["pingInterval"], 25000);
    assert_eq!(json["pingTimeout"], 20000);
    assert_eq!(json["maxPayload"], 1_000_000);
    assert_eq!(server.engine.session_count(), 1);
}

#[tokio::test]
async fn websocket_handshake_offers_no_upgrades() {
    let server = Server::start(EngineConfig::default()).await;
    let mut ws = server.websocket("transport=websocket").await;
    let open = ws_next_text(&mut ws).await;
    let json: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(json["upgrades"], serde_json::json!([]));
}

#[tokio::test]
async fn no_upgrade_offered_when_upgrades_are_off() {
    let server = Server::start(EngineConfig::default().allow_upgrades(false)).await;
    let reply = server
        .request("GET", &server.url("transport=polling"), "")
        .await;
    assert!(
        reply.text().contains(r#""upgrades":[]"#),
        "{}",
        reply.text()
    );
}

async fn error_of(server: &Server, method: &str, query: &str) -> (StatusCode, String) {
    let reply = server
        .request(method, &format!("/engine.io/?{query}"), "")
        .await;
    (reply.status, reply.text())
}

#[tokio::test]
async fn refused_requests_get_the_reference_codes() {
    let server = Server::start(EngineConfig::default().transports([TransportKind::Polling])).await;
    let bad = StatusCode::BAD_REQUEST;
    assert_eq!(
        error_of(&server, "GET", "EIO=4&transport=carrier-pigeon").await,
        (bad, r#"{"code":0,"message":"Transport unknown"}"#.into())
    );
    assert_eq!(
        error_of(&server, "GET", "EIO=4&transport=websocket").await,
        (bad, r#"{"code":0,"message":"Transport unknown"}"#.into()),
        "a disabled transport is unknown"
    );
    assert_eq!(
        error_of(
            &server,
            "GET",
            "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA"
        )
        .await,
        (bad, r#"{"code":1,"message":"Session ID unknown"}"#.into())
    );
    assert_eq!(
        error_of(&server, "POST", "EIO=4&transport=polling").await,
        (bad, r#"{"code":2,"message":"Bad handshake method"}"#.into())
    );
    assert_eq!(
        error_of(&server, "GET", "EIO=3&transport=polling").await,
        (
            bad,
            r#"{"code":5,"message":"Unsupported protocol version"}"#.into()
        )
    );
    assert_eq!(
        error_of(&server, "GET", "transport=polling").await,
        (
            bad,
            r#"{"code":5,"message":"Unsupported protocol version"}"#.into()
        )
    );
    assert_eq!(
        server.request("GET", "/elsewhere", "").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn websocket_transport_without_an_upgrade_is_a_bad_request() {
    let server = Server::start(EngineConfig::default()).await;
    assert_eq!(
        error_of(&server, "GET", "EIO=4&transport=websocket").await,
        (
            StatusCode::BAD_REQUEST,
            r#"{"code":3,"message":"Bad request"}"#.into()
        )
    );
}

#[tokio::test]
async fn allow_request_refuses_with_403() {
    let config = EngineConfig::default().allow_request(|parts| {
        match parts.uri.query().unwrap_or("").contains("token=ok") {
            true => Ok(()),
            false => Err("no token".into()),
        }
    });
    let server = Server::start(config).await;
    assert_eq!(
        error_of(&server, "GET", "EIO=4&transport=polling").await,
        (
            StatusCode::FORBIDDEN,
            r#"{"code":4,"message":"no token"}"#.into()
        )
    );
    assert_eq!(
        error_of(&server, "GET", "EIO=4&transport=polling&token=ok")
            .await
            .0,
        StatusCode::OK
    );
    assert!(server.try_websocket("transport=websocket").await.is_err());
    assert!(
        server
            .try_websocket("transport=websocket&token=ok")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_bad_websocket_request_is_refused_cleanly() {
    let server = Server::start(EngineConfig::default()).await;
    // Upgrade header but no key: refused with a plain 400, no session.
    let reply = server
        .request_with(
            "GET",
            &server.url("transport=websocket"),
            "",
            &[("connection", "upgrade"), ("upgrade", "websocket")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.engine.session_count(), 0);
    // A key that is not 16 bytes of base64: 400, no session.
    let upgrade = |key| {
        [
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", key),
        ]
    };
    let reply = server
        .request_with(
            "GET",
            &server.url("transport=websocket"),
            "",
            &upgrade("not-a-key"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.engine.session_count(), 0);
    // An upgrade of a polling session must be a GET.
    let sid = server.polling_handshake().await;
    let reply = server
        .request_with(
            "POST",
            &server.url(&format!("transport=websocket&sid={sid}")),
            "",
            &upgrade("dGhlIHNhbXBsZSBub25jZQ=="),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // Unknown sid on a WebSocket.
    assert!(
        server
            .try_websocket("transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn cors_and_cookie_headers() {
    let config = EngineConfig::default()
        .cors(Cors::default())
        .cookie(Cookie::default());
    let server = Server::start(config).await;
    let reply = server
        .request_with(
            "GET",
            &server.url("transport=polling"),
            "",
            &[("origin", "http://x.test")],
        )
        .await;
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("io="), "{cookie}");
    assert!(
        cookie.contains("Path=/; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    let preflight = server
        .request_with(
            "OPTIONS",
            &server.url("transport=polling"),
            "",
            &[
                ("origin", "http://x.test"),
                ("access-control-request-headers", "content-type"),
            ],
        )
        .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers["access-control-allow-headers"],
        "content-type"
    );
    assert!(
        preflight
            .headers
            .contains_key("access-control-allow-methods")
    );
}

#[tokio::test]
async fn no_cors_headers_unless_configured() {
    let server = Server::start(EngineConfig::default()).await;
    let reply = server
        .request_with(
            "GET",
            &server.url("transport=polling"),
            "",
            &[("origin", "http://x.test")],
        )
        .await;
    assert!(!reply.headers.contains_key("access-control-allow-origin"));
    assert!(!reply.headers.contains_key("set-cookie"));
}

#[tokio::test]
async fn path_is_configurable() {
    let server = Server::start(
        EngineConfig::default()
            .path("/custom")
            .ping_interval(Duration::from_secs(1)),
    )
    .await;
    let reply = server
        .request("GET", "/custom/?EIO=4&transport=polling", "")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains(r#""pingInterval":1000"#));
    assert_eq!(
        server
            .request("GET", &server.url("transport=polling"), "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// A WebSocket handshake with these extra headers: the status it got.
async fn websocket_status(server: &Server, headers: &[(&str, &str)]) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("ws://{}{}", server.addr, server.url("transport=websocket"));
    let mut request = url.into_client_request().unwrap();
    for (k, v) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("websocket handshake: {e}"),
    }
}

#[tokio::test]
async fn listed_origins_are_enforced_on_handshakes_and_websocket_upgrades() {
    let cors = Cors::default()
        .origins(Origins::List(vec!["https://good.example".into()]))
        .credentials(true);
    let server = Server::start(EngineConfig::default().cors(cors)).await;
    let evil = [("origin", "https://evil.example")];
    let good = [("origin", "https://good.example")];
    // Cross-site WebSocket hijacking: refused.
    assert_eq!(websocket_status(&server, &evil).await, 403);
    assert_eq!(websocket_status(&server, &good).await, 101);
    // No Origin: a non-browser client, served.
    assert_eq!(websocket_status(&server, &[]).await, 101);

    let reply = server
        .request_with("GET", &server.url("transport=polling"), "", &evil)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.text(), r#"{"code":4,"message":"Origin not allowed"}"#);
    assert!(!reply.headers.contains_key("access-control-allow-origin"));
    // Nor can another origin use a session it learnt the id of.
    let sid = server.polling_handshake().await;
    let reply = server
        .request_with(
            "POST",
            &server.url(&format!("transport=polling&sid={sid}")),
            "4hello",
            &evil,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = server
        .request_with("GET", &server.url("transport=polling"), "", &good)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "https://good.example"
    );
    assert_eq!(reply.headers["access-control-allow-credentials"], "true");
}

#[tokio::test]
async fn any_origin_with_credentials_never_echoes_the_origin() {
    let server =
        Server::start(EngineConfig::default().cors(Cors::default().credentials(true))).await;
    let reply = server
        .request_with(
            "GET",
            &server.url("transport=polling"),
            "",
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
    assert!(
        !reply
            .headers
            .contains_key("access-control-allow-credentials")
    );
}

/// A polling handshake from `source` (a loopback address): its status.
async fn handshake_from(server: &Server, source: &str, transport: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    if transport == "websocket" {
        let url = format!("ws://{}{}", server.addr, server.url("transport=websocket"));
        return match tokio_tungstenite::client_async(url, stream).await {
            Ok((_, response)) => response.status().as_u16(),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(e) => panic!("websocket handshake: {e}"),
        };
    }
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let request = http::Request::get(server.url("transport=polling"))
        .header("host", server.addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    sender
        .send_request(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn one_address_cannot_take_every_handshake_or_session() {
    let config = EngineConfig::default()
        .max_pending_handshakes(50)
        .max_sessions(60)
        .max_pending_handshakes_per_address(Some(10))
        .max_sessions_per_address(Some(10));
    let server = Server::start(config).await;
    let mut accepted = 0;
    for _ in 0..100 {
        match handshake_from(&server, "127.0.0.1", "polling").await {
            200 => accepted += 1,
            503 => {}
            status => panic!("status {status}"),
        }
    }
    // Another host still gets in, over both transports.
    assert_eq!(handshake_from(&server, "127.0.0.2", "polling").await, 200);
    assert_eq!(handshake_from(&server, "127.0.0.2", "websocket").await, 101);
    assert_eq!(accepted, 10, "127.0.0.1 gets its share and no more");
    // Its sessions are all taken too: WebSocket handshakes are refused.
    assert_eq!(handshake_from(&server, "127.0.0.1", "websocket").await, 503);
}
