//! The smallest useful Socket.IO server: every event a client sends comes
//! straight back to it, and every acknowledgement is answered with the
//! arguments it came with.
//!
//! ```text
//! cargo run -p ferrio --example echo          # then connect to http://127.0.0.1:3000
//! PORT=4000 cargo run -p ferrio --example echo
//! ```
//!
//! With the official JavaScript client:
//!
//! ```js
//! const socket = io("http://127.0.0.1:3000");
//! socket.on("hello", (...args) => console.log("echoed:", args));
//! socket.emit("hello", "world", { n: 1 });              // comes back as the event "hello"
//! const answer = await socket.emitWithAck("sum", 1, 2);  // the ack is answered with 1 (the first argument)
//! socket.emit("sum", 1, 2, (...args) => console.log(args)); // [1, 2]
//! ```

use std::sync::Arc;

use ferrio::{Socket, SocketIo};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // `RUST_LOG=debug` shows what the server does.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    // A server with the default options: path `/socket.io/`, the main
    // namespace `/`, rooms and broadcast kept in memory.
    let io = SocketIo::new();

    // Runs for every client that connects to the main namespace (`io.on("connection")`
    // in Node). Register listeners before the first `.await` so they are in
    // place for the client's first event.
    io.on_connection(|socket: Arc<Socket>| async move {
        println!("{} connected over {:?}", socket.id(), socket.transport());

        // `on_any` sees every incoming event, whatever its name (`socket.onAny`
        // in Node). To handle one event by name, use `socket.on("name", …)`.
        socket.on_any(|socket, event| {
            println!("{} sent {:?} {:?}", socket.id(), event.name(), event.args());
            // Arguments are passed on as they came, binary data included.
            let args = event.args().clone().into_vec();
            match event.ack() {
                // The client gave a callback (or used `emitWithAck`): answer it.
                Some(ack) => {
                    let _ = ack.send_args(args);
                }
                // Otherwise send the same event back.
                None => {
                    let _ = socket.emit_args(event.name(), args);
                }
            }
        });

        socket.on_disconnect(|socket, reason| async move {
            println!("{} disconnected: {reason}", socket.id());
        });
    });

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "echo server on http://{}/socket.io/",
        listener.local_addr()?
    );

    // Serves until Ctrl-C, then closes every connection gracefully.
    io.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
