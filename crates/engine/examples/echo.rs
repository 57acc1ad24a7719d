//! An Engine.IO echo server with the reference defaults (ping every 25 s).
//!
//! ```text
//! PORT=3000 cargo run --release -p ferrio-engine --example echo
//! ```

use std::sync::Arc;

use ferrio_engine::{CloseReason, Engine, EngineConfig, Handler, Message, Session};

struct Echo;

impl Handler for Echo {
    fn on_open(&self, _session: &Arc<Session>) {}

    fn on_message(&self, session: &Arc<Session>, message: Message) {
        if session.send(message.into()).is_err() {
            session.close();
        }
    }

    fn on_close(&self, _session: &Arc<Session>, _reason: CloseReason) {}
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
