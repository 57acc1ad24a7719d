//! ferrio-client against the official Node.js `socket.io` 4.8 server
//! (interop/socketio/server.mjs), in each transport mode.

mod common;

use common::node_server::NodeServer;
use std::time::Duration;

use common::{Mode, Recorder, Seen, TestServer, suite};
use ferrio_client::DisconnectReason;
use serde_json::json;

/// One test per mode for each scenario, each with a server of its own.
macro_rules! in_every_mode {
    ($($scenario:ident),* $(,)?) => {
        in_every_mode!(NodeServer::spawn(); $($scenario),*);
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
        NodeServer::spawn_msgpack();
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
    let mut server = NodeServer::spawn().await;
    suite::upgrades_to_websocket(&mut server).await;
    let lines = server.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""event":"upgrade""#) && l.contains(r#""transport":"websocket""#)),
        "the server saw no upgrade: {lines:?}"
    );
}

/// The server closing the Engine.IO connection is a "transport close": the
/// client reconnects by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_server_closes_the_connection() {
    let server = NodeServer::spawn().await;
    for mode in [Mode::WebSocket, Mode::Polling] {
        let mut rec = Recorder::default();
        let socket = rec
            .watch(
                ferrio_client::io(&server.url())
                    .unwrap()
                    .config(mode.config())
                    .force_new(true),
            )
            .build();
        rec.connected("/").await;
        socket.emit("close-me", &()).unwrap();
        assert_eq!(
            rec.disconnected("/").await,
            DisconnectReason::TransportClose,
            "{mode:?}"
        );
        rec.connected("/").await;
        socket.emit("echo", &"back").unwrap();
        assert_eq!(rec.event("/", "echo").await, [json!("back").into()]);
        socket.disconnect();
    }
}

/// With a short ping interval the client must answer every ping, on each
/// transport and across the upgrade, or the server would close the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_pings_in_every_mode() {
    let server =
        NodeServer::spawn_with(&["--ping-interval", "250", "--ping-timeout", "1000"]).await;
    for mode in [Mode::WebSocket, Mode::Polling, Mode::Upgrade] {
        let mut rec = Recorder::default();
        let socket = rec
            .watch(
                ferrio_client::io(&server.url())
                    .unwrap()
                    .config(mode.config())
                    .force_new(true),
            )
            .build();
        rec.connected("/").await;
        // Many ping intervals pass.
        let seen = rec.drain(Duration::from_millis(2500)).await;
        assert!(
            !seen.iter().any(|s| matches!(s, Seen::Disconnect { .. })),
            "{mode:?}: {seen:?}"
        );
        assert!(socket.connected());
        socket.emit("echo", &"alive").unwrap();
        assert_eq!(rec.event("/", "echo").await, [json!("alive").into()]);
        socket.disconnect();
    }
}

/// With connection state recovery on the server, a reconnection restores the
/// session: same socket id, `recovered()`, and the events missed meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_the_session_after_a_lost_connection() {
    let server = NodeServer::spawn_with(&["--recovery"]).await;
    for mode in [Mode::WebSocket, Mode::Polling] {
        let mut rec = Recorder::default();
        let socket = rec
            .watch(
                ferrio_client::io(&server.url())
                    .unwrap()
                    .config(mode.config())
                    .force_new(true),
            )
            .build();
        rec.connected("/").await;
        assert!(!socket.recovered());
        let id = socket.id().unwrap();
        // The server appends the event's offset as the last argument.
        socket.emit("echo", &"one").unwrap();
        let args = rec.event("/", "echo").await;
        assert_eq!(args[0], json!("one").into());
        assert_eq!(args.len(), 2, "{args:?}");

        socket.emit("close-me", &()).unwrap();
        assert_eq!(
            rec.disconnected("/").await,
            DisconnectReason::TransportClose
        );
        rec.connected("/").await;
        assert!(socket.recovered(), "{mode:?}");
        assert_eq!(socket.id().unwrap(), id);
        socket.disconnect();
    }
}

/// Two recoveries in a row: each gives back only what was missed since the
/// last one. The events of the first recovery arrive before its CONNECT
/// reply, and their offsets must count, or the second recovery replays them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_twice_in_a_row_without_replaying_the_first_recovery() {
    let server = NodeServer::spawn_with(&["--recovery"]).await;
    for mode in [Mode::WebSocket, Mode::Polling] {
        let mut rec = Recorder::default();
        let socket = rec
            .watch(
                ferrio_client::io(&server.url())
                    .unwrap()
                    .config(mode.config())
                    .force_new(true),
            )
            .build();
        rec.connected("/").await;
        let id = socket.id().unwrap();
        // A first event, so that the client has an offset to recover from.
        socket.emit("echo", &"one").unwrap();
        rec.event("/", "echo").await;
        for value in ["first", "second"] {
            socket.emit("close-me-then-send", &value).unwrap();
            rec.disconnected("/").await;
            rec.connected("/").await;
            assert!(socket.recovered(), "{mode:?}");
            assert_eq!(socket.id().unwrap(), id);
            let missed = rec.event("/", "missed").await;
            assert_eq!(missed[0], json!(value).into(), "{mode:?}: {missed:?}");
        }
        // Nothing else came back: "first" was not replayed by the second recovery.
        let rest: Vec<_> = rec
            .drain(Duration::from_millis(300))
            .await
            .into_iter()
            .filter(|seen| matches!(seen, Seen::Event { name, .. } if name == "missed"))
            .collect();
        assert!(rest.is_empty(), "{mode:?}: replayed again: {rest:?}");
        socket.disconnect();
    }
}
