//! The hooks a monitoring tool (the Admin UI, `ferrio-admin-ui`) reads, as
//! Node's `io.engine` events, `socket.conn.id` and a `Proxy` on
//! `socket.data` give them: `SocketIo::observe_engine`, `Socket::conn_id`,
//! `Socket::on_data_set`, `Namespace::handlers_id`.

mod support;

use std::sync::{Arc, Mutex};

use ferrio::engine::{CloseReason, Session};
use ferrio::{EngineObserver, SocketIo};
use serde_json::json;
use support::{TIMEOUT, TestServer};

/// Everything an engine observer was told, in order.
#[derive(Default)]
struct Told(Mutex<Vec<String>>);

impl Told {
    fn push(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }
    fn list(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl EngineObserver for Told {
    fn opened(&self, session: &Session) {
        self.push(format!("opened {}", session.transport().as_str()));
    }
    fn received(&self, _: &Session, bytes: usize) {
        self.push(format!("received {bytes}"));
    }
    fn sent(&self, _: &Session, messages: usize, bytes: usize) {
        self.push(format!("sent {messages} {bytes}"));
    }
    fn closed(&self, _: &Session, reason: CloseReason) {
        self.push(format!("closed {reason}"));
    }
}

async fn until(what: impl Fn() -> bool) {
    tokio::time::timeout(TIMEOUT, async {
        while !what() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn an_engine_observer_is_told_of_opens_messages_both_ways_and_closes() {
    let io = SocketIo::new();
    let told = Arc::new(Told::default());
    io.observe_engine(told.clone());
    io.on_connection(|socket| async move {
        socket.on("ping-me", |socket, _| async move {
            let _ = socket.emit("pong", &"ok");
        });
    });
    let server = TestServer::start(io).await;
    let (mut client, _) = server.connected("/").await;
    client.send(r#"42["ping-me"]"#).await;
    let (_, name, _) = client.recv_event().await;
    assert_eq!(name, "pong");
    client.close().await;
    let ended = told.clone();
    until(move || ended.list().iter().any(|t| t.starts_with("closed"))).await;
    let connect_reply = r#"0{"sid":"xxxxxxxxxxxxxxxxxxxx"}"#.len();
    assert_eq!(
        told.list(),
        [
            "opened websocket".to_owned(),
            // CONNECT `40`, then its reply `40{"sid":…}` (without the `4`).
            "received 1".to_owned(),
            format!("sent 1 {connect_reply}"),
            format!("received {}", r#"2["ping-me"]"#.len()),
            format!("sent 1 {}", r#"2["pong","ok"]"#.len()),
            "closed transport close".to_owned(),
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn conn_id_is_the_engine_session_and_data_listeners_hear_each_set() {
    let io = SocketIo::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let told = tx.clone();
            socket.on_data_set(move |socket| {
                let _ = told.send(("data".to_owned(), socket.data_value().to_string()));
            });
            let _ = socket.set_data(&json!({"score": 1}));
            let _ = tx.send(("conn".to_owned(), socket.conn_id().as_str().to_owned()));
        }
    });
    let server = TestServer::start(io).await;
    let (client, socket_id) = server.connected("/").await;
    let next = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, String)>| {
        rx.try_recv().expect("told")
    };
    until(|| rx.len() >= 2).await;
    assert_eq!(
        next(&mut rx),
        ("data".to_owned(), r#"{"score":1}"#.to_owned())
    );
    let (what, conn_id) = next(&mut rx);
    assert_eq!(what, "conn");
    assert_eq!(conn_id, client.eio_sid);
    assert_ne!(conn_id, socket_id, "not the socket's id");
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_children_of_a_dynamic_namespace_share_their_handlers_id() {
    let io = SocketIo::new();
    let parent = io.of_pattern(r"^/dyn-\d+$").unwrap();
    let made = Arc::new(Mutex::new(Vec::new()));
    let into = made.clone();
    io.on_new_namespace(move |nsp| into.lock().unwrap().push(nsp.clone()));
    let server = TestServer::start(io.clone()).await;
    let (a, _) = server.connected("/dyn-1").await;
    let (b, _) = server.connected("/dyn-2").await;
    let children = made.lock().unwrap().clone();
    assert_eq!(children.len(), 2);
    let (one, two) = (&children[0], &children[1]);
    assert_eq!(one.handlers_id(), two.handlers_id());
    assert_eq!(one.handlers_id(), parent.handlers_id());
    assert_ne!(io.of("/").handlers_id(), io.of("/chat").handlers_id());
    assert_ne!(io.of("/").handlers_id(), one.handlers_id());
    a.close().await;
    b.close().await;
    server.shutdown().await;
}
