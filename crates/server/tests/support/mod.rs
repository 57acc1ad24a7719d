//! Helpers for the Socket.IO protocol tests: a server on a loopback port, a raw
//! Socket.IO-over-WebSocket client written from the protocol document, a bare
//! long-polling client, and channels to observe what handlers saw.
//!
//! The client parses what the server sends with its own small parser (not
//! ferrio's), so the tests check the wire format independently of the code
//! under test.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use ferrio::SocketIo;
use futures_util::{SinkExt, StreamExt};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as M;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How long any single expected thing may take before the test fails. Generous:
/// tests wait for events, never for a fixed time.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// A ferrio server serving on 127.0.0.1 on a port of its own.
pub struct TestServer {
    pub io: SocketIo,
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Serves `io` (handlers already set, or set later: they are looked up per
    /// connection).
    pub async fn start(io: SocketIo) -> Self {
        Self::start_with(io, ferrio::ServeConfig::default()).await
    }

    /// Serves `io` with these listener options (limits, TLS).
    pub async fn start_with(io: SocketIo, config: ferrio::ServeConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = io.clone();
        let task = tokio::spawn(async move {
            served
                .serve_with_config(listener, config, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            io,
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Stops serving (graceful) and waits until the server has.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(TIMEOUT, &mut self.task)
            .await
            .expect("server stops")
            .unwrap();
    }

    pub fn path(&self, query: &str) -> String {
        if query.is_empty() {
            "/socket.io/?EIO=4".to_owned()
        } else {
            format!("/socket.io/?EIO=4&{query}")
        }
    }

    /// A new Engine.IO session over WebSocket; its open packet is read.
    pub async fn ws(&self) -> WsClient {
        self.ws_with("", &[]).await
    }

    /// A new WebSocket session with extra query parameters and headers.
    pub async fn ws_with(&self, query: &str, headers: &[(&str, &str)]) -> WsClient {
        let q = if query.is_empty() {
            "transport=websocket".to_owned()
        } else {
            format!("transport=websocket&{query}")
        };
        let url = format!("ws://{}{}", self.addr, self.path(&q));
        let mut request = url.into_client_request().unwrap();
        for (k, v) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        WsClient::open(self.addr, request).await
    }

    /// A WebSocket session connected to namespace `nsp`; returns the client and
    /// its socket id.
    pub async fn connected(&self, nsp: &str) -> (WsClient, String) {
        let mut client = self.ws().await;
        let sid = client.connect(nsp).await;
        (client, sid)
    }

    /// One plain HTTP request on a new connection.
    pub async fn http(&self, method: &str, path_and_query: &str, body: impl Into<Bytes>) -> Reply {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", self.addr.to_string())
            .header("content-type", "text/plain;charset=UTF-8")
            .body(Full::new(body.into()))
            .unwrap();
        let res = tokio::time::timeout(TIMEOUT, sender.send_request(req))
            .await
            .expect("an HTTP response in time")
            .unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Reply { status, body }
    }

    /// A new Engine.IO session over long-polling.
    pub async fn polling(&self) -> PollingClient {
        let reply = self.http("GET", &self.path("transport=polling"), "").await;
        assert_eq!(reply.status, StatusCode::OK);
        let text = reply.text();
        assert!(text.starts_with('0'), "open packet first, got {text:?}");
        let open: Value = serde_json::from_str(&text[1..]).unwrap();
        PollingClient {
            sid: open["sid"].as_str().unwrap().to_owned(),
        }
    }

    /// A GET on a polling session: the packets of the payload, split on `\x1e`.
    pub async fn poll(&self, client: &PollingClient) -> Reply {
        let path = self.path(&format!("transport=polling&sid={}", client.sid));
        self.http("GET", &path, "").await
    }

    /// Polls until the payloads gathered hold `n` packets.
    pub async fn poll_packets(&self, client: &PollingClient, n: usize) -> Vec<String> {
        let mut packets = Vec::new();
        while packets.len() < n {
            let reply = self.poll(client).await;
            assert_eq!(reply.status, StatusCode::OK, "poll: {}", reply.text());
            packets.extend(reply.text().split('\x1e').map(str::to_owned));
        }
        packets
    }

    /// A POST of a payload on a polling session.
    pub async fn post(&self, client: &PollingClient, payload: &str) -> Reply {
        let path = self.path(&format!("transport=polling&sid={}", client.sid));
        self.http("POST", &path, payload.to_owned()).await
    }
}

/// An HTTP answer.
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }
}

/// A long-polling session seen from the client.
pub struct PollingClient {
    pub sid: String,
}

/// One Engine.IO message received over WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

/// A raw Socket.IO client over one WebSocket.
///
/// Reads skip the server's Engine.IO pings (`2`), answering each with a pong
/// (`3`) unless [`auto_pong`](Self::auto_pong) is off.
pub struct WsClient {
    pub ws: WebSocketStream<TcpStream>,
    /// The Engine.IO session id from the open packet.
    pub eio_sid: String,
    /// The open packet's JSON.
    pub open: Value,
    /// This end's address, as the server sees it.
    pub local: SocketAddr,
    /// Whether to answer pings.
    pub auto_pong: bool,
    /// How many pings were seen.
    pub pings: usize,
}

impl WsClient {
    /// Opens a WebSocket session with `request` at `addr` and reads its open
    /// packet.
    pub async fn open(
        addr: SocketAddr,
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> WsClient {
        let stream = TcpStream::connect(addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        let (ws, _) =
            tokio::time::timeout(TIMEOUT, tokio_tungstenite::client_async(request, stream))
                .await
                .expect("websocket handshake in time")
                .expect("websocket accepted");
        let mut client = WsClient {
            ws,
            eio_sid: String::new(),
            open: Value::Null,
            local,
            auto_pong: true,
            pings: 0,
        };
        let open = client.recv_text().await;
        assert!(open.starts_with('0'), "open packet first, got {open:?}");
        client.open = serde_json::from_str(&open[1..]).unwrap();
        client.eio_sid = client.open["sid"].as_str().unwrap().to_owned();
        client
    }

    /// Sends one Engine.IO text message as it is (`40`, `42["a"]`, …).
    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(M::text(text.to_owned()))
            .await
            .expect("websocket send");
    }

    /// Sends one Engine.IO binary message (raw bytes, as Engine.IO v4 over
    /// WebSocket puts them).
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(M::binary(bytes.to_vec()))
            .await
            .expect("websocket send");
    }

    /// Queues messages without flushing; see [`flush`](Self::flush).
    pub async fn feed(&mut self, text: String) {
        self.ws.feed(M::text(text)).await.expect("websocket send");
    }

    pub async fn flush(&mut self) {
        self.ws.flush().await.expect("websocket flush");
    }

    /// The next message, or `None` once the connection is closed. Fails the
    /// test if nothing comes within [`TIMEOUT`].
    pub async fn next_frame(&mut self) -> Option<Frame> {
        self.next_frame_within(TIMEOUT)
            .await
            .expect("a websocket message in time")
    }

    /// The next message; `Err(())` if none within `limit`.
    #[allow(clippy::result_unit_err)]
    pub async fn next_frame_within(&mut self, limit: Duration) -> Result<Option<Frame>, ()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| ())?;
            match next {
                Some(Ok(M::Text(t))) if t.as_str() == "2" => {
                    self.pings += 1;
                    if self.auto_pong {
                        // The server may already be closing; a failed pong is fine.
                        let _ = self.ws.send(M::text("3")).await;
                    }
                }
                Some(Ok(M::Text(t))) => return Ok(Some(Frame::Text(t.to_string()))),
                Some(Ok(M::Binary(b))) => return Ok(Some(Frame::Binary(b.to_vec()))),
                Some(Ok(M::Ping(_) | M::Pong(_) | M::Frame(_))) => {}
                Some(Ok(M::Close(_))) | Some(Err(_)) | None => return Ok(None),
            }
        }
    }

    /// The next text message (Engine.IO packet, with its type character).
    pub async fn recv_text(&mut self) -> String {
        match self.next_frame().await {
            Some(Frame::Text(t)) => t,
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// The next binary message.
    pub async fn recv_binary(&mut self) -> Vec<u8> {
        match self.next_frame().await {
            Some(Frame::Binary(b)) => b,
            other => panic!("expected a binary message, got {other:?}"),
        }
    }

    /// The next Socket.IO packet (an Engine.IO message `4…`), header only: for a
    /// binary packet the attachments follow as binary messages.
    pub async fn recv_packet(&mut self) -> SioPacket {
        let text = self.recv_text().await;
        SioPacket::parse_message(&text)
    }

    /// The next Socket.IO event: its namespace, ack id, name and arguments
    /// (binary ones are read and put in place as `{"_bytes":[…]}`).
    pub async fn recv_event(&mut self) -> (SioPacket, String, Vec<Value>) {
        let mut packet = self.recv_packet().await;
        assert!(
            packet.kind == 2 || packet.kind == 5,
            "expected an event, got {packet:?}"
        );
        self.fill_attachments(&mut packet).await;
        let mut items = packet.data.clone().unwrap().as_array().unwrap().clone();
        let name = match items.remove(0) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        (packet, name, items)
    }

    /// Reads the binary messages a packet announced and puts them in place of
    /// their placeholders as `{"_bytes":[…]}`.
    pub async fn fill_attachments(&mut self, packet: &mut SioPacket) {
        let mut buffers = Vec::new();
        for _ in 0..packet.attachments {
            buffers.push(self.recv_binary().await);
        }
        if let Some(data) = packet.data.as_mut() {
            replace_placeholders(data, &buffers);
        }
    }

    /// Joins a namespace (`40` or `40/nsp,`) and returns the socket id of the
    /// CONNECT reply.
    pub async fn connect(&mut self, nsp: &str) -> String {
        self.connect_with(nsp, None).await
    }

    /// Joins a namespace with an auth payload.
    pub async fn connect_with(&mut self, nsp: &str, auth: Option<Value>) -> String {
        self.send_packet(0, nsp, None, auth.as_ref()).await;
        let reply = self.recv_packet().await;
        assert_eq!(
            (reply.kind, reply.nsp.as_str()),
            (0, nsp),
            "CONNECT reply expected, got {reply:?}"
        );
        let data = reply.data.expect("the reply carries the socket id");
        let sid = data["sid"].as_str().expect("a sid string").to_owned();
        assert_eq!(data.as_object().unwrap().len(), 1, "only the sid: {data}");
        sid
    }

    /// Sends a Socket.IO packet: `4` then `<type>[<n>-][<nsp>,][<id>][json]`.
    pub async fn send_packet(
        &mut self,
        kind: u8,
        nsp: &str,
        id: Option<u64>,
        data: Option<&Value>,
    ) {
        let mut text = format!("4{}", header(kind, nsp, id, 0));
        if let Some(data) = data {
            text.push_str(&data.to_string());
        }
        self.send(&text).await;
    }

    /// Emits an event: `42[<nsp>,][<id>]["name",...args]`.
    pub async fn emit(&mut self, nsp: &str, id: Option<u64>, event: &str, args: &[Value]) {
        let mut items = vec![Value::from(event)];
        items.extend(args.iter().cloned());
        self.send_packet(2, nsp, id, Some(&Value::Array(items)))
            .await;
    }

    /// Acknowledges a server event: `43[<nsp>,]<id>[...args]`.
    pub async fn ack(&mut self, nsp: &str, id: u64, args: &[Value]) {
        self.send_packet(3, nsp, Some(id), Some(&Value::Array(args.to_vec())))
            .await;
    }

    /// Emits `ping` asking for an ack with `id` and waits for that ack, skipping
    /// events received meanwhile (returned). A round trip through the server:
    /// everything this client sent before has been handled when it returns.
    pub async fn round_trip(&mut self, nsp: &str, id: u64) -> Vec<SioPacket> {
        self.emit(nsp, Some(id), "ping", &[]).await;
        let mut skipped = Vec::new();
        loop {
            let mut packet = self.recv_packet().await;
            self.fill_attachments(&mut packet).await;
            if (packet.kind == 3 || packet.kind == 6) && packet.id == Some(id) && packet.nsp == nsp
            {
                return skipped;
            }
            skipped.push(packet);
        }
    }

    /// Waits until the server closes the connection, ignoring any message
    /// before the close.
    pub async fn expect_closed(&mut self) {
        loop {
            if self.next_frame().await.is_none() {
                return;
            }
        }
    }

    /// Closes the WebSocket with a close frame.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// `<type>[<n>-][<nsp>,][<id>]`, the header of a Socket.IO packet.
pub fn header(kind: u8, nsp: &str, id: Option<u64>, attachments: usize) -> String {
    let mut s = kind.to_string();
    if kind == 5 || kind == 6 {
        s.push_str(&format!("{attachments}-"));
    }
    if nsp != "/" {
        s.push_str(nsp);
        s.push(',');
    }
    if let Some(id) = id {
        s.push_str(&id.to_string());
    }
    s
}

/// A Socket.IO packet as the protocol document describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SioPacket {
    pub kind: u8,
    pub attachments: usize,
    pub nsp: String,
    pub id: Option<u64>,
    pub data: Option<Value>,
}

impl SioPacket {
    /// Parses an Engine.IO message `4<socket.io packet>`.
    pub fn parse_message(text: &str) -> Self {
        let rest = text
            .strip_prefix('4')
            .unwrap_or_else(|| panic!("expected an Engine.IO message, got {text:?}"));
        Self::parse(rest)
    }

    /// Parses `<type>[<n>-][<nsp>,][<id>][json]`.
    pub fn parse(text: &str) -> Self {
        let bytes = text.as_bytes();
        let kind = bytes[0] - b'0';
        assert!(kind <= 6, "bad packet type in {text:?}");
        let mut i = 1;
        let mut attachments = 0;
        if kind == 5 || kind == 6 {
            let dash = text[i..].find('-').expect("attachment count") + i;
            attachments = text[i..dash].parse().unwrap();
            i = dash + 1;
        }
        let mut nsp = "/".to_owned();
        if bytes.get(i) == Some(&b'/') {
            let end = text[i..].find(',').map_or(text.len(), |e| e + i);
            nsp = text[i..end].to_owned();
            i = (end + 1).min(text.len());
        }
        let digits = text[i..].bytes().take_while(u8::is_ascii_digit).count();
        let id = (digits > 0).then(|| text[i..i + digits].parse().unwrap());
        i += digits;
        let data = (i < text.len()).then(|| {
            serde_json::from_str(&text[i..]).unwrap_or_else(|e| panic!("bad JSON in {text:?}: {e}"))
        });
        Self {
            kind,
            attachments,
            nsp,
            id,
            data,
        }
    }
}

fn replace_placeholders(value: &mut Value, buffers: &[Vec<u8>]) {
    match value {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
            let num = map["num"].as_u64().unwrap() as usize;
            *value = bytes_json(&buffers[num]);
        }
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| replace_placeholders(v, buffers)),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace_placeholders(v, buffers)),
        _ => {}
    }
}

/// How the raw client shows a received binary attachment: `{"_bytes":[…]}`.
pub fn bytes_json(bytes: &[u8]) -> Value {
    serde_json::json!({ "_bytes": bytes })
}

/// A byte buffer that serializes as bytes, so ferrio sends it as a binary
/// attachment.
#[derive(Debug, Clone)]
pub struct Bin(pub Vec<u8>);

impl Serialize for Bin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// A channel to report what server handlers saw to the test.
pub fn channel<T>() -> (mpsc::UnboundedSender<T>, Rx<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Rx(rx))
}

/// The receiving end of [`channel`], with a deadline on every wait.
pub struct Rx<T>(pub mpsc::UnboundedReceiver<T>);

impl<T> Rx<T> {
    /// The next report; fails the test after [`TIMEOUT`].
    pub async fn next(&mut self) -> T {
        tokio::time::timeout(TIMEOUT, self.0.recv())
            .await
            .expect("a report from the server in time")
            .expect("the sender is alive")
    }

    /// A report already sent, if any.
    pub fn try_next(&mut self) -> Option<T> {
        self.0.try_recv().ok()
    }

    /// Every report already sent.
    pub fn drain(&mut self) -> Vec<T> {
        std::iter::from_fn(|| self.0.try_recv().ok()).collect()
    }
}

/// Waits until `check` holds, polling every few milliseconds; fails the test
/// after [`TIMEOUT`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Answers the `ping` event of [`WsClient::round_trip`] on this socket.
pub fn answer_pings(socket: &ferrio::Socket) {
    socket.on("ping", |_, event| async move {
        let _ = event.reply(&());
    });
}
