use std::collections::VecDeque;

use super::carrier::{Carrier, Polling, Queue, Wire, WriteNow};
use crate::{CloseReason, OutPacket, SendError, TransportKind};

/// Where a polling session stands in its move to WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upgrade {
    /// No upgrade has started.
    None,
    /// A WebSocket for this session is open and has not probed yet.
    Requested,
    /// A WebSocket answered the probe; polls are released with noops.
    Probing,
    /// The session runs on WebSocket; polling requests are refused.
    Done,
}

/// Everything about a session that changes, behind one lock.
pub(crate) struct State {
    pub upgrade: Upgrade,
    pub closed: Option<CloseReason>,
    /// Frames waiting for the transport's writer. They stay shared (a
    /// broadcast's frame is one allocation for all its recipients) until
    /// written: the WebSocket writers write straight from here.
    pub outbox: VecDeque<OutPacket>,
    /// Bytes of the frames in `outbox` (the frame that is partly written
    /// included), counted against `max_buffered_bytes` and, engine-wide,
    /// against `max_total_buffered_bytes`.
    pub queued_bytes: usize,
    pub heartbeat: super::heartbeat::Timing,
    /// The transport that carries the session now, and what it keeps.
    pub carrier: Carrier,
}

impl State {
    pub(crate) fn new(transport: TransportKind, heartbeat: super::heartbeat::Timing) -> Self {
        Self {
            upgrade: Upgrade::None,
            closed: None,
            outbox: VecDeque::new(),
            queued_bytes: 0,
            heartbeat,
            carrier: Carrier::new(transport),
        }
    }

    /// The transport that carries the session now.
    pub(crate) fn transport(&self) -> TransportKind {
        self.carrier.kind()
    }

    /// What a long-polling session keeps about its requests; none once the
    /// session has moved to WebSocket.
    pub(crate) fn polling(&mut self) -> Option<&mut Polling> {
        match &mut self.carrier {
            Carrier::Polling(polling) => Some(polling),
            Carrier::WebSocket(_) => None,
        }
    }

    /// The carrier, and the outbox lent to it.
    pub(crate) fn carrier(&mut self) -> (&mut Carrier, Queue<'_>) {
        (
            &mut self.carrier,
            Queue::new(&mut self.outbox, &mut self.queued_bytes),
        )
    }

    /// `frame` as it goes to the client: compressed for a WebSocket that
    /// agreed on permessage-deflate, when it is large enough and `compress`
    /// allows it; else as it is.
    pub(crate) fn prepare(&mut self, frame: OutPacket, compress: bool) -> OutPacket {
        match &mut self.carrier {
            Carrier::WebSocket(wire) => wire.prepare(frame, compress),
            Carrier::Polling(_) => frame,
        }
    }

    /// Writes `frames`, back to back, if the carrier's socket takes them now.
    pub(crate) fn write_now(&mut self, frames: &[OutPacket]) -> WriteNow {
        if self.closed.is_some() {
            return WriteNow::Declined;
        }
        match self.carrier() {
            (Carrier::WebSocket(wire), queue) => wire.write_now(frames, queue),
            (Carrier::Polling(_), _) => WriteNow::Declined,
        }
    }

    /// The cork that held the session ended: writes what waits if the socket
    /// takes it. Whether nothing is left for the connection's task.
    pub(crate) fn uncork(&mut self) -> bool {
        match self.carrier() {
            (Carrier::WebSocket(wire), queue) => wire.uncork(queue),
            (Carrier::Polling(_), _) => true,
        }
    }

    /// Writes already framed bytes (a pong) now if the socket takes them, else
    /// keeps them for the connection's task, ahead of the outbox.
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) -> WriteNow {
        if self.closed.is_some() {
            return WriteNow::Declined;
        }
        match self.carrier() {
            (Carrier::WebSocket(wire), queue) => wire.write_raw(bytes, queue),
            (Carrier::Polling(_), _) => WriteNow::Declined,
        }
    }

    pub(crate) fn push(&mut self, frame: OutPacket, limit: Option<usize>) -> Result<(), SendError> {
        if self.closed.is_some() {
            return Err(SendError::Closed);
        }
        let len = frame.len();
        if limit.is_some_and(|limit| self.queued_bytes + len > limit) {
            return Err(SendError::Full);
        }
        self.queued_bytes += len;
        self.outbox.push_back(frame);
        Ok(())
    }

    pub(crate) fn push_all(
        &mut self,
        frames: impl IntoIterator<Item = OutPacket>,
        limit: usize,
    ) -> Result<(), SendError> {
        if self.closed.is_some() {
            return Err(SendError::Closed);
        }
        let start = self.outbox.len();
        let before = self.queued_bytes;
        for frame in frames {
            self.queued_bytes += frame.len();
            self.outbox.push_back(frame);
        }
        if self.queued_bytes > limit {
            self.outbox.truncate(start);
            self.queued_bytes = before;
            return Err(SendError::Full);
        }
        Ok(())
    }

    /// A frame that may be compressed was queued: the long-polling answer
    /// that takes it is compressed (over the threshold).
    pub(crate) fn wants_compression(&mut self) {
        if let Some(polling) = self.polling() {
            polling.compress = true;
        }
    }

    /// Takes the outbox of a long-polling session, and whether a frame in
    /// it asked for compression.
    pub(crate) fn take_poll_answer(&mut self) -> (VecDeque<OutPacket>, bool) {
        let compress = self
            .polling()
            .is_some_and(|polling| std::mem::take(&mut polling.compress));
        (self.take_outbox(), compress)
    }

    /// Whether nothing waits to be written, here or in the connection's task.
    pub(crate) fn is_drained(&self) -> bool {
        self.outbox.is_empty()
            && match &self.carrier {
                Carrier::WebSocket(wire) => wire.is_idle(),
                Carrier::Polling(_) => true,
            }
    }

    /// Whether the first queued frame is partly written.
    fn is_mid_frame(&self) -> bool {
        matches!(&self.carrier, Carrier::WebSocket(wire) if wire.is_mid_frame())
    }

    /// Takes every queued frame, in order (long-polling, where no frame is
    /// ever partly written).
    pub(crate) fn take_outbox(&mut self) -> VecDeque<OutPacket> {
        debug_assert!(!self.is_mid_frame());
        self.queued_bytes = 0;
        std::mem::take(&mut self.outbox)
    }

    /// Drops the queued frames that are not on their way yet: everything but
    /// the rest of a partly written frame, which must still be completed
    /// before anything else is written to the stream.
    pub(crate) fn discard_outbox(&mut self) {
        let keep = usize::from(self.is_mid_frame());
        self.outbox.truncate(keep);
        self.queued_bytes = self.outbox.iter().map(OutPacket::len).sum();
        if self.outbox.is_empty() {
            self.outbox = VecDeque::new();
        }
    }

    /// Drops everything queued and the carrier's socket: the stream is gone.
    pub(crate) fn clear_outbox(&mut self) {
        self.outbox = VecDeque::new();
        self.queued_bytes = 0;
        if let Carrier::WebSocket(wire) = &mut self.carrier {
            wire.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> crate::session::heartbeat::Timing {
        crate::session::heartbeat::Timing::new(
            tokio::time::Instant::now(),
            std::time::Duration::from_secs(25),
        )
    }

    /// An idle WebSocket connection holds one `Session`: its state must not grow.
    #[test]
    fn the_session_state_stays_small() {
        let (state, session) = (
            std::mem::size_of::<State>(),
            std::mem::size_of::<crate::Session>(),
        );
        eprintln!("size_of::<State>() = {state}, size_of::<Session>() = {session}");
        assert!(state <= 136, "State is {state} bytes");
    }

    #[test]
    fn push_respects_the_byte_limit_and_close() {
        let mut s = State::new(TransportKind::Polling, timing());
        assert_eq!(s.push(OutPacket::message("abc"), Some(8)), Ok(()));
        assert_eq!(
            s.push(OutPacket::message("abcd"), Some(8)),
            Err(SendError::Full)
        );
        assert_eq!(s.push(OutPacket::message("ab"), Some(8)), Ok(()));
        assert_eq!(s.take_outbox().len(), 2);
        assert_eq!(s.queued_bytes, 0);
        s.closed = Some(CloseReason::ForcedClose);
        assert_eq!(
            s.push(OutPacket::message("a"), None),
            Err(SendError::Closed)
        );
    }

    #[test]
    fn push_all_is_all_or_nothing() {
        let mut s = State::new(TransportKind::WebSocket, timing());
        s.push(OutPacket::message("x"), None).unwrap();
        let frames = [OutPacket::message("12345"), OutPacket::message("678")];
        assert_eq!(s.push_all(frames.clone(), 8), Err(SendError::Full));
        assert_eq!(s.outbox.len(), 1);
        assert_eq!(s.push_all(frames, 20), Ok(()));
        assert_eq!(s.outbox.len(), 3);
    }

    /// An upgrade is one change of carrier: the transport follows, and the
    /// polling bookkeeping goes with the old variant.
    #[test]
    fn the_carrier_tells_the_transport() {
        let mut s = State::new(TransportKind::Polling, timing());
        assert_eq!(s.transport(), TransportKind::Polling);
        s.polling().unwrap().hold += 1;
        s.push(OutPacket::message("queued"), None).unwrap();
        assert_eq!(s.write_now(&[OutPacket::message("x")]), WriteNow::Declined);
        s.carrier = Carrier::WebSocket(Default::default());
        assert_eq!(s.transport(), TransportKind::WebSocket);
        assert!(s.polling().is_none());
        // No socket to write to: frames wait in the outbox, counted.
        assert_eq!(s.write_now(&[OutPacket::message("x")]), WriteNow::Declined);
        assert_eq!(s.queued_bytes, 7);
        assert!(!s.is_drained());
    }
}
