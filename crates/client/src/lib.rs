//! ferrio-client: an async Socket.IO v5 client for Rust.
//!
//! It speaks the protocol of socket.io-client 4.8 (Engine.IO v4 underneath)
//! and connects to the official Node.js server as well as to ferrio's own.
//!
//! ```text
//!  Socket "/"   Socket "/admin"        emit, emit_with_ack, on(event), acks
//!       \           /
//!        Manager                        one connection, reconnection with backoff,
//!           │                           CONNECT per namespace, packet dispatch
//!     Engine.IO driver                  handshake, heartbeat, upgrade
//!     polling ──upgrade──▶ WebSocket    hyper (HTTP/1.1), tokio-tungstenite
//! ```
//!
//! * A [`Manager`] owns one Engine.IO connection; the [`Socket`]s of several
//!   namespaces share it. [`io`] finds or makes the manager of a server (one
//!   per server, unless `force_new`), as `io()` does in JavaScript.
//! * Sessions open over HTTP long-polling and upgrade to WebSocket (or use one
//!   transport only, see [`ManagerConfig::transports`]). The client answers
//!   the server's pings and takes the server as gone when no ping comes within
//!   `pingInterval + pingTimeout`.
//! * When the connection drops, the manager reconnects with exponential
//!   backoff and every active socket joins its namespace again, its `auth`
//!   recomputed. Emits made while disconnected are buffered and sent on
//!   reconnection (unless volatile).
//! * Arguments are serde values: a tuple is several arguments, `Bytes` is
//!   binary; handlers read them typed. The client answers the server's
//!   acknowledgements through [`Event::reply`].
//!
//! * `https` and `wss` URLs go over TLS (rustls, with the *ring* provider),
//!   trusting the platform's root certificates and any given in
//!   [`ManagerConfig::tls_root_certificates`] (or a whole
//!   [`rustls::ClientConfig`] of one's own: [`ManagerConfig::tls_config`]).
//! * [`SocketBuilder::retries`] gives at-least-once delivery: emits are
//!   queued, sent one at a time, and sent again until acknowledged.
//!
//! Options and their defaults are socket.io-client's ([`ManagerConfig`]).
//! Not supported yet: the msgpack parser.
//!
//! # Lifecycle
//!
//! A socket reports `connect`, `connect_error` (the server's message and
//! data, or why the connection failed) and `disconnect` (with a
//! [`DisconnectReason`]) through [`Socket::on_connect`],
//! [`Socket::on_connect_error`] and [`Socket::on_disconnect`]. As in
//! JavaScript, reconnection is the manager's business:
//! [`Manager::on_reconnect_attempt`], [`Manager::on_reconnect`],
//! [`Manager::on_reconnect_error`] and [`Manager::on_reconnect_failed`]
//! (reach it with [`Socket::manager`]). [`Socket::connected`] says whether
//! the socket is in its namespace now, [`Socket::active`] whether it will
//! (re)join by itself.
//!
//! Dropping the handles does not disconnect: call [`Socket::disconnect`] or
//! [`Manager::close`].
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use serde_json::json;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let socket = ferrio_client::io("http://localhost:3000")?
//!         .auth(json!({ "token": "abc" }))
//!         .on_connect(|socket| async move {
//!             println!("connected as {:?}", socket.id());
//!         })
//!         .on("chat message", |_socket, event| async move {
//!             let text: String = event.arg(0).unwrap_or_default();
//!             println!("chat: {text}");
//!             // If the server asked for an acknowledgement, answer it.
//!             let _ = event.reply(&"thanks");
//!         })
//!         .build();
//!
//!     // Several arguments: a tuple. Buffered until the socket is connected.
//!     socket.emit("chat message", &("hello", 1))?;
//!
//!     let answer = socket
//!         .timeout(Duration::from_secs(5))
//!         .emit_with_ack("ping", &())
//!         .await?;
//!     println!("pong: {:?}", answer.to_value(0));
//!
//!     socket.disconnect();
//!     Ok(())
//! }
//! ```

#![warn(unreachable_pub, missing_debug_implementations)]

mod backoff;
mod config;
mod engine;
mod error;
mod event;
mod manager;
mod payload;
mod reason;
mod socket;
mod tls;
mod url;

pub use config::{ManagerConfig, TransportKind};
pub use error::{AckError, ConnectError, EmitError, Error};
pub use event::{AckResponse, AckSender, Event};
pub use ferrio_proto::socketio::{ArgError, Args, ArgsError, DecoderConfig, to_args, to_payload};
pub use ferrio_proto::socketio::{Parser, Payload, RawJson};
/// permessage-deflate options ([`ManagerConfig::per_message_deflate`]).
pub use ferrio_proto::websocket::deflate::DeflateConfig;
pub use manager::Manager;
pub use reason::DisconnectReason;
pub use socket::{Emitter, ListenerId, Socket, SocketBuilder};
pub use tls::Certificate;

/// The rustls crate this client uses, for
/// [`ManagerConfig::tls_config`].
pub use rustls;

/// A builder for a socket on the namespace in the URL's path, sharing the
/// connection of any socket made by `io` for the same server (see
/// [`SocketBuilder::force_new`]).
///
/// `io("http://localhost:3000/admin")` is the `/admin` namespace; the URL's
/// query goes with every request of the connection.
pub fn io(url: &str) -> Result<SocketBuilder, Error> {
    SocketBuilder::new(url)
}
