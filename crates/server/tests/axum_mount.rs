//! `io.layer()` mounted in an axum 0.8 `Router` and served by `axum::serve`:
//! ordinary routes still answer, and Socket.IO works over long-polling and
//! WebSocket on the same port.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use ferrio::SocketIo;
use futures_util::{SinkExt, StreamExt};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// Starts an axum app with one ordinary route and Socket.IO mounted as a layer.
async fn start() -> (SocketAddr, SocketIo) {
    let io = SocketIo::new();
    io.on_connection(|socket| async move {
        socket.on("ping", |socket, _event| async move {
            let _ = socket.emit("pong", &"from a handler");
        });
    });
    let app = Router::new()
        .route("/", get(|| async { "hello from axum" }))
        .layer(io.layer());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, io)
}

/// One HTTP/1.1 request on a new connection: status and body.
async fn request(addr: SocketAddr, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .expect("a response within 10 s")
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The next text frame that is not an Engine.IO ping.
async fn next_text(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a websocket message within 5 s")
            .expect("websocket open")
            .unwrap();
        match msg {
            Message::Text(t) if t.as_str() == "2" => continue,
            Message::Text(t) => return t.to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_routes_still_answer() {
    let (addr, _io) = start().await;
    let (status, body) = request(addr, "GET", "/", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hello from axum");
    let (status, _) = request(addr, "GET", "/nowhere", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_handshake_and_connect() {
    let (addr, _io) = start().await;
    let (status, body) = request(addr, "GET", "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("0{\"sid\""), "{body}");
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap();

    // A request body passes through axum to the engine: CONNECT to `/`.
    let uri = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let (status, body) = request(addr, "POST", &uri, "40").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
    let (status, body) = request(addr, "GET", &uri, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("40{\"sid\":"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_connection_and_event() {
    let (addr, io) = start().await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("websocket upgrade through axum");

    let open = next_text(&mut ws).await;
    assert!(open.starts_with("0{\"sid\""), "{open}");

    ws.send(Message::text("40")).await.unwrap();
    let connected = next_text(&mut ws).await;
    assert!(connected.starts_with("40{\"sid\":"), "{connected}");
    assert_eq!(io.sockets().socket_count(), 1);

    ws.send(Message::text("42[\"ping\"]")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "42[\"pong\",\"from a handler\"]");
}

/// The layer takes the paths the engine answers (Node's `addTrailingSlash`):
/// by default everything under `/socket.io/`, and `/socket.io` goes on to
/// the application's routes; with `add_trailing_slash(false)` the engine
/// takes `/socket.io` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_takes_the_paths_the_engine_answers() {
    for add in [true, false] {
        let io = SocketIo::with_config(
            ferrio::SocketIoConfig::default().with_engine(|e| e.add_trailing_slash(add)),
        );
        let app = Router::new()
            .route("/socket.io", get(|| async { "the app's" }))
            .layer(io.layer());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let (status, body) = request(addr, "GET", "/socket.io?EIO=4&transport=polling", "").await;
        if add {
            assert_eq!((status, body.as_str()), (StatusCode::OK, "the app's"));
        } else {
            assert_eq!(status, StatusCode::OK);
            assert!(body.starts_with("0{\"sid\""), "{body}");
        }
        let (status, body) = request(addr, "GET", "/socket.io/x?EIO=4&transport=polling", "").await;
        assert_eq!(status, StatusCode::OK, "{add}");
        assert!(body.starts_with("0{\"sid\""), "{add}: {body}");
    }
}
