//! The queue of dashboard events: filled from ferrio's hooks (some run under
//! the adapter's lock, where nothing may be emitted), drained in order by one
//! task that broadcasts each to the admin namespace.

use std::sync::atomic::{AtomicU64, Ordering};

use ferrio::{Payload, WeakNamespace};
use serde_json::Value;
use tokio::sync::mpsc;

/// One event for the dashboards: its name and arguments.
#[derive(Debug)]
pub(crate) struct Queued {
    pub name: &'static str,
    pub args: Vec<Payload>,
}

/// The sending side, bounded: when the task falls behind, new events are
/// dropped and counted (telemetry, not the application's messages).
#[derive(Debug)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<Queued>,
    dropped: AtomicU64,
}

impl Outbox {
    /// The queue, of at most `capacity` events, and the task that drains it
    /// into `admin` until the namespace is gone.
    pub(crate) fn start(capacity: usize, admin: WeakNamespace) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(drain(rx, admin));
        Self {
            tx,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues an event of JSON arguments.
    pub(crate) fn push(&self, name: &'static str, args: Vec<Value>) {
        self.push_payloads(name, args.into_iter().map(Payload::Json).collect());
    }

    /// Queues an event whose arguments are payloads (binary kept).
    pub(crate) fn push_payloads(&self, name: &'static str, args: Vec<Payload>) {
        if self.tx.try_send(Queued { name, args }).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many events were dropped since the last call.
    pub(crate) fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

async fn drain(mut rx: mpsc::Receiver<Queued>, admin: WeakNamespace) {
    while let Some(event) = rx.recv().await {
        let Some(admin) = admin.upgrade() else { return };
        if let Err(error) = admin.broadcast().emit_args(event.name, event.args) {
            tracing::debug!(event = event.name, %error, "admin event not sent");
        }
    }
}
