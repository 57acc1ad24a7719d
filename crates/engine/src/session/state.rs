use std::collections::VecDeque;
use std::sync::Arc;

use crate::transport::RawTcp;
use crate::{CloseReason, Frame, SendError, TransportKind};

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
    pub transport: TransportKind,
    pub upgrade: Upgrade,
    pub closed: Option<CloseReason>,
    /// Frames waiting for the transport's writer. They stay shared (a
    /// broadcast's frame is one allocation for all its recipients) until
    /// written: the WebSocket writers write straight from here.
    pub outbox: VecDeque<Frame>,
    /// Bytes of the frames in `outbox` (the frame that is partly written
    /// included), counted against `max_buffered_bytes` and, engine-wide,
    /// against `max_total_buffered_bytes`.
    pub queued_bytes: usize,
    /// WebSocket: how many bytes of the first outbox frame (header and
    /// payload) are already on the wire. Nothing may be written between them
    /// and the rest of that frame.
    pub sent: usize,
    /// While non-zero, a poll does not take the outbox: the frames of one POST's
    /// messages go out together in the next poll response.
    pub hold: u32,
    pub poll_active: bool,
    pub post_active: bool,
    pub heartbeat: super::heartbeat::Timing,
    /// The socket of a plain-TCP WebSocket carrying the session: senders write
    /// to it themselves when nothing waits before their frame (see `direct`).
    pub direct: Option<Arc<dyn RawTcp>>,
    /// WebSocket control frames (pongs) already framed and not yet written.
    /// Written at the next frame boundary: after the rest of a partly
    /// written frame, before the other outbox frames. Bounded (see `direct`).
    pub wire: Vec<u8>,
    /// The connection's task holds frames it took and has not written yet.
    pub writing: bool,
}

impl State {
    pub fn new(transport: TransportKind, heartbeat: super::heartbeat::Timing) -> Self {
        Self {
            transport,
            upgrade: Upgrade::None,
            closed: None,
            outbox: VecDeque::new(),
            queued_bytes: 0,
            sent: 0,
            hold: 0,
            poll_active: false,
            post_active: false,
            heartbeat,
            direct: None,
            wire: Vec::new(),
            writing: false,
        }
    }

    pub fn push(&mut self, frame: Frame, limit: Option<usize>) -> Result<(), SendError> {
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

    pub fn push_all(
        &mut self,
        frames: impl IntoIterator<Item = Frame>,
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

    /// Whether nothing waits to be written, here or in the connection's task.
    pub fn is_drained(&self) -> bool {
        self.outbox.is_empty() && self.wire.is_empty() && !self.writing
    }

    /// Takes every queued frame, in order (long-polling, where no frame is
    /// ever partly written).
    pub fn take_outbox(&mut self) -> VecDeque<Frame> {
        debug_assert_eq!(self.sent, 0);
        self.queued_bytes = 0;
        std::mem::take(&mut self.outbox)
    }

    /// Drops the queued frames that are not on their way yet: everything but
    /// the rest of a partly written frame, which must still be completed
    /// before anything else is written to the stream.
    pub fn discard_outbox(&mut self) {
        let keep = usize::from(self.sent > 0);
        self.outbox.truncate(keep);
        self.queued_bytes = self.outbox.iter().map(Frame::len).sum();
        if self.outbox.is_empty() {
            self.outbox = VecDeque::new();
        }
    }

    /// Drops everything queued: the stream is gone.
    pub fn clear_outbox(&mut self) {
        self.outbox = VecDeque::new();
        self.queued_bytes = 0;
        self.sent = 0;
        self.wire = Vec::new();
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
        assert_eq!(s.push(Frame::message("abc"), Some(8)), Ok(()));
        assert_eq!(
            s.push(Frame::message("abcd"), Some(8)),
            Err(SendError::Full)
        );
        assert_eq!(s.push(Frame::message("ab"), Some(8)), Ok(()));
        assert_eq!(s.take_outbox().len(), 2);
        assert_eq!(s.queued_bytes, 0);
        s.closed = Some(CloseReason::ForcedClose);
        assert_eq!(s.push(Frame::message("a"), None), Err(SendError::Closed));
    }

    #[test]
    fn push_all_is_all_or_nothing() {
        let mut s = State::new(TransportKind::WebSocket, timing());
        s.push(Frame::message("x"), None).unwrap();
        let frames = [Frame::message("12345"), Frame::message("678")];
        assert_eq!(s.push_all(frames.clone(), 8), Err(SendError::Full));
        assert_eq!(s.outbox.len(), 1);
        assert_eq!(s.push_all(frames, 20), Ok(()));
        assert_eq!(s.outbox.len(), 3);
    }
}
