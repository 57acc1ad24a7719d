//! The WebSocket side of a session's carrier: the socket senders may write
//! to, the framing of queued frames, and control frames (pongs) not written yet.
//!
//! When a plain-TCP WebSocket carries the session and nothing waits before a
//! frame, the sender writes it with one non-blocking vectored write while it
//! holds the session's lock: no queue, no wake-up of the connection's task, no
//! second copy. That is what makes a broadcast one tight loop of writes, and
//! an acknowledgement one write from the handler. Whatever the socket does not
//! take whole goes to the task, which waits until the socket is writable.
//!
//! Queued frames stay shared: a broadcast's frame is one allocation however
//! many recipients wait for it. A write offers a batch of frames to the stream
//! as `IoSlice`s (each frame's header, made on the stack, then its payload),
//! so no frame is ever copied into a buffer of the session's own. What the
//! stream does not take stays where it is: `Writer::sent` says how much of the
//! first frame is already out.

use std::io::{self, IoSlice};
use std::sync::Arc;

use ferrio_proto::websocket::{Header, Opcode, compressed_header, header};

use super::RawTcp;
use super::deflate::Compressor;
use crate::OutPacket;
use crate::session::{Queue, Wire, WriteNow};
use ferrio_proto::websocket::deflate::{DeflateConfig, DeflateParams};

/// The WebSocket half of a session's state, behind the session's lock.
#[derive(Default)]
pub(crate) struct Writer {
    /// The socket of a plain-TCP WebSocket: senders write to it themselves
    /// when nothing waits before their frame. None for other streams (TLS),
    /// which only the connection's task writes.
    socket: Option<Arc<dyn RawTcp>>,
    /// WebSocket control frames (pongs) already framed and not yet written.
    /// Written at the next frame boundary: after the rest of a partly
    /// written frame, before the queued frames. Bounded (`MAX_RAW_BACKLOG`).
    raw: Backlog,
    /// How many bytes of the first queued frame (header and payload) are
    /// already on the wire. Nothing may be written between them and the rest
    /// of that frame.
    sent: usize,
    /// The connection's task handed bytes to the stream and has not flushed
    /// them yet (TLS).
    pub(super) writing: bool,
    /// A cork of this thread holds the session: frames wait in the outbox
    /// until it ends ([`uncork`](Self::uncork)).
    corked: bool,
    /// permessage-deflate, when the client agreed to it: compresses messages
    /// as they are sent. Boxed: most connections have none.
    compressor: Option<Box<Compressor>>,
}

impl Writer {
    /// The writer of a WebSocket on `socket`, if senders may write to it.
    pub(crate) fn new(socket: Option<Arc<dyn RawTcp>>) -> Self {
        Self {
            socket,
            ..Self::default()
        }
    }

    /// The same writer, compressing messages as permessage-deflate was
    /// agreed on (`params`), with `config`'s level and threshold.
    pub(crate) fn deflating(
        mut self,
        params: Option<&DeflateParams>,
        config: Option<&DeflateConfig>,
    ) -> Self {
        if let (Some(params), Some(config)) = (params, config) {
            self.compressor = Some(Box::new(Compressor::new(params, config)));
        }
        self
    }

    /// `frame` as it goes to the wire: compressed if the extension was agreed
    /// on, it is large enough, and `compress` allows it.
    pub(crate) fn prepare(&mut self, frame: OutPacket, compress: bool) -> OutPacket {
        match &mut self.compressor {
            Some(compressor) => compressor.prepare(frame, compress),
            None => frame,
        }
    }

    /// Whether it holds a compression context (memory) now.
    #[cfg(test)]
    pub(crate) fn holds_deflate_context(&self) -> bool {
        self.compressor.as_ref().is_some_and(|c| c.holds_context())
    }

    /// Whether bytes wait to be written.
    pub(super) fn has_unwritten(&self, queue: &Queue<'_>) -> bool {
        !queue.is_empty() || !self.raw.is_empty()
    }

    /// Whether a frame may go to the socket right now, ahead of nothing.
    fn can_write_now(&self, queue: &Queue<'_>) -> bool {
        self.socket.is_some()
            && !self.writing
            && !self.corked
            && queue.is_empty()
            && self.raw.is_empty()
    }

    /// The cork that held the session ended: writes what waits with one
    /// vectored write (a few for a long outbox) if the socket takes it.
    /// Whether nothing is left for the connection's task.
    pub(crate) fn uncork(&mut self, queue: Queue<'_>) -> bool {
        self.corked = false;
        if !self.has_unwritten(&queue) {
            return true;
        }
        if self.writing {
            return false;
        }
        // Lent out for the write: `flush` needs the writer itself.
        let Some(io) = self.socket.take() else {
            return false;
        };
        let done = self.flush(queue, |slices| write_vectored(io.tcp(), slices));
        self.socket = Some(io);
        matches!(done, Ok(true))
    }

    /// Marks `n` bytes as written, in the order `flush` offers them.
    fn advance(&mut self, queue: &mut Queue<'_>, mut n: usize) {
        if self.sent > 0
            && let Some(front) = queue.front()
        {
            let rest = wire_len(front) - self.sent;
            if n < rest {
                self.sent += n;
                return;
            }
            n -= rest;
            self.sent = 0;
            queue.pop_front();
        }
        let control = n.min(self.raw.len());
        self.raw.consume(control);
        n -= control;
        while n > 0 {
            let Some(front) = queue.front() else {
                break;
            };
            let len = wire_len(front);
            if n < len {
                self.sent = n;
                return;
            }
            n -= len;
            queue.pop_front();
        }
    }
}

/// The most frames written at once by a sender: a packet and a few binary
/// attachments. More are queued and written by the connection's task.
const MAX_FRAMES: usize = 4;

/// Pongs waiting beyond this many bytes are dropped: a client that pings
/// without reading gets no more answers, rather than unbounded memory.
const MAX_RAW_BACKLOG: usize = 64 * 1024;

/// Frames offered to one vectored write by the connection's task (one syscall
/// on plain TCP).
const BATCH: usize = 64;

impl Wire for Writer {
    fn write_now(&mut self, frames: &[OutPacket], mut queue: Queue<'_>) -> WriteNow {
        if self.corked {
            return WriteNow::Gathering;
        }
        if frames.is_empty() || !self.can_write_now(&queue) {
            return WriteNow::Declined;
        }
        if crate::session::cork::is_on() {
            self.corked = true;
            return WriteNow::Corked;
        }
        if frames.len() > MAX_FRAMES {
            return WriteNow::Declined;
        }
        let Some(io) = &self.socket else {
            return WriteNow::Declined;
        };
        let headers: [Option<Header>; MAX_FRAMES] =
            std::array::from_fn(|i| frames.get(i).map(frame_header));
        let mut parts: [&[u8]; 2 * MAX_FRAMES] = [&[]; 2 * MAX_FRAMES];
        for (i, frame) in frames.iter().enumerate() {
            parts[2 * i] = headers[i].as_ref().map_or(&[], |h| h.as_bytes());
            parts[2 * i + 1] = ws_parts(frame).1;
        }
        let parts = &parts[..2 * frames.len()];
        let slices: [IoSlice<'_>; 2 * MAX_FRAMES] =
            std::array::from_fn(|i| IoSlice::new(parts.get(i).copied().unwrap_or(&[])));
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let written = match write_vectored(io.tcp(), &slices[..parts.len()]) {
            Ok(n) => n,
            // Not writable now, or failing: the task writes, and sees the error.
            Err(_) => return WriteNow::Declined,
        };
        if written == total {
            return WriteNow::Written;
        }
        // The rest waits in the outbox, still shared: the frames the socket
        // did not take whole, and how much of the first of them is out.
        let mut skip = written;
        for frame in frames {
            let len = wire_len(frame);
            if skip >= len {
                skip -= len;
                continue;
            }
            queue.push_back(frame.clone());
            if skip > 0 {
                self.sent = skip;
                skip = 0;
            }
        }
        WriteNow::Partial
    }

    fn write_raw(&mut self, bytes: &[u8], queue: Queue<'_>) -> WriteNow {
        if self.raw.len() > MAX_RAW_BACKLOG {
            return WriteNow::Declined;
        }
        let mut written = 0;
        if self.can_write_now(&queue)
            && let Some(io) = &self.socket
        {
            match write_vectored(io.tcp(), &[IoSlice::new(bytes)]) {
                Ok(n) if n == bytes.len() => return WriteNow::Written,
                Ok(n) => written = n,
                Err(_) => {}
            }
        }
        self.raw.extend(bytes.get(written..).unwrap_or(&[]));
        WriteNow::Partial
    }

    fn flush(
        &mut self,
        mut queue: Queue<'_>,
        mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<bool> {
        while self.has_unwritten(&queue) {
            let result = {
                let mut queued = queue.iter();
                let headers: [Option<Header>; BATCH] =
                    std::array::from_fn(|_| queued.next().map(frame_header));
                let mut parts: [&[u8]; 2 * BATCH + 1] = [&[]; 2 * BATCH + 1];
                let mut count = 0;
                let mut frames = queue.iter().zip(&headers);
                if self.sent > 0
                    && let Some((frame, Some(head))) = frames.next()
                {
                    let (head, payload) = (head.as_bytes(), ws_parts(frame).1);
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
                if !self.raw.is_empty() {
                    parts[count] = self.raw.as_slice();
                    count += 1;
                }
                for (frame, head) in frames {
                    let Some(head) = head else { break };
                    parts[count] = head.as_bytes();
                    parts[count + 1] = ws_parts(frame).1;
                    count += 2;
                }
                let slices: [IoSlice<'_>; 2 * BATCH + 1] =
                    std::array::from_fn(|i| IoSlice::new(parts[i]));
                write(&slices[..count])
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.advance(&mut queue, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        // A burst may have grown them: an idle connection holds no buffer.
        queue.release();
        self.raw = Backlog::default();
        Ok(true)
    }

    fn is_idle(&self) -> bool {
        self.raw.is_empty() && !self.writing
    }

    fn is_mid_frame(&self) -> bool {
        self.sent > 0
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Control frames not written yet: nothing at all (one empty pointer) while
/// none wait, as on nearly every connection.
#[derive(Debug, Default)]
// One pointer in every session's state rather than a `Vec`'s three words: the
// extra allocation is only made while pongs wait, which is rare.
#[allow(clippy::box_collection)]
struct Backlog(Option<Box<Vec<u8>>>);

impl Backlog {
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |bytes| bytes.len())
    }

    fn as_slice(&self) -> &[u8] {
        self.0.as_deref().map_or(&[], |bytes| bytes.as_slice())
    }

    fn extend(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.0.get_or_insert_default().extend_from_slice(bytes);
        }
    }

    /// Forgets the first `n` bytes, written.
    fn consume(&mut self, n: usize) {
        if let Some(bytes) = &mut self.0 {
            bytes.drain(..n.min(bytes.len()));
            if bytes.is_empty() {
                self.0 = None;
            }
        }
    }
}

/// The WebSocket opcode and payload a frame is sent as.
fn ws_parts(frame: &OutPacket) -> (Opcode, &[u8]) {
    match frame {
        OutPacket::Text(t) => (Opcode::Text, t.as_bytes()),
        OutPacket::Binary(b) => (Opcode::Binary, b),
        OutPacket::Deflated(d) if d.text => (Opcode::Text, &d.bytes),
        OutPacket::Deflated(d) => (Opcode::Binary, &d.bytes),
    }
}

/// The WebSocket header a frame is sent with: RSV1 set on a compressed one.
fn frame_header(frame: &OutPacket) -> Header {
    let (opcode, payload) = ws_parts(frame);
    match frame {
        OutPacket::Deflated(_) => compressed_header(opcode, payload.len()),
        _ => header(opcode, payload.len()),
    }
}

/// A frame's size on the wire: header and payload.
fn wire_len(frame: &OutPacket) -> usize {
    frame_header(frame).as_bytes().len() + frame.len()
}

/// One vectored write on the socket's descriptor, past tokio's readiness
/// bookkeeping: `sendmsg` with `MSG_NOSIGNAL`, so a peer that reset the
/// connection makes it fail with `EPIPE` rather than raise `SIGPIPE`, whose
/// default action kills the process (Rust programs ignore it, but a host that
/// embeds ferrio, a C++ or Python process, may not).
///
/// `TcpStream::try_write_vectored` first reads the socket's readiness in its
/// tokio registration, one more object per socket: in a broadcast to 10 000
/// sockets that is a cache miss per recipient, about a tenth of ferrio's CPU
/// per delivery there (perf). The bookkeeping is not needed here: when the
/// socket cannot take more, the frames go to the connection's task, whose
/// wait for room then tries once, gets `EAGAIN` through tokio and clears the
/// readiness tokio still believes in.
#[cfg(all(unix, not(target_vendor = "apple")))]
pub(crate) fn write_vectored(
    tcp: &tokio::net::TcpStream,
    slices: &[IoSlice<'_>],
) -> io::Result<usize> {
    use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};
    sendmsg(
        tcp,
        slices,
        &mut SendAncillaryBuffer::default(),
        SendFlags::NOSIGNAL,
    )
    .map_err(io::Error::from)
}

/// Apple systems have no `MSG_NOSIGNAL` (mio sets `SO_NOSIGPIPE` on the
/// socket instead): a plain `writev`.
#[cfg(target_vendor = "apple")]
pub(crate) fn write_vectored(
    tcp: &tokio::net::TcpStream,
    slices: &[IoSlice<'_>],
) -> io::Result<usize> {
    rustix::io::writev(tcp, slices).map_err(io::Error::from)
}

/// Without descriptors to write to, tokio's own write.
#[cfg(not(unix))]
pub(crate) fn write_vectored(
    tcp: &tokio::net::TcpStream,
    slices: &[IoSlice<'_>],
) -> io::Result<usize> {
    tcp.try_write_vectored(slices)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use bytes::Bytes;

    /// A writer with no socket, and its outbox.
    #[derive(Default)]
    struct Setup {
        writer: Writer,
        frames: VecDeque<OutPacket>,
        bytes: usize,
    }

    impl Setup {
        fn push(&mut self, frame: OutPacket) {
            Queue::new(&mut self.frames, &mut self.bytes).push_back(frame);
        }

        fn flush(&mut self, write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>) -> bool {
            let queue = Queue::new(&mut self.frames, &mut self.bytes);
            self.writer.flush(queue, write).unwrap()
        }
    }

    fn encoded(frames: &[OutPacket]) -> Vec<u8> {
        let mut out = Vec::new();
        for frame in frames {
            out.extend_from_slice(frame_header(frame).as_bytes());
            out.extend_from_slice(ws_parts(frame).1);
        }
        out
    }

    /// Whatever the stream takes at each write, the bytes come out whole and
    /// in order, pongs at a frame boundary, and the count goes to zero.
    #[test]
    fn any_split_of_the_writes_keeps_the_bytes_in_order() {
        let frames = vec![
            OutPacket::message("hello"),
            OutPacket::Binary(Bytes::from(vec![9u8; 300])),
            OutPacket::Binary(Bytes::from(vec![1u8; 70_000])),
            OutPacket::message("x"),
        ];
        let expected = encoded(&frames);
        for step in [1, 2, 3, 7, 130, 4096, 1 << 20] {
            let mut s = Setup::default();
            for frame in &frames {
                s.push(frame.clone());
            }
            let mut out = Vec::new();
            let mut budget = 0;
            loop {
                budget += step;
                let done = s.flush(|slices| {
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
                });
                if done {
                    break;
                }
            }
            assert_eq!(out, expected, "step {step}");
            assert_eq!(s.bytes, 0);
            assert_eq!(s.writer.sent, 0);
        }
    }

    /// A pong queued while a frame is half written goes out after that frame.
    #[test]
    fn control_bytes_wait_for_the_end_of_a_partly_written_frame() {
        let mut s = Setup::default();
        let frame = OutPacket::Binary(Bytes::from(vec![5u8; 1000]));
        s.push(frame.clone());
        s.push(OutPacket::message("after"));
        let mut out = Vec::new();
        let take = |n: usize, out: &mut Vec<u8>, s: &mut Setup| {
            let mut left = n;
            s.flush(|slices| {
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
        };
        assert!(!take(500, &mut out, &mut s));
        assert_eq!(s.bytes, 1006);
        assert!(s.writer.is_mid_frame());
        let queue = Queue::new(&mut s.frames, &mut s.bytes);
        assert_eq!(s.writer.write_raw(b"PONG", queue), WriteNow::Partial);
        assert!(take(usize::MAX, &mut out, &mut s));
        let mut expected = encoded(&[frame]);
        expected.extend_from_slice(b"PONG");
        expected.extend_from_slice(&encoded(&[OutPacket::message("after")]));
        assert_eq!(out, expected);
        assert_eq!(s.bytes, 0);
        assert!(s.writer.is_idle());
    }
}

#[cfg(all(test, unix, not(target_vendor = "apple")))]
mod sigpipe_tests {
    use std::io::{self, IoSlice};
    use std::time::Duration;

    const CHILD: &str = "FERRIO_SIGPIPE_CHILD";
    const NAME: &str =
        "transport::websocket::writer::sigpipe_tests::writes_to_a_reset_peer_never_raise_sigpipe";

    /// Finding 15 of the security review: a direct write to a peer that reset
    /// the connection fails with an error and raises no `SIGPIPE`, whose
    /// default action would kill a host process that embeds ferrio (a Rust
    /// program ignores it, so the test runs in a child process where it ends
    /// the process, as the default action would).
    #[test]
    fn writes_to_a_reset_peer_never_raise_sigpipe() {
        if std::env::var_os(CHILD).is_some() {
            return child();
        }
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .status()
            .unwrap();
        assert!(status.success(), "the child died: {status:?}");
    }

    /// The child: `SIGPIPE` ends it (code 141, as a death by `SIGPIPE`), then
    /// it writes to a socket whose peer reset, as a broadcast does.
    fn child() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let mut pipe = signal(SignalKind::pipe()).unwrap();
            tokio::spawn(async move {
                pipe.recv().await;
                eprintln!("SIGPIPE raised");
                std::process::exit(128 + 13);
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            // The peer resets the connection.
            client.set_zero_linger().unwrap();
            drop(client);
            tokio::time::sleep(Duration::from_millis(50)).await;
            // The first write reports the reset, the next ones the broken pipe.
            for _ in 0..3 {
                let written = super::write_vectored(&server, &[IoSlice::new(b"frame")]);
                let error = written.expect_err("the peer is gone");
                assert_ne!(error.kind(), io::ErrorKind::WouldBlock);
            }
            // Time for the signal, had there been one, to end the process.
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
    }
}
