//! The ordered `XADD` queue of one factory: a message is appended to its
//! stream, then what depends on its entry id (local delivery with the id as
//! the offset) runs, in the order the messages were queued, by one task.
//!
//! While Redis is away, an `XADD` waits at most [`XADD_TIMEOUT`]; then what
//! depends on it runs without an id (local delivery goes on, unstamped), and
//! the entry may or may not reach the stream (the client may still send it
//! once it reconnects). The queue holds at most `limit` bytes; past it a
//! message is not appended, and runs at once without an id.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::driver::{Driver, XAdd};

/// How long an `XADD` may take before the messages that wait on it are
/// delivered locally without an offset.
pub(crate) const XADD_TIMEOUT: Duration = Duration::from_secs(1);
/// How many `XADD`s one pipelined write carries at most.
const BATCH: usize = 256;

/// What runs once the entry id is known (`None`: not appended).
pub(crate) type Then = Box<dyn FnOnce(Option<String>) + Send>;

struct Job {
    add: XAdd,
    then: Then,
}

struct State {
    queue: Mutex<(VecDeque<Job>, usize)>,
    wake: Notify,
    limit: usize,
    dropped: AtomicU64,
    closed: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The queue; dropping it stops its task after what is queued.
pub(crate) struct Writer {
    state: Arc<State>,
}

impl Writer {
    /// A queue of at most `limit` bytes, written to `driver` by a task.
    pub(crate) fn new(driver: Arc<dyn Driver>, limit: usize) -> Self {
        let state = Arc::new(State {
            queue: Mutex::new((VecDeque::new(), 0)),
            wake: Notify::new(),
            limit: limit.max(1),
            dropped: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(drain(state.clone(), driver));
        Self { state }
    }

    /// Queues an `XADD`, and `then`, which is given its entry id.
    pub(crate) fn push(&self, add: XAdd, then: Then) {
        let size = add.size();
        {
            let mut guard = lock(&self.state.queue);
            let (queue, bytes) = &mut *guard;
            if *bytes + size <= self.state.limit {
                queue.push_back(Job { add, then });
                *bytes += size;
                drop(guard);
                self.state.wake.notify_one();
                return;
            }
        }
        let before = self.state.dropped.fetch_add(1, Ordering::Relaxed);
        if before.is_power_of_two() || before == 0 {
            tracing::warn!(
                dropped = before + 1,
                limit_bytes = self.state.limit,
                "Redis stream queue full: message delivered here only"
            );
        }
        then(None);
    }

    /// Messages not appended because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::Relaxed)
    }

    /// Messages waiting.
    pub(crate) fn len(&self) -> usize {
        lock(&self.state.queue).0.len()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.state.closed.store(true, Ordering::Release);
        self.state.wake.notify_one();
    }
}

async fn drain(state: Arc<State>, driver: Arc<dyn Driver>) {
    let mut failing = false;
    loop {
        let jobs: Vec<Job> = {
            let mut guard = lock(&state.queue);
            let (queue, bytes) = &mut *guard;
            let n = queue.len().min(BATCH);
            let jobs: Vec<Job> = queue.drain(..n).collect();
            *bytes -= jobs.iter().map(|j| j.add.size()).sum::<usize>();
            jobs
        };
        if jobs.is_empty() {
            if state.closed.load(Ordering::Acquire) {
                return;
            }
            state.wake.notified().await;
            continue;
        }
        let adds: Vec<XAdd> = jobs.iter().map(|j| j.add.clone()).collect();
        let ids: Vec<Option<String>> = match tokio::time::timeout(
            XADD_TIMEOUT,
            driver.xadd_all(adds),
        )
        .await
        {
            Ok(Ok(results)) => {
                let mut ids: Vec<Option<String>> = results
                    .into_iter()
                    .map(|r| {
                        r.map_err(|e| tracing::warn!(error = %e, "XADD refused"))
                            .ok()
                    })
                    .collect();
                ids.resize(jobs.len(), None);
                if failing {
                    tracing::info!("Redis stream writes resumed");
                    failing = false;
                }
                ids
            }
            outcome => {
                if !failing {
                    match outcome {
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "XADD failed: delivered here without offsets")
                        }
                        _ => tracing::warn!("XADD timed out: delivered here without offsets"),
                    }
                    failing = true;
                }
                vec![None; jobs.len()]
            }
        };
        for (job, id) in jobs.into_iter().zip(ids) {
            (job.then)(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RedisError;
    use crate::driver::{DriverFuture, Outgoing};
    use bytes::Bytes;

    /// A Redis that is away until `up` is set; numbers what it is given.
    #[derive(Default)]
    struct Stream {
        up: AtomicBool,
        next: AtomicU64,
    }

    impl Driver for Stream {
        fn publish_all(&self, _: Vec<Outgoing>) -> DriverFuture<'_, Result<(), RedisError>> {
            Box::pin(async { Ok(()) })
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
        fn xadd_all(
            &self,
            batch: Vec<XAdd>,
        ) -> DriverFuture<'_, Result<Vec<Result<String, RedisError>>, RedisError>> {
            Box::pin(async move {
                if !self.up.load(Ordering::Acquire) {
                    // Away: the call hangs, as a client waiting to reconnect.
                    std::future::pending::<()>().await;
                }
                Ok(batch
                    .iter()
                    .map(|_| Ok(format!("1-{}", self.next.fetch_add(1, Ordering::Relaxed))))
                    .collect())
            })
        }
    }

    fn add(n: usize) -> XAdd {
        XAdd {
            stream: "s".into(),
            max_len: 10,
            fields: vec![("data", Bytes::from(vec![b'x'; n]))],
        }
    }

    /// What ran: `(message, entry id)`.
    type Log = Arc<Mutex<Vec<(usize, Option<String>)>>>;

    fn record(log: &Log, i: usize) -> Then {
        let log = log.clone();
        Box::new(move |id| lock(&log).push((i, id)))
    }

    /// Each message's continuation gets its entry id, in queue order.
    #[tokio::test(start_paused = true)]
    async fn continuations_run_in_order_with_their_ids() {
        let driver = Arc::new(Stream::default());
        driver.up.store(true, Ordering::Release);
        let writer = Writer::new(driver, 1 << 20);
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 0..5 {
            writer.push(add(1), record(&log, i));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        let got = lock(&log).clone();
        let expected: Vec<_> = (0..5).map(|i| (i, Some(format!("1-{i}")))).collect();
        assert_eq!(got, expected);
    }

    /// While Redis is away, messages still run (without ids) after the
    /// timeout, in order; past the byte limit they run at once.
    #[tokio::test(start_paused = true)]
    async fn redis_away_delays_by_the_timeout_and_the_queue_is_bounded() {
        let driver = Arc::new(Stream::default());
        let writer = Writer::new(driver.clone(), 20);
        let log = Arc::new(Mutex::new(Vec::new()));
        writer.push(add(5), record(&log, 0));
        writer.push(add(5), record(&log, 1));
        // 2 × 10 bytes queued (or in flight); the third does not fit.
        tokio::time::sleep(Duration::from_millis(1)).await;
        writer.push(add(5), record(&log, 2));
        writer.push(add(50), record(&log, 3));
        assert_eq!(writer.dropped(), 1);
        tokio::time::sleep(XADD_TIMEOUT * 3).await;
        let got = lock(&log).clone();
        assert_eq!(got, [(3, None), (0, None), (1, None), (2, None)]);
        driver.up.store(true, Ordering::Release);
        writer.push(add(1), record(&log, 4));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(lock(&log).last(), Some(&(4, Some("1-0".to_owned()))));
        assert_eq!(writer.len(), 0);
    }
}
