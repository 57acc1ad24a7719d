//! A chat-like server with the Socket.IO Admin UI on it: open the dashboard
//! and watch sockets connect, join rooms, send events; disconnect them or
//! make them join rooms from the dashboard.
//!
//! ```text
//! ADMIN_PASSWORD=changeit cargo run -p ferrio-admin-ui --example admin
//! ```
//!
//! Then open <https://admin.socket.io> (or the copy in
//! `interop/node_modules/@socket.io/admin-ui/ui/dist`, served on
//! `http://localhost:8080`), enter the server URL `http://localhost:3000`,
//! the username `admin` and the password. `PORT` changes the port,
//! `ADMIN_ORIGINS` (comma-separated) the origins allowed to load the
//! dashboard. Without `ADMIN_PASSWORD`, authentication is off (as Node's
//! `auth: false`): only on a trusted network.
//!
//! Clients (the official JavaScript one, say) connect to the main namespace:
//!
//! ```js
//! const socket = io("http://localhost:3000");
//! socket.emit("join", "lobby");
//! socket.emit("chat", "lobby", "hello");
//! ```

use ferrio::engine::{Cors, Origins};
use ferrio::{SocketIo, SocketIoConfig};
use ferrio_admin_ui::{Auth, Options, instrument};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // The dashboard is a web page of another origin that connects with
    // credentials: its origin must be allowed.
    let origins = std::env::var("ADMIN_ORIGINS")
        .unwrap_or_else(|_| "https://admin.socket.io,http://localhost:8080".into());
    let cors = Cors::default()
        .origins(Origins::List(
            origins.split(',').map(|o| o.trim().to_owned()).collect(),
        ))
        .credentials(true);
    let io = SocketIo::with_config(SocketIoConfig::default().with_engine(|e| e.cors(cors)));

    let auth = match std::env::var("ADMIN_PASSWORD") {
        // A real deployment keeps only the hash (`htpasswd -nbBC 10 "" pw`,
        // or bcryptjs's `hashSync(pw, 10)`), never the password.
        Ok(password) => Auth::basic("admin", bcrypt::hash(password, bcrypt::DEFAULT_COST)?),
        Err(_) => Auth::None,
    };
    // Before the application's handlers: the dashboard sees each socket
    // connect before what they do with it.
    instrument(&io, Options::new(auth))?;

    io.on_connection(|socket| async move {
        socket.on("join", |socket, event| async move {
            if let Ok(room) = event.arg::<String>(0) {
                socket.join(room);
            }
        });
        socket.on("chat", |socket, event| async move {
            let (Ok(room), Ok(text)) = (event.arg::<String>(0), event.arg::<String>(1)) else {
                return;
            };
            let _ = socket.to(room).emit("chat", &(socket.id().as_str(), text));
        });
    });

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("0.0.0.0:{port}")).await?;
    tracing::info!("listening on http://localhost:{port}; admin namespace /admin");
    io.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
