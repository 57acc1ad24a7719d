//! The benchmark contract (see `main.rs`) on the main namespace. Shared with
//! `ferrio bench`'s smoke test, which includes this file.

use std::sync::Arc;

use ferrio::{Socket, SocketIo};

/// Installs the benchmark contract on the main namespace of `io`.
pub fn install(io: &SocketIo) {
    io.on_connection(|socket: Arc<Socket>| async move {
        socket.on("echo", |socket, event| async move {
            // The event is ours: its arguments go back out without a copy.
            match event.ack().cloned() {
                Some(ack) => {
                    let _ = ack.send_args(event.into_args());
                }
                None => {
                    let _ = socket.emit_args("echo", event.into_args());
                }
            }
        });
        socket.on("broadcast", |socket, event| async move {
            let _ = socket
                .namespace()
                .broadcast()
                .emit_args("broadcast", event.args().clone());
        });
        socket.on("join", |socket, event| async move {
            if let Ok(room) = event.arg::<String>(0) {
                socket.join(room);
            }
        });
        socket.on("room", |socket, event| async move {
            if let (Ok(room), Some(payload)) = (event.arg::<String>(0), event.args().payload(1)) {
                let _ = socket
                    .namespace()
                    .to(room)
                    .emit_args("room", vec![payload.clone()]);
            }
        });
    });
}
