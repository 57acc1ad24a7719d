//! permessage-deflate on the client's WebSocket, under tokio-tungstenite.
//!
//! tungstenite has no extension support: it refuses any frame with RSV1 set.
//! So the stream it reads is this one: it passes the server's handshake
//! answer through, reads from it what permessage-deflate the server agreed to
//! (`Sec-WebSocket-Extensions`), and from then on reads the server's frames
//! itself (`ferrio_proto::websocket::Reader`), inflating compressed messages
//! within the message limit, and hands tungstenite each message as one plain
//! frame. What the client writes passes through untouched: it sends its
//! messages uncompressed, which the extension allows. Without the extension
//! (not offered, or declined) every byte passes through.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use ferrio_proto::websocket::deflate::{DeflateConfig, Inflater, client_accept};
use ferrio_proto::websocket::{Opcode, Reader, WsMessage, encode_close, encode_frame};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read from the stream at once, once frames are read here.
const CHUNK: usize = 16 * 1024;
/// The longest handshake answer read.
const MAX_HEAD: usize = 64 * 1024;

/// Where the stream stands.
#[derive(Debug)]
enum Phase {
    /// The server's handshake answer is being read.
    Head,
    /// The extension was agreed on: frames are read and inflated here.
    Frames(Box<Reader>),
    /// Nothing to do: bytes pass through.
    Through,
}

/// The client's WebSocket stream, below tungstenite.
#[derive(Debug)]
pub(crate) struct Inflating<S> {
    inner: S,
    /// The offer made; `None`: none was, and bytes pass through.
    offer: Option<DeflateConfig>,
    max_message: usize,
    phase: Phase,
    /// Bytes read and not handled yet (an incomplete handshake answer).
    head: Vec<u8>,
    /// Bytes ready for tungstenite, from `ready_at` on.
    ready: Vec<u8>,
    ready_at: usize,
    /// The read buffer while frames are read here.
    chunk: Vec<u8>,
    /// A broken frame or deflate stream: reported once `ready` is read.
    failed: Option<io::ErrorKind>,
}

impl<S> Inflating<S> {
    /// The stream of a WebSocket that offered permessage-deflate as `offer`
    /// says (or none), with messages up to `max_message` bytes inflated.
    pub(crate) fn new(inner: S, offer: Option<DeflateConfig>, max_message: usize) -> Self {
        Self {
            phase: if offer.is_some() {
                Phase::Head
            } else {
                Phase::Through
            },
            inner,
            offer,
            max_message,
            head: Vec::new(),
            ready: Vec::new(),
            ready_at: 0,
            chunk: Vec::new(),
            failed: None,
        }
    }

    /// Whether the server agreed to permessage-deflate.
    #[cfg(test)]
    pub(crate) fn is_deflating(&self) -> bool {
        matches!(self.phase, Phase::Frames(_))
    }

    /// Handles bytes read from the stream.
    fn take(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.phase {
            Phase::Through => self.ready.extend_from_slice(data),
            Phase::Head => {
                self.head.extend_from_slice(data);
                let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                    if self.head.len() > MAX_HEAD {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "handshake answer too long",
                        ));
                    }
                    return Ok(());
                };
                let head = std::mem::take(&mut self.head);
                let (answer, rest) = head.split_at(end + 4);
                self.ready.extend_from_slice(answer);
                let agreed = match &self.offer {
                    Some(offer) => client_accept(offer, extensions(answer).as_deref())
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
                    None => None,
                };
                self.phase = match agreed {
                    Some(params) => Phase::Frames(Box::new(
                        Reader::for_client(self.max_message)
                            .inflate(Inflater::new(!params.server_no_context_takeover)),
                    )),
                    None => Phase::Through,
                };
                if !rest.is_empty() {
                    return self.take(rest);
                }
            }
            Phase::Frames(reader) => {
                let mut data = data.to_vec();
                let mut at = 0;
                loop {
                    match reader.next(&mut data, &mut at) {
                        Ok(Some(message)) => plain_frame(message, &mut self.ready),
                        Ok(None) => break,
                        Err(error) => {
                            tracing::debug!(%error, "invalid websocket frame from the server");
                            self.failed = Some(io::ErrorKind::InvalidData);
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The value of `Sec-WebSocket-Extensions` in a handshake answer, its lines
/// joined.
fn extensions(answer: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(answer).ok()?;
    let values: Vec<&str> = text
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|(_, value)| value.trim())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// `message` as one plain server frame, for tungstenite.
fn plain_frame(message: WsMessage, out: &mut Vec<u8>) {
    match message {
        WsMessage::Text(text) => encode_frame(Opcode::Text, text.as_bytes(), out),
        WsMessage::Binary(bytes) => encode_frame(Opcode::Binary, &bytes, out),
        WsMessage::Ping(payload) => encode_frame(Opcode::Ping, &payload, out),
        WsMessage::Pong => encode_frame(Opcode::Pong, &[], out),
        WsMessage::Close(code) => encode_close(code, out),
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Inflating<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready_at < this.ready.len() {
                let rest = this.ready.get(this.ready_at..).unwrap_or_default();
                let n = rest.len().min(buf.remaining());
                buf.put_slice(rest.get(..n).unwrap_or_default());
                this.ready_at += n;
                if this.ready_at == this.ready.len() {
                    this.ready.clear();
                    this.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if let Some(kind) = this.failed {
                return Poll::Ready(Err(kind.into()));
            }
            if matches!(this.phase, Phase::Through) && this.head.is_empty() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if this.chunk.len() < CHUNK {
                this.chunk.resize(CHUNK, 0);
            }
            let mut read = ReadBuf::new(&mut this.chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            let n = read.filled().len();
            if n == 0 {
                // The end of the stream.
                return Poll::Ready(Ok(()));
            }
            let data = this.chunk.get(..n).unwrap_or_default().to_vec();
            this.take(&data)?;
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inflating<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrio_proto::websocket::compressed_header;
    use ferrio_proto::websocket::deflate::Deflater;
    use tokio::io::AsyncReadExt;

    async fn read_through(offer: Option<DeflateConfig>, wire: Vec<u8>) -> (Vec<u8>, bool) {
        let (mut server, client) = tokio::io::duplex(1 << 20);
        let mut stream = Inflating::new(client, offer, 1 << 20);
        tokio::io::AsyncWriteExt::write_all(&mut server, &wire)
            .await
            .unwrap();
        drop(server);
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        (out, stream.is_deflating())
    }

    #[tokio::test]
    async fn inflates_after_an_accepting_answer_and_passes_through_otherwise() {
        let big = vec![b'q'; 10_000];
        let mut compressed = Vec::new();
        assert!(Deflater::new(6, 15, true).compress(&big, &mut compressed));
        let mut frames = Vec::new();
        frames.extend_from_slice(compressed_header(Opcode::Text, compressed.len()).as_bytes());
        frames.extend_from_slice(&compressed);
        encode_frame(Opcode::Binary, b"plain", &mut frames);
        let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
        let wire = [&head[..], &frames].concat();
        let (out, deflating) = read_through(Some(DeflateConfig::default()), wire.clone()).await;
        assert!(deflating);
        let mut want = head.to_vec();
        encode_frame(Opcode::Text, &big, &mut want);
        encode_frame(Opcode::Binary, b"plain", &mut want);
        assert_eq!(out, want);
        // No offer made: all passes through.
        let (out, deflating) = read_through(None, wire.clone()).await;
        assert!(!deflating);
        assert_eq!(out, wire);
        // The server declined: the same.
        let head = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";
        let wire = [&head[..], b"\x81\x01x"].concat();
        let (out, deflating) = read_through(Some(DeflateConfig::default()), wire.clone()).await;
        assert!(!deflating);
        assert_eq!(out, wire);
    }
}
