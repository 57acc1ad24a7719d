//! The adapter API a cluster builds on, on one node with real sockets:
//! server-side events, lifecycle (init, ready, close), acks as they come, the
//! timeout in the published flags, `socket.data` as Node shows it, and the
//! fetched socket details in Node's shape.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrio::adapter::{
    Adapter, AdapterContext, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions,
    MemoryAdapter, ServerSideAck,
};
use ferrio::{
    AckResponses, EmitError, Payload, RemoteSocket, Room, SocketDetails, SocketId, SocketIo,
};
use ferrio_proto::socketio::{Packet, PacketKind};
use serde_json::{Value, json};
use support::{TIMEOUT, TestServer, channel};
use tokio::sync::Notify;

#[tokio::test]
async fn server_side_events_reach_their_handlers_and_the_first_answer_is_the_one_sent() {
    let io = SocketIo::new();
    let (seen, mut seen_rx) = channel();
    io.sockets().on_server_side("hello", move |args, ack| {
        let seen = seen.clone();
        async move {
            let value: Value = args.get(0).unwrap();
            seen.send(value.clone()).unwrap();
            if let Some(ack) = ack {
                assert!(ack.send(&value).unwrap());
            }
        }
    });
    io.sockets().on_server_side("hello", |_, ack| async move {
        // Runs too; its answer comes second and is not sent.
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        if let Some(ack) = ack {
            let _ = ack.send(&"second");
        }
    });
    let (answers, mut answers_rx) = channel::<Payload>();
    let ack = ServerSideAck::new(move |p| answers.send(p).unwrap());
    io.sockets().dispatch_server_side(
        "hello",
        vec![ferrio::to_payload(&json!({"n": 1})).unwrap()].into(),
        Some(ack.clone()),
    );
    assert_eq!(seen_rx.next().await, json!({"n": 1}));
    let answer = answers_rx.next().await;
    assert_eq!(answer.to_value(), Some(json!({"n": 1})));
    support::eventually("both handlers ran", || {
        !ack.send_payload(Payload::from(json!(0)))
    })
    .await;
    assert!(answers_rx.try_next().is_none(), "one answer only");

    // No handler: nothing runs, the ack is dropped unanswered.
    io.sockets()
        .dispatch_server_side("nobody", Default::default(), None);
    assert!(seen_rx.try_next().is_none());
}

#[tokio::test]
async fn one_node_has_no_other_server_to_ask() {
    let io = SocketIo::new();
    io.sockets().ready().await.unwrap();
    assert_eq!(io.sockets().server_count().await.unwrap(), 1);
    io.server_side_emit("hello", &(1, "a")).await.unwrap();
    let answers = io
        .timeout(Duration::from_secs(1))
        .server_side_emit_with_ack("hello", &(1,))
        .await
        .unwrap();
    assert!(answers.responses.is_empty());
    assert_eq!(answers.expected, 0);
    assert!(!answers.timed_out());
    assert!(matches!(
        io.server_side_emit("disconnect", &()).await,
        Err(EmitError::Reserved(_))
    ));
}

#[tokio::test]
async fn a_dynamic_parent_refuses_server_side_emit_as_node_does() {
    let io = SocketIo::new();
    let parent = io.of_pattern("^/dyn-[a-z]+$").unwrap();
    let refused = parent.server_side_emit("hello", &1).await.unwrap_err();
    assert!(
        matches!(
            refused,
            EmitError::Adapter(AdapterError::Unsupported(message))
                if message == "serverSideEmit() is not supported on parent namespaces"
        ),
        "{refused:?}"
    );
    assert!(parent.server_side_emit_with_ack("hello", &1).await.is_err());
    assert_eq!(parent.server_count().await.unwrap(), 1);
    assert!(parent.adapter().all_rooms().await.unwrap().is_empty());
}

#[tokio::test]
async fn socket_data_is_an_empty_object_until_set_as_in_node() {
    let server = TestServer::start(SocketIo::new()).await;
    let (_client, sid) = server.connected("/").await;
    let fetched = server.io.broadcast().fetch_sockets().await.unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].data, json!({}));
    let socket = server
        .io
        .sockets()
        .get_socket(SocketId::parse(&sid).unwrap())
        .unwrap();
    assert_eq!(socket.data::<Value>(), Some(json!({})));
    assert_eq!(socket.data_value(), json!({}));
    socket.set_data(&json!({"user": "u1"})).unwrap();
    assert_eq!(socket.data_value(), json!({"user": "u1"}));
}

#[tokio::test]
async fn fetched_sockets_describe_themselves_in_node_shape() {
    let server = TestServer::start(SocketIo::new()).await;
    let mut client = server
        .ws_with("nick=a&nick=b%20c", &[("origin", "http://example.com")])
        .await;
    let sid = client.connect_with("/", Some(json!({"token": "t"}))).await;
    server.io.sockets().local_sockets()[0].join("r1");

    let fetched = server.io.broadcast().fetch_sockets().await.unwrap();
    let details = fetched[0].details();
    let json = details.to_node_json();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "handshake", "rooms", "data"]);
    assert_eq!(json["id"], sid);
    assert_eq!(json["rooms"], json!([sid, "r1"]));
    assert_eq!(json["data"], json!({}));
    let handshake = &json["handshake"];
    let keys: Vec<&String> = handshake.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth"
        ]
    );
    assert_eq!(handshake["headers"]["origin"], "http://example.com");
    assert!(
        handshake["time"]
            .as_str()
            .unwrap()
            .ends_with(" GMT+0000 (Coordinated Universal Time)"),
        "{}",
        handshake["time"]
    );
    assert_eq!(handshake["address"], "127.0.0.1");
    assert_eq!(handshake["xdomain"], true);
    assert_eq!(handshake["secure"], false);
    assert!(handshake["issued"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(
        handshake["url"]
            .as_str()
            .unwrap()
            .starts_with("/socket.io/?EIO=4&")
    );
    assert_eq!(handshake["query"]["nick"], json!(["a", "b c"]));
    assert_eq!(handshake["query"]["EIO"], "4");
    assert_eq!(handshake["auth"], json!({"token": "t"}));

    // What another server makes of it reads the same and is sent on unchanged.
    let back = SocketDetails::from_node_json(json.clone()).unwrap();
    assert_eq!(back.id.as_str(), sid);
    assert!(back.handshake.is_remote());
    assert_eq!(back.handshake.auth(), json!({"token": "t"}));
    assert_eq!(back.handshake.query_param("EIO").as_deref(), Some("4"));
    assert_eq!(back.to_node_json(), json);
    let remote = RemoteSocket::from_details(server.io.sockets(), back);
    assert_eq!(remote.rooms, [Room::from(sid.as_str()), Room::from("r1")]);
}

/// A memory adapter that records what the server asks of it, and whose
/// `init` waits for a go.
struct Recording {
    memory: MemoryAdapter,
    log: Arc<Log>,
}

#[derive(Default)]
struct Log {
    ack_flags: Mutex<Vec<Option<Duration>>>,
    closed: Mutex<Vec<Arc<str>>>,
    adapters: Mutex<Vec<Arc<Recording>>>,
    go: Notify,
    init_fails: Mutex<bool>,
}

#[derive(Clone, Default)]
struct RecordingFactory(Arc<Log>);

impl AdapterFactory for RecordingFactory {
    fn create(&self, ctx: AdapterContext) -> Arc<dyn Adapter> {
        let adapter = Arc::new(Recording {
            memory: MemoryAdapter::new(&ctx),
            log: self.0.clone(),
        });
        self.0.adapters.lock().unwrap().push(adapter.clone());
        Arc::new(Named(adapter, ctx.name))
    }
}

/// The recording adapter with its namespace's name (what `close` logs).
struct Named(Arc<Recording>, Arc<str>);

impl Adapter for Named {
    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async {
            if &*self.1 == "/gated" {
                self.0.log.go.notified().await;
            }
            if *self.0.log.init_fails.lock().unwrap() {
                return Err(AdapterError::Other("broker down".into()));
            }
            Ok(())
        })
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        self.0.log.closed.lock().unwrap().push(self.1.clone());
        Box::pin(async {})
    }
    fn add_all(&self, id: SocketId, rooms: &[Room]) {
        self.0.memory.add_all(id, rooms)
    }
    fn del(&self, id: SocketId, room: &Room) {
        self.0.memory.del(id, room)
    }
    fn del_all(&self, id: SocketId) {
        self.0.memory.del_all(id)
    }
    fn socket_rooms(&self, id: SocketId) -> Vec<Room> {
        self.0.memory.socket_rooms(id)
    }
    fn rooms(&self) -> Vec<Room> {
        self.0.memory.rooms()
    }
    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.memory.broadcast(packet, opts)
    }
    fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        self.0
            .log
            .ack_flags
            .lock()
            .unwrap()
            .push(opts.flags.timeout);
        self.0.memory.broadcast_with_ack(packet, opts, timeout)
    }
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        self.0.memory.fetch_sockets(opts)
    }
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.memory.add_sockets(opts, rooms)
    }
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.memory.del_sockets(opts, rooms)
    }
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.memory.disconnect_sockets(opts, close)
    }
}

fn recording_server() -> (SocketIo, Arc<Log>) {
    let factory = RecordingFactory::default();
    let log = factory.0.clone();
    (SocketIo::with_adapter(Default::default(), factory), log)
}

#[tokio::test]
async fn a_broadcast_with_acks_carries_its_timeout_in_the_flags() {
    let (io, log) = recording_server();
    io.timeout(Duration::from_millis(1500))
        .emit_with_ack("q", &1)
        .await
        .unwrap();
    io.broadcast().emit_with_ack("q", &1).await.unwrap();
    assert_eq!(
        *log.ack_flags.lock().unwrap(),
        [
            Some(Duration::from_millis(1500)),
            Some(io.config().ack_timeout)
        ]
    );
}

#[tokio::test]
async fn ready_waits_for_the_adapter_init_and_close_closes_every_adapter() {
    let (io, log) = recording_server();
    io.sockets().ready().await.unwrap();
    let gated = io.of("/gated");
    let ready = tokio::spawn({
        let gated = gated.clone();
        async move { gated.ready().await }
    });
    tokio::task::yield_now().await;
    assert!(!ready.is_finished(), "init has not finished");
    log.go.notify_one();
    tokio::time::timeout(TIMEOUT, ready)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    gated.ready().await.unwrap();

    *log.init_fails.lock().unwrap() = true;
    let failing = io.of("/failing");
    assert!(matches!(
        failing.ready().await,
        Err(AdapterError::Other(message)) if message == "broker down"
    ));

    io.close().await;
    let mut closed: Vec<String> = log
        .closed
        .lock()
        .unwrap()
        .iter()
        .map(|n| n.to_string())
        .collect();
    closed.sort();
    assert_eq!(closed, ["/", "/failing", "/gated"]);
}

#[tokio::test]
async fn local_acks_come_one_by_one_and_stop_at_the_deadline() {
    let factory = RecordingFactory::default();
    let log = factory.0.clone();
    let server = TestServer::start(SocketIo::with_adapter(Default::default(), factory)).await;
    let (mut a, _) = server.connected("/").await;
    let (mut b, _) = server.connected("/").await;
    let memory = log.adapters.lock().unwrap()[0].clone();

    // A packet from another node has no ack id: the namespace gives it one.
    let data = Payload::from(json!(["question", 7]));
    let packet = Packet::new(PacketKind::Event, "/", Some(data));
    let mut acks = memory
        .memory
        .broadcast_local_acks(
            packet,
            &BroadcastOptions::default(),
            Duration::from_millis(500),
        )
        .unwrap();
    assert_eq!(acks.expected(), 2);
    let (asked_a, name, args) = a.recv_event().await;
    assert_eq!((name.as_str(), args), ("question", vec![json!(7)]));
    let id = asked_a.id.expect("an ack id was given");
    let (asked_b, _, _) = b.recv_event().await;
    assert_eq!(asked_b.id, Some(id), "one id for the whole broadcast");

    a.ack("/", id, &[json!("yes"), json!(2)]).await;
    let answer = tokio::time::timeout(TIMEOUT, acks.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.len(), 2);
    assert_eq!(answer.get::<String>(0).unwrap(), "yes");
    // b never answers: the wait ends at the deadline, and stays ended.
    assert!(
        tokio::time::timeout(TIMEOUT, acks.next())
            .await
            .unwrap()
            .is_none()
    );
    assert!(acks.next().await.is_none());
}

/// The ids of `all_sockets`, sorted.
fn ids(set: std::collections::HashSet<SocketId>) -> Vec<String> {
    let mut ids: Vec<String> = set.iter().map(|id| id.to_string()).collect();
    ids.sort();
    ids
}

/// `all_sockets` (Node's `allSockets()`) and the adapter maps (Node's
/// `adapter.rooms` / `adapter.sids`) with the in-memory adapter: the main
/// namespace, a room, `except` (which Node's ignores), another namespace,
/// and a socket still in connection middleware, which is in the maps (as in
/// Node's adapter) but not yet in `all_sockets`.
#[tokio::test(flavor = "multi_thread")]
async fn all_sockets_and_the_adapter_maps() {
    let io = SocketIo::new();
    let gate = Arc::new(Notify::new());
    let held = gate.clone();
    io.of("/held").use_middleware(move |socket| {
        let held = held.clone();
        async move {
            socket.join("waiting");
            held.notified().await;
            Ok(())
        }
    });
    io.of("/other");
    let server = TestServer::start(io).await;
    let io = &server.io;
    let (_a, id_a) = server.connected("/").await;
    let (_b, id_b) = server.connected("/").await;
    let (_c, id_c) = server.connected("/other").await;
    let nsp = io.of("/");
    let socket_a = nsp.get_socket(SocketId::parse(&id_a).unwrap()).unwrap();
    let socket_b = nsp.get_socket(SocketId::parse(&id_b).unwrap()).unwrap();
    socket_a.join(["r1", "r2"]);
    socket_b.join("r1");

    let mut both = vec![id_a.clone(), id_b.clone()];
    both.sort();
    assert_eq!(ids(io.all_sockets().await.unwrap()), both);
    assert_eq!(ids(nsp.all_sockets().await.unwrap()), both);
    assert_eq!(ids(io.to("r1").all_sockets().await.unwrap()), both);
    assert_eq!(
        ids(io.to("r2").all_sockets().await.unwrap()),
        [id_a.as_str()]
    );
    assert_eq!(
        ids(io.to("r1").except("r2").all_sockets().await.unwrap()),
        [id_b.as_str()]
    );
    assert_eq!(
        ids(io.to(id_b.as_str()).all_sockets().await.unwrap()),
        [id_b.as_str()]
    );
    assert!(io.to("none").all_sockets().await.unwrap().is_empty());
    assert_eq!(
        ids(io.of("/other").all_sockets().await.unwrap()),
        [id_c.as_str()]
    );

    let a = SocketId::parse(&id_a).unwrap();
    let b = SocketId::parse(&id_b).unwrap();
    let room = |name: &str| Room::from(name);
    let sids = nsp.adapter_sids();
    assert_eq!(sids.len(), 2);
    assert_eq!(
        sids[&a],
        [room(&id_a), room("r1"), room("r2")].into_iter().collect()
    );
    assert_eq!(sids[&b], [room(&id_b), room("r1")].into_iter().collect());
    let rooms = nsp.adapter_rooms();
    assert_eq!(rooms.len(), 4);
    assert_eq!(rooms[&room("r1")], [a, b].into_iter().collect());
    assert_eq!(rooms[&room("r2")], [a].into_iter().collect());
    assert_eq!(rooms[&room(&id_a)], [a].into_iter().collect());

    // A socket in middleware: in the adapter's maps, not connected yet.
    let mut held_client = server.ws().await;
    held_client.send("40/held,").await;
    let waiting = io.of("/held");
    support::eventually("the middleware joined", || {
        waiting.adapter_rooms().contains_key(&room("waiting"))
    })
    .await;
    assert!(waiting.all_sockets().await.unwrap().is_empty());
    gate.notify_one();
    let connected = held_client.recv_packet().await;
    assert_eq!(connected.kind, 0);
    assert_eq!(waiting.all_sockets().await.unwrap().len(), 1);
}

/// With an adapter that implements neither `sockets` nor `sids` (a cluster
/// adapter wrapping the in-memory one, say), `all_sockets` comes from its
/// `fetch_sockets`, so from every node it reaches, and the maps from each
/// connected socket's rooms.
#[tokio::test(flavor = "multi_thread")]
async fn all_sockets_and_the_maps_through_an_adapter_without_them() {
    let (io, _log) = recording_server();
    let server = TestServer::start(io).await;
    let io = &server.io;
    let (_a, id_a) = server.connected("/").await;
    let (_b, id_b) = server.connected("/").await;
    let nsp = io.of("/");
    nsp.get_socket(SocketId::parse(&id_a).unwrap())
        .unwrap()
        .join("r1");
    let mut both = vec![id_a.clone(), id_b.clone()];
    both.sort();
    assert_eq!(ids(io.all_sockets().await.unwrap()), both);
    assert_eq!(
        ids(io.to("r1").all_sockets().await.unwrap()),
        [id_a.as_str()]
    );
    assert!(nsp.adapter().sids().is_none());
    let a = SocketId::parse(&id_a).unwrap();
    let sids = nsp.adapter_sids();
    assert_eq!(sids.len(), 2);
    assert_eq!(
        sids[&a],
        [Room::from(id_a.as_str()), Room::from("r1")]
            .into_iter()
            .collect()
    );
    assert_eq!(
        nsp.adapter_rooms()[&Room::from("r1")],
        [a].into_iter().collect()
    );
}
