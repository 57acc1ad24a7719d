//! The server `scripts/storm` loads with the `storm` example: default options
//! on `127.0.0.1:$PORT` (default 3100), path `/socket.io/`, with a listen
//! backlog of 65 535 (the kernel caps it at `net.core.somaxconn`) so that a
//! reconnect storm waits in the kernel's queue rather than in SYN retries.
//!
//! One event: `"count"` → acknowledged with the number of sockets connected to
//! `/` (the storm client's way to see when the server has settled).
//!
//! ```text
//! PORT=3100 cargo run --release -p ferrio --example storm_server
//! ```

use std::net::SocketAddr;

use ferrio::{ServeConfig, SocketIo};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    let io = SocketIo::new();
    io.on_connection(|socket| async move {
        socket.on("count", |socket, event| async move {
            let _ = event.reply(&socket.namespace().socket_count());
        });
    });

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3100);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(65_535)?;
    println!(
        "ferrio storm server on http://{}/socket.io/ (pid {})",
        listener.local_addr()?,
        std::process::id()
    );
    io.serve_with_config(
        listener,
        ServeConfig::default().max_connections(100_000),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await
}
