//! Node parity at the Socket.IO level (issue 16, the server's D-items): the
//! same raw-protocol scenarios run against ferrio and against Node's own
//! server (`interop/socketio/parity-server.mjs`, socket.io 4.8, with the same
//! handlers), and must give the same observations, each asserted literally
//! here. So the expectations are shown to be Node's.
//!
//! Each scenario names its D-item (SERVER_PARITY.md §2).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use ferrio::{ConnectError, MiddlewareError, Room, SocketIo};
use ferrio_test_support::node;
use serde_json::{Value, json};
use support::{Frame, Rx, TIMEOUT, TestServer, WsClient, channel};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A server under test: where it listens, and its observations in order.
enum Peer {
    Ferrio(TestServer, Rx<String>),
    Node(node::NodeProcess, SocketAddr),
}

impl Peer {
    fn addr(&self) -> SocketAddr {
        match self {
            Peer::Ferrio(server, _) => server.addr,
            Peer::Node(_, addr) => *addr,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Peer::Ferrio(..) => "ferrio",
            Peer::Node(..) => "node",
        }
    }

    /// The next observation.
    async fn log(&mut self) -> String {
        match self {
            Peer::Ferrio(_, logs) => logs.next().await,
            Peer::Node(process, _) => {
                let line = tokio::task::block_in_place(|| process.wait_for_event("log", TIMEOUT));
                let json: Value = serde_json::from_str(&line).expect("a JSON line");
                json["line"].as_str().expect("a line").to_owned()
            }
        }
    }

    /// The next `n` observations.
    async fn logs(&mut self, n: usize) -> Vec<String> {
        let mut logs = Vec::new();
        for _ in 0..n {
            logs.push(self.log().await);
        }
        logs
    }

    /// A new WebSocket session.
    async fn ws(&self) -> WsClient {
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr());
        WsClient::open(self.addr(), url.into_client_request().unwrap()).await
    }

    /// One HTTP request on a new connection: the status and body.
    async fn http(&self, method: &str, query: &str, body: &str) -> (u16, String) {
        use http_body_util::{BodyExt, Full};
        let stream = tokio::net::TcpStream::connect(self.addr()).await.unwrap();
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let request = http::Request::builder()
            .method(method)
            .uri(format!("/socket.io/?EIO=4&transport=polling{query}"))
            .header("host", self.addr().to_string())
            .header("content-type", "text/plain;charset=UTF-8")
            .body(Full::new(bytes::Bytes::from(body.to_owned())))
            .unwrap();
        let response = tokio::time::timeout(TIMEOUT, sender.send_request(request))
            .await
            .expect("an HTTP answer in time")
            .unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// A new session with a socket on `/`.
    async fn connected(&self) -> WsClient {
        let mut client = self.ws().await;
        client.connect("/").await;
        client
    }
}

/// ferrio with the handlers of parity-server.mjs.
async fn ferrio() -> Peer {
    let io = SocketIo::new();
    let (tx, logs) = channel::<String>();
    let log = move |line: String| {
        let _ = tx.send(line);
    };
    let on_conn = log.clone();
    io.on_connection(move |socket| {
        let log = on_conn.clone();
        async move {
            socket.use_middleware(|_, event| match event.name() {
                "forbidden" => Err(MiddlewareError::new("refused")),
                _ => Ok(()),
            });
            // Async middleware: "*-later" events wait a little, and
            // "forbidden-later" is then refused.
            socket.use_async_middleware(|_, event| async move {
                if event.name().ends_with("-later") {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                match event.name() {
                    "forbidden-later" => Err(MiddlewareError::new("refused later")),
                    _ => Ok(event),
                }
            });
            let l = log.clone();
            socket.on_any(move |_, event| l(format!("any:{}", event.name())));
            let l = log.clone();
            socket.on_error(move |_, _| l("error".into()));
            let l = log.clone();
            socket.on("allowed", move |_, _| {
                l("on:allowed".into());
                async {}
            });
            socket.on("kick-me", |socket, _| async move { socket.disconnect() });
            let l = log.clone();
            socket.on("allowed-later", move |_, event| {
                l(format!(
                    "on:allowed-later:{}",
                    event.arg::<u32>(0).unwrap_or(0)
                ));
                async {}
            });
            let l = log.clone();
            socket.on_disconnecting(move |socket, reason| {
                l(format!("disconnecting:{}:{reason}", socket.connected()));
                let _ = socket.emit("bye", reason.as_str());
                async {}
            });
            let l = log.clone();
            socket.on_disconnect(move |socket, reason| {
                socket.join("late");
                let rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
                l(format!("disconnect:{reason}:rooms={}", rooms.join(",")));
                let late = socket
                    .namespace()
                    .adapter()
                    .rooms()
                    .contains(&Room::from("late"));
                l(format!("late-room:{late}"));
                async {}
            });
        }
    });
    // `rooms-query` and `of-emit` need the server itself.
    let server = io.clone();
    io.on_connection(move |socket| {
        let io = server.clone();
        async move {
            let io2 = io.clone();
            socket.on("rooms-query", move |_, event| {
                let trap = io2
                    .of("/mw")
                    .adapter()
                    .rooms()
                    .contains(&Room::from("trap"));
                let _ = event.reply(&trap);
                async {}
            });
            socket.on("join", |socket, event| {
                if let Ok(room) = event.arg::<String>(0) {
                    socket.join(room);
                }
                let _ = event.reply(&());
                async {}
            });
            let io3 = io.clone();
            socket.on("all-sockets", move |_, event| {
                let io = io3.clone();
                async move {
                    let ids = match event.arg::<String>(0) {
                        Ok(room) => io.to(room).all_sockets().await,
                        Err(_) => io.all_sockets().await,
                    };
                    let mut ids: Vec<String> =
                        ids.unwrap().iter().map(|id| id.to_string()).collect();
                    ids.sort();
                    let _ = event.reply(&ids);
                }
            });
            let io4 = io.clone();
            socket.on("adapter-maps", move |_, event| {
                let nsp = io4.of("/");
                let rooms = sorted_map(nsp.adapter_rooms());
                let sids = sorted_map(nsp.adapter_sids());
                let _ = event.reply(&json!({ "rooms": rooms, "sids": sids }));
                async {}
            });
            socket.on("of-emit", move |_, event| {
                if let Ok(name) = event.arg::<String>(0) {
                    let _ = io.of(&name).emit("via-of", &name);
                }
                async {}
            });
        }
    });
    io.of("/mw").use_middleware(|socket| async move {
        socket.join("trap");
        Err(ConnectError::new("no entry"))
    });
    io.of_pattern(r"^/re-\d+$").unwrap();
    io.of_async_fn(|name, _auth| async move {
        if name == "/dyn-err" {
            return Err("db down");
        }
        Ok(name.starts_with("/dyn-"))
    });
    let l = log.clone();
    io.on_new_namespace(move |nsp| l(format!("new:{}", nsp.name())));
    Peer::Ferrio(TestServer::start(io).await, logs)
}

/// Node's server with the same handlers.
fn node_server() -> Peer {
    node::ensure_npm_deps();
    let mut process = node::spawn_node("socketio/parity-server.mjs", &[]);
    let port = process.wait_for_port(Duration::from_secs(20));
    Peer::Node(process, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Every frame until the server closes the connection.
async fn until_closed(client: &mut WsClient) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(frame) = client.next_frame().await {
        frames.push(frame);
    }
    frames
}

/// What a socket's end logs on `/`.
fn ended(reason: &str) -> Vec<String> {
    vec![
        format!("disconnecting:true:{reason}"),
        format!("disconnect:{reason}:rooms="),
        "late-room:false".to_owned(),
    ]
}

/// D1: catch-all listeners run before per-event middleware and see the
/// events it refuses.
async fn on_any_sees_refused_events(peer: &mut Peer) {
    let mut client = peer.connected().await;
    client.emit("/", None, "forbidden", &[]).await;
    assert_eq!(
        peer.logs(2).await,
        ["any:forbidden", "error"],
        "{}",
        peer.name()
    );
    client.emit("/", None, "allowed", &[]).await;
    assert_eq!(
        peer.logs(2).await,
        ["any:allowed", "on:allowed"],
        "{}",
        peer.name()
    );
    client.close().await;
    assert_eq!(
        peer.logs(3).await,
        ended("transport close"),
        "{}",
        peer.name()
    );
}

/// Async per-event middleware: a refusal that comes later is an `error`
/// event (Node's `next(err)` called from a timer); events it lets through
/// later reach their listeners, in the order they came.
async fn async_middleware_refuses_later_and_lets_through_in_order(peer: &mut Peer) {
    let mut client = peer.connected().await;
    client.emit("/", None, "forbidden-later", &[]).await;
    assert_eq!(
        peer.logs(2).await,
        ["any:forbidden-later", "error"],
        "{}",
        peer.name()
    );
    for i in 1..=3 {
        client.emit("/", None, "allowed-later", &[json!(i)]).await;
    }
    assert_eq!(
        peer.logs(6).await,
        [
            "any:allowed-later",
            "any:allowed-later",
            "any:allowed-later",
            "on:allowed-later:1",
            "on:allowed-later:2",
            "on:allowed-later:3"
        ],
        "{}",
        peer.name()
    );
    client.close().await;
    assert_eq!(
        peer.logs(3).await,
        ended("transport close"),
        "{}",
        peer.name()
    );
}

/// D2: a packet the parser refuses: an `error` event, then "forced close".
async fn a_decode_error_is_an_error_event_then_forced_close(peer: &mut Peer) {
    let mut client = peer.connected().await;
    client.send("42[]").await;
    let mut expected = vec!["error".to_owned()];
    expected.extend(ended("forced close"));
    assert_eq!(peer.logs(4).await, expected, "{}", peer.name());
    until_closed(&mut client).await;
}

/// D2: a second CONNECT is an invalid state: "forced close" over
/// WebSocket, and no `error` event.
async fn an_invalid_state_is_a_forced_close(peer: &mut Peer) {
    let mut client = peer.connected().await;
    client.send("40").await;
    assert_eq!(peer.logs(3).await, ended("forced close"), "{}", peer.name());
    until_closed(&mut client).await;
}

/// D2: over long-polling with no GET waiting, an invalid state is a
/// "forced server close" (Node's `Client.close()`: the transport's close
/// waits for the next GET, and the sockets are closed meanwhile).
async fn an_invalid_state_over_idle_polling_is_a_forced_server_close(peer: &mut Peer) {
    let (status, open) = peer.http("GET", "", "").await;
    assert_eq!(status, 200, "{}", peer.name());
    let open: Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    let sid = format!("&sid={}", open["sid"].as_str().unwrap());
    assert_eq!(
        peer.http("POST", &sid, "40").await.1,
        "ok",
        "{}",
        peer.name()
    );
    let (_, reply) = peer.http("GET", &sid, "").await;
    assert!(reply.starts_with("40{"), "{}: {reply}", peer.name());
    assert_eq!(
        peer.http("POST", &sid, "40").await.1,
        "ok",
        "{}",
        peer.name()
    );
    assert_eq!(
        peer.logs(3).await,
        ended("forced server close"),
        "{}",
        peer.name()
    );
}

/// D2: an ACK without an id is ignored; the connection goes on.
async fn an_ack_without_an_id_is_ignored(peer: &mut Peer) {
    let mut client = peer.connected().await;
    client.send("43[]").await;
    client.emit("/", None, "allowed", &[]).await;
    assert_eq!(
        peer.logs(2).await,
        ["any:allowed", "on:allowed"],
        "{}",
        peer.name()
    );
    client.close().await;
    assert_eq!(
        peer.logs(3).await,
        ended("transport close"),
        "{}",
        peer.name()
    );
}

/// D5: `connected` is still true in `disconnecting`, and an emit there goes
/// out: after the DISCONNECT when the server kicks the socket, and to a
/// client that left the namespace itself (the connection stays).
async fn a_last_emit_in_disconnecting_goes_out(peer: &mut Peer) {
    let mut client = peer.connected().await;
    client.emit("/", None, "kick-me", &[]).await;
    assert_eq!(client.recv_text().await, "41", "{}", peer.name());
    assert_eq!(
        client.recv_text().await,
        r#"42["bye","server namespace disconnect"]"#,
        "{}",
        peer.name()
    );
    let mut expected = vec!["any:kick-me".to_owned()];
    expected.extend(ended("server namespace disconnect"));
    assert_eq!(peer.logs(4).await, expected, "{}", peer.name());

    client.connect("/").await;
    client.send("41").await;
    assert_eq!(
        client.recv_text().await,
        r#"42["bye","client namespace disconnect"]"#,
        "{}",
        peer.name()
    );
    assert_eq!(
        peer.logs(3).await,
        ended("client namespace disconnect"),
        "{}",
        peer.name()
    );
    client.close().await;
}

/// D4: rooms joined in connection middleware that refuses are left.
async fn a_refused_socket_leaves_the_rooms_its_middleware_joined(peer: &mut Peer) {
    let mut client = peer.ws().await;
    client.send("40/mw,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/mw,{"message":"no entry"}"#,
        "{}",
        peer.name()
    );
    client.connect("/").await;
    client.emit("/", Some(7), "rooms-query", &[]).await;
    let ack = client.recv_packet().await;
    assert_eq!(
        (ack.kind, ack.id, ack.data),
        (3, Some(7), Some(json!([false]))),
        "{}",
        peer.name()
    );
    assert_eq!(peer.logs(1).await, ["any:rooms-query"], "{}", peer.name());
    client.close().await;
    assert_eq!(
        peer.logs(3).await,
        ended("transport close"),
        "{}",
        peer.name()
    );
}

/// Async dynamic-namespace functions: an error refuses the name ("Invalid
/// namespace", as Node, whose `_checkNamespace` then asks the next parent);
/// an accepted name makes a child, and `new_namespace` is told.
async fn a_dynamic_function_error_is_invalid_namespace(peer: &mut Peer) {
    let mut client = peer.ws().await;
    client.send("40/dyn-err,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/dyn-err,{"message":"Invalid namespace"}"#,
        "{}",
        peer.name()
    );
    client.connect("/dyn-ok").await;
    assert_eq!(peer.logs(1).await, ["new:/dyn-ok"], "{}", peer.name());
    client.close().await;
}

/// D9: `io.of(name)` for an existing dynamic child is that child.
async fn of_returns_the_dynamic_child(peer: &mut Peer) {
    let mut client = peer.connected().await;
    client.connect("/re-1").await;
    assert_eq!(peer.logs(1).await, ["new:/re-1"], "{}", peer.name());
    client.emit("/", None, "of-emit", &[json!("/re-1")]).await;
    assert_eq!(
        client.recv_text().await,
        r#"42/re-1,["via-of","/re-1"]"#,
        "{}",
        peer.name()
    );
    assert_eq!(peer.logs(1).await, ["any:of-emit"], "{}", peer.name());
    client.close().await;
    assert_eq!(
        peer.logs(3).await,
        ended("transport close"),
        "{}",
        peer.name()
    );
}

/// The answer to an event with an ack, as JSON (the ack's first argument),
/// with the socket ids named by labels.
async fn ask(
    client: &mut WsClient,
    id: u64,
    event: &str,
    args: &[Value],
    ids: &[(&str, &str)],
) -> Value {
    client.emit("/", Some(id), event, args).await;
    let ack = loop {
        let packet = client.recv_packet().await;
        if packet.kind == 3 && packet.id == Some(id) {
            break packet;
        }
    };
    let mut text = ack.data.expect("ack data")[0].to_string();
    for (id, label) in ids {
        text = text.replace(id, label);
    }
    serde_json::from_str(&text).unwrap()
}

/// `allSockets()` (all, and of a room) and `adapter.rooms` / `adapter.sids`:
/// each socket is in its own room, named by its id, as in the rooms it
/// joined.
async fn all_sockets_and_the_adapter_maps(peer: &mut Peer) {
    let mut a = peer.ws().await;
    let id_a = a.connect("/").await;
    let mut b = peer.ws().await;
    let id_b = b.connect("/").await;
    let ids = [(id_a.as_str(), "A"), (id_b.as_str(), "B")];
    ask(&mut a, 1, "join", &[json!("r1")], &ids).await;
    ask(&mut b, 2, "join", &[json!("r1")], &ids).await;
    ask(&mut b, 3, "join", &[json!("r2")], &ids).await;
    let name = peer.name();
    let all = |value: Value| {
        let mut labels: Vec<String> = serde_json::from_value(value).unwrap();
        labels.sort();
        labels
    };
    assert_eq!(
        all(ask(&mut a, 4, "all-sockets", &[], &ids).await),
        ["A", "B"],
        "{name}"
    );
    assert_eq!(
        all(ask(&mut a, 5, "all-sockets", &[json!("r1")], &ids).await),
        ["A", "B"],
        "{name}"
    );
    assert_eq!(
        all(ask(&mut a, 6, "all-sockets", &[json!("r2")], &ids).await),
        ["B"],
        "{name}"
    );
    assert_eq!(
        all(ask(&mut a, 7, "all-sockets", &[json!(id_a)], &ids).await),
        ["A"],
        "{name}"
    );
    assert!(
        all(ask(&mut a, 8, "all-sockets", &[json!("none")], &ids).await).is_empty(),
        "{name}"
    );
    let maps = ask(&mut a, 9, "adapter-maps", &[], &ids).await;
    let sorted =
        |v: &Value| -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
            serde_json::from_value(v.clone()).unwrap()
        };
    assert_eq!(
        json!({"rooms": sorted(&maps["rooms"]), "sids": sorted(&maps["sids"])}),
        json!({
            "rooms": {"A": ["A"], "B": ["B"], "r1": ["A", "B"], "r2": ["B"]},
            "sids": {"A": ["A", "r1"], "B": ["B", "r1", "r2"]},
        }),
        "{name}"
    );
    a.close().await;
    b.close().await;
}

/// Each scenario twice: against ferrio, and against Node (a fresh server
/// each time).
macro_rules! parity {
    ($($scenario:ident),* $(,)?) => {
        mod against_ferrio {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let mut peer = super::ferrio().await;
                    super::$scenario(&mut peer).await;
                }
            )*
        }
        mod against_node {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let mut peer = super::node_server();
                    super::$scenario(&mut peer).await;
                }
            )*
        }
    };
}

parity!(
    on_any_sees_refused_events,
    a_decode_error_is_an_error_event_then_forced_close,
    an_invalid_state_is_a_forced_close,
    an_invalid_state_over_idle_polling_is_a_forced_server_close,
    an_ack_without_an_id_is_ignored,
    a_last_emit_in_disconnecting_goes_out,
    a_refused_socket_leaves_the_rooms_its_middleware_joined,
    a_dynamic_function_error_is_invalid_namespace,
    of_returns_the_dynamic_child,
    all_sockets_and_the_adapter_maps,
    async_middleware_refuses_later_and_lets_through_in_order,
);

/// A map of sets as sorted strings, to compare with what Node's maps show.
fn sorted_map<K: std::fmt::Display, V: std::fmt::Display>(
    map: std::collections::HashMap<K, std::collections::HashSet<V>>,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    map.into_iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(ToString::to_string).collect()))
        .collect()
}
