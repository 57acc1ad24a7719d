//! permessage-deflate with the official `socket.io-client` (npm 4.8, over
//! Node's `ws`, which offers the extension): against ferrio with
//! `per_message_deflate` on, the WebSocket agrees on it, over WebSocket alone
//! and after an upgrade from polling, and small and large text and binary
//! events echo back whole, the large ones compressed both ways (the client
//! counts the socket's bytes). With the option off (the default, as in Node)
//! nothing is agreed on. The client is `interop/socketio/deflate-client.mjs`.

use ferrio_test_support::node;

#[path = "../examples/conformance/handlers.rs"]
mod handlers;

use std::time::Duration;

use ferrio::engine::{Cors, DeflateConfig, EngineConfig};
use ferrio::{SocketIo, SocketIoConfig};
use tokio::sync::oneshot;

/// ferrio with the conformance handlers on a loopback port; the URL, and
/// what stops it.
async fn start(deflate: Option<DeflateConfig>) -> (String, oneshot::Sender<()>) {
    let engine = EngineConfig::default()
        .path("/socket.io/")
        .max_payload(1_000_000)
        .cors(Cors::default())
        .per_message_deflate(deflate);
    let io = SocketIo::with_config(SocketIoConfig::default().engine(engine));
    handlers::install(&io);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        io.serve(listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (url, stop)
}

async fn run_client(url: &str, mode: &'static str, expect: &'static str) -> node::NodeOutput {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let args = ["--url", &url, "--mode", mode, "--expect", expect];
        node::run_node(
            "socketio/deflate-client.mjs",
            &args,
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_clients_agree_on_permessage_deflate_and_echo_compressed() {
    node::ensure_npm_deps();
    let (url, stop) = start(Some(DeflateConfig::default())).await;
    for mode in ["websocket", "upgrade"] {
        let output = run_client(&url, mode, "on").await;
        output.assert_ok();
        let extensions = output.lines_with_event("extensions");
        assert!(
            extensions
                .first()
                .is_some_and(|line| line.contains("permessage-deflate")),
            "{mode}: {extensions:?}"
        );
        eprintln!("{mode}: {:?}", output.lines_with_event("echo"));
    }
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_option_nothing_is_compressed() {
    node::ensure_npm_deps();
    let (url, stop) = start(None).await;
    let output = run_client(&url, "websocket", "off").await;
    output.assert_ok();
    let _ = stop.send(());
}
