//! The engine's counters for the limits on sessions a peer can make it hold:
//! [`max_sessions`](crate::EngineConfig::max_sessions) and
//! [`max_pending_handshakes`](crate::EngineConfig::max_pending_handshakes),
//! and their optional per-address shares
//! ([`max_sessions_per_address`](crate::EngineConfig::max_sessions_per_address),
//! [`max_pending_handshakes_per_address`](crate::EngineConfig::max_pending_handshakes_per_address)).
//!
//! Sessions are counted in one atomic, `used`: every open session, plus every
//! [`SessionSlot`] reserved for a handshake that has not opened its session yet
//! (a WebSocket answered `101` whose connection task has not started). A slot
//! is taken before the handshake is answered, so a full server refuses with an
//! HTTP error rather than after the `101`; the session opened with it counts on
//! its own, and the slot is released when dropped (briefly counting twice errs
//! on the safe side). Per-address counts follow the same pattern, in maps
//! that are only touched when a per-address limit is set.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::{Mutex, MutexGuard};

use crate::Sid;

/// The address a per-address limit counts a client under: its IP, with
/// IPv4-mapped IPv6 addresses as IPv4, and IPv6 grouped by /64 (one host
/// usually holds a whole /64, so counting single IPv6 addresses would limit
/// nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AddressKey(IpAddr);

impl AddressKey {
    pub(crate) fn of(addr: SocketAddr) -> Self {
        match addr.ip().to_canonical() {
            IpAddr::V6(ip) => {
                let prefix = u128::from(ip) & !((1u128 << 64) - 1);
                Self(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
            ip => Self(ip),
        }
    }
}

/// A per-address share: the client's key and how many it may hold.
pub(crate) type Share = Option<(AddressKey, usize)>;

/// Why a handshake was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The global limit is reached.
    Full,
    /// The client's address holds its whole share.
    AddressFull,
}

/// Open sessions and outstanding slots per address.
#[derive(Debug, Default)]
struct Addresses {
    count: HashMap<AddressKey, usize>,
    /// The address each open session is counted under.
    session_of: HashMap<Sid, AddressKey>,
}

impl Addresses {
    fn release(&mut self, key: AddressKey) {
        if let Some(n) = self.count.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.count.remove(&key);
            }
        }
    }
}

/// Polling handshakes in progress, by session and by address.
#[derive(Debug, Default)]
struct Pending {
    sids: HashSet<Sid>,
    /// The address of each pending session that is counted under one.
    address_of: HashMap<Sid, AddressKey>,
    /// Pending handshakes (reserved or added) per address.
    count: HashMap<AddressKey, usize>,
}

impl Pending {
    fn release(&mut self, key: AddressKey) {
        if let Some(n) = self.count.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.count.remove(&key);
            }
        }
    }
}

/// Shared by the engine, its sessions and the slots it hands out.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    /// Open sessions plus outstanding [`SessionSlot`]s.
    used: Arc<AtomicUsize>,
    /// The same, per address, when a per-address limit is set.
    addresses: Arc<Mutex<Addresses>>,
    /// Whether any session was counted under an address (then closes look
    /// it up; otherwise they skip the lock).
    tracking: AtomicBool,
    /// Polling sessions whose client has made no request since its handshake.
    pending: Mutex<Pending>,
    /// Polling handshakes in progress: `pending`, plus those reserved whose
    /// session is not in `pending` yet. Read without the lock (usually 0).
    pending_len: AtomicUsize,
    /// WebSockets that agreed on permessage-deflate with a context kept
    /// between messages: outstanding [`DeflateSlot`]s.
    deflating: Arc<AtomicUsize>,
}

impl Limits {
    /// Takes a slot for a new session, unless `max` are in use or, with a
    /// `share`, its address holds as many as it may.
    pub(crate) fn reserve(&self, max: usize, share: Share) -> Result<SessionSlot, Refused> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < max).then_some(used + 1)
            })
            .map_err(|_| Refused::Full)?;
        let mut slot = SessionSlot {
            used: self.used.clone(),
            address: None,
        };
        if let Some((key, max)) = share {
            let mut addresses = self.addresses.lock();
            let n = addresses.count.entry(key).or_insert(0);
            if *n >= max {
                if *n == 0 {
                    addresses.count.remove(&key);
                }
                return Err(Refused::AddressFull); // `slot` gives back its place
            }
            *n += 1;
            slot.address = Some((self.addresses.clone(), key));
        }
        Ok(slot)
    }

    /// Takes a place for a WebSocket that keeps a compression context,
    /// unless `max` hold one already.
    pub(crate) fn reserve_deflate(&self, max: usize) -> Option<DeflateSlot> {
        self.deflating
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(DeflateSlot {
            used: self.deflating.clone(),
        })
    }

    /// A session was opened (with or without a slot); `address` is the key
    /// it counts under when a per-address limit is set.
    pub(crate) fn opened(&self, sid: Sid, address: Option<AddressKey>) {
        self.used.fetch_add(1, Ordering::AcqRel);
        if let Some(key) = address {
            self.tracking.store(true, Ordering::Release);
            let mut addresses = self.addresses.lock();
            *addresses.count.entry(key).or_insert(0) += 1;
            addresses.session_of.insert(sid, key);
        }
    }

    /// A session left the table.
    pub(crate) fn closed(&self, sid: Sid) {
        self.used.fetch_sub(1, Ordering::AcqRel);
        if self.tracking.load(Ordering::Acquire) {
            let mut addresses = self.addresses.lock();
            if let Some(key) = addresses.session_of.remove(&sid) {
                addresses.release(key);
            }
        }
        self.answered(sid);
    }

    /// Counts one more polling handshake in progress, unless `max` are or,
    /// with a `share`, its address has as many in progress as it may.
    /// Follow with [`add_pending`](Self::add_pending) once the session has an
    /// id, or [`cancel_pending`](Self::cancel_pending) if it is not opened.
    pub(crate) fn reserve_pending(&self, max: usize, share: Share) -> Result<(), Refused> {
        self.pending_len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| Refused::Full)?;
        if let Some((key, max)) = share {
            let mut pending = self.pending();
            let n = pending.count.entry(key).or_insert(0);
            if *n >= max {
                if *n == 0 {
                    pending.count.remove(&key);
                }
                drop(pending);
                self.pending_len.fetch_sub(1, Ordering::AcqRel);
                return Err(Refused::AddressFull);
            }
            *n += 1;
        }
        Ok(())
    }

    /// Undoes a [`reserve_pending`](Self::reserve_pending) made with `share`.
    pub(crate) fn cancel_pending(&self, share: Share) {
        if let Some((key, _)) = share {
            self.pending().release(key);
        }
        self.pending_len.fetch_sub(1, Ordering::AcqRel);
    }

    /// The polling session a [`reserve_pending`](Self::reserve_pending) with
    /// `share` was for is open: it is pending until its client comes back.
    pub(crate) fn add_pending(&self, sid: Sid, share: Share) {
        let mut pending = self.pending();
        pending.sids.insert(sid);
        if let Some((key, _)) = share {
            pending.address_of.insert(sid, key);
        }
    }

    /// The client of `sid` made a request: its handshake is complete.
    pub(crate) fn answered(&self, sid: Sid) {
        if self.pending_len.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut pending = self.pending();
        if pending.sids.remove(&sid) {
            if let Some(key) = pending.address_of.remove(&sid) {
                pending.release(key);
            }
            self.pending_len.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Polling handshakes whose client has not come back.
    pub(crate) fn pending_count(&self) -> usize {
        self.pending_len.load(Ordering::Acquire)
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock()
    }
}

/// A place for one session, held from the handshake until the session opens
/// (or the handshake fails); released on drop.
#[derive(Debug)]
pub(crate) struct SessionSlot {
    used: Arc<AtomicUsize>,
    /// The address share it also holds, if a per-address limit is set.
    address: Option<(Arc<Mutex<Addresses>>, AddressKey)>,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
        if let Some((addresses, key)) = &self.address {
            addresses.lock().release(*key);
        }
    }
}

/// A WebSocket's place among those that keep a compression context
/// ([`max_deflate_sessions`](crate::EngineConfig::max_deflate_sessions)),
/// held by its connection task and given back when dropped.
#[derive(Debug)]
pub(crate) struct DeflateSlot {
    used: Arc<AtomicUsize>,
}

impl Drop for DeflateSlot {
    fn drop(&mut self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_sessions_share_the_limit() {
        let limits = Limits::default();
        let a = limits.reserve(2, None).expect("first slot");
        let b = limits.reserve(2, None).expect("second slot");
        assert!(limits.reserve(2, None).is_err(), "full");
        drop(a);
        let sid = Sid::random();
        limits.opened(sid, None); // the session `b` was reserved for
        drop(b);
        assert!(
            limits.reserve(2, None).is_ok(),
            "one session, one free place"
        );
        let _c = limits.reserve(2, None).unwrap();
        assert!(limits.reserve(2, None).is_err());
        limits.closed(sid);
        assert!(limits.reserve(2, None).is_ok());
    }

    #[test]
    fn pending_handshakes_end_on_the_first_request_or_close() {
        let limits = Limits::default();
        let (a, b) = (Sid::random(), Sid::random());
        assert!(limits.reserve_pending(2, None).is_ok());
        limits.add_pending(a, None);
        assert!(limits.reserve_pending(2, None).is_ok());
        assert!(limits.reserve_pending(2, None).is_err(), "full");
        limits.add_pending(b, None);
        limits.answered(a);
        limits.answered(a);
        assert_eq!(limits.pending_count(), 1);
        limits.opened(b, None);
        limits.closed(b);
        assert_eq!(limits.pending_count(), 0);
        assert!(limits.reserve_pending(1, None).is_ok());
        limits.cancel_pending(None);
        assert_eq!(limits.pending_count(), 0);
    }

    fn key(ip: &str) -> AddressKey {
        AddressKey::of(SocketAddr::new(ip.parse().unwrap(), 1234))
    }

    #[test]
    fn addresses_group_ipv6_by_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key("2001:db8::1"), key("2001:db8::ffff:1"));
        assert_ne!(key("2001:db8::1"), key("2001:db8:0:1::1"));
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
    }

    #[test]
    fn each_address_gets_its_share_of_sessions() {
        let limits = Limits::default();
        let (one, two) = (key("127.0.0.1"), key("127.0.0.2"));
        let a = limits.reserve(10, Some((one, 2))).unwrap();
        let b = limits.reserve(10, Some((one, 2))).unwrap();
        assert_eq!(
            limits.reserve(10, Some((one, 2))).unwrap_err(),
            Refused::AddressFull
        );
        let c = limits.reserve(10, Some((two, 2))).unwrap();
        // The sessions opened with `a` and `b` count once their slots are gone.
        let (sa, sb) = (Sid::random(), Sid::random());
        limits.opened(sa, Some(one));
        limits.opened(sb, Some(one));
        drop((a, b, c));
        assert_eq!(
            limits.reserve(10, Some((one, 2))).unwrap_err(),
            Refused::AddressFull
        );
        limits.closed(sa);
        let _d = limits.reserve(10, Some((one, 2))).unwrap();
        assert_eq!(limits.reserve(2, None).unwrap_err(), Refused::Full);
    }

    #[test]
    fn each_address_gets_its_share_of_pending_handshakes() {
        let limits = Limits::default();
        let (one, two) = (Some((key("127.0.0.1"), 1)), Some((key("127.0.0.2"), 1)));
        limits.reserve_pending(10, one).unwrap();
        assert_eq!(limits.reserve_pending(10, one), Err(Refused::AddressFull));
        assert_eq!(limits.pending_count(), 1, "a refusal holds nothing");
        limits.reserve_pending(10, two).unwrap();
        limits.cancel_pending(two);
        limits.reserve_pending(10, two).unwrap();
        let (a, b) = (Sid::random(), Sid::random());
        limits.add_pending(a, one);
        limits.add_pending(b, two);
        limits.answered(a);
        limits.reserve_pending(10, one).unwrap();
        limits.opened(b, None);
        limits.closed(b);
        limits.reserve_pending(10, two).unwrap();
        assert_eq!(limits.pending_count(), 2);
    }
}
