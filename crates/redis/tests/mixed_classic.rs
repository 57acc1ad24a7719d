//! Mixed clusters on the classic adapter: a Node node N (socket.io 4.8 +
//! @socket.io/redis-adapter 8.3, `interop/socketio/cluster-server.mjs`) and a
//! ferrio node F on one Redis, with official `socket.io-client` sockets and
//! `ferrio-client` sockets on both. Each operation in both directions, the
//! memo's §7.2 scenarios 1–14 for the classic adapter.

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferrio_proto::socketio::Payload;
use ferrio_redis::RedisAdapterConfig;
use serde_json::{Value, json};
use support::ferrio::{FerrioNode, RustClients};
use support::node::{NodeNode, OfficialClients};
use support::redis::RedisServer;

/// A cluster of N and F with one official client and one ferrio client on
/// each: `on` (official on N), `of` (official on F), `rn` (Rust on N), `rf`
/// (Rust on F). Every client answers `question` with its own name.
struct Cluster {
    redis: RedisServer,
    n: NodeNode,
    f: FerrioNode,
    js: OfficialClients,
    rs: RustClients,
    ids: std::collections::HashMap<&'static str, String>,
}

impl Cluster {
    async fn start() -> Self {
        Self::start_with(&[], RedisAdapterConfig::default()).await
    }

    async fn start_with(node_env: &[(&str, &str)], config: RedisAdapterConfig) -> Self {
        let redis = RedisServer::start();
        let n = NodeNode::start(&redis.url(), node_env).await;
        let f = FerrioNode::start_with(&redis.url(), config).await;
        let mut js = OfficialClients::start().await;
        let mut rs = RustClients::default();
        let mut ids = std::collections::HashMap::new();
        ids.insert(
            "on",
            js.connect("on", &n.url(), "/", Some(json!("on"))).await,
        );
        ids.insert(
            "of",
            js.connect("of", &f.url(), "/", Some(json!("of"))).await,
        );
        ids.insert(
            "rn",
            rs.connect("rn", &n.url(), "/", Some(json!("rn"))).await,
        );
        ids.insert(
            "rf",
            rs.connect("rf", &f.url(), "/", Some(json!("rf"))).await,
        );
        Self {
            redis,
            n,
            f,
            js,
            rs,
            ids,
        }
    }

    fn id(&self, name: &str) -> String {
        self.ids[name].clone()
    }

    /// The event as all four clients receive it.
    async fn all_receive(&mut self, event: &str) -> [Value; 4] {
        [
            self.js.recv("on", event).await,
            self.js.recv("of", event).await,
            self.rs.recv("rn", event).await,
            self.rs.recv("rf", event).await,
        ]
    }

    async fn stop(self) {
        self.rs.close();
        self.js.stop().await;
        self.n.stop().await;
        self.f.stop().await;
        drop(self.redis);
    }
}

const SHORT: Duration = Duration::from_millis(500);

/// Scenario 1: N broadcasts binary, a Date, `undefined`, nested values; the
/// clients on F get them as Node's own clients do (the Date as its ISO text,
/// the undefined key left out, the buffer as binary).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_broadcasts_binary_dates_and_nested_values_to_ferrios_clients() {
    let mut c = Cluster::start().await;
    c.n.call(json!({"cmd": "emit", "event": "e", "args": [
        "s", 1, 2.5, {"$bin": "010203"},
        {"d": {"$date": 0}, "u": {"$undefined": true}, "n": null, "deep": [[{"x": [1, {"$bin": "ff"}]}]]}
    ]}))
    .await
    .unwrap();
    let expected = json!([
        "s", 1, 2.5, {"$bin": "010203"},
        {"d": "1970-01-01T00:00:00.000Z", "n": null, "deep": [[{"x": [1, {"$bin": "ff"}]}]]}
    ]);
    for got in c.all_receive("e").await {
        assert_eq!(got, expected);
    }
    c.stop().await;
}

/// Scenario 2: F broadcasts binary and nested values; Node's clients get a
/// Buffer, as from a Node server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrio_broadcasts_binary_and_nested_values_to_nodes_clients() {
    let mut c = Cluster::start().await;
    let args = vec![
        Payload::Json(json!("s")),
        Payload::Json(json!(1)),
        Payload::Json(json!(2.5)),
        Payload::Binary(Bytes::from_static(&[1, 2, 3])),
        Payload::Object(vec![
            ("n".into(), Payload::Json(Value::Null)),
            ("b".into(), Payload::Binary(Bytes::from_static(&[0xff]))),
            ("deep".into(), Payload::Json(json!([[{"x": [1, "2"]}]]))),
        ]),
    ];
    c.f.io.sockets().broadcast().emit_args("e", args).unwrap();
    let expected = json!(["s", 1, 2.5, {"$bin": "010203"}, {"n": null, "b": {"$bin": "ff"}, "deep": [[{"x": [1, "2"]}]]}]);
    for got in c.all_receive("e").await {
        assert_eq!(got, expected);
    }
    c.stop().await;
}

/// Scenario 3: rooms and except, both ways; one room goes to its own channel,
/// several to the namespace's; `to(socket id)` reaches that one socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_and_except_work_both_ways() {
    let mut c = Cluster::start().await;
    // on and rf in r1; of in r2 and r1; rn in nothing.
    c.js.emit("on", "join", json!(["r1"])).await;
    c.rs.emit("rf", "join", json!(["r1"]));
    c.js.emit("of", "join", json!(["r1"])).await;
    c.js.emit("of", "join", json!(["r2"])).await;
    // Make sure the joins are in: an ack round trip on each socket.
    c.js.emit_with_ack("on", "echo", json!([0])).await.unwrap();
    c.js.emit_with_ack("of", "echo", json!([0])).await.unwrap();
    c.rs.emit_with_ack("rf", "echo", json!([0])).await;

    // From N: to r1 except r2 reaches on and rf, not of or rn.
    c.n.call(json!({"cmd": "emit", "event": "x", "args": [1], "rooms": ["r1"], "except": ["r2"]}))
        .await
        .unwrap();
    assert_eq!(c.js.recv("on", "x").await, json!([1]));
    assert_eq!(c.rs.recv("rf", "x").await, json!([1]));
    assert_eq!(c.js.recv_within("of", "x", SHORT).await, None);
    assert_eq!(c.rs.recv_within("rn", "x", SHORT).await, None);

    // From F, the same.
    c.f.io
        .sockets()
        .to("r1")
        .except("r2")
        .emit("y", &(2,))
        .unwrap();
    assert_eq!(c.js.recv("on", "y").await, json!([2]));
    assert_eq!(c.rs.recv("rf", "y").await, json!([2]));
    assert_eq!(c.js.recv_within("of", "y", SHORT).await, None);
    assert_eq!(c.rs.recv_within("rn", "y", SHORT).await, None);

    // Several rooms from F: every member once.
    c.f.io
        .sockets()
        .to(vec!["r1".to_owned(), "r2".to_owned()])
        .emit("z", &(3,))
        .unwrap();
    assert_eq!(c.js.recv("on", "z").await, json!([3]));
    assert_eq!(c.js.recv("of", "z").await, json!([3]));
    assert_eq!(c.rs.recv("rf", "z").await, json!([3]));
    assert_eq!(c.rs.recv_within("rn", "z", SHORT).await, None);

    // To a socket id, each way.
    let on = c.id("on");
    c.f.io
        .sockets()
        .to(on.as_str())
        .emit("direct", &("to-on",))
        .unwrap();
    assert_eq!(c.js.recv("on", "direct").await, json!(["to-on"]));
    let rf = c.id("rf");
    c.n.call(json!({"cmd": "emit", "event": "direct", "args": ["to-rf"], "rooms": [rf]}))
        .await
        .unwrap();
    assert_eq!(c.rs.recv("rf", "direct").await, json!(["to-rf"]));
    assert_eq!(c.js.recv_within("of", "direct", SHORT).await, None);

    // `room` of the conformance rules, from a client on each node.
    c.js.emit("of", "room", json!(["r1", "via-f"])).await;
    assert_eq!(c.js.recv("on", "room").await, json!(["via-f"]));
    assert_eq!(c.js.recv("of", "room").await, json!(["via-f"]));
    c.js.emit("on", "room", json!(["r2", "via-n"])).await;
    assert_eq!(c.js.recv("of", "room").await, json!(["via-n"]));
    c.stop().await;
}

/// Scenario 3 (broadcast from a socket): the conformance `broadcast` event
/// reaches every socket of both nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_broadcast_reaches_every_socket_of_both_nodes() {
    let mut c = Cluster::start().await;
    c.rs.emit("rf", "broadcast", json!([{"from": "rf"}]));
    for got in c.all_receive("broadcast").await {
        assert_eq!(got, json!([{"from": "rf"}]));
    }
    c.js.emit("on", "broadcast", json!([{"from": "on"}])).await;
    for got in c.all_receive("broadcast").await {
        assert_eq!(got, json!([{"from": "on"}]));
    }
    c.stop().await;
}

/// Scenario 4: traffic of `/admin` does not reach `/`; a dynamic child
/// namespace on F receives N's broadcasts to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_stay_apart() {
    let mut c = Cluster::start().await;
    c.js.connect("admin-f", &c.f.url(), "/admin", None).await;
    c.n.call(json!({"cmd": "emit", "nsp": "/admin", "event": "adm", "args": [1]}))
        .await
        .unwrap();
    assert_eq!(c.js.recv("admin-f", "adm").await, json!([1]));
    assert_eq!(c.js.recv_within("of", "adm", SHORT).await, None);
    // A dynamic child namespace on F (created by its first client) gets N's
    // broadcasts to that name once it has subscribed.
    c.js.connect("dyn-f", &c.f.url(), "/dyn-1", None).await;
    let mut count = json!(null);
    for _ in 0..100 {
        count =
            c.n.call(json!({"cmd": "server-count", "nsp": "/dyn-1"}))
                .await
                .unwrap();
        if count == json!(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count, json!(2));
    c.n.call(json!({"cmd": "emit", "nsp": "/dyn-1", "event": "dyn", "args": ["to-child"]}))
        .await
        .unwrap();
    assert_eq!(c.js.recv("dyn-f", "dyn").await, json!(["to-child"]));
    c.f.io.of("/admin").emit("adm2", &(2,)).unwrap();
    c.n.call(json!({"cmd": "emit", "event": "root", "args": [3]}))
        .await
        .unwrap();
    assert_eq!(c.js.recv("of", "root").await, json!([3]));
    assert_eq!(c.js.recv_within("on", "adm2", SHORT).await, None);
    c.stop().await;
}

/// Scenario 5: `local` broadcasts stay on their node, both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_broadcasts_stay_on_their_node() {
    let mut c = Cluster::start().await;
    c.js.emit("of", "local-broadcast", json!(["f-only"])).await;
    assert_eq!(c.js.recv("of", "broadcast").await, json!(["f-only"]));
    assert_eq!(c.rs.recv("rf", "broadcast").await, json!(["f-only"]));
    c.js.emit("on", "local-broadcast", json!(["n-only"])).await;
    assert_eq!(c.js.recv("on", "broadcast").await, json!(["n-only"]));
    assert_eq!(c.rs.recv("rn", "broadcast").await, json!(["n-only"]));
    assert_eq!(c.js.recv_within("on", "broadcast", SHORT).await, None);
    assert_eq!(c.js.recv_within("of", "broadcast", SHORT).await, None);
    c.stop().await;
}

/// Scenarios 6 and 10: fetchSockets, server count and allRooms, both ways;
/// RemoteSockets of the other node emit and join through the cluster.
/// Node sees F's sockets in Node's shape: `data` `{}`, the handshake's auth,
/// query, headers, url and issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_server_count_and_all_rooms_both_ways() {
    let mut c = Cluster::start().await;
    let mut all: Vec<String> = ["on", "of", "rn", "rf"].iter().map(|n| c.id(n)).collect();
    all.sort();
    assert_eq!(
        c.js.emit_with_ack("on", "fetch-sockets", json!([null]))
            .await,
        Ok(json!([all]))
    );
    assert_eq!(
        c.js.emit_with_ack("of", "fetch-sockets", json!([null]))
            .await,
        Ok(json!([all]))
    );
    assert_eq!(
        c.js.emit_with_ack("on", "server-count", json!([])).await,
        Ok(json!([2]))
    );
    assert_eq!(
        c.js.emit_with_ack("of", "server-count", json!([])).await,
        Ok(json!([2]))
    );

    c.js.emit("of", "join", json!(["room-f"])).await;
    c.js.emit_with_ack("of", "echo", json!([0])).await.unwrap();
    let mut in_room = vec![c.id("of")];
    in_room.sort();
    assert_eq!(
        c.js.emit_with_ack("on", "fetch-sockets", json!(["room-f"]))
            .await,
        Ok(json!([in_room]))
    );

    // Node's view of F's socket.
    let details =
        c.n.call(json!({"cmd": "fetch-sockets", "rooms": [c.id("of")]}))
            .await
            .unwrap();
    let of = &details[0];
    assert_eq!(of["id"], json!(c.id("of")));
    assert_eq!(of["rooms"], json!([c.id("of"), "room-f"]));
    assert_eq!(of["data"], json!({}));
    assert_eq!(of["handshake"]["auth"], json!({}));
    assert_eq!(of["handshake"]["query"]["EIO"], json!("4"));
    assert_eq!(of["handshake"]["query"]["transport"], json!("websocket"));
    assert!(
        of["handshake"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("/socket.io/?")),
        "{of}"
    );
    assert!(of["handshake"]["issued"].as_u64().is_some(), "{of}");
    assert_eq!(of["handshake"]["secure"], json!(false));
    assert!(of["handshake"]["headers"]["host"].is_string(), "{of}");

    // F's `all_sockets` (Node's `allSockets()`) reaches N's sockets too,
    // through the adapter's `fetch_sockets`.
    let mut ids: Vec<String> =
        c.f.io
            .all_sockets()
            .await
            .unwrap()
            .iter()
            .map(|id| id.to_string())
            .collect();
    ids.sort();
    assert_eq!(ids, all);
    let ids: Vec<String> =
        c.f.io
            .to("room-f")
            .all_sockets()
            .await
            .unwrap()
            .iter()
            .map(|id| id.to_string())
            .collect();
    assert_eq!(ids, [c.id("of")]);
    // Node's own `allSockets()` sees its node only: `@socket.io/redis-adapter`
    // 8 no longer overrides `adapter.sockets` (README, "Differences from Node").
    let mut on_node = vec![c.id("on"), c.id("rn")];
    on_node.sort();
    assert_eq!(
        c.n.call(json!({"cmd": "all-sockets"})).await.unwrap(),
        json!(on_node)
    );

    // F's view of N's sockets.
    let remote = c.f.io.sockets().broadcast().fetch_sockets().await.unwrap();
    let on = remote
        .iter()
        .find(|s| s.id.to_string() == c.id("on"))
        .expect("N's socket");
    assert_eq!(
        on.rooms.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        vec![c.id("on")]
    );
    assert_eq!(on.handshake.auth(), json!({}));
    // ... and acts on it through the cluster: emit, join, disconnect.
    on.emit("remote-hi", &(1,)).unwrap();
    assert_eq!(c.js.recv("on", "remote-hi").await, json!([1]));
    on.join("via-remote").await.unwrap();
    let mut members = json!(null);
    for _ in 0..50 {
        members =
            c.js.emit_with_ack("on", "fetch-sockets", json!(["via-remote"]))
                .await
                .unwrap();
        if members == json!([[c.id("on")]]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(members, json!([[c.id("on")]]));
    // Node's RemoteSocket.emit reaches F's socket.
    c.n.call(json!({"cmd": "remote-emit", "sid": c.id("rf"), "event": "from-remote", "args": [2]}))
        .await
        .unwrap();
    assert_eq!(c.rs.recv("rf", "from-remote").await, json!([2]));

    // allRooms from Node includes F's rooms.
    let rooms = c.n.call(json!({"cmd": "all-rooms"})).await.unwrap();
    assert!(
        rooms.as_array().unwrap().contains(&json!("room-f")),
        "{rooms}"
    );
    let rooms = c.f.io.sockets().adapter().all_rooms().await.unwrap();
    assert!(
        rooms.iter().any(|r| &**r == c.id("on").as_str()),
        "{rooms:?}"
    );

    // After F closes, Node counts one server.
    let Cluster {
        redis,
        mut n,
        f,
        js,
        rs,
        ..
    } = c;
    rs.close();
    f.stop().await;
    // F's UNSUBSCRIBE was written when its close resolved; under load Redis may
    // answer Node's PUBSUB NUMSUB a moment before it has run it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut count = n.call(json!({"cmd": "server-count"})).await;
    while count != Ok(json!(1)) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        count = n.call(json!({"cmd": "server-count"})).await;
    }
    assert_eq!(count, Ok(json!(1)));
    js.stop().await;
    n.stop().await;
    drop(redis);
}

/// Scenarios 6 and 7: join, leave and disconnect sockets across nodes, both
/// ways; a later broadcast to the joined room reaches the joined sockets on
/// both nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_leave_and_disconnect_both_ways() {
    let mut c = Cluster::start().await;
    let (on, of, rf) = (c.id("on"), c.id("of"), c.id("rf"));
    // From F: N's socket `on` and F's `rf` join "j".
    c.js.emit_with_ack("of", "sockets-join", json!([on, "j"]))
        .await
        .unwrap();
    c.js.emit_with_ack("of", "sockets-join", json!([rf, "j"]))
        .await
        .unwrap();
    // N applies F's request when it arrives: wait until it has.
    let mut in_j = vec![on.clone(), rf.clone()];
    in_j.sort();
    let mut members = Value::Null;
    for _ in 0..50 {
        members =
            c.js.emit_with_ack("on", "fetch-sockets", json!(["j"]))
                .await
                .unwrap();
        if members == json!([in_j]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(members, json!([in_j]));
    c.n.call(json!({"cmd": "emit", "event": "in-j", "args": [1], "rooms": ["j"]}))
        .await
        .unwrap();
    assert_eq!(c.js.recv("on", "in-j").await, json!([1]));
    assert_eq!(c.rs.recv("rf", "in-j").await, json!([1]));
    assert_eq!(c.js.recv_within("of", "in-j", SHORT).await, None);

    // From N: `of` joins "k"; F's broadcast to k reaches it.
    c.js.emit_with_ack("on", "sockets-join", json!([of, "k"]))
        .await
        .unwrap();
    let mut in_k = Value::Null;
    for _ in 0..50 {
        in_k =
            c.js.emit_with_ack("of", "fetch-sockets", json!(["k"]))
                .await
                .unwrap();
        if in_k == json!([[of]]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(in_k, json!([[of]]));
    c.f.io.sockets().to("k").emit("in-k", &(2,)).unwrap();
    assert_eq!(c.js.recv("of", "in-k").await, json!([2]));

    // Leave, both ways.
    c.js.emit_with_ack("of", "sockets-leave", json!(["j", "j"]))
        .await
        .unwrap();
    c.js.emit_with_ack("on", "sockets-leave", json!([of, "k"]))
        .await
        .unwrap();
    let mut after = Value::Null;
    for _ in 0..50 {
        after =
            c.js.emit_with_ack("on", "fetch-sockets", json!(["j"]))
                .await
                .unwrap();
        let k =
            c.js.emit_with_ack("on", "fetch-sockets", json!(["k"]))
                .await
                .unwrap();
        if after == json!([[]]) && k == json!([[]]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(after, json!([[]]));

    // Disconnect, both ways: F disconnects N's `on`; N disconnects F's `of`.
    c.js.emit_with_ack("of", "disconnect-room", json!([on]))
        .await
        .unwrap();
    assert_eq!(c.js.disconnected("on").await, "io server disconnect");
    c.js.emit_with_ack("of", "echo", json!([0])).await.unwrap();
    c.n.call(json!({"cmd": "disconnect-sockets", "rooms": [of], "close": false}))
        .await
        .unwrap();
    assert_eq!(c.js.disconnected("of").await, "io server disconnect");
    c.stop().await;
}

/// Scenario 8: server-side events, with and without acks, both ways; a ferrio
/// handler answers Node's `serverSideEmit` with its value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emit_both_ways() {
    let mut c = Cluster::start().await;
    // With acks, via the contract, from each side.
    let value = json!({"nested": [1, {"two": 2}], "s": "x"});
    assert_eq!(
        c.js.emit_with_ack("on", "server-side", json!([value]))
            .await,
        Ok(json!([[value]]))
    );
    assert_eq!(
        c.js.emit_with_ack("of", "server-side", json!([value]))
            .await,
        Ok(json!([[value]]))
    );

    // Without ack, F → N: N prints the event it got.
    c.f.io
        .sockets()
        .server_side_emit("evt", &(1, "two"))
        .await
        .unwrap();
    let got =
        c.n.wait_for(|v| v["event"] == "server-side" && v["name"] == "evt")
            .await;
    assert_eq!(got["args"], json!([1, "two"]));

    // Without ack, N → F: F's handler sees it.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    c.f.io.sockets().on_server_side("evt2", move |args, _ack| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(args.to_value(0));
        }
    });
    c.n.call(json!({"cmd": "server-side-emit", "event": "evt2", "args": [{"k": [true]}]}))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, Some(json!({"k": [true]})));

    // A ferrio handler that never answers: Node's ack times out with Node's message.
    c.f.io
        .sockets()
        .on_server_side("silent", |_args, _ack| async {});
    let got =
        c.n.call(json!({"cmd": "server-side-emit", "event": "silent", "args": [1], "ack": true}))
            .await
            .unwrap();
    assert_eq!(
        got["error"],
        json!("timeout reached: only 0 responses received out of 1")
    );
    c.stop().await;
}

/// Scenario 9: a broadcast with acks reaches clients on both nodes and
/// gathers every answer, from each side; a client that does not answer
/// makes it time out with the others' answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_with_acks_across_nodes_both_ways() {
    let mut c = Cluster::start().await;
    let expected = json!([{"timedOut": false, "responses": ["of", "on", "rf", "rn"]}]);
    assert_eq!(
        c.js.emit_with_ack("on", "ask-all", json!([7])).await,
        Ok(expected.clone())
    );
    assert_eq!(
        c.js.emit_with_ack("of", "ask-all", json!([7])).await,
        Ok(expected)
    );

    // A silent client on F: both sides report a timeout with the 4 others.
    c.js.connect("silent", &c.f.url(), "/", None).await;
    let partial = json!([{"timedOut": true, "responses": ["of", "on", "rf", "rn"]}]);
    assert_eq!(
        c.js.emit_with_ack("on", "ask-all", json!([8])).await,
        Ok(partial.clone())
    );
    assert_eq!(
        c.js.emit_with_ack("of", "ask-all", json!([8])).await,
        Ok(partial)
    );
    c.stop().await;
}

/// Scenario 12: Node answers on the requester's own response channel; F's
/// requests still complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_answering_on_specific_response_channels() {
    let mut c = Cluster::start_with(
        &[("REDIS_SPECIFIC_RESPONSE_CHANNEL", "1")],
        RedisAdapterConfig::default().publish_on_specific_response_channel(true),
    )
    .await;
    let mut all: Vec<String> = ["on", "of", "rn", "rf"].iter().map(|n| c.id(n)).collect();
    all.sort();
    assert_eq!(
        c.js.emit_with_ack("of", "fetch-sockets", json!([null]))
            .await,
        Ok(json!([all]))
    );
    assert_eq!(
        c.js.emit_with_ack("on", "fetch-sockets", json!([null]))
            .await,
        Ok(json!([all]))
    );
    let expected = json!([{"timedOut": false, "responses": ["of", "on", "rf", "rn"]}]);
    assert_eq!(
        c.js.emit_with_ack("of", "ask-all", json!([1])).await,
        Ok(expected)
    );
    c.stop().await;
}

/// Scenario 13: 1 000 sequential emits arrive in order, both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_emits_arrive_in_order_both_ways() {
    let mut c = Cluster::start().await;
    for i in 0..1000 {
        c.f.io.sockets().emit("seq", &(i,)).unwrap();
    }
    for i in 0..1000 {
        assert_eq!(c.js.recv("on", "seq").await, json!([i]));
        assert_eq!(c.rs.recv("rf", "seq").await, json!([i]));
    }
    // F's own clients got each once: F skips its own publishes coming back.
    assert_eq!(c.rs.recv_within("rf", "seq", SHORT).await, None);
    for i in 0..1000 {
        c.n.call(json!({"cmd": "emit", "event": "seq2", "args": [i]}))
            .await
            .unwrap();
    }
    for i in 0..1000 {
        assert_eq!(c.rs.recv("rf", "seq2").await, json!([i]));
    }
    c.stop().await;
}

/// Scenario 14: garbage on F's channels (truncated msgpack, a JSON array, a
/// nesting bomb, a 2^31-long declared array, unknown request types, a
/// broadcast with acks without data) is skipped; F keeps working. (A Node node
/// on the same channels would crash on the first one: notepack throws
/// "Could not parse" uncaught. So two ferrio nodes here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_skipped_and_the_node_keeps_working() {
    use fred::prelude::*;
    let redis = RedisServer::start();
    let f = FerrioNode::start(&redis.url()).await;
    let g = FerrioNode::start(&redis.url()).await;
    let mut rs = RustClients::default();
    rs.connect("rf", &f.url(), "/", None).await;
    let raw = Client::new(Config::from_url(&redis.url()).unwrap(), None, None, None);
    raw.init().await.unwrap();
    let bomb: Vec<u8> = [vec![0x91u8; 100_000], vec![0xc0]].concat();
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("socket.io#/#", vec![0x93, 0xa6]),
        ("socket.io#/#", b"[1,2,3]".to_vec()),
        ("socket.io#/#", bomb.clone()),
        ("socket.io#/#", vec![0xdd, 0x7f, 0xff, 0xff, 0xff]),
        ("socket.io#/#", vec![0x93, 0xa1, b'x', 0x80, 0x80]),
        ("socket.io-request#/#", b"{\"uid\":\"zzzzzz\",\"type\":42}".to_vec()),
        ("socket.io-request#/#", b"{\"uid\":\"zzzzzz\",\"type\":5".to_vec()),
        ("socket.io-request#/#", bomb),
        ("socket.io-request#/#", vec![0xc1]),
        ("socket.io-response#/#", b"{\"requestId\":{},\"sockets\":7}".to_vec()),
        (
            "socket.io-request#/#",
            b"{\"uid\":\"zzzzzz\",\"requestId\":\"r\",\"type\":7,\"packet\":{\"type\":2,\"data\":[]}}".to_vec(),
        ),
    ];
    for (channel, bytes) in garbage {
        let _: i64 = raw.publish(channel, bytes).await.unwrap();
    }
    g.io.sockets().emit("still", &("alive",)).unwrap();
    assert_eq!(rs.recv("rf", "still").await, json!(["alive"]));
    assert_eq!(f.io.sockets().server_count().await.unwrap(), 2);
    assert_eq!(
        f.io.sockets()
            .broadcast()
            .fetch_sockets()
            .await
            .unwrap()
            .len(),
        1
    );
    rs.close();
    f.stop().await;
    g.stop().await;
}
