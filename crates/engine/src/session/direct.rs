//! Writing frames straight to a WebSocket's socket, from the sender's thread.
//!
//! When a plain-TCP WebSocket carries the session and nothing waits before a
//! frame, the sender writes it with one non-blocking vectored write while it holds
//! the session's lock: no queue, no wake-up of the connection's task, no
//! second copy. That is what makes a broadcast one tight loop of writes, and
//! an acknowledgement one write from the handler. Whatever the socket does not
//! take whole goes to the task, which waits until the socket is writable.

use std::io::{self, IoSlice};

use ferrio_proto::websocket::{Header, header};

use super::State;
use crate::Frame;

/// What became of frames offered to the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteNow {
    /// All written.
    Written,
    /// Partly written; the rest waits in the outbox for the connection's task.
    Rest,
    /// Not written: the caller queues the frames as usual.
    Declined,
}

impl State {
    /// Whether a frame may go to the socket right now, ahead of nothing.
    fn can_write_now(&self) -> bool {
        self.direct.is_some()
            && self.closed.is_none()
            && !self.writing
            && self.outbox.is_empty()
            && self.wire.is_empty()
    }

    /// Writes `frames`, back to back, if the socket takes them now.
    pub(crate) fn write_now(&mut self, frames: &[Frame]) -> WriteNow {
        if frames.is_empty() || frames.len() > MAX_FRAMES || !self.can_write_now() {
            return WriteNow::Declined;
        }
        let Some(io) = &self.direct else {
            return WriteNow::Declined;
        };
        let headers: [Option<Header>; MAX_FRAMES] = std::array::from_fn(|i| {
            frames.get(i).map(|f| {
                let (opcode, payload) = f.ws_parts();
                header(opcode, payload.len())
            })
        });
        let mut parts: [&[u8]; 2 * MAX_FRAMES] = [&[]; 2 * MAX_FRAMES];
        for (i, frame) in frames.iter().enumerate() {
            parts[2 * i] = headers[i].as_ref().map_or(&[], |h| h.as_bytes());
            parts[2 * i + 1] = frame.ws_parts().1;
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
            let len = super::wire::wire_len(frame);
            if skip >= len {
                skip -= len;
                continue;
            }
            self.queued_bytes += frame.len();
            self.outbox.push_back(frame.clone());
            if skip > 0 {
                self.sent = skip;
                skip = 0;
            }
        }
        WriteNow::Rest
    }
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

/// The most frames written at once: a packet and a few binary attachments.
/// More are queued and written by the connection's task.
const MAX_FRAMES: usize = 4;

/// Pongs waiting beyond this many bytes are dropped: a client that pings
/// without reading gets no more answers, rather than unbounded memory.
const MAX_RAW_BACKLOG: usize = 64 * 1024;

impl State {
    /// Writes already framed bytes (a pong) now if the socket takes them, else
    /// keeps them for the connection's task, ahead of the outbox.
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) -> WriteNow {
        if self.closed.is_some() || self.wire.len() > MAX_RAW_BACKLOG {
            return WriteNow::Declined;
        }
        let mut written = 0;
        if self.can_write_now()
            && let Some(io) = &self.direct
        {
            match write_vectored(io.tcp(), &[IoSlice::new(bytes)]) {
                Ok(n) if n == bytes.len() => return WriteNow::Written,
                Ok(n) => written = n,
                Err(_) => {}
            }
        }
        self.wire
            .extend_from_slice(bytes.get(written..).unwrap_or(&[]));
        WriteNow::Rest
    }
}

#[cfg(all(test, unix, not(target_vendor = "apple")))]
mod tests {
    use std::io::{self, IoSlice};
    use std::time::Duration;

    const CHILD: &str = "FERRIO_SIGPIPE_CHILD";
    const NAME: &str = "session::direct::tests::writes_to_a_reset_peer_never_raise_sigpipe";

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
