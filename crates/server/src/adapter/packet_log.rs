//! The in-memory store of connection state recovery: the packets sent with an
//! offset, and the sessions of sockets that lost their connection (Node's
//! `SessionAwareAdapter`, bounded).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use ferrio_proto::socketio::{Packet, PacketKind, Parser, Payload};
use tokio::time::Instant;

use super::encode::encode_for;
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
    /// The server's parser: what the log keeps is what its sockets are sent.
    parser: Parser,
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
    pub(crate) log: Arc<PacketLog>,
    /// The offset of the last packet the restore looked at.
    pub(crate) last: u64,
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
    pub(crate) fn new(config: RecoveryConfig, parser: Parser) -> Self {
        Self {
            config,
            parser,
            log: Mutex::new(Log {
                next: 1,
                ..Log::default()
            }),
            sessions: Mutex::default(),
        }
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock()
    }

    fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock()
    }

    /// Whether a broadcast gets an offset: an event that asks for no
    /// acknowledgement and is not volatile (Node's rule).
    pub(crate) fn stamps(packet: &Packet<Payload>, opts: &BroadcastOptions) -> bool {
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
    pub(crate) fn broadcast(
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
        let encoded = Arc::new(encode_for(packet, &targets, self.parser)?);
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
    pub(crate) fn persist(&self, session: SessionToPersist) {
        let now = Instant::now();
        let mut sessions = self.sessions();
        sessions.expire(now, &self.config);
        sessions.expiry.push_back((now, session.pid));
        sessions.by_pid.insert(session.pid, (session, now));
    }

    /// Takes the session `pid` names and the packets its client missed since
    /// `offset`. `None` (a fresh session, as in Node) when the session is
    /// unknown or expired, or the offset is malformed or not in the log.
    pub(crate) fn restore(self: &Arc<Self>, pid: &str, offset: &str) -> Option<RestoredSession> {
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
    pub(crate) fn resume(
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferrio_proto::socketio::event_data;
    use serde_json::json;

    use super::*;

    fn event(n: u64) -> Packet<Payload> {
        Packet::new(
            PacketKind::Event,
            "/",
            Some(event_data("e", vec![Payload::Json(json!(n))])),
        )
    }

    fn send(log: &PacketLog, n: u64, opts: &BroadcastOptions) {
        log.broadcast(event(n), opts, |_| Vec::new()).unwrap();
    }

    fn all() -> BroadcastOptions {
        BroadcastOptions::default()
    }

    fn session(rooms: &[&str]) -> SessionToPersist {
        let sid = SocketId::random();
        let mut all: Vec<Room> = rooms.iter().map(|r| Room::from(*r)).collect();
        all.push(Room::from(sid.as_str()));
        SessionToPersist::new(sid, SocketId::random(), all, json!({"k": 1}))
    }

    /// The text of each missed packet.
    fn texts(restored: &RestoredSession) -> Vec<String> {
        restored
            .missed
            .iter()
            .map(|m| match &m.0 {
                super::super::session::Missed::Encoded(e) => e.text().to_owned(),
                super::super::session::Missed::Packet(_) => unreachable!(),
            })
            .collect()
    }

    fn log(config: RecoveryConfig) -> Arc<PacketLog> {
        Arc::new(PacketLog::new(config, Parser::Default))
    }

    #[test]
    fn stamps_follow_nodes_rule() {
        let mut volatile = all();
        volatile.flags.volatile = true;
        assert!(PacketLog::stamps(&event(1), &all()));
        assert!(!PacketLog::stamps(&event(1), &volatile));
        assert!(!PacketLog::stamps(&event(1).with_id(3), &all()));
        let ack = Packet::new(PacketKind::Ack, "/", Some(Payload::Json(json!([1]))));
        assert!(!PacketLog::stamps(&ack, &all()));
    }

    #[test]
    fn restore_returns_what_the_session_missed_after_its_offset_in_its_rooms() {
        let log = log(RecoveryConfig::default());
        send(&log, 0, &all());
        let known = offset::format(1);
        let s = session(&["a"]);
        let pid = s.pid;
        log.persist(s.clone());
        send(&log, 1, &all());
        send(&log, 2, &BroadcastOptions::to_rooms([Room::from("a")]));
        send(&log, 3, &BroadcastOptions::to_rooms([Room::from("b")]));
        let mut except_a = all();
        except_a.except.insert(Room::from("a"));
        send(&log, 4, &except_a);
        send(
            &log,
            5,
            &BroadcastOptions::to_rooms([Room::from(s.sid.as_str())]),
        );
        let restored = log.restore(pid.as_str(), &known).unwrap();
        assert_eq!(
            texts(&restored),
            [r#"42["e",1,"2"]"#, r#"42["e",2,"3"]"#, r#"42["e",5,"6"]"#]
        );
        assert_eq!((restored.sid, restored.pid), (s.sid, s.pid));
        assert_eq!(restored.rooms, s.rooms);
        assert_eq!(restored.data, json!({"k": 1}));
        // Taken.
        assert!(log.restore(pid.as_str(), &known).is_none());
    }

    #[test]
    fn an_offset_not_in_the_log_is_refused() {
        let log = log(RecoveryConfig::default().max_logged_packets(2));
        for n in 0..3 {
            send(&log, n, &all());
        }
        for offset in ["1", "4", "zz", ""] {
            let s = session(&[]);
            let pid = s.pid;
            log.persist(s);
            assert!(log.restore(pid.as_str(), offset).is_none(), "{offset}");
        }
        let s = session(&[]);
        let pid = s.pid;
        log.persist(s);
        let restored = log.restore(pid.as_str(), "2").unwrap();
        assert_eq!(restored.missed.len(), 1);
    }

    #[test]
    fn the_log_keeps_at_most_its_packets_and_bytes() {
        let log = log(RecoveryConfig::default().max_logged_packets(10));
        for n in 0..1000 {
            send(&log, n, &all());
        }
        assert_eq!(log.usage().0, 10);

        let log = log_with_bytes(2000);
        for n in 0..1000 {
            send(&log, n, &all());
        }
        let (packets, bytes) = log.usage();
        assert!(bytes <= 2000, "{bytes}");
        assert!(packets > 10 && packets < 2000 / ENTRY_OVERHEAD, "{packets}");
    }

    fn log_with_bytes(bytes: usize) -> Arc<PacketLog> {
        log(RecoveryConfig::default().max_logged_bytes(bytes))
    }

    #[tokio::test(start_paused = true)]
    async fn packets_and_sessions_expire_after_the_longest_disconnection() {
        let log =
            log(RecoveryConfig::default().max_disconnection_duration(Duration::from_secs(60)));
        send(&log, 0, &all());
        let s = session(&[]);
        let pid = s.pid;
        log.persist(s);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(log.restore(pid.as_str(), "1").is_none(), "expired");
        send(&log, 1, &all());
        assert_eq!(log.usage().0, 1, "the old packet left at the next one");

        // Expired sessions leave at the next persist, unasked for.
        log.persist(session(&[]));
        tokio::time::advance(Duration::from_secs(61)).await;
        log.persist(session(&[]));
        assert_eq!(log.sessions().by_pid.len(), 1);
        assert_eq!(log.sessions().expiry.len(), 1);

        // Within the window, it is restored.
        send(&log, 2, &all());
        let s = session(&[]);
        let pid = s.pid;
        log.persist(s);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(log.restore(pid.as_str(), "3").is_some());
    }

    #[test]
    fn resume_adds_what_was_logged_since_the_restore_or_fails_on_a_gap() {
        let log = log(RecoveryConfig::default().max_logged_packets(3));
        send(&log, 0, &all());
        let s = session(&["a"]);
        let (pid, rooms) = (s.pid, s.rooms.clone());
        log.persist(s);
        send(&log, 1, &all());
        let restored = log.restore(pid.as_str(), "1").unwrap();
        let tail = restored.tail.as_ref().unwrap();
        assert_eq!(tail.last, 2);
        send(&log, 2, &BroadcastOptions::to_rooms([Room::from("b")]));
        send(&log, 3, &BroadcastOptions::to_rooms([Room::from("a")]));
        let mut sent = Vec::new();
        log.resume(tail.last, &rooms, Vec::new(), |more| sent = more)
            .unwrap();
        let sent: Vec<_> = sent.iter().map(|e| e.text().to_owned()).collect();
        assert_eq!(sent, [r#"42["e",3,"4"]"#]);

        // Three more: the packets after the restore's last one are gone.
        for n in 4..7 {
            send(&log, n, &all());
        }
        assert!(log.resume(tail.last, &rooms, Vec::new(), |_| {}).is_err());
    }

    #[test]
    fn the_offset_goes_last_whatever_the_shape_of_the_data() {
        let mut json = Some(Payload::Json(json!(["e", 1])));
        append_arg(&mut json, "X".into());
        assert_eq!(json, Some(Payload::Json(json!(["e", 1, "X"]))));
        let mut array = Some(Payload::Array(vec![
            Payload::Json(json!("e")),
            Payload::Binary(bytes::Bytes::from_static(&[1])),
        ]));
        append_arg(&mut array, "X".into());
        let Some(Payload::Array(items)) = array else {
            panic!()
        };
        assert_eq!(items.last(), Some(&Payload::Json(json!("X"))));
        let raw = ferrio_proto::socketio::RawJson::from_value(&json!(["e", {"a": 1}]));
        let mut raw = Some(Payload::Raw(raw));
        append_arg(&mut raw, "X".into());
        let frames = Encoded::new(Packet::new(PacketKind::Event, "/", raw), Parser::Default);
        assert_eq!(frames.text(), r#"42["e",{"a":1},"X"]"#);
    }
}
