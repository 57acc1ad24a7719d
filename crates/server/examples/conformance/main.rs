//! The server that protocol conformance suites are pointed at.
//!
//! Listens on `127.0.0.1:$PORT` (default 3000) and serves, with ping interval
//! 300 ms, ping timeout 200 ms, max payload 1 000 000 and CORS for any origin:
//!
//! - `/engine.io/`: an Engine.IO echo server (every message back as it came);
//! - `/socket.io/`: a Socket.IO server (connect timeout 1000 ms) with the
//!   namespaces and events the suites expect (see `socketio_handlers`).
//!
//! ```text
//! PORT=3000 cargo run -p ferrio --example conformance
//! ```
//!
//! The cluster contract (`server-count`, `fetch-sockets`, …: see
//! `handlers::on_cluster_events`) holds on one node with the memory adapter.
//! With `REDIS_URL` set, the server joins a Redis cluster (`REDIS_ADAPTER`:
//! `classic`, the default, `sharded` with `REDIS_SUBSCRIPTION_MODE`
//! `dynamic` (default), `static` or `dynamic-private`, or `streams` (the
//! streams adapter, which recovers sessions across the cluster; stream
//! `REDIS_STREAM_NAME`, default `socket.io`, capped at `REDIS_STREAM_MAXLEN`,
//! default 10 000); `REDIS_KEY`, default `socket.io`).
//!
//! `RECOVERY=1` turns connection state recovery on (max disconnection 30 s,
//! middleware skipped on recovery); the `state` event (with ack) answers
//! `{"id", "recovered", "rooms"}` either way.
//!
//! `ALLOW_EIO3=1` lets Socket.IO v2 clients (Engine.IO v3) in, on both
//! paths (`allow_eio3`).
//! `PER_MESSAGE_DEFLATE=1` turns permessage-deflate on for both servers, with
//! Node's defaults (messages of 1024 bytes and more are compressed).
//!
//! `PARSER=msgpack` speaks `socket.io-msgpack-parser` instead of the default
//! parser (`PARSER=default`).

mod handlers;

use std::sync::Arc;
use std::time::Duration;

use ferrio::adapter::{AdapterFactory, MemoryAdapterFactory};
use ferrio::engine::{
    CloseReason, Connection, Cors, DeflateConfig, Engine, EngineConfig, Handler, Message, Session,
};
use ferrio::{RecoveryConfig, SocketIo, SocketIoConfig};

/// The Engine.IO echo handler.
struct Echo;

impl Handler for Echo {
    fn on_open(&self, session: &Arc<Session>) -> Arc<dyn Connection> {
        Arc::new(EchoConnection(session.clone()))
    }
}

/// One session's echo: it holds the session to answer on.
struct EchoConnection(Arc<Session>);

impl Connection for EchoConnection {
    fn on_message(self: Arc<Self>, message: Message) {
        if self.0.send(message.into()).is_err() {
            self.0.close();
        }
    }

    fn on_close(&self, _reason: CloseReason) {}
}

fn engine_config(path: &str) -> EngineConfig {
    let deflate = std::env::var("PER_MESSAGE_DEFLATE").as_deref() == Ok("1");
    EngineConfig::default()
        .path(path)
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .cors(Cors::default())
        .per_message_deflate(deflate.then(DeflateConfig::default))
}

/// The adapters of the server's namespaces: the memory adapter (one node), or,
/// with `REDIS_URL` set, a Redis adapter that joins the cluster.
async fn adapters() -> std::io::Result<Arc<dyn AdapterFactory>> {
    let Ok(url) = std::env::var("REDIS_URL") else {
        return Ok(Arc::new(MemoryAdapterFactory));
    };
    // ---- REDIS_URL: ferrio-redis plugs in here (issue 14, item 4) ----
    let key = std::env::var("REDIS_KEY").unwrap_or_else(|_| "socket.io".to_owned());
    let mut config = ferrio_redis::RedisAdapterConfig::default().key(key);
    match std::env::var("REDIS_ADAPTER").as_deref() {
        Ok("classic") | Err(_) => {}
        Ok("sharded") => {
            let mode = match std::env::var("REDIS_SUBSCRIPTION_MODE").as_deref() {
                Ok("static") => ferrio_redis::SubscriptionMode::Static,
                Ok("dynamic-private") => ferrio_redis::SubscriptionMode::DynamicPrivate,
                _ => ferrio_redis::SubscriptionMode::Dynamic,
            };
            config = config.sharded(mode);
        }
        Ok("streams") => {
            let mut streams = ferrio_redis::StreamsOptions::default();
            if let Ok(name) = std::env::var("REDIS_STREAM_NAME") {
                streams = streams.stream_name(name);
            }
            if let Some(max_len) = std::env::var("REDIS_STREAM_MAXLEN")
                .ok()
                .and_then(|n| n.parse().ok())
            {
                streams = streams.max_len(max_len);
            }
            config = config.streams(streams);
        }
        Ok(other) => {
            return Err(std::io::Error::other(format!(
                "REDIS_ADAPTER={other}: expected classic, sharded or streams"
            )));
        }
    }
    let (sharded, streams) = (config.sharded, config.streams.is_some());
    let redis = ferrio_redis::RedisAdapter::connect(&url, config)
        .await
        .map_err(std::io::Error::other)?;
    tracing::info!(%url, ?sharded, streams, "joining the Redis cluster");
    Ok(Arc::new(redis))
    // ------------------------------------------------------------------
}

/// The recovery settings of `RECOVERY=1`.
fn recovery() -> RecoveryConfig {
    RecoveryConfig::default()
        .max_disconnection_duration(Duration::from_secs(30))
        .skip_middlewares(true)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);

    let mut config = SocketIoConfig::default()
        .engine(engine_config("/socket.io/"))
        .connect_timeout(Duration::from_millis(1000));
    if std::env::var("RECOVERY").as_deref() == Ok("1") {
        config = config.connection_state_recovery(recovery());
    }
    if let Ok(parser) = std::env::var("PARSER") {
        config = config.parser(parser.parse().map_err(std::io::Error::other)?);
    }
    let allow_eio3 = std::env::var("ALLOW_EIO3").as_deref() == Ok("1");
    config = config.allow_eio3(allow_eio3);
    let io = SocketIo::with_adapter(config, adapters().await?);
    handlers::install(&io);
    // Counted by the other servers from here on (subscribed).
    io.sockets().ready().await.map_err(std::io::Error::other)?;
    let echo = Engine::new(engine_config("/engine.io/").allow_eio3(allow_eio3), Echo);
    let service = tower_layer::Layer::layer(&io.layer(), echo.clone());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!("conformance server on http://{}", listener.local_addr()?);
    let closer = io.clone();
    ferrio::engine::serve_with(
        listener,
        service,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
        move || {
            closer.engine().shutdown();
            echo.shutdown();
        },
    )
    .await?;
    io.close().await;
    Ok(())
}
