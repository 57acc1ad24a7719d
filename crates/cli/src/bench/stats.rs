//! What the connections observe, shared by every task of the (single-threaded)
//! load generator: counters in `Cell`s, histograms in `RefCell`s, no locks.
//!
//! Every message carries the time it was *scheduled* to be sent (`"t"`, in
//! nanoseconds since [`Stats::epoch`]). Only messages scheduled inside the
//! measurement window count, on both sides: the sender counts what it
//! scheduled there and how many deliveries that should make, a receiver
//! counts a delivery when its stamp falls in the window and records
//! `arrival - t`. Because `t` is the schedule, not the moment the generator
//! got around to writing, a stalled server (or generator) shows up in the
//! latency instead of slowing the load down: no coordinated omission.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency recorded exactly, in microseconds (a minute).
const MAX_LATENCY_US: u64 = 60_000_000;

pub(crate) struct Stats {
    /// The origin of every timestamp.
    epoch: Instant,
    /// The measurement window `[start, end)`, in ns since the epoch.
    window: Cell<(u64, u64)>,
    /// Messages scheduled inside the window.
    pub(crate) sent: Cell<u64>,
    /// Deliveries those messages should make (one per ack or per recipient).
    pub(crate) expected: Cell<u64>,
    /// Deliveries received of messages scheduled inside the window.
    pub(crate) delivered: Cell<u64>,
    /// Deliveries (of any message) that arrived while the window lasted: the
    /// rate the server kept up, whatever it still owes.
    pub(crate) arrived: Cell<u64>,
    /// Every delivery received, warm-up included (for the progress line).
    pub(crate) delivered_all: Cell<u64>,
    /// Messages scheduled, warm-up included.
    pub(crate) sent_all: Cell<u64>,
    /// Delivery latency, in microseconds.
    latency: RefCell<Histogram<u64>>,
    /// How late the generator wrote each measured message, in microseconds: a
    /// generator that cannot keep up shows here (and in the latency).
    send_lag: RefCell<Histogram<u64>>,
    /// Engine.IO pings answered.
    pub(crate) pings: Cell<u64>,
    /// Messages that arrived compressed (permessage-deflate) and were inflated.
    pub(crate) inflated: Cell<u64>,
    /// Deliveries whose binary attachment was missing or of the wrong size
    /// (not counted as delivered).
    pub(crate) binary_mismatch: Cell<u64>,
    /// Binary messages that could not be read (msgpack).
    pub(crate) malformed: Cell<u64>,
    /// Connections the server closed, or that failed, before the run ended.
    pub(crate) disconnects: Cell<u64>,
    /// Set when the run is over, so that closing connections is not a disconnect.
    pub(crate) stopping: Cell<bool>,
    /// Failed connection attempts, by reason.
    errors: RefCell<BTreeMap<String, u64>>,
    /// What the run is doing now, for the progress line.
    pub(crate) phase: Cell<&'static str>,
    /// Connections open, for the progress line.
    pub(crate) open: Cell<u64>,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            // Nothing is measured until a window is set.
            window: Cell::new((u64::MAX, u64::MAX)),
            sent: Cell::new(0),
            expected: Cell::new(0),
            delivered: Cell::new(0),
            arrived: Cell::new(0),
            delivered_all: Cell::new(0),
            sent_all: Cell::new(0),
            latency: RefCell::new(new_histogram()),
            send_lag: RefCell::new(new_histogram()),
            pings: Cell::new(0),
            inflated: Cell::new(0),
            binary_mismatch: Cell::new(0),
            malformed: Cell::new(0),
            disconnects: Cell::new(0),
            stopping: Cell::new(false),
            errors: RefCell::new(BTreeMap::new()),
            phase: Cell::new("starting"),
            open: Cell::new(0),
        }
    }

    /// Nanoseconds since the epoch.
    pub(crate) fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Measures messages scheduled in `[start, end)` (ns since the epoch).
    pub(crate) fn set_window(&self, start: u64, end: u64) {
        self.window.set((start, end));
    }

    /// Starts a new measurement: forgets the window's counters and histograms
    /// (the totals for the progress line, the connection counts and errors stay).
    pub(crate) fn reset(&self) {
        self.window.set((u64::MAX, u64::MAX));
        for cell in [&self.sent, &self.expected, &self.delivered, &self.arrived] {
            cell.set(0);
        }
        self.latency.borrow_mut().reset();
        self.send_lag.borrow_mut().reset();
    }

    fn in_window(&self, t: u64) -> bool {
        let (start, end) = self.window.get();
        (start..end).contains(&t)
    }

    /// The sender wrote, at `now`, a message scheduled at `t` that should make
    /// `deliveries`.
    pub(crate) fn on_sent(&self, t: u64, now: u64, deliveries: u64) {
        bump(&self.sent_all, 1);
        if self.in_window(t) {
            bump(&self.sent, 1);
            bump(&self.expected, deliveries);
            let lag_us = now.saturating_sub(t) / 1_000;
            self.send_lag.borrow_mut().saturating_record(lag_us.max(1));
        }
    }

    /// A message scheduled at `t` arrived at `now` (an ack, or a delivery of an event).
    pub(crate) fn on_delivery_at(&self, t: u64, now: u64) {
        bump(&self.delivered_all, 1);
        if self.in_window(now) {
            bump(&self.arrived, 1);
        }
        if self.in_window(t) {
            bump(&self.delivered, 1);
            let us = now.saturating_sub(t) / 1_000;
            self.latency.borrow_mut().saturating_record(us.max(1));
        }
    }

    pub(crate) fn on_error(&self, reason: String) {
        *self.errors.borrow_mut().entry(reason).or_default() += 1;
    }

    pub(crate) fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.borrow().clone()
    }

    pub(crate) fn latency(&self) -> Latency {
        Latency::of(&self.latency.borrow())
    }

    pub(crate) fn send_lag(&self) -> Latency {
        Latency::of(&self.send_lag.borrow())
    }

    /// The current 99th percentile, in microseconds, for the progress line.
    pub(crate) fn p99_us(&self) -> u64 {
        self.latency.borrow().value_at_quantile(0.99)
    }
}

fn bump(cell: &Cell<u64>, n: u64) {
    cell.set(cell.get() + n);
}

/// A histogram of microseconds from 1 µs to a minute, 3 significant digits.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Percentiles of a latency histogram, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Latency {
    pub(crate) count: u64,
    pub(crate) p50_us: u64,
    pub(crate) p90_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) p999_us: u64,
    pub(crate) max_us: u64,
    pub(crate) mean_us: f64,
}

impl Latency {
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: (h.mean() * 10.0).round() / 10.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_window_counts() {
        let stats = Stats::new();
        stats.set_window(1_000, 2_000);
        stats.on_sent(999, 999, 5);
        stats.on_sent(1_000, 3_000, 5);
        stats.on_sent(2_000, 2_000, 5);
        assert_eq!((stats.sent.get(), stats.expected.get()), (1, 5));
        assert_eq!(stats.sent_all.get(), 3);
        assert_eq!(stats.send_lag().count, 1);
        stats.on_delivery_at(500, 2_500);
        stats.on_delivery_at(1_500, 2_500);
        assert_eq!((stats.delivered.get(), stats.delivered_all.get()), (1, 2));
        assert_eq!(stats.latency().count, 1);
    }

    #[test]
    fn arrivals_count_by_arrival_time_and_reset_forgets_the_window() {
        let stats = Stats::new();
        stats.set_window(1_000, 2_000);
        stats.on_delivery_at(500, 1_500); // scheduled before, arrived inside
        stats.on_delivery_at(1_500, 2_500); // scheduled inside, arrived after
        assert_eq!((stats.arrived.get(), stats.delivered.get()), (1, 1));
        stats.on_sent(1_200, 1_200, 3);
        stats.reset();
        assert_eq!(
            (
                stats.sent.get(),
                stats.expected.get(),
                stats.delivered.get()
            ),
            (0, 0, 0)
        );
        assert_eq!((stats.latency().count, stats.send_lag().count), (0, 0));
        assert_eq!((stats.sent_all.get(), stats.delivered_all.get()), (1, 2));
        stats.on_delivery_at(1_500, 1_600);
        assert_eq!(stats.delivered.get(), 0, "no window after a reset");
    }
}
