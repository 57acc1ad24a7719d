//! What every namespace adapter of one factory shares: the Redis connections,
//! the outgoing queue, the options and the routing of incoming messages.

use std::sync::{Arc, RwLock, Weak};

use crate::RedisAdapterConfig;
use bytes::Bytes;

use crate::classic::ClassicAdapter;
use crate::driver::{Driver, Incoming, StreamEntry};
use crate::outbox::Outbox;
use crate::sharded::ShardedAdapter;
use crate::streams::{StreamsAdapter, StreamsShared};

/// The shared state of a factory.
pub(crate) struct Shared {
    pub config: RedisAdapterConfig,
    pub driver: Arc<dyn Driver>,
    pub outbox: Outbox,
    pub router: Arc<Router>,
    /// The streams adapter's queue and readers, when it is the one in use.
    pub streams: Option<Arc<StreamsShared>>,
}

/// A namespace adapter that takes messages from Redis.
pub(crate) trait Routed: Send + Sync + 'static {
    /// Its uid.
    fn uid(&self) -> &str;
    /// A message on some channel (it ignores those not its own).
    fn on_message(&self, channel: &str, payload: &Bytes);
    /// An entry of a stream (only the streams adapter reads them).
    fn on_entry(&self, _entry: &StreamEntry) {}
}

impl Routed for ClassicAdapter {
    fn uid(&self) -> &str {
        ClassicAdapter::uid(self)
    }

    fn on_message(&self, channel: &str, payload: &Bytes) {
        ClassicAdapter::on_message(self, channel, payload);
    }
}

impl Routed for ShardedAdapter {
    fn uid(&self) -> &str {
        ShardedAdapter::uid(self)
    }

    fn on_message(&self, channel: &str, payload: &Bytes) {
        ShardedAdapter::on_message(self, channel, payload);
    }
}

impl Routed for StreamsAdapter {
    fn uid(&self) -> &str {
        StreamsAdapter::uid(self)
    }

    fn on_message(&self, channel: &str, payload: &Bytes) {
        StreamsAdapter::on_message(self, channel, payload);
    }

    fn on_entry(&self, entry: &StreamEntry) {
        StreamsAdapter::on_entry(self, entry);
    }
}

/// Hands each incoming message to the namespace adapters of this factory.
#[derive(Default)]
pub(crate) struct Router {
    adapters: RwLock<Vec<(String, Weak<dyn Routed>)>>,
}

impl Router {
    /// Routes messages to `adapter` from now on.
    pub(crate) fn add(&self, adapter: Arc<dyn Routed>) {
        let mut adapters = self.adapters.write().unwrap_or_else(|e| e.into_inner());
        adapters.retain(|(_, a)| a.strong_count() > 0);
        adapters.push((adapter.uid().to_owned(), Arc::downgrade(&adapter)));
    }

    /// Stops routing to the adapter `uid`.
    pub(crate) fn remove(&self, uid: &str) {
        let mut adapters = self.adapters.write().unwrap_or_else(|e| e.into_inner());
        adapters.retain(|(u, a)| u != uid && a.strong_count() > 0);
    }

    fn adapters(&self) -> Vec<Arc<dyn Routed>> {
        self.adapters
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(_, a)| a.upgrade())
            .collect()
    }

    /// One message from Redis.
    pub(crate) fn dispatch(&self, incoming: Incoming) {
        for adapter in self.adapters() {
            adapter.on_message(&incoming.channel, &incoming.payload);
        }
    }

    /// One entry of a stream.
    pub(crate) fn dispatch_entry(&self, entry: &StreamEntry) {
        for adapter in self.adapters() {
            adapter.on_entry(entry);
        }
    }
}
