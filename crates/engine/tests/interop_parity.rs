//! The same client-side edge cases (interop/engineio/parity.mjs) against
//! Node's engine.io 6.6 (interop/engineio/echo-server.mjs) and against
//! ferrio-engine: what the client sees must be the same, and so must the
//! close reason each server gives (issue 16: D3, D14, D15, D16, D17).

mod support;

use std::time::Duration;

use ferrio_engine::EngineConfig;
use ferrio_test_support::node;
use support::{Event, Server};

const SCENARIOS: [&str; 10] = [
    "second-websocket",
    "second-websocket-upgraded",
    "refused-websocket",
    "put-method",
    "binary-post",
    "client-ping-websocket",
    "close-packet-websocket",
    "aborted-poll",
    "oversized-websocket",
    "server-close-buffered",
];

async fn observe(port: u16, scenario: &'static str) -> String {
    let url = format!("http://127.0.0.1:{port}");
    let output = tokio::task::spawn_blocking(move || {
        node::run_node(
            "engineio/parity.mjs",
            &["--url", &url, "--scenario", scenario],
            Duration::from_secs(45),
        )
    })
    .await
    .unwrap();
    let observed = output.lines_with_event("observed");
    assert_eq!(observed.len(), 1, "{scenario}: {output:?}");
    assert!(
        !observed[0].contains("timedOut"),
        "{scenario}: {}",
        observed[0]
    );
    observed[0].to_owned()
}

/// The reasons Node's echo server printed since `from` (its stdout lines).
fn node_reasons(lines: &[String], from: usize) -> Vec<String> {
    lines[from..]
        .iter()
        .filter(|l| l.contains(r#""event":"close""#))
        .filter_map(|l| node::json_field(l, "reason").map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_cases_match_node_engine_io() {
    node::ensure_npm_deps();
    let mut reference = node::spawn_node(
        "engineio/echo-server.mjs",
        &["--ping-interval", "25000", "--ping-timeout", "20000"],
    );
    let node_port = reference.wait_for_port(Duration::from_secs(20));
    let mut ferrio = Server::start(EngineConfig::default()).await;
    let ferrio_port = ferrio.addr.port();
    for scenario in SCENARIOS {
        let seen = reference.lines().len();
        let expected = observe(node_port, scenario).await;
        let got = observe(ferrio_port, scenario).await;
        assert_eq!(got, expected, "{scenario}: ferrio, then Node");
        // Node prints its close events asynchronously: let them arrive.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut want = node_reasons(reference.lines(), seen);
        let mut have = Vec::new();
        while let Ok(event) = ferrio.events.try_recv() {
            if let Event::Close(_, reason) = event {
                have.push(reason.as_str().to_owned());
            }
        }
        want.sort();
        have.sort();
        assert_eq!(have, want, "{scenario}: close reasons, ferrio then Node");
    }
    reference.kill();
}
