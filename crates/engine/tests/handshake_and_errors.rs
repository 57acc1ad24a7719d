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
    // As Node's `cors` sends it; browsers refuse credentials with `*`, so
    // no site reads a credentialed answer (the origin is never echoed).
    assert_eq!(reply.headers["access-control-allow-credentials"], "true");
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

/// A raw HTTP/1.1 exchange: `request` is written as it is, the answer read
/// until the server closes or 2 s pass.
async fn raw_exchange(server: &Server, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn ws_request(server: &Server, query: &str) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.url(query),
        server.addr
    )
}

/// Node's `abortUpgrade`: a refused WebSocket gets `400 Bad Request`, the
/// message as text/html, and the connection closed; even a forbidden one
/// (D16).
#[tokio::test]
async fn refused_websockets_get_nodes_plain_400() {
    let config = EngineConfig::default().allow_request(|_| Err("no token".into()));
    let server = Server::start(config).await;
    let answer = raw_exchange(
        &server,
        &ws_request(&server, "transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA"),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("content-type: text/html\r\n"), "{answer}");
    assert!(lower.contains("connection: close\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nSession ID unknown"), "{answer}");
    let answer = raw_exchange(&server, &ws_request(&server, "transport=websocket")).await;
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\nno token"), "{answer}");
}

/// Node asks `allowRequest` only for requests that open a session: not for
/// the polls, payloads or upgrade of an open one (D12).
#[tokio::test]
async fn allow_request_is_asked_only_without_a_sid() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let asked = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let config = EngineConfig::default().allow_request(move |_| {
        // Only the first request of all is allowed: a one-time token.
        match counter.fetch_add(1, Ordering::SeqCst) {
            0 => Ok(()),
            _ => Err("token used".into()),
        }
    });
    let mut server = Server::start(config).await;
    let sid = server.polling_handshake().await;
    let url = server.url(&format!("transport=polling&sid={sid}"));
    assert_eq!(server.request("POST", &url, "4hi").await.text(), "ok");
    assert_eq!(server.request("GET", &url, "").await.text(), "4hi");
    let mut ws = server
        .websocket(&format!("transport=websocket&sid={sid}"))
        .await;
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message as M;
    ws.send(M::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    ws.send(M::text("5")).await.unwrap();
    assert!(matches!(server.next_event().await, support::Event::Open(_)));
    assert!(matches!(
        server.next_event().await,
        support::Event::Message(..)
    ));
    assert!(matches!(
        server.next_event().await,
        support::Event::Upgrade(_)
    ));
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

/// Node runs `allowRequest` before the protocol check: a request that fails
/// both is refused by the check (D13).
#[tokio::test]
async fn allow_request_runs_before_the_protocol_check() {
    let config = EngineConfig::default().allow_request(|_| Err("no".into()));
    let server = Server::start(config).await;
    assert_eq!(
        error_of(&server, "GET", "EIO=3&transport=polling").await,
        (StatusCode::FORBIDDEN, r#"{"code":4,"message":"no"}"#.into())
    );
}

#[tokio::test]
async fn allow_request_may_wait() {
    let config = EngineConfig::default().allow_request_async(|parts| {
        let allowed = parts.uri.query().unwrap_or("").contains("token=ok");
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if allowed {
                Ok(())
            } else {
                Err("no token".into())
            }
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
}

/// Node's `connection_error` event: every refused request, with its code,
/// message and context.
#[tokio::test]
async fn connection_errors_are_reported_with_code_message_and_context() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let config = EngineConfig::default()
        .allow_request(
            |parts| match parts.uri.query().unwrap_or("").contains("deny") {
                true => Err("denied".into()),
                false => Ok(()),
            },
        )
        .connection_error(move |e| {
            log.lock().unwrap().push((
                e.code,
                e.message,
                e.context.to_string(),
                e.request.method.to_string(),
            ));
        });
    let server = Server::start(config).await;
    error_of(&server, "GET", "EIO=4&transport=pigeon").await;
    error_of(
        &server,
        "GET",
        "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
    )
    .await;
    error_of(&server, "PUT", "EIO=4&transport=polling").await;
    error_of(&server, "GET", "EIO=4&transport=polling&deny").await;
    error_of(&server, "GET", "EIO=3&transport=polling").await;
    let _ = server
        .try_websocket("transport=websocket&sid=AAAAAAAAAAAAAAAAAAAB")
        .await;
    // Served requests are not reported.
    server.polling_handshake().await;
    let seen = seen.lock().unwrap().clone();
    let s = |v: &str| v.to_owned();
    assert_eq!(
        seen,
        [
            (
                0,
                "Transport unknown",
                s(r#"{"transport":"pigeon"}"#),
                s("GET")
            ),
            (
                1,
                "Session ID unknown",
                s(r#"{"sid":"AAAAAAAAAAAAAAAAAAAA"}"#),
                s("GET")
            ),
            (
                2,
                "Bad handshake method",
                s(r#"{"method":"PUT"}"#),
                s("PUT")
            ),
            (4, "Forbidden", s(r#"{"message":"denied"}"#), s("GET")),
            (
                5,
                "Unsupported protocol version",
                s(r#"{"protocol":"3"}"#),
                s("GET")
            ),
            (
                1,
                "Session ID unknown",
                s(r#"{"sid":"AAAAAAAAAAAAAAAAAAAB"}"#),
                s("GET")
            ),
        ]
    );
}

/// Node's `initial_headers` (the handshake's answer only) and `headers`
/// (every answer to a served request) events.
#[tokio::test]
async fn initial_headers_and_headers_hooks() {
    let config = EngineConfig::default()
        .initial_headers(|headers, _| {
            headers.insert("x-initial", "1".parse().unwrap());
        })
        .headers(|headers, req| {
            let value = req.method.as_str().parse().unwrap();
            headers.insert("x-every", value);
        });
    let server = Server::start(config).await;
    let handshake = server
        .request("GET", &server.url("transport=polling"), "")
        .await;
    assert_eq!(handshake.headers["x-initial"], "1");
    assert_eq!(handshake.headers["x-every"], "GET");
    let json: serde_json::Value = serde_json::from_str(&handshake.text()[1..]).unwrap();
    let url = server.url(&format!(
        "transport=polling&sid={}",
        json["sid"].as_str().unwrap()
    ));
    let post = server.request("POST", &url, "4x").await;
    assert!(!post.headers.contains_key("x-initial"));
    assert_eq!(post.headers["x-every"], "POST");
    // The WebSocket handshake's 101 too.
    let answer = raw_exchange(&server, &ws_request(&server, "transport=websocket")).await;
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("x-initial: 1\r\n"), "{answer}");
    assert!(lower.contains("x-every: get\r\n"), "{answer}");
    // Not on refusals.
    let refused = server
        .request("GET", &server.url("transport=pigeon"), "")
        .await;
    assert!(!refused.headers.contains_key("x-every"));
}

/// Node's `generateId`: the application names sessions. An id that is not
/// 20 URL-safe characters, or that is in use, refuses the handshake.
#[tokio::test]
async fn generate_id_names_sessions_and_is_checked() {
    let config = EngineConfig::default().generate_id(|parts| {
        let query = parts.uri.query().unwrap_or("");
        let wanted = query.split('&').find_map(|p| p.strip_prefix("want="));
        wanted.unwrap_or("not valid!").to_owned()
    });
    let server = Server::start(config).await;
    let id = "custom-id_0123456789";
    let reply = server
        .request(
            "GET",
            &server.url(&format!("transport=polling&want={id}")),
            "",
        )
        .await;
    assert!(
        reply.text().contains(&format!(r#""sid":"{id}""#)),
        "{}",
        reply.text()
    );
    // In use.
    assert_eq!(
        error_of(
            &server,
            "GET",
            &format!("EIO=4&transport=polling&want={id}")
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            r#"{"code":3,"message":"Bad request"}"#.into()
        )
    );
    // Not the shape of an id.
    assert_eq!(
        error_of(&server, "GET", "EIO=4&transport=polling").await.0,
        StatusCode::BAD_REQUEST
    );
    // Over WebSocket too.
    let mut ws = server
        .websocket("transport=websocket&want=another-id_012345678")
        .await;
    let open = ws_next_text(&mut ws).await;
    assert!(open.contains(r#""sid":"another-id_012345678""#), "{open}");
    assert_eq!(server.engine.session_count(), 2);
}
