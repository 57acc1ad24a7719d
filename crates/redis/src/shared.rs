//! What every namespace adapter of one factory shares: the Redis connections,
//! the outgoing queue, the options and the routing of incoming messages.

use std::sync::{Arc, RwLock, Weak};

use crate::RedisAdapterConfig;
use crate::classic::ClassicAdapter;
use crate::driver::{Driver, Incoming};
use crate::outbox::Outbox;

/// The shared state of a factory.
pub(crate) struct Shared {
    pub config: RedisAdapterConfig,
    pub driver: Arc<dyn Driver>,
    pub outbox: Outbox,
    pub router: Arc<Router>,
}

/// Hands each incoming message to the namespace adapters of this factory.
#[derive(Default)]
pub(crate) struct Router {
    adapters: RwLock<Vec<(String, Weak<ClassicAdapter>)>>,
}

impl Router {
    /// Routes messages to `adapter` from now on.
    pub(crate) fn add(&self, adapter: &Arc<ClassicAdapter>) {
        let mut adapters = self.adapters.write().unwrap_or_else(|e| e.into_inner());
        adapters.retain(|(_, a)| a.strong_count() > 0);
        adapters.push((adapter.uid().to_owned(), Arc::downgrade(adapter)));
    }

    /// Stops routing to the adapter `uid`.
    pub(crate) fn remove(&self, uid: &str) {
        let mut adapters = self.adapters.write().unwrap_or_else(|e| e.into_inner());
        adapters.retain(|(u, a)| u != uid && a.strong_count() > 0);
    }

    /// One message from Redis.
    pub(crate) fn dispatch(&self, incoming: Incoming) {
        let adapters: Vec<Arc<ClassicAdapter>> = self
            .adapters
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(_, a)| a.upgrade())
            .collect();
        for adapter in adapters {
            adapter.on_message(&incoming.channel, &incoming.payload);
        }
    }
}
