//! The official `engine.io-client` (npm, run by Node) against ferrio-engine, in
//! each transport mode: echo of text and binary, 1000 messages in order, several
//! heartbeats, and a close from either side seen by the other.

mod support;

use ferrio_test_support::node;

use std::time::Duration;

use ferrio_engine::{CloseReason, EngineConfig};
use support::{Event, Server};

const SCENARIOS: [&str; 6] = [
    "echo-text",
    "echo-binary",
    "order",
    "heartbeat",
    "client-close",
    "server-close",
];

async fn run_mode(mode: &'static str) {
    node::ensure_npm_deps();
    // The conformance timings, with a roomier ping timeout: the tests share two
    // cores with the build, and a missed pong here would be the machine's fault.
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(1000));
    let mut server = Server::start(config).await;
    let url = format!("http://{}", server.addr);
    for scenario in SCENARIOS {
        let url = url.clone();
        let output = tokio::task::spawn_blocking(move || {
            node::run_node(
                "engineio/client.mjs",
                &["--url", &url, "--mode", mode, "--scenario", scenario],
                Duration::from_secs(30),
            )
        })
        .await
        .unwrap();
        output.assert_ok();
        if mode == "upgrade" {
            assert!(
                !output.lines_with_event("upgrade").is_empty(),
                "{scenario}: no upgrade"
            );
        }
        let mut reasons = Vec::new();
        let mut upgraded = false;
        while let Ok(event) = server.events.try_recv() {
            match event {
                Event::Close(_, reason) => reasons.push(reason),
                Event::Upgrade(_) => upgraded = true,
                _ => {}
            }
        }
        assert_eq!(
            upgraded,
            mode == "upgrade",
            "{scenario}: upgrade seen by the server"
        );
        match scenario {
            // The server saw the client go.
            "client-close" => assert_eq!(reasons, [CloseReason::TransportClose], "{scenario}"),
            // The client saw the server's close (asserted by the script); the server
            // recorded it as its own.
            "server-close" => assert_eq!(reasons, [CloseReason::ForcedClose], "{scenario}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_io_client_over_websocket() {
    run_mode("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_io_client_over_polling() {
    run_mode("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_io_client_upgrading_from_polling() {
    run_mode("upgrade").await;
}
