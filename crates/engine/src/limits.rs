//! The engine's counters for the limits on sessions a peer can make it hold:
//! [`max_sessions`](crate::EngineConfig::max_sessions) and
//! [`max_pending_handshakes`](crate::EngineConfig::max_pending_handshakes).
//!
//! Sessions are counted in one atomic, `used`: every open session, plus every
//! [`SessionSlot`] reserved for a handshake that has not opened its session yet
//! (a WebSocket answered `101` whose connection task has not started). A slot
//! is taken before the handshake is answered, so a full server refuses with an
//! HTTP error rather than after the `101`; the session opened with it counts on
//! its own, and the slot is released when dropped (briefly counting twice errs
//! on the safe side).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Sid;

/// Shared by the engine, its sessions and the slots it hands out.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    /// Open sessions plus outstanding [`SessionSlot`]s.
    used: Arc<AtomicUsize>,
    /// Polling sessions whose client has made no request since its handshake.
    pending: Mutex<HashSet<Sid>>,
    /// Polling handshakes in progress: `pending`, plus those reserved whose
    /// session is not in `pending` yet. Read without the lock (usually 0).
    pending_len: AtomicUsize,
}

impl Limits {
    /// Takes a slot for a new session, unless `max` are in use.
    pub fn reserve(&self, max: usize) -> Option<SessionSlot> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < max).then_some(used + 1)
            })
            .ok()?;
        Some(SessionSlot(self.used.clone()))
    }

    /// A session was opened (with or without a slot).
    pub fn opened(&self) {
        self.used.fetch_add(1, Ordering::AcqRel);
    }

    /// A session left the table.
    pub fn closed(&self, sid: Sid) {
        self.used.fetch_sub(1, Ordering::AcqRel);
        self.answered(sid);
    }

    /// Counts one more polling handshake in progress, unless `max` are.
    /// Follow with [`add_pending`](Self::add_pending) once the session has an
    /// id, or [`cancel_pending`](Self::cancel_pending) if it is not opened.
    pub fn reserve_pending(&self, max: usize) -> bool {
        self.pending_len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Undoes a [`reserve_pending`](Self::reserve_pending).
    pub fn cancel_pending(&self) {
        self.pending_len.fetch_sub(1, Ordering::AcqRel);
    }

    /// The polling session a [`reserve_pending`](Self::reserve_pending) was
    /// for is open: it is pending until its client comes back.
    pub fn add_pending(&self, sid: Sid) {
        self.pending().insert(sid);
    }

    /// The client of `sid` made a request: its handshake is complete.
    pub fn answered(&self, sid: Sid) {
        if self.pending_len.load(Ordering::Acquire) == 0 {
            return;
        }
        if self.pending().remove(&sid) {
            self.pending_len.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Polling handshakes whose client has not come back.
    pub fn pending_count(&self) -> usize {
        self.pending_len.load(Ordering::Acquire)
    }

    fn pending(&self) -> MutexGuard<'_, HashSet<Sid>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A place for one session, held from the handshake until the session opens
/// (or the handshake fails); released on drop.
#[derive(Debug)]
pub(crate) struct SessionSlot(Arc<AtomicUsize>);

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_sessions_share_the_limit() {
        let limits = Limits::default();
        let a = limits.reserve(2).expect("first slot");
        let b = limits.reserve(2).expect("second slot");
        assert!(limits.reserve(2).is_none(), "full");
        drop(a);
        let sid = Sid::random();
        limits.opened(); // the session `b` was reserved for
        drop(b);
        assert!(limits.reserve(2).is_some(), "one session, one free place");
        let _c = limits.reserve(2).unwrap();
        assert!(limits.reserve(2).is_none());
        limits.closed(sid);
        assert!(limits.reserve(2).is_some());
    }

    #[test]
    fn pending_handshakes_end_on_the_first_request_or_close() {
        let limits = Limits::default();
        let (a, b) = (Sid::random(), Sid::random());
        assert!(limits.reserve_pending(2));
        limits.add_pending(a);
        assert!(limits.reserve_pending(2));
        assert!(!limits.reserve_pending(2), "full");
        limits.add_pending(b);
        limits.answered(a);
        limits.answered(a);
        assert_eq!(limits.pending_count(), 1);
        limits.opened();
        limits.closed(b);
        assert_eq!(limits.pending_count(), 0);
        assert!(limits.reserve_pending(1));
        limits.cancel_pending();
        assert_eq!(limits.pending_count(), 0);
    }
}
