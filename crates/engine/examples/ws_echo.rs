//! A raw WebSocket echo server on ferrio's WebSocket stack, for the Autobahn
//! conformance suite (`tests/autobahn.rs`, `scripts/autobahn`).
//!
//! It is the stack every ferrio WebSocket runs on: the standalone listener
//! ([`serve_with`](ferrio_engine::serve_with): hyper 1, HTTP/1.1 upgrades),
//! then the engine's own WebSocket stream, reader and writer, minus the
//! Engine.IO protocol on top: every text and binary message comes back as it
//! came. The payload limit is 64 MiB rather than the engine's 1 MB default, as
//! the suite's 9.* cases echo messages of up to 16 MiB. permessage-deflate is
//! accepted as the engine accepts it (`EngineConfig::per_message_deflate`),
//! with a threshold of 0 so that every echoed message is compressed: the
//! suite's 12.* and 13.* cases check it.
//!
//! ```text
//! PORT=9001 cargo run --release -p ferrio-engine --example ws_echo
//! ```
//!
//! It prints `listening on <addr>` once bound (`PORT=0` picks a free port).
//! `scripts/autobahn` runs the suite against the release build and keeps the
//! HTML report.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use ferrio_engine::DeflateConfig;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The largest message echoed: above the suite's largest (16 MiB).
const MAX_PAYLOAD: usize = 64 << 20;

/// Answers every request with a WebSocket upgrade and echoes on it.
#[derive(Clone)]
struct WsEcho;

impl tower_service::Service<Request<Incoming>> for WsEcho {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        Box::pin(async move { Ok(upgrade(req)) })
    }
}

fn upgrade(mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let is_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let Some(key) = key.filter(|_| is_upgrade) else {
        let mut response = Response::new(Full::new(Bytes::from_static(b"WebSocket only\n")));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let config = DeflateConfig::default().threshold(0);
    let deflate = ferrio_engine::websocket_negotiate(Some(&config), req.headers());
    let (params, answer) = deflate.unzip();
    tokio::spawn(ferrio_engine::websocket_echo_deflate(
        on_upgrade,
        MAX_PAYLOAD,
        params.map(|p| (p, config)),
    ));
    let mut response = Response::builder();
    if let Some(answer) = answer {
        response = response.header(header::SEC_WEBSOCKET_EXTENSIONS, answer);
    }
    response
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .header(header::SERVER, "ferrio-ws-echo")
        .body(Full::new(Bytes::new()))
        .expect("a valid response")
}

/// Echoes on `listener` until `shutdown` completes (`tests/autobahn.rs` runs
/// this in its own process).
pub async fn run(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    ferrio_engine::serve_with(listener, WsEcho, shutdown, || {}).await
}

#[tokio::main]
#[allow(dead_code)] // not called where tests/autobahn.rs includes this file
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(9001);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    run(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
