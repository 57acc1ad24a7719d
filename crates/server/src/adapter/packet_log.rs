//! The in-memory store of connection state recovery: the packets sent with an
//! offset, and the sessions of sockets that lost their connection (Node's
//! `SessionAwareAdapter`, bounded).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use ferrio_proto::socketio::{Packet, PacketKind, Payload};
use tokio::time::Instant;

use super::memory::encode_for;
use super::session::{MissedPacket, RestoredSession, SessionToPersist};
use super::{AdapterError, BroadcastOptions, offset};
use crate::outbound::Encoded;
use crate::socket::Delivery;
use crate::{RecoveryConfig, Room, Socket, SocketId};

/// What a logged packet costs besides its frames and room names: the entry,
/// the `Arc` and the frames' headers, rounded up.
const ENTRY_OVERHEAD: usize = 100;

/// The packet log and the sessions of one namespace.
pub(crate) struct PacketLog {
    config: RecoveryConfig,
    log: Mutex<Log>,
    sessions: Mutex<Sessions>,
}

/// The packets sent with an offset, oldest first. Offsets follow each other
/// without a gap, so an offset's place is found by subtraction.
#[derive(Default)]
struct Log {
    entries: VecDeque<Entry>,
    /// The offset of the next packet.
    next: u64,
    /// What the entries cost, by [`Entry::cost`].
    bytes: usize,
}

struct Entry {
    offset: u64,
    at: Instant,
    rooms: Box<[Room]>,
    except: Box<[Room]>,
    encoded: Arc<Encoded>,
}

impl Entry {
    fn cost(&self) -> usize {
        let rooms: usize = self
            .rooms
            .iter()
            .chain(&*self.except)
            .map(|r| r.len())
            .sum();
        ENTRY_OVERHEAD + self.encoded.len() + rooms
    }

    /// Whether a socket in `rooms` was sent this packet (Node's filter).
    fn reaches(&self, rooms: &HashSet<&str>) -> bool {
        (self.rooms.is_empty() || self.rooms.iter().any(|r| rooms.contains(&**r)))
            && !self.except.iter().any(|r| rooms.contains(&**r))
    }
}

/// Where a restored session's missed packets end, to send what was logged
/// after them once the socket is back.
#[derive(Debug)]
pub(crate) struct LogTail {
    pub log: Arc<PacketLog>,
    /// The offset of the last packet the restore looked at.
    pub last: u64,
}

/// Packets logged after a restore were dropped from the log before the
/// socket was back: what it missed can no longer be sent whole.
#[derive(Debug)]
pub(crate) struct Gap;

/// Sessions by private id, and the order they expire in.
#[derive(Default)]
struct Sessions {
    by_pid: HashMap<SocketId, (SessionToPersist, Instant), foldhash::fast::RandomState>,
    /// `(when kept, pid)`, oldest first. An entry whose session was taken,
    /// or kept again later, is skipped when it comes up.
    expiry: VecDeque<(Instant, SocketId)>,
}

impl std::fmt::Debug for PacketLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketLog")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PacketLog {
    pub fn new(config: RecoveryConfig) -> Self {
        Self {
            config,
            log: Mutex::new(Log {
                next: 1,
                ..Log::default()
            }),
            sessions: Mutex::default(),
        }
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a broadcast gets an offset: an event that asks for no
    /// acknowledgement and is not volatile (Node's rule).
    pub fn stamps(packet: &Packet<Payload>, opts: &BroadcastOptions) -> bool {
        matches!(packet.kind, PacketKind::Event | PacketKind::BinaryEvent)
            && packet.id.is_none()
            && !opts.flags.volatile
    }

    /// Stamps an event with the next offset, logs it and delivers it to the
    /// sockets `targets` selects.
    ///
    /// The targets are chosen and sent the packet under the log's lock, as a
    /// restore's last step is: a socket coming back gets each packet either
    /// in what it missed or live, once, in order.
    pub fn broadcast(
        &self,
        mut packet: Packet<Payload>,
        opts: &BroadcastOptions,
        targets: impl FnOnce(&BroadcastOptions) -> Vec<Arc<Socket>>,
    ) -> Result<(), AdapterError> {
        let mut log = self.log();
        let now = Instant::now();
        log.expire(now, &self.config);
        let offset = log.next;
        append_arg(&mut packet.data, offset::format(offset));
        let targets = targets(opts);
        let encoded = Arc::new(encode_for(packet, &targets)?);
        log.next += 1;
        log.push(
            Entry {
                offset,
                at: now,
                rooms: opts.rooms.iter().cloned().collect(),
                except: opts.except.iter().cloned().collect(),
                encoded: encoded.clone(),
            },
            &self.config,
        );
        let mut after = Vec::new();
        for socket in targets {
            match socket.deliver_logged(&encoded) {
                Delivery::Sent | Delivery::Skipped => {}
                other => after.push((socket, other)),
            }
        }
        drop(log);
        // What may run application code (outgoing listeners) or end a
        // socket, outside the lock.
        for (socket, delivery) in after {
            socket.after_delivery(delivery, &encoded);
        }
        Ok(())
    }

    /// Keeps the session of a socket that lost its connection.
    pub fn persist(&self, session: SessionToPersist) {
        let now = Instant::now();
        let mut sessions = self.sessions();
        sessions.expire(now, &self.config);
        sessions.expiry.push_back((now, session.pid));
        sessions.by_pid.insert(session.pid, (session, now));
    }

    /// Takes the session `pid` names and the packets its client missed since
    /// `offset`. `None` (a fresh session, as in Node) when the session is
    /// unknown or expired, or the offset is malformed or not in the log.
    pub fn restore(self: &Arc<Self>, pid: &str, offset: &str) -> Option<RestoredSession> {
        let offset = offset::parse(offset)?;
        let pid = SocketId::parse(pid)?;
        let now = Instant::now();
        let session = {
            let mut sessions = self.sessions();
            sessions.expire(now, &self.config);
            let (session, at) = sessions.by_pid.remove(&pid)?;
            if at + self.config.max_disconnection_duration < now {
                return None;
            }
            session
        };
        let rooms: HashSet<&str> = session.rooms.iter().map(|r| &**r).collect();
        let mut log = self.log();
        log.expire(now, &self.config);
        let first = log.entries.front()?.offset;
        let at = usize::try_from(offset.checked_sub(first)?).ok()?;
        if at >= log.entries.len() {
            return None;
        }
        let missed = log
            .entries
            .iter()
            .skip(at + 1)
            .filter(|e| e.reaches(&rooms))
            .map(|e| MissedPacket::encoded(e.encoded.clone()))
            .collect();
        let last = log.next - 1;
        drop(log);
        drop(rooms);
        Some(RestoredSession::from_log(
            session,
            missed,
            self.clone(),
            last,
        ))
    }

    /// The last step of a restore: under the log's lock, adds to `missed`
    /// what was logged since the restore for a socket in `rooms`, and hands
    /// the lot to `resume`, which sends it and marks the socket connected.
    pub fn resume(
        &self,
        last: u64,
        rooms: &[Room],
        mut missed: Vec<Arc<Encoded>>,
        resume: impl FnOnce(Vec<Arc<Encoded>>),
    ) -> Result<(), Gap> {
        let log = self.log();
        if log.next - 1 > last {
            let first = log.entries.front().map_or(log.next, |e| e.offset);
            if first > last + 1 {
                return Err(Gap);
            }
            let rooms: HashSet<&str> = rooms.iter().map(|r| &**r).collect();
            let skip = usize::try_from(last + 1 - first).unwrap_or(usize::MAX);
            missed.extend(
                log.entries
                    .iter()
                    .skip(skip)
                    .filter(|e| e.reaches(&rooms))
                    .map(|e| e.encoded.clone()),
            );
        }
        resume(missed);
        Ok(())
    }

    /// How many packets the log holds and what they cost (a test hook).
    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        let log = self.log();
        (log.entries.len(), log.bytes)
    }
}

impl Log {
    /// Drops the packets older than the longest disconnection.
    fn expire(&mut self, now: Instant, config: &RecoveryConfig) {
        while let Some(entry) = self.entries.front() {
            if entry.at + config.max_disconnection_duration >= now {
                break;
            }
            self.pop();
        }
    }

    /// Adds a packet, dropping the oldest beyond the count and byte limits.
    fn push(&mut self, entry: Entry, config: &RecoveryConfig) {
        self.bytes += entry.cost();
        self.entries.push_back(entry);
        while self.entries.len() > config.max_logged_packets || self.bytes > config.max_logged_bytes
        {
            if !self.pop() {
                break;
            }
        }
    }

    fn pop(&mut self) -> bool {
        match self.entries.pop_front() {
            Some(entry) => {
                self.bytes -= entry.cost();
                true
            }
            None => false,
        }
    }
}

impl Sessions {
    /// Drops the sessions kept longer than the longest disconnection.
    fn expire(&mut self, now: Instant, config: &RecoveryConfig) {
        while let Some(&(at, pid)) = self.expiry.front() {
            if at + config.max_disconnection_duration >= now {
                break;
            }
            self.expiry.pop_front();
            if self.by_pid.get(&pid).is_some_and(|(_, kept)| *kept == at) {
                self.by_pid.remove(&pid);
            }
        }
    }
}

/// Appends an argument to an event's data (`["name", …args]`).
fn append_arg(data: &mut Option<Payload>, arg: String) {
    match data {
        Some(Payload::Json(serde_json::Value::Array(items))) => items.push(arg.into()),
        Some(Payload::Array(items)) => items.push(Payload::Json(arg.into())),
        Some(Payload::Raw(raw)) => {
            // Passed on as received: its items, kept as text, and the offset.
            let mut items: Vec<Payload> = match raw.items() {
                Some(items) => items.map(Payload::Raw).collect(),
                None => Vec::new(),
            };
            items.push(Payload::Json(arg.into()));
            *data = Some(Payload::Array(items));
        }
        // Not an event's shape: an event packet always holds an array.
        _ => {}
    }
}
