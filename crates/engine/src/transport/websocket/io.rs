//! The byte stream under a WebSocket: a plain TCP socket, which senders may
//! write to from any thread, or any other stream (TLS), which only the
//! connection's task reads and writes.

use std::cell::RefCell;
use std::io;
use std::ops::ControlFlow;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use ferrio_proto::websocket::{Incoming, ReadError, Reader, header};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use crate::Session;

/// A TCP socket shared between the connection's task (which reads) and the
/// senders (which write when nothing waits; see `session::direct`).
pub(crate) trait RawTcp: Send + Sync + 'static {
    /// The socket.
    fn tcp(&self) -> &TcpStream;
}

impl RawTcp for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

/// A socket from another server (`axum::serve` and the like), with Nagle's
/// algorithm off.
///
/// A WebSocket carries small frames, many of them pushes the client does not
/// answer. With Nagle on, a frame written while the previous one is not yet
/// acknowledged waits for the client's delayed ACK, up to 40 ms on Linux;
/// Node's HTTP server turns it off, and so does ferrio's own `serve` when it
/// accepts, but `axum::serve` leaves it on.
fn without_nagle(tcp: TcpStream) -> Arc<dyn RawTcp> {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "cannot turn Nagle's algorithm off on a WebSocket");
    }
    Arc::new(tcp)
}

/// Bytes read from the socket in one go, into the thread's buffer: reads are
/// synchronous, so one buffer per thread serves every connection, and an idle
/// connection holds none.
const READ_CHUNK: usize = 16 * 1024;

thread_local! {
    /// Zeroed once; a buffer on the stack would be zeroed on every read.
    static READ_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}
/// Reads handled back to back before the task looks at its other work.
const READ_BUDGET: usize = 8;
/// The read buffer of a non-TCP stream, which must outlive an `.await`.
const OTHER_BUFFER: usize = 8 * 1024;

/// Why reading stopped the connection.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The stream failed.
    Io(io::Error),
    /// The client broke the WebSocket protocol.
    Ws(ReadError),
}

/// The connection's byte stream.
pub(crate) enum WsIo {
    /// A plain TCP socket: reads with a stack buffer, writes from anywhere.
    Tcp(Arc<dyn RawTcp>),
    /// Any other stream, with its own read buffer.
    Other(Box<OtherIo>),
}

pub(crate) struct OtherIo {
    io: TokioIo<Upgraded>,
    buf: Box<[u8]>,
}

impl WsIo {
    /// The stream of an upgraded connection, and bytes the client sent after
    /// its upgrade request that hyper already read.
    pub fn from_upgraded<T>(upgraded: Upgraded) -> (Self, Bytes)
    where
        T: RawTcp + tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let upgraded = match upgraded.downcast::<TokioIo<T>>() {
            Ok(parts) => return (Self::Tcp(Arc::new(parts.io.into_inner())), parts.read_buf),
            Err(upgraded) => upgraded,
        };
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (
                Self::Tcp(without_nagle(parts.io.into_inner())),
                parts.read_buf,
            ),
            Err(upgraded) => (
                Self::Other(Box::new(OtherIo {
                    io: TokioIo::new(upgraded),
                    buf: vec![0; OTHER_BUFFER].into_boxed_slice(),
                })),
                Bytes::new(),
            ),
        }
    }

    /// The socket senders may write to directly, if it is plain TCP.
    pub fn direct(&self) -> Option<Arc<dyn RawTcp>> {
        match self {
            Self::Tcp(tcp) => Some(tcp.clone()),
            Self::Other(_) => None,
        }
    }

    /// Waits for bytes, and hands every whole message they complete to `on`.
    /// Returns `Ok(false)` when the client closed the stream.
    ///
    /// Cancel-safe: it only waits before it reads, and handles what it read
    /// before it waits again.
    pub async fn read(
        &mut self,
        reader: &mut Reader,
        on: &mut impl FnMut(Incoming) -> ControlFlow<()>,
    ) -> Result<bool, ReadFailure> {
        match self {
            // `poll_read_ready` rather than `readable()`: it keeps the waker in
            // the socket's registration, where `readable()` is a 150-byte
            // future that every idle connection's task would hold.
            Self::Tcp(tcp) => loop {
                std::future::poll_fn(|cx| tcp.tcp().poll_read_ready(cx))
                    .await
                    .map_err(ReadFailure::Io)?;
                match read_ready(tcp.tcp(), reader, on) {
                    Err(ReadFailure::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    other => return other,
                }
            },
            Self::Other(other) => {
                let n = other
                    .io
                    .read(&mut other.buf)
                    .await
                    .map_err(ReadFailure::Io)?;
                if n == 0 {
                    return Ok(false);
                }
                reader
                    .feed(&mut other.buf[..n], on)
                    .map_err(ReadFailure::Ws)?;
                Ok(true)
            }
        }
    }

    /// Writes all of `bytes`, waiting for the socket as needed.
    pub async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Tcp(tcp) => {
                let tcp = tcp.tcp();
                while !bytes.is_empty() {
                    match tcp.try_write(bytes) {
                        Ok(n) => bytes = &bytes[n..],
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::future::poll_fn(|cx| tcp.poll_write_ready(cx)).await?
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Self::Other(other) => {
                other.io.write_all(bytes).await?;
                other.io.flush().await
            }
        }
    }

    /// Writes what waits in the session as far as the socket takes it now.
    /// Returns whether it is all out; if not, wait for [`writable`](Self::writable)
    /// and call again. A non-TCP stream is written to the end (awaiting).
    pub async fn flush_some(&mut self, session: &Session) -> io::Result<bool> {
        match self {
            Self::Tcp(tcp) => write_waiting(session, tcp.tcp()),
            Self::Other(other) => Box::pin(other.flush(session)).await.map(|()| true),
        }
    }

    /// Waits until a plain TCP socket can take more; never, for other streams
    /// (their writes complete in [`flush_some`](Self::flush_some)).
    pub fn writable(&self) -> impl Future<Output = io::Result<()>> + use<> {
        let tcp = self.direct();
        async move {
            match tcp {
                Some(tcp) => std::future::poll_fn(|cx| tcp.tcp().poll_write_ready(cx)).await,
                None => std::future::pending().await,
            }
        }
    }

    /// Writes everything that waits in the session: framed bytes first, then
    /// the outbox; until nothing is left.
    pub async fn flush(&mut self, session: &Session) -> io::Result<()> {
        match self {
            Self::Tcp(tcp) => {
                let tcp = tcp.tcp();
                while !write_waiting(session, tcp)? {
                    std::future::poll_fn(|cx| tcp.poll_write_ready(cx)).await?;
                }
                Ok(())
            }
            // Boxed: TLS is the rare case, and its write future is large.
            Self::Other(other) => Box::pin(other.flush(session)).await,
        }
    }
}

impl OtherIo {
    async fn flush(&mut self, session: &Session) -> io::Result<()> {
        loop {
            let bytes = {
                let mut state = session.lock();
                if state.wire.is_empty() && state.outbox.is_empty() {
                    state.writing = false;
                    return Ok(());
                }
                // Senders never write to this stream themselves, but
                // `is_drained` must know these bytes are not out yet.
                state.writing = true;
                let mut bytes = state.wire.split();
                for frame in state.take_outbox() {
                    let (opcode, payload) = frame.ws_parts();
                    bytes.extend_from_slice(header(opcode, payload.len()).as_bytes());
                    bytes.extend_from_slice(payload);
                }
                bytes
            };
            self.io.write_all(&bytes).await?;
            self.io.flush().await?;
        }
    }
}

/// Writes what waits in the session to a plain TCP socket, under the
/// session's lock so no sender writes in between. Returns whether all of it
/// went; what did not stays in `wire`, counted against the outbox limit.
fn write_waiting(session: &Session, tcp: &TcpStream) -> io::Result<bool> {
    let mut state = session.lock();
    if state.wire.is_empty() && state.outbox.is_empty() {
        return Ok(true);
    }
    let frames = state.take_outbox();
    for frame in frames {
        let (opcode, payload) = frame.ws_parts();
        state
            .wire
            .extend_from_slice(header(opcode, payload.len()).as_bytes());
        state.wire.extend_from_slice(payload);
    }
    match tcp.try_write(&state.wire) {
        Ok(n) => state.wire.advance(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    state.queued_bytes = state.wire.len();
    if state.wire.is_empty() {
        // A burst may have grown it: idle connections hold no buffer.
        state.wire = BytesMut::new();
        return Ok(true);
    }
    Ok(false)
}

/// Reads what the socket holds (up to a budget) and handles it. `WouldBlock`
/// when the readiness was stale and nothing was there.
fn read_ready(
    tcp: &TcpStream,
    reader: &mut Reader,
    on: &mut impl FnMut(Incoming) -> ControlFlow<()>,
) -> Result<bool, ReadFailure> {
    READ_BUFFER.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buf) => read_into(tcp, reader, on, &mut buf),
        // Only if a handler ever drove another connection's read from inside
        // this one's: that read gets a buffer of its own.
        Err(_) => read_into(tcp, reader, on, &mut vec![0; READ_CHUNK]),
    })
}

fn read_into(
    tcp: &TcpStream,
    reader: &mut Reader,
    on: &mut impl FnMut(Incoming) -> ControlFlow<()>,
    buf: &mut [u8],
) -> Result<bool, ReadFailure> {
    for round in 0..READ_BUDGET {
        let mut got = 0;
        let read = tcp.try_io(Interest::READABLE, || {
            got = tcp.try_read(buf)?;
            // A short read emptied the socket: report `WouldBlock` so tokio
            // forgets the readiness, and the next wait is for new bytes rather
            // than a read that would find nothing.
            if got > 0 && got < buf.len() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(got)
        });
        match read {
            Ok(0) => return Ok(false),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && round > 0 => return Ok(true),
            Err(e) => return Err(ReadFailure::Io(e)),
        }
        reader
            .feed(&mut buf[..got], &mut *on)
            .map_err(ReadFailure::Ws)?;
        if got < buf.len() || reader.is_done() {
            return Ok(true);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sockets_from_other_servers_lose_nagle() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert!(!server.nodelay().unwrap(), "Nagle is on for a new socket");
        let io = without_nagle(server);
        assert!(io.tcp().nodelay().unwrap());
    }
}
