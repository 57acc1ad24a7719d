//! `ferrio serve --redis`: chat processes on different ports that share rooms
//! and messages through Redis (the `ferrio-redis` adapters, wire-compatible
//! with Node's `@socket.io/redis-adapter`).

use ferrio::{SocketIo, SocketIoConfig};
use ferrio_redis::{RedisAdapter, RedisAdapterConfig, StreamsOptions, SubscriptionMode};

/// The cluster options of `ferrio serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ClusterArgs {
    /// Join a cluster through Redis at this URL (`redis://HOST:PORT[/DB]`):
    /// every `ferrio serve` (or Node server with `@socket.io/redis-adapter`)
    /// on the same Redis and key shares rooms and messages. Default: none,
    /// one process.
    #[arg(long, env = "FERRIO_REDIS")]
    redis: Option<String>,
    /// Which Redis adapter: `classic` (Node's `createAdapter`, PUBLISH),
    /// `sharded` (Node's `createShardedAdapter`, Redis ≥ 7, SPUBLISH, dynamic
    /// subscriptions) or `streams` (`@socket.io/redis-streams-adapter`: a
    /// page recovers its session on any server of the cluster). Default
    /// `classic`.
    #[arg(
        long,
        env = "FERRIO_ADAPTER",
        value_enum,
        default_value_t = AdapterKind::Classic,
        requires = "redis"
    )]
    adapter: AdapterKind,
    /// The prefix of the Redis channels (Node's `key`, or `channelPrefix` of
    /// the sharded adapter). Default `socket.io`.
    #[arg(
        long = "redis-key",
        env = "FERRIO_REDIS_KEY",
        default_value = "socket.io",
        requires = "redis"
    )]
    redis_key: String,
}

/// The Redis adapter `--adapter` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AdapterKind {
    /// `createAdapter`: PUBLISH/PSUBSCRIBE.
    Classic,
    /// `createShardedAdapter` (subscription mode `dynamic`): SPUBLISH/SSUBSCRIBE.
    Sharded,
    /// `@socket.io/redis-streams-adapter` 0.3: XADD/XREAD, sessions in Redis.
    Streams,
}

impl ClusterArgs {
    /// The server: with the memory adapter when `--redis` is not given, else
    /// connected to Redis and subscribed (counted by the other servers)
    /// before it returns.
    pub(crate) async fn server(&self, config: SocketIoConfig) -> std::io::Result<SocketIo> {
        let Some(url) = &self.redis else {
            return Ok(SocketIo::with_config(config));
        };
        let mut options = RedisAdapterConfig::default().key(self.redis_key.as_str());
        match self.adapter {
            AdapterKind::Classic => {}
            AdapterKind::Sharded => options = options.sharded(SubscriptionMode::Dynamic),
            AdapterKind::Streams => options = options.streams(StreamsOptions::default()),
        }
        let adapter = RedisAdapter::connect(url, options)
            .await
            .map_err(|e| std::io::Error::other(format!("redis at {url}: {e}")))?;
        let io = SocketIo::with_adapter(config, adapter);
        io.sockets()
            .ready()
            .await
            .map_err(|e| std::io::Error::other(format!("redis at {url}: {e}")))?;
        tracing::info!(%url, adapter = ?self.adapter, key = %self.redis_key, "joined the cluster");
        Ok(io)
    }
}
