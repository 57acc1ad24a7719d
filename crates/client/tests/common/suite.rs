//! The scenarios every server is tested with, in each transport mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferrio_client::{
    AckError, DisconnectReason, Manager, ManagerConfig, Payload, Socket, SocketBuilder,
    TransportKind, io,
};
use http::{HeaderMap, HeaderValue};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Mode, Recorder, Seen, TestServer, WAIT};

/// The mode's options, with the server's parser.
fn config(server: &impl TestServer, mode: Mode) -> ManagerConfig {
    mode.config().parser(server.parser())
}

/// A builder for `nsp` on the server, on a connection of its own.
fn client(server: &impl TestServer, mode: Mode, nsp: &str) -> SocketBuilder {
    io(&format!("{}{nsp}", server.url()))
        .expect("valid URL")
        .config(config(server, mode))
        .force_new(true)
}

/// What the server knows about the socket (the `whoami` ack).
async fn whoami(socket: &Socket) -> Value {
    socket
        .timeout(WAIT)
        .emit_with_ack("whoami", &())
        .await
        .expect("whoami answered")
        .get(0)
        .expect("one argument")
}

fn bin(bytes: &'static [u8]) -> Payload {
    Payload::Binary(Bytes::from_static(bytes))
}

/// Emits with several arguments come back whole; acks carry arguments back;
/// several handlers of one event all run; the transport is the mode's.
pub async fn echo_and_ack(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let (tx, mut handled) = mpsc::unbounded_channel();
    let (tx1, tx2) = (tx.clone(), tx);
    let socket = rec
        .watch(client(server, mode, "/"))
        .on("echo", move |_s, event| {
            let tx = tx1.clone();
            async move {
                let (text, n, obj): (String, u32, Value) = event.args_as().expect("typed args");
                let _ = tx.send(format!("first {text} {n} {obj}"));
            }
        })
        .on("echo", move |_s, event| {
            let tx = tx2.clone();
            async move {
                let _ = tx.send(format!("second {}", event.args().len()));
            }
        })
        .build();
    rec.connected("/").await;
    assert!(socket.connected());
    assert!(socket.active());
    assert!(socket.id().is_some());

    socket
        .emit("echo", &("hello", 42, json!({"k": [1, 2]})))
        .unwrap();
    let args = rec.event("/", "echo").await;
    assert_eq!(
        args,
        [
            json!("hello").into(),
            json!(42).into(),
            json!({"k": [1, 2]}).into()
        ]
    );
    let mut lines = vec![handled.recv().await.unwrap(), handled.recv().await.unwrap()];
    lines.sort();
    assert_eq!(lines, [r#"first hello 42 {"k":[1,2]}"#, "second 3"]);
    rec.wait(
        "outgoing echo",
        |s| matches!(s, Seen::Outgoing { name, .. } if name == "echo"),
    )
    .await;

    let answer = socket
        .timeout(WAIT)
        .emit_with_ack("echo-ack", &("a", 1, [true]))
        .await
        .unwrap();
    assert_eq!(
        answer,
        [json!("a").into(), json!(1).into(), json!([true]).into()]
    );
    let (a, n): (String, u8) = (answer.get(0).unwrap(), answer.get(1).unwrap());
    assert_eq!((a.as_str(), n), ("a", 1));

    let who = whoami(&socket).await;
    assert_eq!(who["nsp"], "/");
    assert_eq!(who["id"].as_str(), socket.id().as_deref());
    match mode {
        Mode::WebSocket => {
            assert_eq!(socket.manager().transport(), Some(TransportKind::WebSocket));
            assert_eq!(who["transport"], "websocket");
        }
        Mode::Polling => {
            assert_eq!(socket.manager().transport(), Some(TransportKind::Polling));
            assert_eq!(who["transport"], "polling");
        }
        Mode::Upgrade => {}
    }
    socket.disconnect();
}

#[derive(Serialize)]
struct Nested {
    nested: Bytes,
}

/// Binary arguments travel both ways, at the top level and nested, in
/// events and in acks.
pub async fn binary_both_ways(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let socket = rec.watch(client(server, mode, "/")).build();
    rec.connected("/").await;

    let sent = (
        Bytes::from_static(&[1, 2, 3]),
        Nested {
            nested: Bytes::from_static(&[4, 5]),
        },
        "text",
    );
    let expected = vec![
        bin(&[1, 2, 3]),
        Payload::Object(vec![("nested".into(), bin(&[4, 5]))]),
        json!("text").into(),
    ];
    socket.emit("echo", &sent).unwrap();
    assert_eq!(rec.event("/", "echo").await, expected);

    let answer = socket
        .timeout(WAIT)
        .emit_with_ack("echo-ack", &sent)
        .await
        .unwrap();
    assert_eq!(answer, expected);
    assert_eq!(answer.binary(0).unwrap().as_ref(), [1, 2, 3]);

    socket.emit("binary", &()).unwrap();
    let args = rec.event("/", "binary").await;
    assert_eq!(
        args,
        [
            bin(&[1, 2, 3]),
            Payload::Object(vec![("nested".into(), bin(&[4, 5]))])
        ]
    );
    socket.disconnect();
}

/// The client answers the server's acknowledgements (`emitWithAck` and a
/// callback with several arguments, binary among them).
pub async fn answers_server_acks(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let socket = rec
        .watch(client(server, mode, "/"))
        .on("question", |_s, event| async move {
            let ack = event.ack().expect("the server asks for an ack");
            match event.arg::<i64>(0) {
                Ok(n) => ack.send(&(n * 2)).unwrap(),
                Err(_) => ack.send(&("y", Bytes::from_static(&[9]))).unwrap(),
            }
            // Only the first answer goes out.
            assert!(ack.send(&0).is_err());
        })
        .build();
    rec.connected("/").await;

    socket.emit("ask", &21).unwrap();
    assert_eq!(rec.event("/", "answer").await, [json!(42).into()]);

    socket.emit("ask-all", &"x").unwrap();
    assert_eq!(
        rec.event("/", "answer-all").await,
        [json!("y").into(), bin(&[9])]
    );
    socket.disconnect();
}

/// Sockets of two namespaces share one connection; `force_new` makes another.
pub async fn multiplexes_namespaces(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let url = server.url();
    let root = rec
        .watch(io(&url).unwrap().config(config(server, mode)))
        .build();
    let admin = rec
        .watch(
            io(&format!("{url}/admin"))
                .unwrap()
                .config(config(server, mode)),
        )
        .build();
    rec.connected("/").await;
    rec.connected("/admin").await;
    assert!(root.manager().engine_id().is_some());
    assert_eq!(root.manager().engine_id(), admin.manager().engine_id());

    root.emit("echo", &"to root").unwrap();
    admin.emit("echo", &"to admin").unwrap();
    assert_eq!(
        rec.event("/admin", "echo").await,
        [json!("to admin").into()]
    );
    assert_eq!(rec.event("/", "echo").await, [json!("to root").into()]);
    assert_eq!(whoami(&admin).await["nsp"], "/admin");

    // A second socket for `/` cannot share: it gets its own connection.
    let other = rec
        .watch(io(&url).unwrap().config(config(server, mode)))
        .build();
    rec.connected("/").await;
    assert_ne!(other.manager().engine_id(), root.manager().engine_id());
    other.disconnect();

    // Leaving one namespace keeps the connection for the other.
    admin.disconnect();
    assert_eq!(
        rec.disconnected("/admin").await,
        DisconnectReason::IoClientDisconnect
    );
    root.emit("echo", &"still here").unwrap();
    assert_eq!(rec.event("/", "echo").await, [json!("still here").into()]);
    root.disconnect();
}

/// A middleware refusal arrives as `connect_error` with its message and data;
/// the socket stops trying, and connects once its auth is right.
pub async fn middleware_rejection(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let socket = rec
        .watch(client(server, mode, "/private").auth(json!({"token": "nope"})))
        .build();
    let error = rec.connect_error("/private").await;
    assert!(error.is_from_server());
    assert_eq!(error.message(), "not authorized");
    assert_eq!(
        error.data(),
        Some(&json!({"code": 401, "auth": {"token": "nope"}}))
    );
    assert!(!socket.active());
    assert!(!socket.connected());

    socket.set_auth(json!({"token": "letmein"}));
    socket.connect();
    rec.connected("/private").await;
    assert_eq!(whoami(&socket).await["auth"], json!({"token": "letmein"}));
    socket.disconnect();
}

/// A server-side disconnect ends the socket for good: no reconnection.
pub async fn server_disconnect(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let socket = rec.watch(client(server, mode, "/")).build();
    rec.connected("/").await;
    socket.emit("disconnect-me", &()).unwrap();
    assert_eq!(
        rec.disconnected("/").await,
        DisconnectReason::IoServerDisconnect
    );
    assert!(!socket.active());
    assert!(!socket.connected());
    let later = rec.drain(Duration::from_millis(500)).await;
    assert!(
        !later.iter().any(|s| matches!(s, Seen::Connect { .. })),
        "reconnected after a server disconnect: {later:?}"
    );
}

/// A client-side disconnect, then connecting again.
pub async fn client_disconnect(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let socket = rec.watch(client(server, mode, "/")).build();
    rec.connected("/").await;
    let pending = socket.emit_with_ack("never-answered", &());
    socket.disconnect();
    assert_eq!(
        rec.disconnected("/").await,
        DisconnectReason::IoClientDisconnect
    );
    assert!(matches!(pending.await, Err(AckError::Disconnected)));
    assert!(!socket.active());

    socket.connect();
    rec.connected("/").await;
    socket.emit("echo", &"again").unwrap();
    assert_eq!(rec.event("/", "echo").await, [json!("again").into()]);
    socket.disconnect();
}

/// The URL's query, the `query` option and extra headers reach the server,
/// and so does the auth object.
pub async fn query_headers_auth(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let mut headers = HeaderMap::new();
    headers.insert("x-ferrio-test", HeaderValue::from_static("yes"));
    let config = config(server, mode)
        .query([("room", "blue sky")])
        .extra_headers(headers);
    let socket = rec
        .watch(
            io(&format!("{}/admin?from=url", server.url()))
                .unwrap()
                .config(config)
                .force_new(true)
                .auth(json!({"token": "t"})),
        )
        .build();
    rec.connected("/admin").await;
    let who = whoami(&socket).await;
    assert_eq!(who["nsp"], "/admin");
    assert_eq!(who["query"]["room"], "blue sky");
    assert_eq!(who["query"]["from"], "url");
    assert_eq!(who["header"], "yes");
    assert_eq!(who["auth"], json!({"token": "t"}));
    socket.disconnect();
}

/// Emits made before connecting are sent on connection, in order; volatile
/// ones are dropped; an ack that timed out takes its event out of the buffer.
pub async fn buffered_and_volatile(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let socket = rec
        .watch(client(server, mode, "/").config(config(server, mode).auto_connect(false)))
        .build();
    assert!(!socket.active());
    socket.emit("echo", &"first").unwrap();
    socket.volatile().emit("echo", &"volatile").unwrap();
    let acked = socket.emit_with_ack("echo-ack", &"acked");
    let late = socket
        .timeout(Duration::from_millis(50))
        .emit_with_ack("echo-ack", &"late");
    assert!(matches!(late.await, Err(AckError::Timeout)));
    socket.emit("echo", &"second").unwrap();

    socket.connect();
    rec.connected("/").await;
    assert_eq!(rec.event("/", "echo").await, [json!("first").into()]);
    assert_eq!(rec.event("/", "echo").await, [json!("second").into()]);
    let answer = tokio::time::timeout(WAIT, acked).await.unwrap().unwrap();
    assert_eq!(answer, [json!("acked").into()]);

    let rest = rec.drain(Duration::from_millis(300)).await;
    let outgoing: Vec<&str> = rest
        .iter()
        .filter_map(|s| match s {
            Seen::Outgoing { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(outgoing, ["echo", "echo-ack", "echo"], "{rest:?}");
    assert!(
        !rest.iter().any(|s| matches!(s, Seen::Event { .. })),
        "{rest:?}"
    );
    socket.disconnect();
}

/// The server goes away and comes back: every namespace socket reconnects,
/// the auth closure runs again, and emits made meanwhile are delivered.
pub async fn reconnects_after_restart(server: &mut impl TestServer, mode: Mode) {
    let mut rec = Recorder::default();
    let manager = Manager::new(&server.url(), config(server, mode)).unwrap();
    rec.watch_manager(&manager);
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let root = rec
        .watch(
            manager
                .socket("/")
                .auth_fn(move || json!({"n": counter.fetch_add(1, Ordering::SeqCst) + 1})),
        )
        .build();
    let admin = rec.watch(manager.socket("/admin")).build();
    rec.connected("/").await;
    rec.connected("/admin").await;
    assert_eq!(whoami(&root).await["auth"], json!({"n": 1}));

    server.stop().await;
    for nsp in ["/", "/admin"] {
        let reason = rec.disconnected(nsp).await;
        assert!(reason.will_reconnect(), "{nsp}: {reason}");
    }
    assert!(root.active() && !root.connected());
    root.emit("echo", &"while down").unwrap();
    let queued = root.emit_with_ack("echo-ack", &"queued");

    server.start().await;
    rec.wait("reconnect", |s| matches!(s, Seen::Reconnect(_)))
        .await;
    rec.wait("reconnect attempt", |s| {
        matches!(s, Seen::ReconnectAttempt(_))
    })
    .await;
    rec.connected("/").await;
    rec.connected("/admin").await;
    assert_eq!(rec.event("/", "echo").await, [json!("while down").into()]);
    let answer = tokio::time::timeout(WAIT, queued).await.unwrap().unwrap();
    assert_eq!(answer, [json!("queued").into()]);

    let n = whoami(&root).await["auth"]["n"].as_u64().unwrap();
    assert!(n >= 2, "auth evaluated again: n = {n}");
    assert_eq!(whoami(&admin).await["nsp"], "/admin");
    manager.close();
    assert_eq!(
        rec.disconnected("/").await,
        DisconnectReason::IoClientDisconnect
    );
    assert!(!root.active() && !admin.active());
}

/// A polling session upgrades to WebSocket and goes on working.
pub async fn upgrades_to_websocket(server: &mut impl TestServer) {
    let mut rec = Recorder::default();
    let manager = Manager::new(&server.url(), config(server, Mode::Upgrade)).unwrap();
    rec.watch_manager(&manager);
    let socket = rec.watch(manager.socket("/")).build();
    rec.connected("/").await;
    rec.wait("upgrade", |s| {
        matches!(s, Seen::Upgrade(TransportKind::WebSocket))
    })
    .await;
    assert_eq!(manager.transport(), Some(TransportKind::WebSocket));
    assert_eq!(whoami(&socket).await["transport"], "websocket");
    socket
        .emit("echo", &("after", Bytes::from_static(&[7])))
        .unwrap();
    assert_eq!(
        rec.event("/", "echo").await,
        [json!("after").into(), bin(&[7])]
    );
    socket.disconnect();
}
