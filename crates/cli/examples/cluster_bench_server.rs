//! The benchmark contract of `crates/server/examples/bench_server` on a
//! cluster node: the same handlers, with the classic Redis adapter
//! (`ferrio-redis`, wire-compatible with Node's `@socket.io/redis-adapter`),
//! so a `"broadcast"` reaches every socket of every node. `bench/run.py
//! --scenarios cluster` runs two of these (or one and a Node node) on one
//! Redis.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 PORT=3001 cargo run --release -p ferrio-cli --example cluster_bench_server
//! ```

#[path = "../../server/examples/bench_server/handlers.rs"]
mod handlers;

use ferrio::{SocketIo, SocketIoConfig};
use ferrio_redis::{RedisAdapter, RedisAdapterConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let adapter = RedisAdapter::connect(&url, RedisAdapterConfig::default()).await?;
    let io = SocketIo::with_adapter(SocketIoConfig::default(), adapter);
    io.sockets().ready().await?;
    handlers::install(&io);

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "ferrio cluster bench server on http://{}/socket.io/ (redis {url})",
        listener.local_addr()?
    );
    io.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    io.close().await;
    Ok(())
}
