//! The benchmark contract on socketioxide, default options, served by axum as
//! socketioxide's documentation shows. Listens on `127.0.0.1:$PORT`, path
//! `/socket.io/`:
//!
//! - `echo` → acknowledge with the same data when an ack is asked, else emit
//!   `echo` back;
//! - `broadcast` → emit `broadcast` with the data to every socket of `/`,
//!   the sender included;
//! - `join` → join the room named by the first argument;
//! - `room` with `[room, payload]` → emit `room` with the payload to that room.
//!
//! `axum::serve` leaves TCP_NODELAY off. Nagle's algorithm then holds a small
//! write while an earlier one is unacknowledged, and sends it when the
//! client's next segment brings the acknowledgement: the answer is late, and
//! its transmission (with the client's receive processing, which loopback
//! charges to whoever transmits) runs in the load generator's CPU time, not
//! the server's. With `TCP_NODELAY=1` in the environment this server sets
//! TCP_NODELAY on every accepted connection (axum 0.8's `ListenerExt::tap_io`;
//! its `serve` has no such option), as ferrio and Node do: bench/run.py runs
//! that as `socketioxide-nodelay`. Without it, the setup is the documented one.
//!
//! `PARSER=msgpack` speaks `socket.io-msgpack-parser` (socketioxide's
//! `ParserConfig::msgpack()`, the `msgpack` feature). `BINARY=1` makes the
//! echo handler take `(payload, binary attachment)` as `(Value, Bytes)` and
//! send both back, as socketioxide's documentation recommends for binary at
//! the top level: with `Data<serde_json::Value>` the attachment becomes an
//! array of numbers, and the ack goes back as JSON text without it (checked
//! with `ferrio bench echo --binary 65536`: every delivery had lost its
//! attachment). socketioxide has no permessage-deflate (engineioxide's
//! WebSocket is tungstenite's, without the extension), so it sits out that row.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::serve::ListenerExt as _;
use bytes::Bytes;
use serde_json::Value;
use socketioxide::{ParserConfig, SocketIo};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::{FromMessageParts, Value as RawValue};
use socketioxide::socket::Socket;

/// Whether the client asked for an acknowledgement (socketioxide's
/// `AckSender` silently does nothing when it did not).
struct AckAsked(bool);

impl<A: Adapter> FromMessageParts<A> for AckAsked {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut RawValue,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Self(ack_id.is_some()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (layer, io) = match std::env::var("PARSER").as_deref() {
        Ok("msgpack") => SocketIo::builder()
            .with_parser(ParserConfig::msgpack())
            .build_layer(),
        Ok("default") | Err(_) => SocketIo::new_layer(),
        Ok(other) => return Err(format!("PARSER={other}: expected default or msgpack").into()),
    };
    let binary = std::env::var("BINARY").is_ok_and(|v| v == "1");
    let handle = io.clone();
    io.ns("/", async move |s: SocketRef| {
        if binary {
            s.on(
                "echo",
                async |s: SocketRef,
                       AckAsked(asked),
                       ack: AckSender,
                       Data::<(Value, Bytes)>(data)| {
                    if asked {
                        let _ = ack.send(&data);
                    } else {
                        let _ = s.emit("echo", &data);
                    }
                },
            );
        } else {
            s.on(
                "echo",
                async |s: SocketRef, AckAsked(asked), ack: AckSender, Data::<Value>(data)| {
                    if asked {
                        let _ = ack.send(&data);
                    } else {
                        let _ = s.emit("echo", &data);
                    }
                },
            );
        }
        let io = handle.clone();
        s.on("broadcast", async move |Data::<Value>(data)| {
            let _ = io.emit("broadcast", &data).await;
        });
        s.on("join", async |s: SocketRef, Data::<String>(room)| {
            s.join(room);
        });
        let io = handle.clone();
        s.on(
            "room",
            async move |Data::<(String, Value)>((room, payload))| {
                let _ = io.to(room).emit("room", &payload).await;
            },
        );
    });

    let app = Router::new().layer(layer);
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "socketioxide bench server on http://{}/socket.io/",
        listener.local_addr()?
    );
    if std::env::var("TCP_NODELAY").is_ok_and(|v| v == "1") {
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                eprintln!("TCP_NODELAY: {e}");
            }
        });
        axum::serve(listener, app).await?;
    } else {
        axum::serve(listener, app).await?;
    }
    Ok(())
}
