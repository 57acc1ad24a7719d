//! Redis adapters for ferrio, wire-compatible with Node's
//! `@socket.io/redis-adapter`: ferrio servers and Node servers on one Redis
//! form one cluster, with the same rooms, broadcasts, `fetchSockets`,
//! `serverSideEmit` and `disconnectSockets`.
//!
//! ```text
//!  node A (Node, socket.io 4.8)           node B (ferrio)
//!  createAdapter(pub, sub)                 RedisAdapter::connect(url, config)
//!        │  PUBLISH socket.io#/#…             │  (one encode per broadcast,
//!        │  PUBLISH socket.io-request#/#      │   queued, written by one task)
//!        └────────────► Redis ◄───────────────┘
//!          PSUBSCRIBE socket.io#/#*   SUBSCRIBE socket.io-request#/# …
//! ```
//!
//! Two of Node's adapters are spoken. The classic one (`createAdapter`, the
//! default):
//! broadcasts as notepack msgpack `[uid, packet, opts]` on `{key}#{nsp}#` or
//! `{key}#{nsp}#{room}#`, requests and responses as JSON (msgpack when binary)
//! on `{key}-request#{nsp}#` and `{key}-response#{nsp}#`; the server count is
//! `PUBSUB NUMSUB` of the request channel. The sharded one
//! (`createShardedAdapter`, Redis ≥ 7, [`RedisAdapterConfig::sharded`] with a
//! [`SubscriptionMode`]): the ClusterAdapter messages `{type, data, uid, nsp}`
//! with SPUBLISH/SSUBSCRIBE, a shard channel per room in the dynamic modes,
//! and `PUBSUB SHARDNUMSUB` as the server count. Options take Node's names
//! and defaults ([`RedisAdapterConfig`]). [`Emitter`] is
//! `@socket.io/redis-emitter` (classic protocol only, as in Node).
//!
//! ```no_run
//! use ferrio::{SocketIo, SocketIoConfig};
//! use ferrio_redis::{RedisAdapter, RedisAdapterConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let redis = RedisAdapter::connect("redis://127.0.0.1:6379", RedisAdapterConfig::default()).await?;
//! let io = SocketIo::with_adapter(SocketIoConfig::default(), redis);
//! io.sockets().ready().await?; // subscribed: counted by the other servers from now on
//! io.emit("hello", &"every client of every server")?;
//! # Ok(()) }
//! ```
//!
//! Behaviour worth knowing:
//!
//! * A broadcast is delivered to this node's sockets synchronously, and its
//!   publish is queued; while Redis is away, local delivery goes on and
//!   publishes wait in a bounded queue
//!   ([`max_queued_bytes`](RedisAdapterConfig::max_queued_bytes)).
//! * `fetch_sockets`, `all_rooms`, `server_count` and
//!   `server_side_emit_with_ack` fail (or time out) within the requests
//!   timeout; they never hang.
//! * `sockets_join`/`sockets_leave`/`disconnect_sockets` apply to this node's
//!   sockets at call time (Node's classic adapter waits for its own request to
//!   come back from Redis, so with Redis down it does nothing, even locally).
//! * Every message from Redis is checked: a malformed one is logged and
//!   skipped. Whoever can publish to Redis can still send events to clients:
//!   protect Redis (ACLs, network).

#![warn(unreachable_pub, missing_debug_implementations)]

mod classic;
mod cluster;
mod config;
mod driver;
mod emitter;
mod error;
mod factory;
mod outbox;
mod resubscribe;
mod sharded;
mod shared;
mod streams;
mod view;

pub use config::{RedisAdapterConfig, StreamsOptions, SubscriptionMode};
pub use emitter::{Emitter, EmitterError};
pub use error::RedisError;
pub use factory::RedisAdapter;
