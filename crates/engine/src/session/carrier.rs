//! What carries a session to its client: long-polling requests, or a WebSocket
//! whose writer the session may use itself.
//!
//! The session knows its carrier only through [`Wire`]: the WebSocket framing,
//! its socket and its control frames live in the WebSocket transport
//! (`transport::websocket::writer`). An upgrade is one change of variant.

use std::collections::VecDeque;
use std::io::{self, IoSlice};

use crate::OutPacket;
use crate::TransportKind;
use crate::transport::websocket::Writer;

/// What became of frames offered to a carrier's wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteNow {
    /// All written.
    Written,
    /// Partly written; the rest waits in the outbox for the connection's task.
    Partial,
    /// Not written: the caller queues the frames as usual.
    Declined,
    /// Not written because this thread is corked ([`Cork`](super::cork::Cork)):
    /// the caller queues the frames, wakes no one, and has the cork hold the
    /// session, which writes them when it ends.
    Corked,
    /// Not written: the session is corked already. The caller queues the
    /// frames and wakes no one.
    Gathering,
}

/// What a session needs from a carrier that senders may write to themselves:
/// a write now, under the session's lock (one vectored write, no task wake-up,
/// no queue of its own), and the rest taken from the outbox later by the
/// connection's task.
pub(crate) trait Wire {
    /// Writes `frames`, back to back, if nothing waits before them and the
    /// socket takes them now. What it does not take whole goes to `queue`.
    fn write_now(&mut self, frames: &[OutPacket], queue: Queue<'_>) -> WriteNow;

    /// Writes already framed bytes (a pong) now if the socket takes them, else
    /// keeps them to be written ahead of `queue`.
    fn write_raw(&mut self, bytes: &[u8], queue: Queue<'_>) -> WriteNow;

    /// Writes what waits (control bytes, then `queue`) with `write`, one
    /// vectored write to the stream at a time, `WouldBlock` when it is full.
    /// `Ok(true)` once nothing waits.
    fn flush(
        &mut self,
        queue: Queue<'_>,
        write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<bool>;

    /// Whether nothing waits here: no control bytes, no frame partly written,
    /// nothing handed to the stream and not flushed.
    fn is_idle(&self) -> bool;

    /// Whether the first queued frame is partly written: it must be finished
    /// before anything else goes to the stream.
    fn is_mid_frame(&self) -> bool;

    /// The stream is gone: forget what waits, and the socket.
    fn reset(&mut self);
}

/// The transport that carries a session, and what it keeps.
pub(crate) enum Carrier {
    /// HTTP long-polling.
    Polling(Polling),
    /// A WebSocket.
    WebSocket(Writer),
}

/// What a long-polling session keeps about its requests.
#[derive(Debug, Default)]
pub(crate) struct Polling {
    /// While non-zero, a poll does not take the outbox: the frames of one
    /// POST's messages go out together in the next poll response.
    pub hold: u32,
    pub poll_active: bool,
    pub post_active: bool,
    /// A frame in the outbox asked for compression (Node compresses a
    /// poll's answer when any of its packets did; control packets do).
    pub compress: bool,
}

impl Carrier {
    /// The carrier of a new session on `transport`.
    pub(crate) fn new(transport: TransportKind) -> Self {
        match transport {
            TransportKind::Polling => Self::Polling(Polling::default()),
            TransportKind::WebSocket => Self::WebSocket(Writer::default()),
        }
    }

    /// Which transport it is.
    pub(crate) fn kind(&self) -> TransportKind {
        match self {
            Self::Polling(_) => TransportKind::Polling,
            Self::WebSocket(_) => TransportKind::WebSocket,
        }
    }
}

/// A session's outbox, lent to its wire: every frame that leaves or joins it
/// is counted in the session's queued bytes, so the engine-wide budget stays
/// exact whoever writes.
pub(crate) struct Queue<'a> {
    frames: &'a mut VecDeque<OutPacket>,
    bytes: &'a mut usize,
}

impl<'a> Queue<'a> {
    pub(crate) fn new(frames: &'a mut VecDeque<OutPacket>, bytes: &'a mut usize) -> Self {
        Self { frames, bytes }
    }

    /// Whether no frame waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The first waiting frame.
    pub(crate) fn front(&self) -> Option<&OutPacket> {
        self.frames.front()
    }

    /// The waiting frames, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &OutPacket> {
        self.frames.iter()
    }

    /// Queues a frame at the end.
    pub(crate) fn push_back(&mut self, frame: OutPacket) {
        *self.bytes += frame.len();
        self.frames.push_back(frame);
    }

    /// Takes the first frame, written.
    pub(crate) fn pop_front(&mut self) -> Option<OutPacket> {
        let frame = self.frames.pop_front()?;
        *self.bytes = self.bytes.saturating_sub(frame.len());
        Some(frame)
    }

    /// Lets go of the memory a burst grew, once empty: an idle connection
    /// holds no buffer.
    pub(crate) fn release(&mut self) {
        if self.frames.is_empty() && self.frames.capacity() > 0 {
            *self.frames = VecDeque::new();
        }
    }
}
