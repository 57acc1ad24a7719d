//! What connection state recovery keeps of a socket that lost its connection,
//! and what an adapter gives back when its client returns.

use std::sync::Arc;

use ferrio_proto::socketio::{Packet, PacketKind, Parser, Payload};

use super::packet_log::{LogTail, PacketLog};
use crate::outbound::Encoded;
use crate::{Room, SocketId};

/// A socket that left for a recoverable reason, as
/// [`Adapter::persist_session`](super::Adapter::persist_session) is given it:
/// Node's `{sid, pid, rooms, data}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionToPersist {
    /// The socket's id.
    pub sid: SocketId,
    /// The session's private id, which only its client knows.
    pub pid: SocketId,
    /// The rooms it was in, its own included.
    pub rooms: Vec<Room>,
    /// Its [`data`](crate::Socket::data_value).
    pub data: serde_json::Value,
}

impl SessionToPersist {
    /// A session to keep.
    pub fn new(sid: SocketId, pid: SocketId, rooms: Vec<Room>, data: serde_json::Value) -> Self {
        Self {
            sid,
            pid,
            rooms,
            data,
        }
    }
}

/// A session found again, with the packets its client missed, in order:
/// what [`Adapter::restore_session`](super::Adapter::restore_session) returns.
#[derive(Debug)]
#[non_exhaustive]
pub struct RestoredSession {
    /// The socket's id, which the new socket takes.
    pub sid: SocketId,
    /// The session's private id, kept.
    pub pid: SocketId,
    /// The rooms the new socket joins again.
    pub rooms: Vec<Room>,
    /// The data the new socket has.
    pub data: serde_json::Value,
    /// The packets the client missed, oldest first, each with its offset.
    pub missed: Vec<MissedPacket>,
    /// For the in-memory log: where `missed` ends, so that what was logged
    /// between the restore and the socket's return is sent too.
    pub(crate) tail: Option<LogTail>,
}

impl RestoredSession {
    /// A session an adapter found again.
    pub fn new(
        sid: SocketId,
        pid: SocketId,
        rooms: Vec<Room>,
        data: serde_json::Value,
        missed: Vec<MissedPacket>,
    ) -> Self {
        Self {
            sid,
            pid,
            rooms,
            data,
            missed,
            tail: None,
        }
    }

    /// The same, for the in-memory log: the packets logged after `missed`
    /// are added when the socket is back.
    pub(crate) fn from_log(
        session: SessionToPersist,
        missed: Vec<MissedPacket>,
        log: Arc<PacketLog>,
        last: u64,
    ) -> Self {
        let mut restored = Self::new(
            session.sid,
            session.pid,
            session.rooms,
            session.data,
            missed,
        );
        restored.tail = Some(LogTail { log, last });
        restored
    }
}

/// A packet a client missed while it was away.
#[derive(Debug)]
pub struct MissedPacket(pub(super) Missed);

#[derive(Debug)]
pub(super) enum Missed {
    /// Encoded when it was first sent (the in-memory log).
    Encoded(Arc<Encoded>),
    /// As a cluster adapter read it back.
    Packet(Packet<Payload>),
}

impl MissedPacket {
    /// An event packet read back from a cluster's store, its offset already
    /// appended as its last argument.
    pub fn from_packet(packet: Packet<Payload>) -> Self {
        Self(Missed::Packet(packet))
    }

    pub(crate) fn encoded(encoded: Arc<Encoded>) -> Self {
        Self(Missed::Encoded(encoded))
    }

    /// The bytes its frames take (encoding it now if it was not).
    pub(crate) fn len(&mut self, parser: Parser) -> usize {
        if let Missed::Packet(packet) = &mut self.0 {
            let packet = std::mem::replace(packet, Packet::new(PacketKind::Event, "/", None));
            self.0 = Missed::Encoded(Arc::new(Encoded::new(packet, parser)));
        }
        match &self.0 {
            Missed::Encoded(encoded) => encoded.len(),
            Missed::Packet(_) => 0,
        }
    }

    /// Its frames, encoded now if they were not.
    pub(crate) fn into_encoded(self, parser: Parser) -> Arc<Encoded> {
        match self.0 {
            Missed::Encoded(encoded) => encoded,
            Missed::Packet(packet) => Arc::new(Encoded::new(packet, parser)),
        }
    }
}
