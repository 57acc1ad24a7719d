//! The streams adapter (`@socket.io/redis-streams-adapter` 0.3.x; 0.2.x is
//! not compatible), with connection state recovery across the cluster.
//!
//! * Broadcasts, `socketsJoin`/`socketsLeave` and `disconnectSockets` are
//!   appended to a Redis stream (`XADD … MAXLEN ~ 10000`), and every node
//!   reads the stream (`XREAD BLOCK`). The entry id is the offset that
//!   recovery stamps on an event, on the node that sent it and on the nodes
//!   that read it.
//! * Requests that gather answers (broadcast with acks, `fetchSockets`,
//!   `serverSideEmit`) and their responses travel by pub/sub, as msgpack
//!   ClusterAdapter messages; the server count is `PUBSUB NUMSUB`.
//! * A socket that loses its connection has its session stored under
//!   `sio:session:<pid>` for the longest disconnection; the node its client
//!   comes back to (any node, Node or ferrio) takes it and replays from the
//!   stream what the client missed since its offset.

mod adapter;
mod entry;
mod name;
mod reader;
mod session;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

pub(crate) use adapter::StreamsAdapter;

use crate::StreamsOptions;
use crate::driver::Driver;
use crate::shared::Router;
use writer::Writer;

/// What the streams adapters of one factory share: the ordered `XADD`
/// queue and one reader per stream.
pub(crate) struct StreamsShared {
    pub(crate) options: StreamsOptions,
    pub(crate) writer: Writer,
    /// Whether each stream's reader has started.
    readers: Mutex<HashMap<String, watch::Receiver<bool>>>,
}

impl StreamsShared {
    pub(crate) fn new(options: StreamsOptions, driver: Arc<dyn Driver>, limit: usize) -> Self {
        Self {
            options,
            writer: Writer::new(driver, limit),
            readers: Mutex::default(),
        }
    }

    /// The reader of `stream`, started on first use.
    pub(crate) fn reader(
        &self,
        stream: &str,
        driver: &Arc<dyn Driver>,
        router: &Arc<Router>,
    ) -> watch::Receiver<bool> {
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        readers
            .entry(stream.to_owned())
            .or_insert_with(|| {
                reader::spawn(
                    stream.to_owned(),
                    driver.clone(),
                    Arc::downgrade(router),
                    self.options.read_count,
                    self.options.block_time,
                )
            })
            .clone()
    }
}
