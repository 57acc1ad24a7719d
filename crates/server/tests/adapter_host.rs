//! An adapter tested against a stand-in namespace, without a server (issue
//! 13): `AdapterHost` is all an adapter sees of its namespace.
//!
//! `Loopback` is the smallest cluster adapter: two of them, each over a
//! `MemoryAdapter`, pass server-side events to each other's host. A real
//! cluster adapter (Redis) does the same through its broker.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use ferrio::adapter::{
    Adapter, AdapterContext, AdapterError, AdapterHost, BoxFuture, BroadcastOptions, MemoryAdapter,
    RoomObserver, ServerSideAck, ServerSideResponses,
};
use ferrio::{AckResponses, Args, Namespace, Payload, RemoteSocket, Room, Socket, SocketId};
use ferrio_proto::socketio::Packet;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A namespace stand-in: no sockets; server-side events answered with their
/// first argument and a name, as the conformance contract's `hello`.
struct Host {
    name: &'static str,
    heard: Mutex<Vec<(String, Value)>>,
}

impl AdapterHost for Host {
    fn name(&self) -> &str {
        "/"
    }
    fn local_sockets(&self) -> Vec<Arc<Socket>> {
        Vec::new()
    }
    fn sockets_by_id(&self, _ids: &mut dyn Iterator<Item = SocketId>) -> Vec<Arc<Socket>> {
        Vec::new()
    }
    fn next_ack_id(&self) -> u64 {
        0
    }
    fn dispatch_server_side(&self, event: &str, args: Args, ack: Option<ServerSideAck>) {
        let first = args.to_value(0).unwrap_or(Value::Null);
        self.heard
            .lock()
            .unwrap()
            .push((event.to_owned(), first.clone()));
        if let Some(ack) = ack {
            ack.send(&json!({"from": self.name, "echo": first}))
                .unwrap();
        }
    }
    fn namespace(self: Arc<Self>) -> Option<Namespace> {
        None
    }
}

fn host(name: &'static str) -> Arc<Host> {
    Arc::new(Host {
        name,
        heard: Mutex::default(),
    })
}

/// Records room lifecycle events.
#[derive(Default)]
struct Rooms(Mutex<Vec<String>>);

impl RoomObserver for Rooms {
    fn room_created(&self, room: &Room) {
        self.0.lock().unwrap().push(format!("+{room}"));
    }
    fn room_deleted(&self, room: &Room) {
        self.0.lock().unwrap().push(format!("-{room}"));
    }
}

/// One node of a two-node in-process cluster.
struct Loopback {
    local: MemoryAdapter,
    peer: OnceLock<Weak<dyn AdapterHost>>,
}

impl Loopback {
    fn peer(&self) -> Option<Arc<dyn AdapterHost>> {
        self.peer.get()?.upgrade()
    }
}

impl Adapter for Loopback {
    fn add_all(&self, id: SocketId, rooms: &[Room]) {
        self.local.add_all(id, rooms)
    }
    fn del(&self, id: SocketId, room: &Room) {
        self.local.del(id, room)
    }
    fn del_all(&self, id: SocketId) {
        self.local.del_all(id)
    }
    fn socket_rooms(&self, id: SocketId) -> Vec<Room> {
        self.local.socket_rooms(id)
    }
    fn rooms(&self) -> Vec<Room> {
        self.local.rooms()
    }
    fn broadcast(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.local.broadcast(packet, opts)
    }
    fn broadcast_with_ack(
        &self,
        packet: Packet<Payload>,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckResponses, AdapterError>> {
        self.local.broadcast_with_ack(packet, opts, timeout)
    }
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        self.local.fetch_sockets(opts)
    }
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.local.add_sockets(opts, rooms)
    }
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.local.del_sockets(opts, rooms)
    }
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.local.disconnect_sockets(opts, close)
    }
    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        let count = if self.peer().is_some() { 2 } else { 1 };
        Box::pin(async move { Ok(count) })
    }
    fn server_side_emit(
        &self,
        event: String,
        args: Vec<Payload>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        if let Some(peer) = self.peer() {
            peer.dispatch_server_side(&event, args.into(), None);
        }
        Box::pin(async { Ok(()) })
    }
    fn server_side_emit_with_ack(
        &self,
        event: String,
        args: Vec<Payload>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<ServerSideResponses, AdapterError>> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let expected = match self.peer() {
            Some(peer) => {
                let ack = ServerSideAck::new(move |answer| {
                    let _ = tx.send(answer);
                });
                peer.dispatch_server_side(&event, args.into(), Some(ack));
                1
            }
            None => 0,
        };
        Box::pin(async move {
            let mut responses = Vec::new();
            let deadline = tokio::time::Instant::now() + timeout;
            while responses.len() < expected {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(answer)) => responses.push(answer),
                    Ok(None) | Err(_) => break,
                }
            }
            Ok(ServerSideResponses::new(responses, expected))
        })
    }
}

fn node(host: &Arc<Host>) -> Arc<Loopback> {
    let weak: Weak<dyn AdapterHost> = Arc::downgrade(host) as Weak<dyn AdapterHost>;
    let ctx = AdapterContext::new(weak, "/");
    assert_eq!(&*ctx.name, "/");
    assert!(ctx.recovery.is_none());
    assert!(ctx.namespace().is_none(), "a stand-in is no namespace");
    Arc::new(Loopback {
        local: MemoryAdapter::new(&ctx),
        peer: OnceLock::new(),
    })
}

#[tokio::test]
async fn server_side_events_cross_to_the_other_node_and_come_back_answered() {
    let (host_a, host_b) = (host("a"), host("b"));
    let (a, b) = (node(&host_a), node(&host_b));
    let _ = a.peer.set(Arc::downgrade(&host_b) as Weak<dyn AdapterHost>);
    let _ = b.peer.set(Arc::downgrade(&host_a) as Weak<dyn AdapterHost>);
    let a: Arc<dyn Adapter> = a;

    assert_eq!(a.server_count().await.unwrap(), 2);
    a.server_side_emit("note".into(), vec![Payload::from(json!(1))])
        .await
        .unwrap();
    let answers = a
        .server_side_emit_with_ack(
            "hello".into(),
            vec![Payload::from(json!("x"))],
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(!answers.timed_out());
    assert_eq!(answers.responses.len(), 1);
    assert_eq!(
        answers.responses[0].to_value(),
        Some(json!({"from": "b", "echo": "x"}))
    );
    assert_eq!(
        *host_b.heard.lock().unwrap(),
        [
            ("note".to_owned(), json!(1)),
            ("hello".to_owned(), json!("x"))
        ]
    );
    assert!(host_a.heard.lock().unwrap().is_empty(), "never to itself");
}

#[tokio::test]
async fn the_memory_adapter_runs_and_reports_rooms_without_a_server() {
    let host = host("a");
    let node = node(&host);
    let observed = Arc::new(Rooms::default());
    assert!(node.local.observe_rooms(observed.clone()));

    let (s1, s2) = (SocketId::random(), SocketId::random());
    let own1 = Room::from(s1.as_str());
    node.add_all(s1, &[own1.clone(), Room::from("lobby")]);
    node.add_all(s2, &[Room::from("lobby")]);
    let mut all = node.all_rooms().await.unwrap();
    all.sort();
    let mut expected = vec![own1.clone(), Room::from("lobby")];
    expected.sort();
    assert_eq!(all, expected);
    node.del_all(s1);
    node.del(s2, &Room::from("lobby"));
    assert_eq!(
        *observed.0.lock().unwrap(),
        [
            format!("+{s1}"),
            "+lobby".into(),
            format!("-{s1}"),
            "-lobby".into()
        ]
    );
    // No socket is connected on the stand-in: nothing to fetch or ask.
    assert!(
        node.local
            .fetch_local(&BroadcastOptions::default())
            .is_empty()
    );
    let acks = node
        .local
        .broadcast_local_acks(
            Packet::new(
                ferrio_proto::socketio::PacketKind::Event,
                "/",
                Some(Payload::from(json!(["e"]))),
            ),
            &BroadcastOptions::to_rooms([Room::from("lobby")]),
            Duration::from_secs(1),
        )
        .unwrap();
    assert_eq!(acks.expected(), 0);
    assert_eq!(acks.collect().await, AckResponses::default());
}
