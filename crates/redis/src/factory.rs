//! [`RedisAdapter`]: the factory a [`SocketIo`](ferrio::SocketIo) is built with.

use std::sync::Arc;

use ferrio::adapter::{Adapter, AdapterContext, AdapterFactory};

use crate::classic::ClassicAdapter;
use crate::driver::{Driver, FredDriver, Sink};
use crate::outbox::Outbox;
use crate::sharded::ShardedAdapter;
use crate::shared::{Router, Shared};
use crate::streams::{StreamsAdapter, StreamsShared};
use crate::{RedisAdapterConfig, RedisError};

/// The classic Redis adapter, wire-compatible with Node's
/// `createAdapter(pubClient, subClient, opts)` from `@socket.io/redis-adapter`
/// 8.x: ferrio and Node servers on one Redis form one cluster.
///
/// One value serves every namespace of a server (each namespace gets its own
/// adapter and uid, as in Node); clones share the Redis connections.
#[derive(Clone)]
pub struct RedisAdapter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl RedisAdapter {
    /// Connects to Redis at `url` (`redis://host:port[/db]`): one connection
    /// to publish and one to subscribe, each reconnecting on its own.
    pub async fn connect(url: &str, config: RedisAdapterConfig) -> Result<Self, RedisError> {
        let router = Arc::new(Router::default());
        let routed = router.clone();
        let sink: Sink = Arc::new(move |incoming| routed.dispatch(incoming));
        let driver: Arc<dyn Driver> = Arc::new(FredDriver::connect(url, sink).await?);
        let outbox = Outbox::new(driver.clone(), config.max_queued_bytes);
        let streams = config.streams.clone().map(|options| {
            Arc::new(StreamsShared::new(
                options,
                driver.clone(),
                config.max_queued_bytes,
            ))
        });
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                driver,
                outbox,
                router,
                streams,
            }),
        })
    }

    /// The options it runs with.
    pub fn config(&self) -> &RedisAdapterConfig {
        &self.shared.config
    }

    /// Publishes dropped so far because Redis was away too long (the queue
    /// was full).
    pub fn dropped_publishes(&self) -> u64 {
        self.shared.outbox.dropped()
            + self
                .shared
                .streams
                .as_ref()
                .map_or(0, |s| s.writer.dropped())
    }

    /// Publishes waiting to be written to Redis (stream appends included).
    pub fn queued_publishes(&self) -> usize {
        self.shared.outbox.len() + self.shared.streams.as_ref().map_or(0, |s| s.writer.len())
    }

    /// Incoming messages lost because this process fell behind reading them.
    pub fn lagged_messages(&self) -> u64 {
        self.shared.driver.lagged()
    }
}

impl AdapterFactory for RedisAdapter {
    fn create(&self, ctx: AdapterContext) -> Arc<dyn Adapter> {
        if let Some(streams) = &self.shared.streams {
            let adapter = Arc::new_cyclic(|me| {
                StreamsAdapter::new(ctx, self.shared.clone(), streams.clone(), me.clone())
            });
            self.shared.router.add(adapter.clone());
            return adapter;
        }
        match self.shared.config.sharded {
            None => {
                let adapter = Arc::new(ClassicAdapter::new(ctx, self.shared.clone()));
                self.shared.router.add(adapter.clone());
                adapter
            }
            Some(mode) => {
                let adapter = Arc::new(ShardedAdapter::new(ctx, self.shared.clone(), mode));
                self.shared.router.add(adapter.clone());
                adapter
            }
        }
    }
}
