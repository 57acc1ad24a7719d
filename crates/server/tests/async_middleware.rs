//! Async per-event middleware (`Socket::use_async_middleware`, Node's
//! `socket.use` calling `next` later): events keep their order however long
//! the middleware takes for each, a refusal is an `error` event, arguments
//! can be replaced, sync and async middleware run in the order they were
//! added, an event let through after the socket left is dropped, and the
//! events waiting are bounded. Node's own behaviour for the refusal and the
//! pass-through is checked in node_parity.rs.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ferrio::{MiddlewareError, SocketIo, SocketIoConfig};
use serde_json::json;
use support::{TestServer, channel};
use tokio::sync::Notify;

/// A server whose middleware holds the event "slow" until `release` is
/// notified, and reports every event it takes; handlers report as
/// `on:<name>:<first arg>`, errors as `error:<message>`.
async fn gated_server(config: SocketIoConfig) -> (TestServer, support::Rx<String>, Arc<Notify>) {
    let io = SocketIo::with_config(config);
    let (tx, log) = channel::<String>();
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    io.on_connection(move |socket| {
        let (tx, gate) = (tx.clone(), gate.clone());
        async move {
            let t = tx.clone();
            socket.use_async_middleware(move |_, event| {
                let (tx, gate) = (t.clone(), gate.clone());
                async move {
                    let _ = tx.send(format!("mw:{}", event.name()));
                    if event.name() == "slow" {
                        gate.notified().await;
                    }
                    match event.name() {
                        "refused" => {
                            tokio::task::yield_now().await;
                            Err(MiddlewareError::new("not today"))
                        }
                        "rewrite" => Ok(event.with_args(vec![json!("rewritten").into()])),
                        _ => Ok(event),
                    }
                }
            });
            let t = tx.clone();
            // Added after the async one: runs after it, on what it handed on.
            socket.use_middleware(move |_, event| {
                let _ = t.send(format!("sync:{}", event.name()));
                Ok(())
            });
            let t = tx.clone();
            socket.on_error(move |_, error| {
                let _ = t.send(format!("error:{error}"));
            });
            for name in ["slow", "fast", "refused", "rewrite"] {
                let t = tx.clone();
                socket.on(name, move |_, event| {
                    let arg = event.arg::<serde_json::Value>(0).unwrap_or_default();
                    let _ = t.send(format!("on:{}:{arg}", event.name()));
                    async {}
                });
            }
        }
    });
    (TestServer::start(io).await, log, release)
}

/// An event held in the middleware holds the ones after it: they reach
/// their handlers after it, in the order they came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_keep_their_order_while_middleware_awaits() {
    let (server, mut log, release) = gated_server(SocketIoConfig::default()).await;
    let (mut client, _) = server.connected("/").await;
    client.emit("/", None, "slow", &[json!(1)]).await;
    client.emit("/", None, "fast", &[json!(2)]).await;
    client.emit("/", None, "fast", &[json!(3)]).await;
    assert_eq!(log.next().await, "mw:slow");
    // The fast ones wait behind it: nothing more happens until it goes on.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(log.drain(), Vec::<String>::new());
    release.notify_one();
    let mut seen = Vec::new();
    for _ in 0..8 {
        seen.push(log.next().await);
    }
    assert_eq!(
        seen,
        [
            "sync:slow",
            "on:slow:1",
            "mw:fast",
            "sync:fast",
            "on:fast:2",
            "mw:fast",
            "sync:fast",
            "on:fast:3"
        ]
    );
}

/// A refusal is an `error` event and stops the event; later events go on.
/// Arguments the middleware replaces are what the handlers get.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_an_error_and_arguments_can_be_replaced() {
    let (server, mut log, _release) = gated_server(SocketIoConfig::default()).await;
    let (mut client, _) = server.connected("/").await;
    client.emit("/", None, "refused", &[json!(1)]).await;
    client
        .emit("/", None, "rewrite", &[json!("original")])
        .await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(log.next().await);
    }
    assert_eq!(
        seen,
        [
            "mw:refused",
            "error:not today",
            "mw:rewrite",
            "sync:rewrite",
            r#"on:rewrite:"rewritten""#
        ]
    );
}

/// An event the middleware lets through after its socket left reaches no
/// handler (Node: "ignore packet received after disconnection").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_let_through_after_the_socket_left_is_dropped() {
    let (server, mut log, release) = gated_server(SocketIoConfig::default()).await;
    let (mut client, _) = server.connected("/").await;
    client.emit("/", None, "slow", &[json!(1)]).await;
    client.emit("/", None, "fast", &[json!(2)]).await;
    assert_eq!(log.next().await, "mw:slow");
    client.send("41").await;
    support::eventually("the socket left", || {
        server.io.sockets().socket_count() == 0
    })
    .await;
    release.notify_one();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The held event may pass its sync middleware; no handler runs, and the
    // waiting one was dropped with the socket's listeners.
    let seen = log.drain();
    assert!(
        seen.iter().all(|s| !s.starts_with("on:") && s != "mw:fast"),
        "{seen:?}"
    );
}

/// At most `max_pending_packets` events wait; one more closes the
/// connection ("forced close").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_waiting_are_bounded() {
    let config = SocketIoConfig::default().max_pending_packets(2);
    let (server, mut log, _release) = gated_server(config).await;
    let (mut client, _) = server.connected("/").await;
    client.emit("/", None, "slow", &[json!(0)]).await;
    assert_eq!(log.next().await, "mw:slow");
    for i in 1..=2 {
        client.emit("/", None, "fast", &[json!(i)]).await;
    }
    // Two wait: the connection stays.
    assert!(
        client
            .next_frame_within(Duration::from_millis(200))
            .await
            .is_err(),
        "nothing is sent while two events wait"
    );
    client.emit("/", None, "fast", &[json!(3)]).await;
    client.expect_closed().await;
}

/// A socket without async middleware still runs each event's handlers on the
/// receiving stack, before the next packet (the path is unchanged: one
/// branch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_async_middleware_handlers_run_inline_in_order() {
    let io = SocketIo::new();
    let (tx, mut log) = channel::<u32>();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.use_middleware(|_, _| Ok(()));
            socket.on("n", move |_, event| {
                let _ = tx.send(event.arg::<u32>(0).unwrap());
                async {}
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut client, _) = server.connected("/").await;
    for i in 0..50 {
        client.emit("/", None, "n", &[json!(i)]).await;
    }
    for i in 0..50 {
        assert_eq!(log.next().await, i);
    }
}
