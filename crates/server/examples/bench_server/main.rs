//! The server `ferrio bench` and the side-by-side comparison in `bench/` load:
//! default options on `127.0.0.1:$PORT` (default 3000), path `/socket.io/`.
//!
//! - `"echo"` → acknowledge with the same arguments when an ack is asked, else
//!   emit `"echo"` back with them;
//! - `"broadcast"` → emit `"broadcast"` with the arguments to every socket of
//!   `/`, the sender included;
//! - `"join"` → join the room named by the first argument, before the socket's
//!   next event is handled (a handler runs synchronously up to its first
//!   `.await`, and this one has none);
//! - `"room"` with `[room, payload]` → emit `"room"` with the payload to every
//!   socket in that room.
//!
//! `RECOVERY=1` turns connection state recovery on (default settings), to
//! measure what it costs. As in the `conformance` example, `PARSER=msgpack`
//! speaks `socket.io-msgpack-parser` (`Parser::MsgPack`) instead of the
//! default parser, and `PER_MESSAGE_DEFLATE=1` turns permessage-deflate on
//! with Node's defaults (messages of 1024 bytes and more are compressed).
//! Long-polling needs nothing: it is on by default.
//!
//! ```text
//! PORT=3000 cargo run --release -p ferrio --example bench_server
//! ferrio bench echo --url http://127.0.0.1:3000 --connections 100 --rate 20000
//! ```

mod handlers;

use ferrio::engine::{DeflateConfig, EngineConfig};
use ferrio::{Parser, RecoveryConfig, SocketIo, SocketIoConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Logging off unless asked for: `RUST_LOG=debug` shows what the server does.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    let mut config = SocketIoConfig::default();
    if std::env::var("RECOVERY").as_deref() == Ok("1") {
        config = config.connection_state_recovery(RecoveryConfig::default());
    }
    match std::env::var("PARSER").as_deref() {
        Ok("msgpack") => config = config.parser(Parser::MsgPack),
        Ok("default") | Err(_) => {}
        Ok(other) => {
            return Err(std::io::Error::other(format!(
                "PARSER={other}: expected default or msgpack"
            )));
        }
    }
    if std::env::var("PER_MESSAGE_DEFLATE").as_deref() == Ok("1") {
        config = config.engine(
            EngineConfig::default()
                .path("/socket.io/")
                .per_message_deflate(Some(DeflateConfig::default())),
        );
    }
    let io = SocketIo::with_config(config);
    handlers::install(&io);

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "ferrio bench server on http://{}/socket.io/",
        listener.local_addr()?
    );
    io.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
