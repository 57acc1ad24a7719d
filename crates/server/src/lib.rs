//! ferrio: a Socket.IO v5 server for Rust.
//!
//! It speaks the protocol of the reference Node.js server byte for byte, so the
//! official clients (JavaScript, Python, …) connect to it unchanged. The
//! programming model is Socket.IO's, in async Rust:
//!
//! ```text
//!  SocketIo ── namespaces ("/", "/chat", dynamic ones) ── sockets ── events, acks, rooms
//!      │                         │
//!      │                    Adapter: rooms and broadcast (in memory, or a cluster)
//!      ▼
//!  ferrio-engine: Engine.IO sessions over long-polling and WebSocket
//! ```
//!
//! # Example
//!
//! ```no_run
//! use ferrio::SocketIo;
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let io = SocketIo::new();
//!     io.on_connection(|socket| async move {
//!         socket.join("lobby");
//!         socket.on("chat message", |socket, event| async move {
//!             // Every argument is kept; read them typed with serde.
//!             let Ok(text) = event.arg::<String>(0) else { return };
//!             let _ = socket.to("lobby").emit("chat message", &(socket.id().as_str(), text));
//!             let _ = event.reply(&"delivered");
//!         });
//!     });
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     io.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! }
//! ```
//!
//! Handlers run in the order packets arrive, each up to its first `.await`
//! before the next packet is dispatched; emits of one handler reach the client
//! in order; a broadcast is encoded once; a client that cannot keep up gets an
//! error back (or, for a broadcast, is disconnected), never a silent drop.

#![warn(unreachable_pub, missing_debug_implementations)]

pub mod adapter;

mod ack;
mod client;
mod cluster_acks;
mod config;
mod engine_observer;
mod error;
mod event;
mod handshake;
mod io;
mod namespace;
mod operator;
mod outbound;
mod reason;
mod recovery;
mod remote;
mod rooms;
mod serve_client;
mod service;
mod socket;
mod v2;

pub use ack::{AckError, AckResponses};
pub use cluster_acks::{ClusterAckCollector, RemoteAck};
pub use config::SocketIoConfig;
pub use engine_observer::EngineObserver;
pub use error::{ConnectError, EmitError};
pub use event::{AckSender, Event};
#[cfg(feature = "tls")]
pub use ferrio_engine::TlsConfig;
pub use ferrio_engine::{self as engine, ServeConfig, Sid as SocketId, TransportKind};
pub use ferrio_proto::socketio::{ArgError, Args, ArgsError, to_args, to_payload};
pub use ferrio_proto::socketio::{Parser, Payload, RawJson};
pub use handshake::{Handshake, HandshakeError};
pub use io::SocketIo;
pub use namespace::{HandlersId, Namespace, WeakNamespace};
pub use operator::BroadcastOperator;
pub use reason::DisconnectReason;
pub use recovery::RecoveryConfig;
pub use remote::{RemoteSocket, SocketDetails, SocketDetailsError};
pub use rooms::{IntoRooms, Room};
pub use service::{SocketIoLayer, SocketIoService};
pub use socket::{ListenerId, Socket, SocketEmitter};

/// An error passed to the socket's error listeners ([`Socket::on_error`]):
/// one from per-event middleware, or the parser's message for a packet it
/// refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct MiddlewareError {
    /// What went wrong.
    pub message: String,
}

impl MiddlewareError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}
