//! The byte stream under a WebSocket: a plain TCP socket, which senders may
//! write to from any thread, or any other stream (TLS), which only the
//! connection's task reads and writes. Either way, what waits is written
//! straight from the session's outbox, and the task never waits in a write:
//! a peer that stops reading cannot stop its heartbeat.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use ferrio_proto::websocket::{ReadError, Reader, WsMessage};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::TcpStream;

use super::Writer;
use crate::Session;
use crate::session::cork::Cork;
use crate::session::{Carrier, Wire};

/// A TCP socket shared between the connection's task (which reads) and the
/// senders (which write when nothing waits; see `writer`).
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

/// What a read came to, when it did not fail.
#[derive(Debug)]
pub(crate) enum Read<B> {
    /// Bytes were handled (or, on a non-TCP stream, written): the task looks
    /// at the session again.
    Handled,
    /// The client closed the stream.
    Eof,
    /// The handler ended the connection, with this.
    Stopped(B),
}

/// Hands each message that `data` completes to `on`, in order, until `on`
/// returns something: the reading stops there, with it. When `data` holds
/// more than one message, their writes are corked ([`Cork`]) until the last
/// is handled.
pub(crate) fn handle<B>(
    reader: &mut Reader,
    data: &mut [u8],
    on: &mut impl FnMut(WsMessage) -> Option<B>,
) -> Result<Option<B>, ReadError> {
    let mut at = 0;
    let mut cork = None;
    while let Some(message) = reader.next(data, &mut at)? {
        // More follows in this read: what the messages send gathers, and each
        // socket gets its share in one write when the read is handled. A lone
        // message is written at once by its sender.
        if cork.is_none() && at < data.len() {
            cork = Cork::begin();
        }
        if let Some(stop) = on(message) {
            return Ok(Some(stop));
        }
    }
    Ok(None)
}

/// The connection's byte stream.
pub(crate) enum WsIo {
    /// A plain TCP socket: reads with a stack buffer, writes from anywhere.
    Tcp(Arc<dyn RawTcp>),
    /// Any other stream, with its own read buffer.
    Other(Box<StreamIo>),
}

pub(crate) struct StreamIo {
    io: TokioIo<Upgraded>,
    buf: Box<[u8]>,
}

impl WsIo {
    /// The stream of an upgraded connection, and bytes the client sent after
    /// its upgrade request that hyper already read.
    pub(super) fn from_upgraded<T>(upgraded: Upgraded) -> (Self, Bytes)
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
                Self::Other(Box::new(StreamIo {
                    io: TokioIo::new(upgraded),
                    buf: vec![0; OTHER_BUFFER].into_boxed_slice(),
                })),
                Bytes::new(),
            ),
        }
    }

    /// The socket senders may write to directly, if it is plain TCP.
    pub(super) fn direct(&self) -> Option<Arc<dyn RawTcp>> {
        match self {
            Self::Tcp(tcp) => Some(tcp.clone()),
            Self::Other(_) => None,
        }
    }

    /// The session's writer on this stream: senders write to a plain TCP
    /// socket themselves.
    pub(super) fn writer(&self) -> Writer {
        Writer::new(self.direct())
    }

    /// Waits for bytes and reads them into `buf`: how many, 0 when the client
    /// closed the stream. For the one-off reads of the upgrade probe and the
    /// echo, which handle what they read at their own pace.
    pub(super) async fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(tcp) => loop {
                let tcp = tcp.tcp();
                std::future::poll_fn(|cx| tcp.poll_read_ready(cx)).await?;
                match tcp.try_read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    other => return other,
                }
            },
            Self::Other(other) => other.io.read(buf).await,
        }
    }

    /// Waits for bytes, and hands every whole message they complete to `on`,
    /// on the connection of an open session, until `on` returns something.
    /// A non-TCP stream is written to here as well, while the task waits to
    /// read: what waits in the session goes out as the stream takes it, so a
    /// peer that stops reading never holds the task in a write (its heartbeat
    /// goes on, and its reads). It returns [`Read::Handled`] once all of it is
    /// out, for the task to look at the session again. A write failure is a
    /// read failure.
    ///
    /// Cancel-safe: it only waits before it reads, and handles what it read
    /// before it waits again.
    pub(super) async fn read_serving<B>(
        &mut self,
        session: &Session,
        reader: &mut Reader,
        on: &mut impl FnMut(WsMessage) -> Option<B>,
    ) -> Result<Read<B>, ReadFailure> {
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
                let StreamIo { io, buf } = &mut **other;
                let mut wrote = false;
                let n = std::future::poll_fn(|cx| {
                    if has_unwritten_or_unflushed(session) {
                        match poll_write_waiting(io, cx, session) {
                            Poll::Ready(Ok(())) => wrote = true,
                            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                            Poll::Pending => {}
                        }
                    }
                    if wrote {
                        return Poll::Ready(Ok(None));
                    }
                    let mut read = ReadBuf::new(buf);
                    match Pin::new(&mut *io).poll_read(cx, &mut read) {
                        Poll::Ready(Ok(())) => Poll::Ready(Ok(Some(read.filled().len()))),
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                })
                .await
                .map_err(ReadFailure::Io)?;
                match n {
                    // All written: back to the task's loop.
                    None => Ok(Read::Handled),
                    Some(0) => Ok(Read::Eof),
                    Some(n) => match handle(reader, buf.get_mut(..n).unwrap_or_default(), on) {
                        Ok(Some(stop)) => Ok(Read::Stopped(stop)),
                        Ok(None) => Ok(Read::Handled),
                        Err(error) => Err(ReadFailure::Ws(error)),
                    },
                }
            }
        }
    }

    /// Writes all of `bytes`, waiting for the socket as needed. Callers bound
    /// it with a deadline.
    pub(super) async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Tcp(tcp) => {
                let tcp = tcp.tcp();
                while !bytes.is_empty() {
                    match tcp.try_write(bytes) {
                        Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
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

    /// Writes what waits in the session to a plain TCP socket as far as it
    /// takes it now. Returns whether it is all out; if not, wait for
    /// [`writable`](Self::writable) and call again. Other streams are written
    /// to by [`read_serving`](Self::read_serving): `Ok(true)` here.
    pub(super) fn flush_some(&mut self, session: &Session) -> io::Result<bool> {
        match self {
            Self::Tcp(tcp) => write_waiting(session, tcp.tcp()),
            Self::Other(_) => Ok(true),
        }
    }

    /// Waits until a plain TCP socket can take more; never, for other streams
    /// (their writes are made while [`read_serving`](Self::read_serving) waits).
    pub(super) fn writable(&self) -> impl Future<Output = io::Result<()>> + use<> {
        let tcp = self.direct();
        async move {
            match tcp {
                Some(tcp) => std::future::poll_fn(|cx| tcp.tcp().poll_write_ready(cx)).await,
                None => std::future::pending().await,
            }
        }
    }

    /// Writes everything that waits in the session: control frames and the
    /// rest of a partly written frame first, then the outbox; until nothing is
    /// left. Callers bound it with a deadline.
    pub(super) async fn flush(&mut self, session: &Session) -> io::Result<()> {
        match self {
            Self::Tcp(tcp) => {
                let tcp = tcp.tcp();
                while !write_waiting(session, tcp)? {
                    std::future::poll_fn(|cx| tcp.poll_write_ready(cx)).await?;
                }
                Ok(())
            }
            Self::Other(other) => {
                std::future::poll_fn(|cx| poll_write_waiting(&mut other.io, cx, session)).await
            }
        }
    }
}

/// Whether bytes wait in the session's WebSocket writer, to be written or to
/// be flushed by the connection's task.
fn has_unwritten_or_unflushed(session: &Session) -> bool {
    let mut state = session.lock();
    match state.carrier() {
        (Carrier::WebSocket(wire), queue) => wire.has_unwritten(&queue) || wire.writing,
        (Carrier::Polling(_), _) => false,
    }
}

/// Writes what waits in the session to a non-TCP stream, as far as it takes
/// it, then flushes it (TLS keeps records until flushed). `Pending` while the
/// stream is full: its waker is registered. The writer's `writing` is set
/// while bytes handed to the stream are not flushed yet.
fn poll_write_waiting(
    io: &mut TokioIo<Upgraded>,
    cx: &mut Context<'_>,
    session: &Session,
) -> Poll<io::Result<()>> {
    loop {
        {
            let mut state = session.lock();
            let (Carrier::WebSocket(wire), queue) = state.carrier() else {
                return Poll::Ready(Ok(()));
            };
            if wire.has_unwritten(&queue) {
                wire.writing = true;
            } else if !wire.writing {
                return Poll::Ready(Ok(()));
            }
            // Under the session's lock, as a sender's direct write is: the
            // stream's write only encrypts and copies into its buffer, and
            // tries the socket once.
            let all_out = wire.flush(queue, |slices| {
                match Pin::new(&mut *io).poll_write_vectored(cx, slices) {
                    Poll::Ready(result) => result,
                    Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                }
            })?;
            if !all_out {
                return Poll::Pending;
            }
        }
        match Pin::new(&mut *io).poll_flush(cx) {
            Poll::Ready(Ok(())) => {
                let mut state = session.lock();
                match state.carrier() {
                    (Carrier::WebSocket(wire), queue) if !wire.has_unwritten(&queue) => {
                        wire.writing = false;
                        return Poll::Ready(Ok(()));
                    }
                    (Carrier::WebSocket(_), _) => {}
                    (Carrier::Polling(_), _) => return Poll::Ready(Ok(())),
                }
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// Writes what waits in the session to a plain TCP socket, under the
/// session's lock so no sender writes in between, straight from the outbox.
/// Returns whether all of it went; what did not stays queued, shared.
fn write_waiting(session: &Session, tcp: &TcpStream) -> io::Result<bool> {
    let mut state = session.lock();
    let (Carrier::WebSocket(wire), queue) = state.carrier() else {
        return Ok(true);
    };
    // Through tokio's readiness, so that a full socket clears it and the
    // task's wait for room is for new room.
    wire.flush(queue, |slices| {
        tcp.try_io(Interest::WRITABLE, || {
            super::writer::write_vectored(tcp, slices)
        })
    })
}

/// Reads what the socket holds (up to a budget) and handles it. `WouldBlock`
/// when the readiness was stale and nothing was there.
fn read_ready<B>(
    tcp: &TcpStream,
    reader: &mut Reader,
    on: &mut impl FnMut(WsMessage) -> Option<B>,
) -> Result<Read<B>, ReadFailure> {
    READ_BUFFER.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buf) => read_into(tcp, reader, on, &mut buf),
        // Only if a handler ever drove another connection's read from inside
        // this one's: that read gets a buffer of its own.
        Err(_) => read_into(tcp, reader, on, &mut vec![0; READ_CHUNK]),
    })
}

fn read_into<B>(
    tcp: &TcpStream,
    reader: &mut Reader,
    on: &mut impl FnMut(WsMessage) -> Option<B>,
    buf: &mut [u8],
) -> Result<Read<B>, ReadFailure> {
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
            Ok(0) => return Ok(Read::Eof),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && round > 0 => {
                return Ok(Read::Handled);
            }
            Err(e) => return Err(ReadFailure::Io(e)),
        }
        let data = buf.get_mut(..got).unwrap_or_default();
        if let Some(stop) = handle(reader, data, on).map_err(ReadFailure::Ws)? {
            return Ok(Read::Stopped(stop));
        }
        if got < buf.len() || reader.is_done() {
            return Ok(Read::Handled);
        }
    }
    Ok(Read::Handled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutPacket;

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

    /// A WebSocket session on a real socket, and the client's end of it.
    async fn session_on_socket(
        config: crate::EngineConfig,
    ) -> (crate::Engine, Arc<Session>, TcpStream) {
        let engine = crate::Engine::new(config, crate::test_util::Ignore);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let info = crate::test_util::connect_info("/engine.io/");
        let session = engine
            .shared
            .open_session(crate::Sid::random(), info, crate::TransportKind::WebSocket)
            .unwrap();
        {
            let mut state = session.lock();
            state.carrier = Carrier::WebSocket(Writer::new(Some(without_nagle(server))));
            // The open packet, which the connection's task would write.
            state.take_outbox();
        }
        (engine, session, client)
    }

    /// Reads exactly `n` bytes, however many segments they come in.
    async fn read_exactly(client: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.read_exact(&mut buf),
        )
        .await
        .expect("the bytes in time")
        .unwrap();
        buf
    }

    /// Unmasked text frames of `texts`, as the server writes them.
    fn frames(texts: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for text in texts {
            ferrio_proto::websocket::encode_frame(
                ferrio_proto::websocket::Opcode::Text,
                text.as_bytes(),
                &mut out,
            );
        }
        out
    }

    #[tokio::test]
    async fn corked_sends_wait_in_the_outbox_and_leave_in_one_write() {
        let (_engine, session, mut client) = session_on_socket(Default::default()).await;
        // Not corked: written at once, nothing queued.
        session.send_text("a").unwrap();
        assert!(session.lock().outbox.is_empty());
        assert_eq!(read_exactly(&mut client, 4).await, frames(&["4a"]));

        let cork = Cork::begin().expect("no cork on yet");
        assert!(Cork::begin().is_none(), "corks do not nest");
        for text in ["b", "c", "d"] {
            session.send_text(text).unwrap();
        }
        let frames_after = [
            OutPacket::message("e"),
            OutPacket::message("f"),
            OutPacket::message("g"),
            OutPacket::message("h"),
            OutPacket::message("i"),
        ];
        session.send_all(frames_after).unwrap();
        assert_eq!(session.lock().outbox.len(), 8, "all held while corked");
        assert_eq!(session.lock().queued_bytes, 16, "and counted");
        let mut nothing = [0u8; 1];
        assert_eq!(
            client.try_read(&mut nothing).map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock),
            "nothing written yet"
        );
        drop(cork);
        {
            let state = session.lock();
            assert!(state.outbox.is_empty(), "all written at the uncork");
            assert_eq!(state.queued_bytes, 0);
        }
        let all = ["4b", "4c", "4d", "4e", "4f", "4g", "4h", "4i"];
        let expected = frames(&all);
        assert_eq!(read_exactly(&mut client, expected.len()).await, expected);
        // Uncorked again: the next send is a direct write.
        session.send_text("j").unwrap();
        assert!(session.lock().outbox.is_empty());
        assert_eq!(read_exactly(&mut client, 4).await, frames(&["4j"]));
    }

    /// With permessage-deflate agreed on, a message of at least the
    /// threshold leaves compressed (RSV1 set), direct or queued; a smaller
    /// one, or one sent with `compress` false, as it is. The zlib state is
    /// made at the first compressed message.
    #[tokio::test]
    async fn deflated_messages_leave_with_rsv1() {
        use ferrio_proto::websocket::deflate::{DeflateConfig, DeflateParams, Inflater};
        let (_engine, session, mut client) = session_on_socket(Default::default()).await;
        let params = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        {
            let mut state = session.lock();
            let Carrier::WebSocket(writer) = &mut state.carrier else {
                panic!("a websocket");
            };
            *writer =
                std::mem::take(writer).deflating(Some(&params), Some(&DeflateConfig::default()));
            assert!(!writer.holds_deflate_context());
        }
        let big = "deflate me ".repeat(200);
        let mut inflater = Inflater::new(true);
        let read_frame = async |client: &mut TcpStream| {
            let head = read_exactly(client, 2).await;
            let len = match head[1] {
                126 => {
                    let ext = read_exactly(client, 2).await;
                    usize::from(u16::from_be_bytes([ext[0], ext[1]]))
                }
                n => usize::from(n),
            };
            (head[0], read_exactly(client, len).await)
        };
        session.send_text(&big).unwrap();
        let (first, payload) = read_frame(&mut client).await;
        assert_eq!(first, 0xC1, "final text frame, RSV1 set");
        assert!(payload.len() < 100, "{}", payload.len());
        let first_len = payload.len();
        assert_eq!(
            inflater.inflate(&payload, 1 << 20).unwrap(),
            format!("4{big}").as_bytes()
        );
        {
            let mut state = session.lock();
            let Carrier::WebSocket(writer) = &mut state.carrier else {
                panic!("a websocket");
            };
            assert!(writer.holds_deflate_context());
        }
        session.send_text("small").unwrap();
        assert_eq!(read_frame(&mut client).await, (0x81, b"4small".to_vec()));
        session.send_with(OutPacket::message(&big), false).unwrap();
        let (first, payload) = read_frame(&mut client).await;
        assert_eq!(
            (first, payload.len()),
            (0x81, big.len() + 1),
            "compress(false)"
        );
        // Queued behind a cork, still compressed, in order, with the same context.
        let cork = Cork::begin().unwrap();
        session
            .send_all([
                OutPacket::message(&big),
                OutPacket::Binary(big.clone().into()),
            ])
            .unwrap();
        drop(cork);
        let (first, payload) = read_frame(&mut client).await;
        assert_eq!(first, 0xC1);
        assert!(
            payload.len() < first_len,
            "refers to the first: {} bytes, the first {first_len}",
            payload.len()
        );
        assert_eq!(
            inflater.inflate(&payload, 1 << 20).unwrap(),
            format!("4{big}").as_bytes()
        );
        let (first, payload) = read_frame(&mut client).await;
        assert_eq!(first, 0xC2);
        assert_eq!(inflater.inflate(&payload, 1 << 20).unwrap(), big.as_bytes());
    }

    #[tokio::test]
    async fn a_corked_outbox_keeps_its_limit() {
        let config = crate::EngineConfig::default().max_buffered_bytes(8);
        let (_engine, session, mut client) = session_on_socket(config).await;
        let cork = Cork::begin().unwrap();
        session.send_text("abc").unwrap();
        session.send_text("def").unwrap();
        assert_eq!(
            session.send_text("g"),
            Err(crate::SendError::Full),
            "over max_buffered_bytes while corked"
        );
        drop(cork);
        let expected = frames(&["4abc", "4def"]);
        assert_eq!(read_exactly(&mut client, expected.len()).await, expected);
    }

    #[tokio::test]
    async fn only_a_read_of_several_messages_is_corked() {
        let corked = |data: &[u8]| {
            let mut data = data.to_vec();
            let mut reader = Reader::new(1 << 20);
            let mut seen = Vec::new();
            handle::<()>(&mut reader, &mut data, &mut |_| {
                seen.push(crate::session::cork::is_on());
                None
            })
            .unwrap();
            assert!(!crate::session::cork::is_on(), "off after the read");
            seen
        };
        // Masked client frames "4a" (mask key 0).
        let one = [0x81, 0x82, 0, 0, 0, 0, b'4', b'a'];
        assert_eq!(corked(&one), [false], "a lone message is written at once");
        let two = [one, one].concat();
        assert_eq!(corked(&two), [true, true]);
    }
}
