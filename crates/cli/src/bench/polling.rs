//! The long-polling transport (`--transport polling`): Engine.IO over HTTP,
//! never upgraded, as a browser does it without WebSocket. Each connection
//! keeps two keep-alive HTTP/1.1 connections (hyper's client): one with a GET
//! always outstanding, which the server answers with the packets it has, and
//! one for POSTs, which carry everything the scheduler queued while the
//! previous POST was in flight (Engine.IO allows one at a time).
//!
//! ```text
//!  GET  /socket.io/?EIO=4&transport=polling            ← 0{"sid":…}
//!  POST …&sid=…  40                                    ← ok
//!  GET  …&sid=…                                        ← 40{"sid":…}
//!  then: GET …  ← 43N[…]␞2␞42[…]…   (deliveries, pings: handled where they lie)
//!        POST … → 42N[…]␞42N[…]␞3… (scheduled messages and pongs, batched)
//! ```
//!
//! A payload is split on 0x1e by hand and each packet handed to the
//! [`Receiver`] as it lies; only `b<base64>` binary packets are decoded.

use std::collections::VecDeque;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use ferrio_proto::engine::{self, Handshake, RECORD_SEPARATOR};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

use super::conn::{DialPlan, Flow, In, Link, Out, Outbox, dial};
use super::receive::{Handled, Receiver};
use super::stats::Stats;

/// The largest response body read.
const MAX_BODY: usize = 64 << 20;

/// One HTTP/1.1 connection to the server.
struct Http {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Http {
    async fn open(target: &DialPlan, index: usize) -> Result<Self, String> {
        let stream = dial(target, index).await?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("http: {e}"))?;
        tokio::task::spawn_local(conn);
        Ok(Self {
            sender,
            authority: target.authority.clone(),
        })
    }

    /// Sends a request and reads the whole body of a `200 OK`.
    async fn request(&mut self, method: &str, uri: &str, body: Bytes) -> Result<Bytes, String> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .header(hyper::header::HOST, &self.authority);
        if method == "POST" {
            request = request.header(hyper::header::CONTENT_TYPE, "text/plain;charset=UTF-8");
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        self.sender
            .ready()
            .await
            .map_err(|e| format!("http: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("{method}: {e}"))?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("{method} body: {e}"))?
            .to_bytes();
        if status != hyper::StatusCode::OK {
            let text = String::from_utf8_lossy(&body);
            return Err(format!("{method} answered {status}: {text:.60}"));
        }
        Ok(body)
    }
}

/// A long-polling session: the GET and POST connections, the session's URI,
/// and the packets of the last GET not yet read (the handshake's).
pub(crate) struct PollLink {
    get: Http,
    post: Http,
    /// `/socket.io/?EIO=4&transport=polling`, then with `&sid=…`.
    uri: String,
    queue: VecDeque<In>,
}

impl PollLink {
    /// Opens both HTTP connections (the session starts with the first GET).
    pub(crate) async fn open(target: &DialPlan, index: usize) -> Result<Self, String> {
        Ok(Self {
            get: Http::open(target, index).await?,
            post: Http::open(target, index).await?,
            uri: target.polling.clone(),
            queue: VecDeque::new(),
        })
    }
}

impl Link for PollLink {
    async fn send(&mut self, message: Out<'_>) -> Result<(), String> {
        let mut body = Vec::with_capacity(64);
        match message {
            Out::Text(text) => body.extend_from_slice(text),
            Out::Binary(data) => engine::encode_payload_binary(data, &mut body),
        }
        self.post.request("POST", &self.uri, body.into()).await?;
        Ok(())
    }

    async fn next(&mut self) -> Result<In, String> {
        loop {
            if let Some(message) = self.queue.pop_front() {
                return Ok(message);
            }
            let body = self.get.request("GET", &self.uri, Bytes::new()).await?;
            for packet in body.split(|&b| b == RECORD_SEPARATOR) {
                let message = match packet.strip_prefix(b"b") {
                    Some(base64) => In::Binary(
                        STANDARD
                            .decode(base64)
                            .map_err(|_| "bad base64 in a payload")?,
                    ),
                    None => In::Text(
                        String::from_utf8(packet.to_vec()).map_err(|_| "payload not UTF-8")?,
                    ),
                };
                if let In::Text(text) = &message
                    && let Ok(engine::Packet::Open(json)) = engine::decode_text(text)
                    && !self.uri.contains("&sid=")
                {
                    let open = Handshake::decode(json)
                        .map_err(|e| format!("bad Engine.IO open packet: {e}"))?;
                    self.uri = format!("{}&sid={}", self.uri, open.sid);
                }
                self.queue.push_back(message);
            }
        }
    }
}

/// Runs a long-polling connection until its handle is dropped: a loop of
/// GETs handing each packet to `receiver`, and a loop of POSTs sending what
/// the outbox holds each time it is woken.
pub(crate) async fn drive(
    link: PollLink,
    mut receiver: Receiver,
    outbox: Rc<Outbox>,
    stats: Rc<Stats>,
) {
    let PollLink {
        mut get,
        mut post,
        uri,
        queue,
    } = link;
    // What the handshake's last GET brought after the packet it waited for
    // (a ping, say) is handled first.
    let now = stats.now_ns();
    for message in queue {
        let (handled, bytes) = match &message {
            In::Text(text) => (
                receiver.on_text(text.as_bytes(), now, &stats),
                text.as_bytes(),
            ),
            In::Binary(data) => (receiver.on_binary(data, now, &stats), &data[..]),
        };
        if handled == Handled::Pong {
            pong(&outbox, bytes);
        }
    }
    let posting = async {
        let mut spare = Vec::new();
        loop {
            outbox.ready.notified().await;
            if outbox.closed.get() {
                return false;
            }
            std::mem::swap(&mut *outbox.frames.borrow_mut(), &mut spare);
            if spare.is_empty() {
                continue;
            }
            let body = Bytes::from(std::mem::take(&mut spare));
            if post.request("POST", &uri, body).await.is_err() {
                return true;
            }
        }
    };
    let polling = async {
        loop {
            let Ok(body) = get.request("GET", &uri, Bytes::new()).await else {
                return true;
            };
            if on_payload(&body, &mut receiver, &stats, &outbox) == Flow::Closed {
                return true;
            }
        }
    };
    let failed = tokio::select! {
        failed = posting => failed,
        failed = polling => failed,
    };
    stats.open.set(stats.open.get().saturating_sub(1));
    if failed && !stats.stopping.get() {
        stats.disconnects.set(stats.disconnects.get() + 1);
    }
}

/// Queues the answer to the ping `ping` (its whole text, `2` first).
fn pong(outbox: &Outbox, ping: &[u8]) {
    let mut pong = Vec::with_capacity(ping.len());
    pong.push(b'3');
    pong.extend_from_slice(ping.get(1..).unwrap_or_default());
    outbox.push(Out::Text(&pong));
    outbox.ready.notify_one();
}

/// Handles every packet of a GET's payload; pongs go to the outbox.
fn on_payload(body: &[u8], receiver: &mut Receiver, stats: &Stats, outbox: &Outbox) -> Flow {
    let now = stats.now_ns();
    for packet in body.split(|&b| b == RECORD_SEPARATOR) {
        let handled = match packet.strip_prefix(b"b") {
            Some(base64) => match STANDARD.decode(base64) {
                Ok(data) => receiver.on_binary(&data, now, stats),
                Err(_) => Handled::Closed,
            },
            None => receiver.on_text(packet, now, stats),
        };
        match handled {
            Handled::Open => {}
            Handled::Pong => pong(outbox, packet),
            Handled::Closed => return Flow::Closed,
        }
    }
    Flow::Open
}
