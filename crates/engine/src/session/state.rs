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
    pub outbox: VecDeque<Frame>,
    pub queued_bytes: usize,
    /// While non-zero, a poll does not take the outbox: the frames of one POST's
    /// messages go out together in the next poll response.
    pub hold: u32,
    pub poll_active: bool,
    pub post_active: bool,
    pub heartbeat: super::heartbeat::Timing,
    /// The socket of a plain-TCP WebSocket carrying the session: senders write
    /// to it themselves when nothing waits before their frame (see `direct`).
    pub direct: Option<Arc<dyn RawTcp>>,
    /// WebSocket bytes already framed and not yet written: the rest of a frame
    /// the socket did not take whole, and pongs. Written before the outbox.
    pub wire: bytes::BytesMut,
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
            hold: 0,
            poll_active: false,
            post_active: false,
            heartbeat,
            direct: None,
            wire: bytes::BytesMut::new(),
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

    /// Takes every queued frame, in order.
    pub fn take_outbox(&mut self) -> VecDeque<Frame> {
        self.queued_bytes = 0;
        std::mem::take(&mut self.outbox)
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
