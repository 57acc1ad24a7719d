//! The Engine.IO v4 server runtime of ferrio.
//!
//! Engine.IO is the layer under Socket.IO: it opens a *session* over HTTP
//! long-polling or WebSocket, upgrades it to WebSocket when it can, keeps it alive
//! with server pings, and carries text and binary messages both ways. This crate
//! moves the bytes and the time; every byte format lives in [`ferrio_proto`].
//!
//! ```text
//!  Connection (the layer above)  on_message / on_close              Session::send
//!        ▲                                                                │
//!  Engine: session table, handshake, heartbeat, upgrade                    ▼
//!        ▲                 written at once when the WebSocket is idle, else queued
//!        ▲                                          in one bounded outbox per session;
//!        ▲          while a read of several messages is handled, corked: each
//!        ▲          socket gets what they sent in one vectored write at its end
//!  transports: long-polling (GET/POST)  ·  WebSocket (one task per connection)
//!        ▲
//!  hyper 1 (a tower Service, or the standalone `serve`)
//! ```
//!
//! # Example: an echo server
//!
//! ```no_run
//! use std::sync::Arc;
//! use ferrio_engine::{CloseReason, Connection, Engine, EngineConfig, Handler, Message, Session};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     // Each session gets a connection object, which the engine calls directly.
//!     fn on_open(&self, session: &Arc<Session>) -> Arc<dyn Connection> {
//!         Arc::new(EchoConnection(session.clone()))
//!     }
//! }
//!
//! struct EchoConnection(Arc<Session>);
//!
//! impl Connection for EchoConnection {
//!     fn on_message(self: Arc<Self>, message: Message) {
//!         // A full outbox is reported, never silently ignored.
//!         if self.0.send(message.into()).is_err() {
//!             self.0.close();
//!         }
//!     }
//!     fn on_close(&self, _reason: CloseReason) {}
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let engine = Engine::new(EngineConfig::default(), Echo);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! ferrio_engine::serve(listener, engine, std::future::pending()).await
//! # }
//! ```

#![warn(unreachable_pub, missing_debug_implementations)]

mod config;
mod conn;
mod engine;
mod error;
mod handler;
mod hooks;
mod http;
mod limits;
mod serve;
mod session;
mod sid;
mod text;
#[cfg(feature = "tls")]
mod tls;
mod transport;

pub use config::{Cookie, Cors, DeflateConfig, EngineConfig, Origins, TransportKind};
pub use engine::Engine;
pub use error::SendError;
pub use handler::{CloseReason, Connection, Handler, Message};
pub use hooks::{
    CheckFuture, ConnectionError, ConnectionErrorHook, HeadersHook, IdGenerator, RequestCheck,
    SentHook,
};
pub use serve::{ServeConfig, serve, serve_with, serve_with_config};
pub use session::{ConnectInfo, Deflated, OutPacket, Protocol, Secure, Session};
pub use sid::Sid;
pub use text::Text;
#[cfg(feature = "tls")]
pub use tls::TlsConfig;
/// The rustls crate [`TlsConfig::from_rustls`] takes a configuration of.
#[cfg(feature = "tls")]
pub use tokio_rustls::rustls;

/// A raw WebSocket echo on the engine's WebSocket stack; for the Autobahn
/// example (`examples/ws_echo.rs`), not part of the API.
#[doc(hidden)]
pub use transport::websocket::echo as websocket_echo;
/// The echo with permessage-deflate, for the Autobahn example; not part of
/// the API.
#[doc(hidden)]
pub use transport::websocket::{
    echo_deflate as websocket_echo_deflate, negotiate as websocket_negotiate,
};
