//! The adapters' options, with Node's names and defaults.

use std::time::Duration;

/// How the sharded adapter subscribes (Node's `subscriptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// Two shard channels per namespace (main and this node's own); every
    /// broadcast goes to the main channel.
    Static,
    /// Also one shard channel per room that is not a socket id, subscribed
    /// while this node has a member (the default, as in Node).
    #[default]
    Dynamic,
    /// Also one per socket-id room (one subscription per socket).
    DynamicPrivate,
}

/// Options of the classic Redis adapter, as `createAdapter(pub, sub, opts)`
/// takes them in `@socket.io/redis-adapter`, plus ferrio's own limits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisAdapterConfig {
    /// The prefix of every channel (Node's `key`). Default `"socket.io"`.
    pub key: String,
    /// How long `fetch_sockets`, `all_rooms`, `server_count` and
    /// `server_side_emit_with_ack` wait for the other servers (Node's
    /// `requestsTimeout`). Default 5 s.
    pub requests_timeout: Duration,
    /// Whether this node answers a request on the requester's own response
    /// channel rather than the shared one (Node's
    /// `publishOnSpecificResponseChannel`). Default `false`.
    pub publish_on_specific_response_channel: bool,
    /// How many bytes of publishes (channel names and payloads) may wait to
    /// be written, while Redis is away or slower than the broadcasts; past it
    /// the oldest are dropped, with a warning and a count
    /// ([`RedisAdapter::dropped_publishes`](crate::RedisAdapter::dropped_publishes)).
    /// Node queues without bound. Default 64 MiB.
    pub max_queued_bytes: usize,
    /// How many remote broadcasts with acks this node relays at once; more
    /// are answered with a client count of 0. Default 1 000.
    pub max_relayed_ack_broadcasts: usize,
    /// `None`: the classic adapter (`createAdapter`). `Some(mode)`: the
    /// sharded adapter (`createShardedAdapter`, Redis ≥ 7, SSUBSCRIBE), whose
    /// channel prefix is [`key`](Self::key). Default `None`.
    pub sharded: Option<SubscriptionMode>,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        Self {
            key: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            max_queued_bytes: 64 << 20,
            max_relayed_ack_broadcasts: 1_000,
            sharded: None,
        }
    }
}

impl RedisAdapterConfig {
    /// The channel prefix (Node's `key`). Default `"socket.io"`.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// How long cluster requests wait (Node's `requestsTimeout`). Default 5 s.
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Answer on the requester's own response channel (Node's
    /// `publishOnSpecificResponseChannel`). Default `false`.
    pub fn publish_on_specific_response_channel(mut self, yes: bool) -> Self {
        self.publish_on_specific_response_channel = yes;
        self
    }

    /// How many bytes of publishes may wait to be written. Default 64 MiB.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes;
        self
    }

    /// Use the sharded adapter with this subscription mode (Node's
    /// `createShardedAdapter`); the key is its `channelPrefix`. Default: the
    /// classic adapter.
    pub fn sharded(mut self, mode: SubscriptionMode) -> Self {
        self.sharded = Some(mode);
        self
    }

    /// How many remote broadcasts with acks are relayed at once. Default 1 000.
    pub fn max_relayed_ack_broadcasts(mut self, n: usize) -> Self {
        self.max_relayed_ack_broadcasts = n;
        self
    }
}
