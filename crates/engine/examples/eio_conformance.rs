//! The Engine.IO server that protocol conformance suites are pointed at.
//!
//! An echo server on `127.0.0.1:$PORT` (default 3000), path `/engine.io/`: every
//! message goes back as it came, text as text and binary as binary. Ping interval
//! 300 ms, ping timeout 200 ms, max payload 1 000 000 bytes, CORS for any origin.
//!
//! ```text
//! PORT=3000 cargo run -p ferrio-engine --example eio_conformance
//! ```

use std::sync::Arc;
use std::time::Duration;

use ferrio_engine::{
    CloseReason, Connection, Cors, Engine, EngineConfig, Handler, Message, Session,
};

struct Echo;

impl Handler for Echo {
    fn on_open(&self, session: &Arc<Session>) -> Arc<dyn Connection> {
        tracing::info!(sid = %session.id(), transport = session.transport().as_str(), "open");
        Arc::new(EchoConnection(session.clone()))
    }
}

/// One session's echo: it holds the session to answer on.
struct EchoConnection(Arc<Session>);

impl Connection for EchoConnection {
    fn on_message(self: Arc<Self>, message: Message) {
        let session = &self.0;
        if let Err(e) = session.send(message.into()) {
            tracing::warn!(sid = %session.id(), error = %e, "closing a client that does not read");
            session.close();
        }
    }

    fn on_close(&self, reason: CloseReason) {
        tracing::info!(sid = %self.0.id(), %reason, "close");
    }
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
    let config = EngineConfig::default()
        .path("/engine.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .cors(Cors::default());
    let engine = Engine::new(config, Echo);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(
        "engine.io echo server on http://{}/engine.io/",
        listener.local_addr()?
    );
    ferrio_engine::serve(listener, engine, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
