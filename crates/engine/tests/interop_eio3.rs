//! ferrio-engine's Engine.IO v3 long-polling payloads, checked by the v3
//! codec itself (engine.io-parser 2.2.1, run by Node): a text payload with
//! UTF-16 lengths and base64 binary (`b64=1`), and a binary payload
//! (`application/octet-stream`) both ways, plus a client ping's pong.
//!
//! `interop/engineio/v3-payloads.mjs` passes against Node's engine.io 6 with
//! `allowEIO3` (`echo-server.mjs` with `ALLOW_EIO3=1`) as well.

mod support;

use std::time::Duration;

use ferrio_engine::EngineConfig;
use ferrio_test_support::node;
use support::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_payloads_are_engine_io_parser_2s() {
    node::ensure_npm_deps();
    let server = Server::start(EngineConfig::default().allow_eio3(true)).await;
    let url = format!("http://{}", server.addr);
    let output = tokio::task::spawn_blocking(move || {
        node::run_node(
            "engineio/v3-payloads.mjs",
            &["--url", &url],
            Duration::from_secs(30),
        )
    })
    .await
    .unwrap();
    output.assert_ok();
    assert_eq!(output.lines_with_event("pass").len(), 2, "{output}");
    server.shutdown().await;
}
