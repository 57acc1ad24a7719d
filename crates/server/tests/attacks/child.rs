//! The server under attack, run in a child process (the test binary re-executed
//! with [`CHILD_ENV`] set) so that its peak RSS can be read and capped.
//!
//! The app is what a real one does with peer data: handlers read arguments with
//! `event.arg` / `args_as`, a relay broadcasts to a room as the chat does,
//! clients join rooms on request, the disconnect handler broadcasts, an async
//! connect middleware guards `/slow`, `/dyn-<digits>` is a dynamic namespace,
//! and the same app is served over plain TCP and over TLS.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferrio::engine::{Cors, Origins};
use ferrio::{ServeConfig, Socket, SocketIo, SocketIoConfig, TlsConfig};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::knobs;

/// The environment variable that turns the hidden test into the server; its
/// value is the [`Options`] as JSON.
pub const CHILD_ENV: &str = "FERRIO_ATTACK_CHILD";

/// The room the relay handlers broadcast to.
pub const ROOM: &str = "lobby";

/// What the child serves with: defaults are the library's, each test changes
/// only what its trigger needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Options {
    /// `EngineConfig::max_buffered_bytes` (default: the library's 8 MiB).
    pub max_buffered_bytes: Option<usize>,
    /// `ServeConfig::max_connections`, on both listeners.
    pub max_connections: Option<usize>,
    /// `EngineConfig::max_pending_handshakes`.
    pub max_pending_handshakes: Option<usize>,
    /// Engine.IO ping interval and timeout, in ms (default 25 s + 20 s).
    pub ping_ms: Option<(u64, u64)>,
    /// `EngineConfig::upgrade_timeout`, in ms (default 10 s).
    pub upgrade_ms: Option<u64>,
    /// How long `/slow`'s connect middleware sleeps, in ms.
    pub middleware_ms: u64,
    /// Worker stack size in bytes (default: tokio's 2 MiB).
    pub stack_bytes: Option<usize>,
    /// Only this Origin is allowed (CORS list, with credentials).
    pub allowed_origin: Option<String>,
    /// CORS `Origins::Any` with credentials (finding 10's reflection).
    pub any_origin_with_credentials: bool,
    /// Knobs that exist only after the fixes are merged: see [`knobs`].
    pub knobs: knobs::Knobs,
    /// The TLS certificate and key (PEM files).
    pub cert_pem: String,
    pub key_pem: String,
}

/// Runs the server until the parent closes our stdin; prints
/// `ATTACK-SERVER plain=<port> tls=<port>` once both listeners are bound.
pub fn run(options_json: &str) {
    let options: Options = serde_json::from_str(options_json).expect("options JSON");
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.worker_threads(2).enable_all();
    if let Some(stack) = options.stack_bytes {
        runtime.thread_stack_size(stack);
    }
    let runtime = runtime.build().expect("a runtime");
    // The parent closes our stdin when it is done (or dies): we exit then.
    std::thread::spawn(|| {
        let mut line = String::new();
        while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
            line.clear();
        }
        std::process::exit(0);
    });
    runtime.block_on(serve(options));
}

async fn serve(options: Options) {
    let engine = |mut e: ferrio::engine::EngineConfig| {
        if let Some(bytes) = options.max_buffered_bytes {
            e = e.max_buffered_bytes(bytes);
        }
        if let Some(max) = options.max_pending_handshakes {
            e = e.max_pending_handshakes(max);
        }
        if let Some((interval, timeout)) = options.ping_ms {
            e = e
                .ping_interval(Duration::from_millis(interval))
                .ping_timeout(Duration::from_millis(timeout));
        }
        if let Some(ms) = options.upgrade_ms {
            e = e.upgrade_timeout(Duration::from_millis(ms));
        }
        if let Some(origin) = &options.allowed_origin {
            e = e.cors(
                Cors::default()
                    .origins(Origins::List(vec![origin.clone()]))
                    .credentials(true),
            );
        }
        if options.any_origin_with_credentials {
            e = e.cors(Cors::default().origins(Origins::Any).credentials(true));
        }
        knobs::engine(e, &options.knobs)
    };
    let config = knobs::socketio(
        SocketIoConfig::default().with_engine(engine),
        &options.knobs,
    );
    let io = SocketIo::with_config(config);
    let stats = Arc::new(Stats::default());
    app(&io, &stats, options.middleware_ms);

    let listen = |tls: Option<TlsConfig>| {
        let mut config = ServeConfig::default();
        if let Some(max) = options.max_connections {
            config = config.max_connections(max);
        }
        if let Some(tls) = tls {
            config = config.tls(tls);
        }
        knobs::serve(config, &options.knobs)
    };
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let secure = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let line = format!(
        "ATTACK-SERVER plain={} tls={}",
        plain.local_addr().unwrap().port(),
        secure.local_addr().unwrap().port()
    );
    let tls = TlsConfig::from_pem_files(&options.cert_pem, &options.key_pem).expect("PEM");
    let plain_config = listen(None);
    let tls_config = listen(Some(tls));
    let served = io.clone();
    let plain_task = tokio::spawn(async move {
        served
            .serve_with_config(plain, plain_config, std::future::pending())
            .await
    });
    let served = io.clone();
    let tls_task = tokio::spawn(async move {
        served
            .serve_with_config(secure, tls_config, std::future::pending())
            .await
    });
    println!("{line}");
    std::io::stdout().flush().unwrap();
    let _ = tokio::join!(plain_task, tls_task);
}

/// Counters the `stats` event reports.
#[derive(Default)]
struct Stats {
    connects: AtomicU64,
    disconnects: AtomicU64,
}

/// The handlers of every namespace.
fn app(io: &SocketIo, stats: &Arc<Stats>, middleware_ms: u64) {
    let handlers = {
        let io = io.clone();
        let stats = stats.clone();
        move |socket: Arc<Socket>| {
            let io = io.clone();
            let stats = stats.clone();
            async move { handlers(&io, &stats, &socket) }
        }
    };
    io.on_connection(handlers.clone());
    let slow = io.of("/slow");
    slow.use_middleware(move |_socket| async move {
        tokio::time::sleep(Duration::from_millis(middleware_ms)).await;
        Ok(())
    });
    slow.on_connection(handlers.clone());
    io.of_pattern(r"^/dyn-\d+$")
        .expect("a valid pattern")
        .on_connection(handlers);
}

fn handlers(io: &SocketIo, stats: &Arc<Stats>, socket: &Arc<Socket>) {
    stats.connects.fetch_add(1, Ordering::Relaxed);
    // The healthy client's heartbeat.
    socket.on("ping", |_, event| async move {
        let _ = event.reply(&());
    });
    // Join a room by name (the chat's `join room`).
    socket.on("join", |socket, event| async move {
        if let Ok(room) = event.arg::<String>(0) {
            socket.join(room);
        }
        let _ = event.reply(&());
    });
    // The chat's `typing`: one boolean argument, relayed to the room.
    socket.on("typing", |socket, event| async move {
        let typing = event.arg::<bool>(0).unwrap_or(false);
        let _ = socket.to(ROOM).emit("typing", &typing);
        let _ = event.reply(&());
    });
    // The chat's `chat message`: its text, read with `args_as`, relayed.
    socket.on("chat message", |socket, event| async move {
        if let Ok((text,)) = event.args_as::<(String,)>() {
            let _ = socket.to(ROOM).emit("chat message", &text);
        }
        let _ = event.reply(&());
    });
    // The chat's message to a room the sender names: `say(room, text)`.
    socket.on("say", |socket, event| async move {
        if let Ok((room, text)) = event.args_as::<(String, String)>() {
            let _ = socket.to(room).emit("chat message", &text);
        }
        let _ = event.reply(&());
    });
    // A relay of whatever was sent, binary included (the bench example).
    socket.on("relay", |socket, event| async move {
        let ack = event.ack().cloned();
        let result = socket.to(ROOM).emit_args("relay", event.into_args());
        if let Some(ack) = ack {
            let _ = ack.send(&result.is_ok());
        }
    });
    // Echo: the arguments back as the ack.
    socket.on("echo", |_, event| async move {
        if let Some(ack) = event.ack() {
            let _ = ack.send_args(event.args().clone().into_vec());
        }
    });
    // What the tests observe from inside.
    let (io_stats, counters) = (io.clone(), stats.clone());
    socket.on("stats", move |_, event| {
        let (io, stats) = (io_stats.clone(), counters.clone());
        async move {
            let _ = event.reply(&json!({
                "sockets": io.sockets().socket_count(),
                "namespaces": io.namespaces().len(),
                "sessions": io.engine().session_count(),
                "pending_handshakes": io.engine().pending_handshakes(),
                "connects": stats.connects.load(Ordering::Relaxed),
                "disconnects": stats.disconnects.load(Ordering::Relaxed),
            }));
        }
    });
    // The chat's disconnect handler: tell the room who left and who is
    // still online (the chat's `online` list).
    let counters = stats.clone();
    socket.on_disconnect(move |socket, _reason| {
        let stats = counters.clone();
        async move {
            stats.disconnects.fetch_add(1, Ordering::Relaxed);
            let _ = socket.to(ROOM).emit("left", socket.id().as_str());
            let online: Vec<String> = socket
                .namespace()
                .local_sockets()
                .iter()
                .map(|s| s.id().to_string())
                .collect();
            let _ = socket.to(ROOM).emit("online", &online);
        }
    });
}
