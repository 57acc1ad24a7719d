//! Socket.IO inside an axum app: ordinary routes beside `/socket.io/`, on one
//! port, served by `axum::serve`.
//!
//! ```text
//! cargo run -p ferrio --example axum
//! curl http://127.0.0.1:3000/                     # an ordinary axum route
//! curl http://127.0.0.1:3000/clients              # how many Socket.IO clients are connected
//! curl -d 'hello all' http://127.0.0.1:3000/announce   # emits "announcement" to every client
//! ```
//!
//! A Socket.IO client connects to `http://127.0.0.1:3000` as usual; its
//! `ping` event is answered with `pong`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use ferrio::{Socket, SocketIo};

/// `GET /`: a plain axum handler.
async fn index() -> &'static str {
    "Hello from axum! Socket.IO is at /socket.io/\n"
}

/// `GET /clients`: route handlers can use the Socket.IO server (axum state).
async fn clients(State(io): State<SocketIo>) -> String {
    format!("{} connected\n", io.sockets().socket_count())
}

/// `POST /announce`: sends the request body to every Socket.IO client.
async fn announce(State(io): State<SocketIo>, text: String) -> &'static str {
    match io.emit("announcement", &text) {
        Ok(()) => "sent\n",
        Err(_) => "not sent\n",
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let io = SocketIo::new();
    io.on_connection(|socket: Arc<Socket>| async move {
        println!("{} connected", socket.id());
        socket.on("ping", |socket, event| async move {
            let _ = socket.emit("pong", &"pong from ferrio in axum");
            let _ = event.reply(&"pong");
        });
    });

    let app = Router::new()
        .route("/", get(index))
        .route("/clients", get(clients))
        .route("/announce", post(announce))
        .with_state(io.clone())
        // Requests under `/socket.io/` go to ferrio (long-polling and
        // WebSocket); every other request goes on to the routes above. Add
        // the layer last: axum layers wrap the routes added before them.
        .layer(io.layer());

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("axum + Socket.IO on http://{}/", listener.local_addr()?);

    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            // Closes every Socket.IO connection ("server shutting down"), so
            // that open WebSockets and long-polls do not hold the shutdown up.
            io.close().await;
        })
        .await
}
