//! An Engine.IO echo server with the reference defaults (ping every 25 s).
//!
//! ```text
//! PORT=3000 cargo run --release -p ferrio-engine --example eio_echo
//! ```

use std::sync::Arc;

use ferrio_engine::{CloseReason, Connection, Engine, EngineConfig, Handler, Message, Session};

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

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let engine = Engine::new(EngineConfig::default(), Echo);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "engine.io echo server on http://{}/engine.io/",
        listener.local_addr()?
    );
    ferrio_engine::serve(listener, engine, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
