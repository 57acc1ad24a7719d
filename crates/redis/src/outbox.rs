//! The publishes of one factory, in order, on a bounded queue drained by one
//! task: a broadcast costs its caller a push, never a wait on Redis.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;

use crate::driver::{Driver, Outgoing};

/// How many messages one pipelined write carries at most.
const BATCH: usize = 512;
/// The pause before a failed write is tried again (Redis is away).
const RETRY: Duration = Duration::from_millis(100);

struct Shared {
    /// The messages, and their size in bytes (channel and payload).
    queue: Mutex<(VecDeque<Outgoing>, usize)>,
    wake: Notify,
    /// The most bytes the queue holds.
    limit: usize,
    dropped: AtomicU64,
    closed: std::sync::atomic::AtomicBool,
}

/// The outgoing queue. Dropping it stops the task after what is queued.
pub(crate) struct Outbox {
    shared: Arc<Shared>,
}

impl Outbox {
    /// A queue of at most `limit` bytes, written to `driver` by a task.
    pub(crate) fn new(driver: Arc<dyn Driver>, limit: usize) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new((VecDeque::new(), 0)),
            wake: Notify::new(),
            limit: limit.max(1),
            dropped: AtomicU64::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        tokio::spawn(drain(shared.clone(), driver));
        Self { shared }
    }

    /// Queues a publish. Past the limit in bytes (Redis away for long, or
    /// publishing much faster than Redis takes it), the oldest queued
    /// messages are dropped, with a warning.
    pub(crate) fn push(&self, channel: String, payload: Bytes) {
        self.push_message(Outgoing {
            channel,
            payload,
            sharded: false,
        });
    }

    /// Queues an `SPUBLISH` (sharded pub/sub).
    pub(crate) fn push_sharded(&self, channel: String, payload: Bytes) {
        self.push_message(Outgoing {
            channel,
            payload,
            sharded: true,
        });
    }

    fn push_message(&self, message: Outgoing) {
        let size = message.channel.len() + message.payload.len();
        let dropped = {
            let mut guard = lock(&self.shared.queue);
            let (queue, bytes) = &mut *guard;
            let mut dropped = 0u64;
            while *bytes + size > self.shared.limit {
                let Some(old) = queue.pop_front() else { break };
                *bytes -= old.channel.len() + old.payload.len();
                dropped += 1;
            }
            queue.push_back(message);
            *bytes += size;
            dropped
        };
        if dropped > 0 {
            let before = self.shared.dropped.fetch_add(dropped, Ordering::Relaxed);
            // Logged at 1, 2, 4, 8, … drops, not at each.
            if (before + dropped).ilog2() != before.checked_ilog2().unwrap_or(u32::MAX) {
                tracing::warn!(
                    dropped = before + dropped,
                    limit_bytes = self.shared.limit,
                    "Redis publish queue full: oldest messages dropped"
                );
            }
        }
        self.shared.wake.notify_one();
    }

    /// Messages dropped so far because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Messages waiting to be written.
    pub(crate) fn len(&self) -> usize {
        lock(&self.shared.queue).0.len()
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn drain(shared: Arc<Shared>, driver: Arc<dyn Driver>) {
    loop {
        let batch: Vec<Outgoing> = {
            let mut guard = lock(&shared.queue);
            let (queue, bytes) = &mut *guard;
            let n = queue.len().min(BATCH);
            let batch: Vec<Outgoing> = queue.drain(..n).collect();
            *bytes -= batch
                .iter()
                .map(|o| o.channel.len() + o.payload.len())
                .sum::<usize>();
            batch
        };
        if batch.is_empty() {
            if shared.closed.load(Ordering::Acquire) {
                return;
            }
            shared.wake.notified().await;
            continue;
        }
        let mut logged = false;
        while let Err(e) = driver.publish_all(batch.clone()).await {
            if !logged {
                tracing::warn!(error = %e, "Redis publish failed; retrying");
                logged = true;
            }
            if shared.closed.load(Ordering::Acquire) {
                return;
            }
            tokio::time::sleep(RETRY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::RedisError;
    use crate::driver::DriverFuture;

    /// A Redis that is away until `up` is set; records what it was given.
    #[derive(Default)]
    struct Away {
        up: AtomicBool,
        published: Mutex<Vec<String>>,
    }

    impl Driver for Away {
        fn publish_all(&self, batch: Vec<Outgoing>) -> DriverFuture<'_, Result<(), RedisError>> {
            Box::pin(async move {
                if !self.up.load(Ordering::Acquire) {
                    return Err(RedisError::Redis("connection refused".into()));
                }
                lock(&self.published).extend(batch.into_iter().map(|o| o.channel));
                Ok(())
            })
        }
        fn numsub(&self, _: String) -> DriverFuture<'_, Result<usize, RedisError>> {
            Box::pin(async { Ok(1) })
        }
        fn shardnumsub(&self, _: String) -> DriverFuture<'_, Result<usize, RedisError>> {
            Box::pin(async { Ok(1) })
        }
        fn subscribe(&self, _: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
            Box::pin(async { Ok(()) })
        }
        fn psubscribe(&self, _: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
            Box::pin(async { Ok(()) })
        }
        fn ssubscribe(&self, _: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
            Box::pin(async { Ok(()) })
        }
        fn unsubscribe(&self, _: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
            Box::pin(async { Ok(()) })
        }
        fn punsubscribe(&self, _: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
            Box::pin(async { Ok(()) })
        }
        fn sunsubscribe(&self, _: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
            Box::pin(async { Ok(()) })
        }
        fn lagged(&self) -> u64 {
            0
        }
    }

    /// While Redis is away the queue holds at most its limit, dropping the
    /// oldest; once it is back, what is queued goes out in order.
    #[tokio::test(start_paused = true)]
    async fn the_queue_is_bounded_while_redis_is_away_and_drains_in_order_after() {
        let driver = Arc::new(Away::default());
        // Room for three 2-byte messages ("m1", no payload).
        let outbox = Outbox::new(driver.clone(), 6);
        outbox.push("m0".into(), Bytes::new());
        // Let the task take m0 and fail on it (it retries it later).
        tokio::time::sleep(Duration::from_millis(10)).await;
        for i in 1..=5 {
            outbox.push(format!("m{i}"), Bytes::new());
        }
        assert_eq!((outbox.len(), outbox.dropped()), (3, 2));
        driver.up.store(true, Ordering::Release);
        tokio::time::sleep(RETRY * 3).await;
        assert_eq!(*lock(&driver.published), ["m0", "m3", "m4", "m5"]);
        assert_eq!(outbox.len(), 0);
    }
}
