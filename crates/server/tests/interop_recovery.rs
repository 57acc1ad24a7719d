//! Connection state recovery with the official `socket.io-client` 4.8 (run by
//! Node) against ferrio with the conformance handlers and `RECOVERY=1`'s
//! settings, over WebSocket, long-polling, and polling upgraded to WebSocket.
//! `interop/socketio/recovery-client.mjs` closes a client's transport, has
//! another client send to its rooms, to others and to everyone, and checks
//! that it comes back recovered: same id, same rooms, every missed event once
//! and in order before `connect`, none for rooms it is not in.

#[path = "../examples/conformance/handlers.rs"]
mod handlers;

use std::time::Duration;

use ferrio::{RecoveryConfig, SocketIo, SocketIoConfig};
use ferrio_test_support::node;

async fn run_mode(mode: &'static str) {
    node::ensure_npm_deps();
    let recovery = RecoveryConfig::default()
        .max_disconnection_duration(Duration::from_secs(30))
        .skip_middlewares(true);
    let io = SocketIo::with_config(SocketIoConfig::default().connection_state_recovery(recovery));
    handlers::install(&io);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = io.clone();
    let task = tokio::spawn(async move {
        served
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });

    let output = tokio::task::spawn_blocking(move || {
        node::run_node(
            "socketio/recovery-client.mjs",
            &["--url", &url, "--mode", mode],
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    output.assert_ok();
    let steps = output.lines_with_event("step");
    for step in [
        "connected",
        "transport-closed",
        "missed-sent",
        "recovered",
        "state",
        "live",
    ] {
        assert!(
            steps.iter().any(|l| l.contains(&format!("\"{step}\""))),
            "step {step} not reached: {steps:?}"
        );
    }
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn official_client_recovers_over_websocket() {
    run_mode("websocket").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn official_client_recovers_over_polling() {
    run_mode("polling").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn official_client_recovers_after_upgrading_from_polling() {
    run_mode("upgrade").await;
}

/// The same scenario against Node's own server (socket.io 4.8 with
/// `connectionStateRecovery`), so that it encodes Node's behaviour and not
/// ferrio's.
#[test]
fn the_scenario_holds_against_the_node_reference_server() {
    node::ensure_npm_deps();
    let mut server = node::spawn_node(
        "socketio/reference-server.mjs",
        &[
            "--recovery",
            "--ping-interval",
            "25000",
            "--ping-timeout",
            "20000",
        ],
    );
    let port = server.wait_for_port(Duration::from_secs(20));
    let url = format!("http://127.0.0.1:{port}");
    for mode in ["websocket", "polling", "upgrade"] {
        let output = node::run_node(
            "socketio/recovery-client.mjs",
            &["--url", &url, "--mode", mode],
            Duration::from_secs(60),
        );
        output.assert_ok();
    }
    server.kill();
}
