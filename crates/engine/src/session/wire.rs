//! Writing what waits in a session to its WebSocket, straight from the outbox.
//!
//! Queued frames stay shared: a broadcast's frame is one allocation however
//! many recipients wait for it. A write offers a batch of frames to the stream
//! as `IoSlice`s (each frame's header, made on the stack, then its payload),
//! so no frame is ever copied into a buffer of the session's own. What the
//! stream does not take stays where it is: `State::sent` says how much of the
//! first frame is already out.

use std::io::{self, IoSlice};

use ferrio_proto::websocket::{Header, header};

use super::State;
use crate::Frame;

/// Frames offered to one vectored write (one syscall on plain TCP).
const BATCH: usize = 64;

/// The WebSocket header a frame is sent with.
pub(super) fn frame_header(frame: &Frame) -> Header {
    let (opcode, payload) = frame.ws_parts();
    header(opcode, payload.len())
}

/// A frame's size on the wire: header and payload.
pub(super) fn wire_len(frame: &Frame) -> usize {
    frame_header(frame).as_bytes().len() + frame.len()
}

impl State {
    /// Whether WebSocket bytes wait to be written.
    pub(crate) fn has_unwritten(&self) -> bool {
        !self.outbox.is_empty() || !self.wire.is_empty()
    }

    /// Whether WebSocket bytes wait to be written, or to be flushed by the
    /// connection's task.
    pub(crate) fn has_unwritten_or_unflushed(&self) -> bool {
        self.has_unwritten() || self.writing
    }

    /// Writes what waits, in order: the rest of a partly written frame,
    /// control frames (`wire`), then the outbox. `write` is one vectored write
    /// to the stream; `WouldBlock` from it means the stream is full.
    ///
    /// Returns `Ok(true)` once nothing waits, `Ok(false)` when the stream is
    /// full (what it did not take stays queued, shared, uncopied).
    pub(crate) fn write_out(
        &mut self,
        mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<bool> {
        while self.has_unwritten() {
            let result = {
                let headers: [Option<Header>; BATCH] =
                    std::array::from_fn(|i| self.outbox.get(i).map(frame_header));
                let mut parts: [&[u8]; 2 * BATCH + 1] = [&[]; 2 * BATCH + 1];
                let mut count = 0;
                let mut frames = self.outbox.iter().zip(&headers);
                if self.sent > 0
                    && let Some((frame, Some(head))) = frames.next()
                {
                    let (head, payload) = (head.as_bytes(), frame.ws_parts().1);
                    match head.get(self.sent..) {
                        Some(rest) if !rest.is_empty() => {
                            parts[0] = rest;
                            parts[1] = payload;
                            count = 2;
                        }
                        _ => {
                            parts[0] = payload.get(self.sent - head.len()..).unwrap_or(&[]);
                            count = 1;
                        }
                    }
                }
                if !self.wire.is_empty() {
                    parts[count] = &self.wire;
                    count += 1;
                }
                for (frame, head) in frames {
                    let Some(head) = head else { break };
                    parts[count] = head.as_bytes();
                    parts[count + 1] = frame.ws_parts().1;
                    count += 2;
                }
                let slices: [IoSlice<'_>; 2 * BATCH + 1] =
                    std::array::from_fn(|i| IoSlice::new(parts[i]));
                write(&slices[..count])
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        // A burst may have grown them: an idle connection holds no buffer.
        if self.outbox.capacity() > 0 {
            self.outbox = std::collections::VecDeque::new();
        }
        if self.wire.capacity() > 0 {
            self.wire = Vec::new();
        }
        Ok(true)
    }

    /// Marks `n` bytes as written, in the order `write_out` offers them.
    fn advance(&mut self, mut n: usize) {
        if self.sent > 0
            && let Some(front) = self.outbox.front()
        {
            let rest = wire_len(front) - self.sent;
            if n < rest {
                self.sent += n;
                return;
            }
            n -= rest;
            self.sent = 0;
            self.pop_written();
        }
        let control = n.min(self.wire.len());
        self.wire.drain(..control);
        n -= control;
        while n > 0 {
            let Some(front) = self.outbox.front() else {
                break;
            };
            let len = wire_len(front);
            if n < len {
                self.sent = n;
                return;
            }
            n -= len;
            self.pop_written();
        }
    }

    fn pop_written(&mut self) {
        if let Some(frame) = self.outbox.pop_front() {
            self.queued_bytes = self.queued_bytes.saturating_sub(frame.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TransportKind;
    use bytes::Bytes;

    fn state() -> State {
        State::new(
            TransportKind::WebSocket,
            crate::session::heartbeat::Timing::new(
                tokio::time::Instant::now(),
                std::time::Duration::from_secs(25),
            ),
        )
    }

    fn encoded(frames: &[Frame]) -> Vec<u8> {
        let mut out = Vec::new();
        for frame in frames {
            out.extend_from_slice(frame_header(frame).as_bytes());
            out.extend_from_slice(frame.ws_parts().1);
        }
        out
    }

    /// Whatever the stream takes at each write, the bytes come out whole and
    /// in order, pongs at a frame boundary, and the count goes to zero.
    #[test]
    fn any_split_of_the_writes_keeps_the_bytes_in_order() {
        let frames = vec![
            Frame::message("hello"),
            Frame::Binary(Bytes::from(vec![9u8; 300])),
            Frame::Binary(Bytes::from(vec![1u8; 70_000])),
            Frame::message("x"),
        ];
        let expected = encoded(&frames);
        for step in [1, 2, 3, 7, 130, 4096, 1 << 20] {
            let mut s = state();
            for frame in &frames {
                s.push(frame.clone(), None).unwrap();
            }
            let mut out = Vec::new();
            let mut budget = 0;
            loop {
                budget += step;
                let done = s
                    .write_out(|slices| {
                        let mut took = 0;
                        for slice in slices {
                            let n = slice.len().min(budget - took);
                            out.extend_from_slice(&slice[..n]);
                            took += n;
                        }
                        budget -= took;
                        if took == 0 {
                            return Err(io::ErrorKind::WouldBlock.into());
                        }
                        Ok(took)
                    })
                    .unwrap();
                if done {
                    break;
                }
            }
            assert_eq!(out, expected, "step {step}");
            assert_eq!(s.queued_bytes, 0);
            assert_eq!(s.sent, 0);
        }
    }

    /// A pong queued while a frame is half written goes out after that frame.
    #[test]
    fn control_bytes_wait_for_the_end_of_a_partly_written_frame() {
        let mut s = state();
        let frame = Frame::Binary(Bytes::from(vec![5u8; 1000]));
        s.push(frame.clone(), None).unwrap();
        s.push(Frame::message("after"), None).unwrap();
        let mut out = Vec::new();
        let take = |n: usize, out: &mut Vec<u8>, s: &mut State| {
            let mut left = n;
            s.write_out(|slices| {
                let mut took = 0;
                for slice in slices {
                    let k = slice.len().min(left);
                    out.extend_from_slice(&slice[..k]);
                    took += k;
                    left -= k;
                }
                if took == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(took)
            })
            .unwrap()
        };
        assert!(!take(500, &mut out, &mut s));
        assert_eq!(s.queued_bytes, 1006);
        s.wire.extend_from_slice(b"PONG");
        assert!(take(usize::MAX, &mut out, &mut s));
        let mut expected = encoded(&[frame]);
        expected.extend_from_slice(b"PONG");
        expected.extend_from_slice(&encoded(&[Frame::message("after")]));
        assert_eq!(out, expected);
        assert_eq!(s.queued_bytes, 0);
    }
}
