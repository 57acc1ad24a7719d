//! ferrio-client against ferrio's own server, in process, with the same
//! scenarios as against the Node.js server.

mod common;

use common::ferrio_server::FerrioServer;
use common::{Mode, suite};

/// One test per mode for each scenario, each with a server of its own.
macro_rules! in_every_mode {
    ($($scenario:ident),* $(,)?) => {
        in_every_mode!(FerrioServer::spawn(); $($scenario),*);
    };
    ($spawn:expr; $($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                let mut server = $spawn.await;
                suite::$scenario(&mut server, Mode::WebSocket).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                let mut server = $spawn.await;
                suite::$scenario(&mut server, Mode::Polling).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn upgrade() {
                let mut server = $spawn.await;
                suite::$scenario(&mut server, Mode::Upgrade).await;
            }
        }
    )*};
}

in_every_mode!(
    echo_and_ack,
    binary_both_ways,
    answers_server_acks,
    multiplexes_namespaces,
    middleware_rejection,
    server_disconnect,
    client_disconnect,
    query_headers_auth,
    buffered_and_volatile,
    reconnects_after_restart,
);

/// The same scenarios with socket.io-msgpack-parser on both sides
/// (`Parser::MsgPack`).
mod msgpack {
    use super::*;

    in_every_mode!(
        FerrioServer::spawn_with_parser(ferrio::Parser::MsgPack);
        echo_and_ack,
        binary_both_ways,
        answers_server_acks,
        multiplexes_namespaces,
        middleware_rejection,
        server_disconnect,
        client_disconnect,
        query_headers_auth,
        buffered_and_volatile,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_to_websocket() {
    let mut server = FerrioServer::spawn().await;
    suite::upgrades_to_websocket(&mut server).await;
}
