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

/// Options of the streams adapter, with the names and defaults of
/// `createAdapter(redis, opts)` in `@socket.io/redis-streams-adapter` 0.3.
/// Its pub/sub channels take [`RedisAdapterConfig::key`] as their prefix
/// (Node's `channelPrefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamsOptions {
    /// The stream's name (Node's `streamName`). Default `"socket.io"`.
    pub stream_name: String,
    /// How many streams the namespaces are spread over (Node's
    /// `streamCount`): with more than one, a namespace's stream is
    /// `{stream_name}-{hashCode(nsp) % stream_count}`. Default 1.
    pub stream_count: u32,
    /// The stream's approximate length cap (`XADD MAXLEN ~`, Node's
    /// `maxLen`): an offset older than the trimmed part cannot be recovered.
    /// Default 10 000.
    pub max_len: u64,
    /// How many entries one `XREAD` returns at most (Node's `readCount`).
    /// Default 100.
    pub read_count: u64,
    /// How long one `XREAD` blocks (Node's `blockTimeInMs`). Default 5 s.
    pub block_time: std::time::Duration,
    /// The prefix of the session keys (Node's `sessionKeyPrefix`). Default
    /// `"sio:session:"`.
    pub session_key_prefix: String,
    /// Whether stream entries are always JSON, binary or not (Node's
    /// `onlyPlaintext`). Default `false`.
    pub only_plaintext: bool,
    /// Whether requests and responses use sharded pub/sub (SPUBLISH,
    /// SSUBSCRIBE; Node's `useShardedPubSub`). Default `false`.
    pub use_sharded_pub_sub: bool,
}

impl Default for StreamsOptions {
    fn default() -> Self {
        Self {
            stream_name: "socket.io".to_owned(),
            stream_count: 1,
            max_len: 10_000,
            read_count: 100,
            block_time: std::time::Duration::from_secs(5),
            session_key_prefix: "sio:session:".to_owned(),
            only_plaintext: false,
            use_sharded_pub_sub: false,
        }
    }
}

impl StreamsOptions {
    /// The stream's name. Default `"socket.io"`.
    pub fn stream_name(mut self, name: impl Into<String>) -> Self {
        self.stream_name = name.into();
        self
    }

    /// How many streams. Default 1.
    pub fn stream_count(mut self, n: u32) -> Self {
        self.stream_count = n.max(1);
        self
    }

    /// The stream's approximate length cap. Default 10 000.
    pub fn max_len(mut self, n: u64) -> Self {
        self.max_len = n;
        self
    }

    /// Entries per `XREAD`. Default 100.
    pub fn read_count(mut self, n: u64) -> Self {
        self.read_count = n.max(1);
        self
    }

    /// How long one `XREAD` blocks. Default 5 s.
    pub fn block_time(mut self, time: std::time::Duration) -> Self {
        self.block_time = time;
        self
    }

    /// The prefix of the session keys. Default `"sio:session:"`.
    pub fn session_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.session_key_prefix = prefix.into();
        self
    }

    /// Stream entries always JSON. Default `false`.
    pub fn only_plaintext(mut self, yes: bool) -> Self {
        self.only_plaintext = yes;
        self
    }

    /// Sharded pub/sub for requests and responses. Default `false`.
    pub fn use_sharded_pub_sub(mut self, yes: bool) -> Self {
        self.use_sharded_pub_sub = yes;
        self
    }
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
    /// `Some(options)`: the streams adapter
    /// (`@socket.io/redis-streams-adapter` 0.3, XADD/XREAD, cluster-wide
    /// connection state recovery), whose channel prefix is
    /// [`key`](Self::key). It wins over [`sharded`](Self::sharded). Default
    /// `None`.
    pub streams: Option<StreamsOptions>,
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
            streams: None,
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

    /// Use the streams adapter with these options (Node's
    /// `@socket.io/redis-streams-adapter` 0.3); the key is its
    /// `channelPrefix`. Default: the classic adapter.
    pub fn streams(mut self, options: StreamsOptions) -> Self {
        self.streams = Some(options);
        self
    }

    /// How many remote broadcasts with acks are relayed at once. Default 1 000.
    pub fn max_relayed_ack_broadcasts(mut self, n: usize) -> Self {
        self.max_relayed_ack_broadcasts = n;
        self
    }
}
