//! The open-loop schedule: message `i` is due at `start + i / rate`, whatever
//! the server answered so far.
//!
//! Tokio's timers tick in milliseconds, far coarser than the 50 µs between two
//! messages at 20 000 msg/s, so the pacer sleeps only when the next message is
//! more than a couple of milliseconds away and otherwise yields to the
//! runtime until it is due (the generator has a core of its own). When it falls
//! behind it sends everything overdue at once, each message still stamped with
//! its scheduled time, so the delay counts as latency.
//!
//! That busy-wait keeps the generator's core full at any rate above ~500 msg/s,
//! so its CPU time says nothing about how much work it has. A pacer made
//! [`without spinning`](Pacer::coarse) (the probe's) sleeps until the next
//! message instead: the timer's millisecond grain sends in bursts of what fell
//! due meanwhile, up to a couple of milliseconds late (counted as latency),
//! and the generator's CPU time is its work.

use std::time::Duration;

use super::stats::Stats;

/// Sleep rather than spin when the next message is further away than this.
const SPIN_NS: u64 = 2_000_000;
/// Yield to the connections after this many messages sent in one burst.
const BURST: u32 = 64;

pub(crate) struct Pacer {
    start_ns: u64,
    interval_ns: f64,
    next: u64,
    /// Busy-wait (yield) for a message due within [`SPIN_NS`], rather than sleep.
    spin: bool,
}

impl Pacer {
    /// A schedule of `rate` messages per second from `start_ns` (since the epoch).
    pub(crate) fn new(start_ns: u64, rate: f64) -> Self {
        Self {
            start_ns,
            interval_ns: 1e9 / rate,
            next: 0,
            spin: true,
        }
    }

    /// The same schedule, kept without a busy-wait: it sleeps until the next
    /// message is due, on the runtime's millisecond timer.
    pub(crate) fn coarse(start_ns: u64, rate: f64) -> Self {
        Self {
            spin: false,
            ..Self::new(start_ns, rate)
        }
    }

    fn due(&self, i: u64) -> u64 {
        self.start_ns + (i as f64 * self.interval_ns) as u64
    }

    /// Calls `send(i, t, now)` for every message due before `end_ns`, each at
    /// its time `t` (or as soon after as it can: at `now`), and returns once the next one would be due at or after `end_ns`.
    pub(crate) async fn run_until(
        &mut self,
        stats: &Stats,
        end_ns: u64,
        mut send: impl FnMut(u64, u64, u64),
    ) {
        let mut burst = 0;
        loop {
            let due = self.due(self.next);
            if due >= end_ns {
                return;
            }
            let now = stats.now_ns();
            if now < due {
                burst = 0;
                if !self.spin {
                    tokio::time::sleep(Duration::from_nanos(due - now)).await;
                } else if due - now > SPIN_NS {
                    // The timer fires up to a millisecond late: still before `due`.
                    tokio::time::sleep(Duration::from_nanos(due - now - SPIN_NS)).await;
                } else {
                    tokio::task::yield_now().await;
                }
                continue;
            }
            send(self.next, due, now);
            self.next += 1;
            burst += 1;
            if burst >= BURST {
                burst = 0;
                tokio::task::yield_now().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn sends_on_schedule_and_stops_at_the_end() {
        let stats = Stats::new();
        let start = stats.now_ns();
        let mut pacer = Pacer::new(start, 1000.0);
        let mut sent = Vec::new();
        pacer
            .run_until(&stats, start + 20_000_000, |i, t, _| sent.push((i, t)))
            .await;
        assert_eq!(sent.len(), 20);
        assert_eq!(sent[3], (3, start + 3_000_000));
        assert!(stats.now_ns() >= start + 19_000_000);
        pacer
            .run_until(&stats, start + 25_000_000, |i, _, _| sent.push((i, 0)))
            .await;
        assert_eq!(sent.len(), 25);
        assert_eq!(sent[24].0, 24);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_coarse_pacer_keeps_the_same_schedule() {
        let stats = Stats::new();
        let start = stats.now_ns();
        let mut pacer = Pacer::coarse(start, 1000.0);
        let mut sent = Vec::new();
        pacer
            .run_until(&stats, start + 20_000_000, |i, t, now| {
                sent.push((i, t, now))
            })
            .await;
        assert_eq!(sent.len(), 20);
        assert_eq!((sent[7].0, sent[7].1), (7, start + 7_000_000));
        assert!(sent.iter().all(|&(_, t, now)| now >= t));
    }
}
