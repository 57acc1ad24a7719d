//! `serve_client`: the browser client's bundles under `/socket.io/`, through
//! `SocketIo::serve` and through the tower layer in axum, with the reference
//! server's headers (ETag, 304, `Cache-Control`, `Content-Type`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::routing;
use bytes::Bytes;
use ferrio::{SocketIo, SocketIoConfig};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

const BUNDLE: &str = "/* the socket.io-client bundle */";

/// A folder laid out like `node_modules/socket.io-client`: `package.json`
/// and `dist/` with one bundle and its map. Returns the `dist/` folder.
fn client_package(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("ferrio-{name}-{}", std::process::id()));
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        root.join("package.json"),
        r#"{"name":"socket.io-client","version":"4.8.4"}"#,
    )
    .unwrap();
    std::fs::write(dist.join("socket.io.js"), BUNDLE).unwrap();
    std::fs::write(dist.join("socket.io.js.map"), r#"{"version":3}"#).unwrap();
    dist
}

/// One GET on a new connection: status, headers and body.
async fn get_with(
    addr: SocketAddr,
    uri: &str,
    etag: Option<&str>,
) -> (StatusCode, HeaderMap, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder().uri(uri).header("host", addr.to_string());
    if let Some(etag) = etag {
        req = req.header(header::IF_NONE_MATCH, etag);
    }
    let req = req.body(Empty::<Bytes>::new()).unwrap();
    let res = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .expect("a response within 10 s")
        .unwrap();
    let (parts, body) = res.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

async fn get(addr: SocketAddr, uri: &str) -> (StatusCode, HeaderMap, Bytes) {
    get_with(addr, uri, None).await
}

/// Every check of one server that serves the client.
async fn check_client_files(addr: SocketAddr) {
    let (status, headers, body) = get(addr, "/socket.io/socket.io.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], BUNDLE.as_bytes());
    assert_eq!(headers[header::ETAG], "\"4.8.4\"");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=0");
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/javascript; charset=utf-8"
    );

    let (status, headers, _) = get(addr, "/socket.io/socket.io.js.map").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/json; charset=utf-8"
    );

    // A browser revalidating its copy.
    let (status, _, body) = get_with(addr, "/socket.io/socket.io.js", Some("\"4.8.4\"")).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    let (status, _, _) = get_with(addr, "/socket.io/socket.io.js", Some("W/\"4.8.4\"")).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (status, _, _) = get_with(addr, "/socket.io/socket.io.js", Some("\"4.0.0\"")).await;
    assert_eq!(status, StatusCode::OK);

    // A bundle name the folder does not have, and a name that is no bundle.
    let (status, _, _) = get(addr, "/socket.io/socket.io.min.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A name that is no bundle is the engine's, under `/socket.io/`: 400
    // "Transport unknown", as Node answers it.
    let (status, _, body) = get(addr, "/socket.io/package.json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(&body[..], br#"{"code":0,"message":"Transport unknown"}"#);

    // The Engine.IO handshake still answers on the same path.
    let (status, _, body) = get(addr, "/socket.io/?EIO=4&transport=polling").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(b"0{\"sid\":"), "{body:?}");
}

#[tokio::test]
async fn serve_answers_the_client_files() {
    let dist = client_package("serve");
    let io = SocketIo::with_config(SocketIoConfig::default().serve_client(&dist));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener, std::future::pending()).await });
    check_client_files(addr).await;
    let _ = std::fs::remove_dir_all(dist.parent().unwrap());
}

#[tokio::test]
async fn the_layer_answers_the_client_files_beside_axum_routes() {
    let dist = client_package("layer");
    let io = SocketIo::with_config(SocketIoConfig::default().serve_client(&dist));
    let app = Router::new()
        .route("/", routing::get(|| async { "hello from axum" }))
        .layer(io.layer());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    check_client_files(addr).await;
    let (status, _, body) = get(addr, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"hello from axum");
    let _ = std::fs::remove_dir_all(dist.parent().unwrap());
}

#[tokio::test]
async fn the_client_is_not_served_by_default() {
    let io = SocketIo::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener, std::future::pending()).await });
    // Not served: the engine's, as everything under `/socket.io/` (Node
    // with `serveClient: false` answers the same).
    let (status, _, body) = get(addr, "/socket.io/socket.io.js").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(&body[..], br#"{"code":0,"message":"Transport unknown"}"#);
    let (status, _, body) = get(addr, "/socket.io/?EIO=4&transport=polling").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(b"0{\"sid\":"), "{body:?}");
}
