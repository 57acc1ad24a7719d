//! The cluster contract of the `conformance` example (issue 14, item 5),
//! driven by the official `socket.io-client` (npm 4.8, run by Node) against
//! one ferrio node with the memory adapter: every row of the contract holds on
//! a cluster of one. `interop/socketio/cluster-client.mjs` runs the rows.

#[path = "../examples/conformance/handlers.rs"]
mod handlers;

use ferrio_test_support::node;
use std::time::Duration;

use ferrio::SocketIo;

async fn run_contract(transport: &'static str) {
    node::ensure_npm_deps();
    let io = SocketIo::new();
    handlers::install(&io);
    io.sockets().ready().await.unwrap();
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
            "socketio/cluster-client.mjs",
            &["--urls", &url, "--servers", "1", "--transport", transport],
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    output.assert_ok();
    let steps = output.lines_with_event("step");
    for row in [
        "server-count",
        "fetch-sockets",
        "sockets-join",
        "sockets-leave",
        "local-broadcast",
        "ask-all",
        "server-side",
        "disconnect-room",
    ] {
        assert!(
            steps.iter().any(|l| l.contains(&format!("\"{row}\""))),
            "row {row} not checked: {steps:?}"
        );
    }
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_contract_holds_on_one_node_over_websocket() {
    run_contract("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_contract_holds_on_one_node_over_polling() {
    run_contract("polling").await;
}
