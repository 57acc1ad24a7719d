//! An attacker's WebSocket and HTTP client: bytes written by hand over plain
//! TCP or TLS, a receive buffer as small as asked, and no reading unless the
//! test reads. Nothing here answers pings by itself.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrio::engine::rustls;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Any byte stream (TCP or TLS over TCP).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// How to reach the server: plain or TLS, with the certificate to trust.
#[derive(Clone)]
pub enum Target {
    Plain(SocketAddr),
    Tls(SocketAddr, Arc<rustls::ClientConfig>),
}

impl Target {
    pub fn addr(&self) -> SocketAddr {
        match self {
            Target::Plain(a) | Target::Tls(a, _) => *a,
        }
    }

    /// A new connection; `recv_buffer` sets `SO_RCVBUF` before connecting
    /// (so the window the server sees is that small).
    pub async fn connect(&self, recv_buffer: Option<u32>) -> io::Result<Box<dyn Stream>> {
        Ok(self.connect_from(None, recv_buffer).await?.0)
    }

    /// [`connect`](Self::connect) from a given local address (`127.0.0.2`).
    pub async fn connect_from(
        &self,
        local: Option<std::net::IpAddr>,
        recv_buffer: Option<u32>,
    ) -> io::Result<(Box<dyn Stream>, SocketAddr)> {
        let socket = TcpSocket::new_v4()?;
        if let Some(ip) = local {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let tcp: TcpStream = socket.connect(self.addr()).await?;
        tcp.set_nodelay(true)?;
        let local = tcp.local_addr()?;
        match self {
            Target::Plain(_) => Ok((Box::new(tcp), local)),
            Target::Tls(addr, config) => {
                let connector = tokio_rustls::TlsConnector::from(config.clone());
                let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
                Ok((Box::new(connector.connect(name, tcp).await?), local))
            }
        }
    }
}

/// A TLS client configuration trusting only `cert`.
pub fn tls_client(cert: rustls::pki_types::CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("the test certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A WebSocket written by hand: masked client frames, unmasked server frames.
pub struct RawWs {
    io: Box<dyn Stream>,
    buf: Vec<u8>,
    /// The Engine.IO open packet (`0{…}`).
    pub open: String,
    /// This end's address.
    pub local: SocketAddr,
    /// The server's `101` answer: status line and headers.
    pub head: String,
    /// Frames read with RSV1 set (compressed by permessage-deflate).
    pub compressed: usize,
}

/// One server frame: opcode and payload.
pub type ServerFrame = (u8, Vec<u8>);

impl RawWs {
    /// Upgrades a new connection at `/socket.io/?EIO=4&transport=websocket`
    /// and reads the open packet. `headers` are extra request lines
    /// (`"Origin: …"`). Fails with the HTTP status line if not 101.
    pub async fn connect(
        target: &Target,
        recv_buffer: Option<u32>,
        headers: &[&str],
    ) -> io::Result<RawWs> {
        let mut ws = Self::upgrade(target, recv_buffer, "", headers).await?;
        let (_, open) = ws.read_frame().await?;
        ws.open = String::from_utf8_lossy(&open).into_owned();
        Ok(ws)
    }

    /// The upgrade alone, with extra query parameters (`&sid=…` to upgrade a
    /// polling session: the server then sends nothing until `2probe`).
    pub async fn upgrade(
        target: &Target,
        recv_buffer: Option<u32>,
        query: &str,
        headers: &[&str],
    ) -> io::Result<RawWs> {
        let (mut io, local) = target.connect_from(None, recv_buffer).await?;
        let mut request = format!(
            "GET /socket.io/?EIO=4&transport=websocket{query} HTTP/1.1\r\nHost: {}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
            target.addr()
        );
        for h in headers {
            request.push_str(h);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        io.write_all(request.as_bytes()).await?;
        let (head, rest) = read_head(&mut io).await?;
        let status = head.lines().next().unwrap_or_default().to_owned();
        if !status.contains(" 101 ") {
            return Err(io::Error::other(format!("upgrade refused: {status}")));
        }
        Ok(RawWs {
            io,
            buf: rest,
            open: String::new(),
            local,
            head,
            compressed: 0,
        })
    }

    /// Sends a text frame.
    pub async fn text(&mut self, text: &str) -> io::Result<()> {
        self.frame(0x1, text.as_bytes()).await
    }

    /// Sends a binary frame.
    pub async fn binary(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.frame(0x2, bytes).await
    }

    /// Sends one frame with FIN set, masked with a fixed key.
    pub async fn frame(&mut self, opcode: u8, payload: &[u8]) -> io::Result<()> {
        let bytes = frame_bytes(opcode, payload);
        self.io.write_all(&bytes).await?;
        self.io.flush().await
    }

    /// Writes raw bytes (a partial frame, a header alone).
    pub async fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.io.write_all(bytes).await?;
        self.io.flush().await
    }

    /// Reads one server frame (server frames are never masked here).
    pub async fn read_frame(&mut self) -> io::Result<ServerFrame> {
        self.fill(2).await?;
        let opcode = self.buf[0] & 0x0f;
        if self.buf[0] & 0x40 != 0 {
            self.compressed += 1;
        }
        let (len, at) = match self.buf[1] & 0x7f {
            126 => {
                self.fill(4).await?;
                (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
            }
            127 => {
                self.fill(10).await?;
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.buf[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        self.fill(at + len).await?;
        let payload = self.buf[at..at + len].to_vec();
        self.buf.drain(..at + len);
        Ok((opcode, payload))
    }

    /// The next Engine.IO text message, answering pings (`2`) with pongs.
    pub async fn recv_text(&mut self) -> io::Result<String> {
        loop {
            let (opcode, payload) = self.read_frame().await?;
            match opcode {
                0x1 if payload == b"2" => self.text("3").await?,
                0x1 => return Ok(String::from_utf8_lossy(&payload).into_owned()),
                0x8 => return Err(io::ErrorKind::ConnectionAborted.into()),
                _ => {}
            }
        }
    }

    /// Reads until the server closes (close frame, EOF or reset).
    pub async fn until_closed(&mut self) {
        loop {
            match self.read_frame().await {
                Ok((0x8, _)) | Err(_) => return,
                Ok((0x1, p)) if p == b"2" => {
                    let _ = self.text("3").await;
                }
                Ok(_) => {}
            }
        }
    }

    /// `40[nsp,]` then waits for the CONNECT reply (`40…` or `44…`).
    pub async fn join(&mut self, nsp: &str) -> io::Result<String> {
        self.join_with(nsp, "").await
    }

    /// `40[nsp,]<auth>` then waits for the CONNECT reply.
    pub async fn join_with(&mut self, nsp: &str, auth: &str) -> io::Result<String> {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.text(&format!("40{prefix}{auth}")).await?;
        loop {
            let text = self.recv_text().await?;
            if text.starts_with("40") || text.starts_with("44") {
                return Ok(text);
            }
        }
    }

    async fn fill(&mut self, n: usize) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        while self.buf.len() < n {
            let read = self.io.read(&mut chunk).await?;
            if read == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..read]);
        }
        Ok(())
    }
}

/// A masked client frame.
pub fn frame_bytes(opcode: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x11, 0x22, 0x33, 0x44];
    let mut out = frame_header(opcode, payload.len());
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

/// The first bytes of a masked client frame of `len` bytes, without the mask
/// key (append it, then the payload).
pub fn frame_header(opcode: u8, len: usize) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out
}

/// Reads an HTTP response head; returns it and the bytes after it.
pub async fn read_head(io: &mut Box<dyn Stream>) -> io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Ok((head, buf[end + 4..].to_vec()));
        }
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`), the whole
/// response read: status code and body. `None` if nothing came in `limit`.
pub async fn http(
    target: &Target,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
    limit: Duration,
) -> Option<(u16, Vec<u8>)> {
    http_from(target, None, method, path, headers, body, limit)
        .await
        .map(|(status, _, body)| (status, body))
}

/// [`http`] from a given local address; also returns the response head.
pub async fn http_from(
    target: &Target,
    local: Option<std::net::IpAddr>,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
    limit: Duration,
) -> Option<(u16, String, Vec<u8>)> {
    let exchange = async {
        let (mut io, _) = target.connect_from(local, None).await?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            target.addr(),
            body.len()
        );
        for h in headers {
            request.push_str(h);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        io.write_all(request.as_bytes()).await?;
        io.write_all(body).await?;
        let (head, mut rest) = read_head(&mut io).await?;
        io.read_to_end(&mut rest).await?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok::<_, io::Error>((status, head, rest))
    };
    match tokio::time::timeout(limit, exchange).await {
        Ok(Ok(reply)) => Some(reply),
        _ => None,
    }
}

/// The `sid` of a polling handshake's open packet `0{"sid":"…",…}`.
pub fn sid_of(open: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(open);
    let json: serde_json::Value = serde_json::from_str(text.strip_prefix('0')?).ok()?;
    Some(json["sid"].as_str()?.to_owned())
}
