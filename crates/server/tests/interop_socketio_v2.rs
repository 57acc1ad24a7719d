//! The official `socket.io-client` 2.5.0 (Socket.IO v2 over Engine.IO v3,
//! npm alias `socket.io-client-v2`) against ferrio with the conformance
//! handlers and `allow_eio3`, over WebSocket only, long-polling only, and
//! polling upgraded to WebSocket: connect without a CONNECT of its own,
//! events, acks both ways, binary attachments and a binary ack, namespaces
//! with their query as auth, middleware refusals and unknown namespaces,
//! dynamic namespaces, disconnects from either side, and the client's
//! heartbeat. And without `allow_eio3`, the same client is refused.
//!
//! The scenarios live in `interop/socketio/client-v2.mjs`; they pass against
//! Node's socket.io 4.8 with `allowEIO3` (`reference-server.mjs` with
//! `ALLOW_EIO3=1`), so the expectations are Node's.

use ferrio_test_support::node;

#[path = "../examples/conformance/handlers.rs"]
mod handlers;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferrio::engine::{Cors, EngineConfig};
use ferrio::{RecoveryConfig, SocketIo, SocketIoConfig};
use tokio::sync::oneshot;

struct Server {
    addr: SocketAddr,
    io: SocketIo,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The conformance server's options, with a roomier ping timeout (the
    /// tests share two cores), `allow_eio3` and connection state recovery
    /// as asked.
    async fn start(allow_eio3: bool, recovery: bool) -> Self {
        let engine = EngineConfig::default()
            .path("/socket.io/")
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(1000))
            .cors(Cors::default());
        let mut config = SocketIoConfig::default()
            .engine(engine)
            .allow_eio3(allow_eio3)
            .connect_timeout(Duration::from_millis(1000));
        if recovery {
            config = config.connection_state_recovery(RecoveryConfig::default());
        }
        let io = SocketIo::with_config(config);
        handlers::install(&io);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = io.clone();
        let task = tokio::spawn(async move {
            served
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            io,
            stop: Some(stop),
            task,
        }
    }

    /// Waits until no Engine.IO session and no socket is left.
    async fn wait_idle(&self, context: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let sessions = self.io.engine().session_count();
            let sockets: usize = self.io.namespaces().iter().map(|n| n.socket_count()).sum();
            if sessions == 0 && sockets == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{context}: still {sessions} sessions and {sockets} sockets after 15 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

async fn run_client(
    addr: SocketAddr,
    mode: &'static str,
    scenario: &'static str,
) -> node::NodeOutput {
    let url = format!("http://{addr}");
    tokio::task::spawn_blocking(move || {
        node::run_node(
            "socketio/client-v2.mjs",
            &["--url", &url, "--mode", mode, "--scenario", scenario],
            Duration::from_secs(90),
        )
    })
    .await
    .unwrap()
}

async fn run_mode(mode: &'static str, recovery: bool) {
    node::ensure_npm_deps();
    let server = Server::start(true, recovery).await;
    let output = run_client(server.addr, mode, "all").await;
    output.assert_ok();
    assert_eq!(
        output.lines_with_event("pass").len(),
        12,
        "{mode}: every scenario ran\n{output}"
    );
    server.wait_idle(mode).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_v2_over_websocket() {
    run_mode("websocket", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_v2_over_polling() {
    run_mode("polling", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_v2_upgrading_from_polling() {
    run_mode("upgrade", false).await;
}

/// Without `allow_eio3` (the default), a v2 client is refused at its
/// handshake, as Node refuses it, and no session opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_v2_is_refused_without_allow_eio3() {
    node::ensure_npm_deps();
    let server = Server::start(false, false).await;
    for mode in ["polling", "websocket"] {
        let output = run_client(server.addr, mode, "refused").await;
        output.assert_ok();
        assert_eq!(output.lines_with_event("refused").len(), 1, "{output}");
        assert_eq!(server.io.engine().session_count(), 0);
    }
    server.shutdown().await;
}

/// With connection state recovery on, a v2 client (which never restores a
/// session) is served as without it: its socket of `/` keeps the Engine.IO
/// session's id, and its CONNECT reply stays bare.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_client_v2_with_connection_state_recovery_on() {
    run_mode("websocket", true).await;
}
