//! ferrio peers: a ferrio cluster node in this process (the conformance
//! example's handlers, its cluster contract included, on a [`RedisAdapter`]) and
//! `ferrio-client` sockets that record what they receive.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use ferrio::{SocketIo, SocketIoConfig};
use ferrio_client::TransportKind;
use ferrio_proto::socketio::Payload;
use ferrio_redis::{RedisAdapter, RedisAdapterConfig};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::process::WAIT;

#[path = "../../../server/examples/conformance/handlers.rs"]
mod handlers;

/// A ferrio server on a loopback port, in a cluster through Redis.
pub struct FerrioNode {
    /// The server.
    pub io: SocketIo,
    /// Its adapter factory (for its counters).
    pub redis: RedisAdapter,
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl FerrioNode {
    /// Starts one on `redis_url` with these options, the conformance handlers
    /// installed and `/` and `/admin` subscribed before it returns.
    pub async fn start_with(redis_url: &str, config: RedisAdapterConfig) -> Self {
        Self::start_full(redis_url, config, SocketIoConfig::default()).await
    }

    /// [`start_with`](Self::start_with) these server options too.
    pub async fn start_full(
        redis_url: &str,
        config: RedisAdapterConfig,
        io_config: SocketIoConfig,
    ) -> Self {
        let redis = RedisAdapter::connect(redis_url, config)
            .await
            .expect("Redis reachable");
        let io = SocketIo::with_adapter(io_config, redis.clone());
        handlers::install(&io);
        io.sockets().ready().await.expect("/ subscribed");
        io.of("/admin").ready().await.expect("/admin subscribed");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = io.clone();
        let task = tokio::spawn(async move {
            let _ = served
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            io,
            redis,
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// [`start_with`](Self::start_with) the default options.
    pub async fn start(redis_url: &str) -> Self {
        Self::start_with(redis_url, RedisAdapterConfig::default()).await
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and closes the adapters (unsubscribes).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(WAIT, &mut self.task).await;
        self.io.close().await;
    }
}

/// A payload as the Node scripts print values: binary as `{"$bin": hex}`.
pub fn tagged(payload: &Payload) -> Value {
    match payload {
        Payload::Json(v) => v.clone(),
        Payload::Raw(raw) => raw.to_value(),
        Payload::Binary(b) => {
            json!({"$bin": b.iter().map(|x| format!("{x:02x}")).collect::<String>()})
        }
        Payload::Array(items) => Value::Array(items.iter().map(tagged).collect()),
        Payload::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), tagged(v)))
                .collect(),
        ),
        other => other.to_value().unwrap_or(Value::Null),
    }
}

/// One event a Rust client received: socket name, event, tagged arguments.
pub type Received = (String, String, Value);

/// `ferrio-client` sockets, each on its own connection.
pub struct RustClients {
    sockets: Vec<(String, ferrio_client::Socket)>,
    tx: mpsc::UnboundedSender<Received>,
    rx: mpsc::UnboundedReceiver<Received>,
    pending: Vec<Received>,
}

impl Default for RustClients {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            sockets: Vec::new(),
            tx,
            rx,
            pending: Vec::new(),
        }
    }
}

impl RustClients {
    /// Connects socket `name` to `url` (WebSocket only) and namespace `nsp`;
    /// it answers `question` with `answer` when given. Returns its id.
    pub async fn connect(
        &mut self,
        name: &str,
        url: &str,
        nsp: &str,
        answer: Option<Value>,
    ) -> String {
        let tx = self.tx.clone();
        let label = name.to_owned();
        let config = ferrio_client::ManagerConfig::default()
            .transports([TransportKind::WebSocket])
            .reconnection(false);
        let (connected_tx, connected) = oneshot::channel::<()>();
        let connected_tx = std::sync::Mutex::new(Some(connected_tx));
        let socket = ferrio_client::io(&format!("{url}{}", if nsp == "/" { "" } else { nsp }))
            .expect("valid url")
            .config(config)
            .force_new(true)
            .on_any(move |_socket, event| {
                let args = Value::Array(event.args().iter().map(tagged).collect());
                let _ = tx.send((label.clone(), event.name().to_owned(), args));
                if event.name() == "question" {
                    if let Some(answer) = &answer {
                        let _ = event.reply(&(answer.clone(),));
                    }
                }
            })
            .on_connect(move |_socket| {
                if let Some(tx) = connected_tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                async {}
            })
            .build();
        tokio::time::timeout(WAIT, connected)
            .await
            .expect("connects")
            .expect("connect signal");
        let id = socket.id().expect("an id once connected");
        self.sockets.push((name.to_owned(), socket));
        id
    }

    /// The socket `name`.
    pub fn socket(&self, name: &str) -> &ferrio_client::Socket {
        &self
            .sockets
            .iter()
            .find(|(n, _)| n == name)
            .expect("known socket")
            .1
    }

    /// The tagged arguments of the next `event` socket `name` receives.
    pub async fn recv(&mut self, name: &str, event: &str) -> Value {
        self.recv_within(name, event, WAIT)
            .await
            .unwrap_or_else(|| panic!("{name} got no {event}; pending: {:?}", self.pending))
    }

    /// Like [`recv`](Self::recv), `None` if nothing comes within `within`.
    pub async fn recv_within(
        &mut self,
        name: &str,
        event: &str,
        within: Duration,
    ) -> Option<Value> {
        if let Some(pos) = self
            .pending
            .iter()
            .position(|(n, e, _)| n == name && e == event)
        {
            return Some(self.pending.remove(pos).2);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((n, e, args))) => {
                    if n == name && e == event {
                        return Some(args);
                    }
                    self.pending.push((n, e, args));
                }
                _ => return None,
            }
        }
    }

    /// Emits with an ack and returns the ack's tagged arguments.
    pub async fn emit_with_ack(&self, name: &str, event: &str, args: Value) -> Value {
        let args = match args {
            Value::Array(items) => items,
            other => vec![other],
        };
        let payloads: Vec<Payload> = args.into_iter().map(Payload::Json).collect();
        let reply =
            tokio::time::timeout(WAIT, self.socket(name).emit_args_with_ack(event, payloads))
                .await
                .expect("ack in time")
                .expect("acked");
        Value::Array(reply.iter().map(tagged).collect())
    }

    /// Emits without an ack.
    pub fn emit(&self, name: &str, event: &str, args: Value) {
        let args = match args {
            Value::Array(items) => items,
            other => vec![other],
        };
        let payloads: Vec<Payload> = args.into_iter().map(Payload::Json).collect();
        self.socket(name)
            .emit_args(event, payloads)
            .expect("emitted");
    }

    /// Disconnects every socket.
    pub fn close(&self) {
        for (_, socket) in &self.sockets {
            socket.disconnect();
        }
    }
}
