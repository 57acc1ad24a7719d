//! One client connection, speaking raw Engine.IO / Socket.IO: the handshake
//! (the same steps on either transport, through a [`Link`]), then a task that
//! answers pings, writes what the scheduler hands it and records every
//! stamped delivery. This file holds the WebSocket side; long-polling is in
//! `polling.rs`, what is read of each message in `receive.rs`.
//!
//! The generator must not be the bottleneck, so the task does as little as it
//! can per message: one read takes every frame that has arrived (into a
//! buffer all connections share), frames are handled where they lie, and an
//! event or ack is read only as far as its type and its stamp, with nothing
//! allocated (a compressed message is inflated first). The scheduler's
//! messages are framed and masked straight into the connection's outbox,
//! which goes out in one write.
//!
//! ```text
//!  TCP connect (bound to a --source-addrs address) → WebSocket upgrade (+ permessage-deflate offer)
//!  ← 0{"sid":…,"pingInterval":…}   Engine.IO open
//!  → 40  ← 40{"sid":…}              Socket.IO CONNECT to `/` (msgpack: binary packets)
//!  [→ 42["join",room]  → 420["echo",{}]  ← 430[{}]]   rooms: joined for sure
//!  then: ← 2 → 3 (heartbeat);  → 42…/42N… (scheduled);  ← 43N…/42… (deliveries)
//! ```

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use ferrio_proto::engine::{self, Handshake};
use ferrio_proto::socketio::{self, DecoderConfig, PacketKind, Payload, msgpack};
use ferrio_proto::websocket::deflate::{self, DeflateConfig, Inflater};
use serde_json::{Value, json};
use tokio::io::{AsyncRead as _, AsyncReadExt as _, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;

use super::mode::{Codec, Mode, Outgoing, Transport};
use super::polling::{self, PollLink};
use super::receive::{Handled, Receiver};
use super::stats::Stats;
use super::wire::{self, BINARY, CLOSE, CONTINUE, Frame, PING, PONG, TEXT};

/// Bytes one read may take: many frames at once when the server sends them
/// together. One buffer for every connection (they run on one thread).
const READ_BUFFER: usize = 256 * 1024;
/// The largest message a compressed one may inflate to.
const MAX_INFLATED: usize = 64 << 20;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUFFER].into_boxed_slice());
}

/// Where and how to connect.
pub(crate) struct DialPlan {
    /// The server's address.
    pub(crate) addr: SocketAddr,
    /// `host:port`, for HTTP's `Host`.
    pub(crate) authority: String,
    /// `ws://host:port/path/?EIO=4&transport=websocket`.
    pub(crate) url: String,
    /// `/path/?EIO=4&transport=polling`.
    pub(crate) polling: String,
    /// Local addresses to bind, round-robin by connection index (none: the kernel picks).
    pub(crate) sources: Vec<IpAddr>,
    /// The longest a whole handshake may take.
    pub(crate) timeout: Duration,
    /// Transport, parser, attachment, deflate.
    pub(crate) mode: Mode,
}

/// A message from the server, whole.
#[derive(Debug)]
pub(crate) enum In {
    Text(String),
    Binary(Vec<u8>),
}

/// A message to the server.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Out<'a> {
    Text(&'a [u8]),
    Binary(&'a [u8]),
}

/// One way to exchange Engine.IO messages, message by message (the handshake's).
pub(crate) trait Link {
    /// Sends one message at once.
    async fn send(&mut self, message: Out<'_>) -> Result<(), String>;
    /// The next message from the server.
    async fn next(&mut self) -> Result<In, String>;
}

/// An open connection, before its task runs.
pub(crate) enum Opened {
    Ws(Ws),
    Polling(PollLink),
}

/// An open WebSocket: the stream, the bytes of a frame a read cut short, and
/// the mask of what it sends.
pub(crate) struct Ws {
    stream: TcpStream,
    partial: Vec<u8>,
    key: [u8; 4],
    inbound: Inbound,
}

/// What a WebSocket keeps between frames: a fragmented message being put
/// together, and the inflater of permessage-deflate when it was agreed on.
struct Inbound {
    fragments: Option<Fragments>,
    inflater: Option<Inflater>,
}

/// The frames of a message so far.
struct Fragments {
    binary: bool,
    compressed: bool,
    bytes: Vec<u8>,
}

/// How the outbox frames what it is given.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// WebSocket frames, masked with this key.
    Ws([u8; 4]),
    /// A long-polling payload: packets separated by 0x1e, binary as `b<base64>`.
    Polling,
}

/// What the scheduler hands a connection's task, already framed.
pub(crate) struct Outbox {
    pub(crate) frames: RefCell<Vec<u8>>,
    pub(crate) ready: Notify,
    pub(crate) closed: Cell<bool>,
    framing: Framing,
}

impl Outbox {
    /// Appends one message in the outbox's framing.
    pub(crate) fn push(&self, message: Out<'_>) {
        push(self.framing, message, &mut self.frames.borrow_mut());
    }
}

/// Appends `message` to `out` in `framing`.
fn push(framing: Framing, message: Out<'_>, out: &mut Vec<u8>) {
    match (framing, message) {
        (Framing::Ws(key), Out::Text(text)) => wire::encode(TEXT, &[text], key, out),
        (Framing::Ws(key), Out::Binary(data)) => wire::encode(BINARY, &[data], key, out),
        (Framing::Polling, Out::Text(text)) => {
            if !out.is_empty() {
                out.push(engine::RECORD_SEPARATOR);
            }
            out.extend_from_slice(text);
        }
        (Framing::Polling, Out::Binary(data)) => {
            if !out.is_empty() {
                out.push(engine::RECORD_SEPARATOR);
            }
            engine::encode_payload_binary(data, out);
        }
    }
}

/// The handle the scheduler writes through; dropping it closes the connection.
pub(crate) struct Conn {
    outbox: Rc<Outbox>,
}

impl Conn {
    /// Queues a scheduled message (and its attachment), framed at once: no
    /// allocation per message. A closed connection is counted as a
    /// disconnect by its task, and its deliveries as lost.
    pub(crate) fn send(&self, message: &Outgoing) {
        let head = if message.head_binary {
            Out::Binary(&message.head)
        } else {
            Out::Text(&message.head)
        };
        self.outbox.push(head);
        if let Some(attachment) = message.attachment() {
            self.outbox.push(Out::Binary(attachment));
        }
        self.outbox.ready.notify_one();
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.outbox.closed.set(true);
        self.outbox.ready.notify_one();
    }
}

/// A packet of the handshake, as `codec` writes it: `Text` for the default
/// parser, `Binary` for msgpack.
fn handshake_packet(codec: Codec, packet: socketio::Packet) -> (bool, Vec<u8>) {
    let mut out = Vec::with_capacity(64);
    match codec {
        Codec::Default => {
            socketio::encode_message(&packet, &mut out);
            (false, out)
        }
        Codec::Msgpack => {
            let packet = packet.map_data(Payload::Json);
            // Small packets of the generator's own: nothing can be too long.
            let _ = msgpack::write_packet(&packet, &mut out);
            (true, out)
        }
    }
}

/// An EVENT packet as a complete Engine.IO message: `42[name,...args]`, or
/// `42<ack>[…]` when an acknowledgement is asked.
pub(crate) fn event_packet(name: &str, args: Vec<Value>, ack: Option<u64>) -> socketio::Packet {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::String(name.to_owned()));
    data.extend(args);
    let mut packet = socketio::Packet::new(PacketKind::Event, "/", Some(Value::Array(data)));
    packet.id = ack;
    packet
}

/// A mask key for connection `index`. RFC 6455 wants it unpredictable, which
/// guards proxies against a hostile page; the generator talks to a server it
/// is pointed at, and the server only unmasks with it.
fn mask_key(index: usize) -> [u8; 4] {
    ((index as u32).wrapping_mul(0x9E37_79B9) ^ 0x5A5A_A5A5).to_be_bytes()
}

/// Opens connection number `index`: TCP (and WebSocket), Engine.IO and
/// Socket.IO handshakes, then (for `rooms`) joins `room` and waits until the
/// server has handled the join. Errors are short descriptions, counted by
/// the caller.
pub(crate) async fn connect(
    target: &DialPlan,
    index: usize,
    room: Option<&str>,
) -> Result<Opened, String> {
    let opened = async {
        match target.mode.transport {
            Transport::Websocket => {
                let mut ws = open_ws(target, index).await?;
                handshake(&mut ws, target.mode.codec, room).await?;
                Ok(Opened::Ws(ws))
            }
            Transport::Polling => {
                let mut link = PollLink::open(target, index).await?;
                handshake(&mut link, target.mode.codec, room).await?;
                Ok(Opened::Polling(link))
            }
        }
    };
    tokio::time::timeout(target.timeout, opened)
        .await
        .unwrap_or_else(|_| Err("handshake timed out".to_owned()))
}

/// A TCP connection to the server, from the source address of connection `index`.
pub(crate) async fn dial(target: &DialPlan, index: usize) -> Result<TcpStream, String> {
    let socket = match target.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| format!("socket: {e}"))?;
    if let Some(source) = target.sources.get(index % target.sources.len().max(1)) {
        socket
            .bind(SocketAddr::new(*source, 0))
            .map_err(|e| format!("bind {source}: {e}"))?;
    }
    let stream = socket
        .connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// TCP and the WebSocket upgrade, with permessage-deflate when `--deflate`.
async fn open_ws(target: &DialPlan, index: usize) -> Result<Ws, String> {
    let mut stream = dial(target, index).await?;
    let config = DeflateConfig::default();
    let offer = target.mode.deflate.then(|| deflate::client_offer(&config));
    let upgraded = wire::upgrade(&mut stream, &target.url, offer.as_deref())
        .await
        .map_err(|e| format!("websocket upgrade: {e}"))?;
    let inflater = if target.mode.deflate {
        let params = deflate::client_accept(&config, upgraded.extensions.as_deref())
            .map_err(|e| e.to_string())?
            .ok_or("the server declined permessage-deflate")?;
        Some(Inflater::new(!params.server_no_context_takeover))
    } else if upgraded.extensions.is_some() {
        return Err("the server answered an extension that was not offered".to_owned());
    } else {
        None
    };
    Ok(Ws {
        stream,
        partial: upgraded.rest,
        key: mask_key(index),
        inbound: Inbound {
            fragments: None,
            inflater,
        },
    })
}

/// The Engine.IO and Socket.IO handshakes, and the join of `room`.
async fn handshake(link: &mut impl Link, codec: Codec, room: Option<&str>) -> Result<(), String> {
    match link.next().await? {
        In::Text(open) => match engine::decode_text(&open) {
            Ok(engine::Packet::Open(json)) => {
                Handshake::decode(json).map_err(|e| format!("bad Engine.IO open packet: {e}"))?;
            }
            _ => {
                return Err(format!(
                    "expected the Engine.IO open packet, got {open:.40}"
                ));
            }
        },
        In::Binary(_) => return Err("expected the Engine.IO open packet, got binary".into()),
    }
    let connect = socketio::Packet::new(PacketKind::Connect, "/", None);
    send_packet(link, codec, connect).await?;
    wait_for(link, |p| match p.kind {
        PacketKind::Connect => Some(Ok(())),
        PacketKind::ConnectError => Some(Err(format!(
            "connect error: {}",
            p.data
                .clone()
                .and_then(|d| d.to_value())
                .unwrap_or_default()
        ))),
        _ => None,
    })
    .await?;

    if let Some(room) = room {
        send_packet(link, codec, event_packet("join", vec![json!(room)], None)).await?;
        // Events are handled in order: once this ack is back, so is the join.
        send_packet(link, codec, event_packet("echo", vec![json!({})], Some(0))).await?;
        wait_for(link, |p| {
            (p.kind == PacketKind::Ack && p.id == Some(0)).then_some(Ok(()))
        })
        .await?;
    }
    Ok(())
}

async fn send_packet(
    link: &mut impl Link,
    codec: Codec,
    packet: socketio::Packet,
) -> Result<(), String> {
    let (binary, bytes) = handshake_packet(codec, packet);
    link.send(if binary {
        Out::Binary(&bytes)
    } else {
        Out::Text(&bytes)
    })
    .await
}

/// Reads until `check` decides on a Socket.IO packet, answering pings meanwhile.
async fn wait_for(
    link: &mut impl Link,
    check: impl Fn(&socketio::Packet<Payload>) -> Option<Result<(), String>>,
) -> Result<(), String> {
    let config = DecoderConfig::default();
    loop {
        let packet = match link.next().await? {
            In::Text(text) => match engine::decode_text(&text) {
                Ok(engine::Packet::Ping(data)) => {
                    link.send(Out::Text(format!("3{data}").as_bytes())).await?;
                    None
                }
                Ok(engine::Packet::Message(data)) => socketio::decode_packet(data, &config)
                    .ok()
                    .map(|p| p.map_data(Payload::Json)),
                Ok(engine::Packet::Close) => return Err("closed by the server".to_owned()),
                _ => None,
            },
            In::Binary(data) => msgpack::decode_packet(&Bytes::from(data), &config).ok(),
        };
        if let Some(result) = packet.as_ref().and_then(&check) {
            return result;
        }
    }
}

impl Link for Ws {
    async fn send(&mut self, message: Out<'_>) -> Result<(), String> {
        let mut frame = Vec::with_capacity(64);
        push(Framing::Ws(self.key), message, &mut frame);
        self.stream
            .write_all(&frame)
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// Reads frame by frame; pings are answered, other frames skipped.
    async fn next(&mut self) -> Result<In, String> {
        loop {
            let mut message = None;
            let mut pong = Vec::new();
            let used = match wire::parse(&self.partial)? {
                None => None,
                Some((frame, used)) => {
                    match frame.opcode {
                        CLOSE => return Err("closed by the server".to_owned()),
                        PING => wire::encode(PONG, &[frame.payload], self.key, &mut pong),
                        _ => message = self.inbound.whole(&frame)?,
                    }
                    Some(used)
                }
            };
            match used {
                Some(used) => {
                    self.partial.drain(..used);
                    if !pong.is_empty() {
                        self.stream
                            .write_all(&pong)
                            .await
                            .map_err(|e| format!("send: {e}"))?;
                    }
                    match message {
                        Some((false, _, text)) => {
                            return String::from_utf8(text)
                                .map(In::Text)
                                .map_err(|_| "text not UTF-8".to_owned());
                        }
                        Some((true, _, data)) => return Ok(In::Binary(data)),
                        None => {}
                    }
                }
                None => {
                    let n = self
                        .stream
                        .read_buf(&mut self.partial)
                        .await
                        .map_err(|e| format!("receive: {e}"))?;
                    if n == 0 {
                        return Err("closed by the server".to_owned());
                    }
                }
            }
        }
    }
}

impl Inbound {
    /// The message `frame` completes, inflated if it was compressed, as
    /// `(binary, compressed, bytes)`: `None` while one is incomplete, or for
    /// frames that are not data. Compression without permessage-deflate is an
    /// error.
    fn whole(&mut self, frame: &Frame<'_>) -> Result<Option<(bool, bool, Vec<u8>)>, String> {
        let (binary, compressed, bytes) = match (frame.opcode, frame.fin) {
            (TEXT | BINARY, true) => (frame.opcode == BINARY, frame.rsv1, frame.payload.to_vec()),
            (TEXT | BINARY, false) => {
                self.fragments = Some(Fragments {
                    binary: frame.opcode == BINARY,
                    compressed: frame.rsv1,
                    bytes: frame.payload.to_vec(),
                });
                return Ok(None);
            }
            (CONTINUE, fin) => {
                let Some(fragments) = self.fragments.as_mut() else {
                    return Ok(None);
                };
                fragments.bytes.extend_from_slice(frame.payload);
                if !fin {
                    return Ok(None);
                }
                let Some(f) = self.fragments.take() else {
                    return Ok(None);
                };
                (f.binary, f.compressed, f.bytes)
            }
            _ => return Ok(None),
        };
        if compressed {
            Ok(Some((binary, true, self.inflate(&bytes)?)))
        } else {
            Ok(Some((binary, false, bytes)))
        }
    }

    fn inflate(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        let inflater = self
            .inflater
            .as_mut()
            .ok_or("a compressed message without permessage-deflate")?;
        inflater
            .inflate(data, MAX_INFLATED)
            .map_err(|e| format!("inflate: {e}"))
    }
}

/// Runs a connected socket on the current `LocalSet` until its handle is dropped.
pub(crate) fn spawn(opened: Opened, stats: Rc<Stats>, mode: Mode) -> Conn {
    let framing = match &opened {
        Opened::Ws(ws) => Framing::Ws(ws.key),
        Opened::Polling(_) => Framing::Polling,
    };
    let outbox = Rc::new(Outbox {
        frames: RefCell::new(Vec::new()),
        ready: Notify::new(),
        closed: Cell::new(false),
        framing,
    });
    stats.open.set(stats.open.get() + 1);
    let receiver = Receiver::new(mode.codec, mode.binary);
    match opened {
        Opened::Ws(ws) => {
            tokio::task::spawn_local(drive(ws, receiver, outbox.clone(), stats));
        }
        Opened::Polling(link) => {
            tokio::task::spawn_local(polling::drive(link, receiver, outbox.clone(), stats));
        }
    }
    Conn { outbox }
}

/// Whether a connection goes on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Open,
    Closed,
}

async fn drive(mut ws: Ws, mut receiver: Receiver, outbox: Rc<Outbox>, stats: Rc<Stats>) {
    let mut spare = Vec::new();
    let failed = loop {
        let flow = tokio::select! {
            () = outbox.ready.notified() => Flow::Open,
            flow = read(&mut ws, &mut receiver, &stats, &outbox) => flow,
        };
        if flow == Flow::Closed {
            break true;
        }
        if outbox.closed.get() {
            break false;
        }
        // Everything queued (scheduled messages, pongs) goes out in one write.
        std::mem::swap(&mut *outbox.frames.borrow_mut(), &mut spare);
        if !spare.is_empty() && ws.stream.write_all(&spare).await.is_err() {
            break true;
        }
        spare.clear();
    };
    stats.open.set(stats.open.get().saturating_sub(1));
    if failed && !stats.stopping.get() {
        stats.disconnects.set(stats.disconnects.get() + 1);
    }
}

/// One read into the shared buffer, and every frame it completes handled
/// where it lies; answers go to the outbox.
async fn read(ws: &mut Ws, receiver: &mut Receiver, stats: &Stats, outbox: &Outbox) -> Flow {
    std::future::poll_fn(|cx| {
        SCRATCH.with_borrow_mut(|scratch| {
            let mut buf = ReadBuf::new(scratch);
            match Pin::new(&mut ws.stream).poll_read(cx, &mut buf) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(_)) => Poll::Ready(Flow::Closed),
                Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(Flow::Closed),
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    Poll::Ready(on_bytes(ws, receiver, &scratch[..n], stats, outbox))
                }
            }
        })
    })
    .await
}

/// Handles the bytes of one read: whole frames in place, the start of a cut
/// one kept for the next read.
fn on_bytes(
    ws: &mut Ws,
    receiver: &mut Receiver,
    data: &[u8],
    stats: &Stats,
    outbox: &Outbox,
) -> Flow {
    let (now, key) = (stats.now_ns(), ws.key);
    let mut out = outbox.frames.borrow_mut();
    let mut on_frames = |buf: &[u8], inbound: &mut Inbound| -> (usize, Flow) {
        let mut at = 0;
        loop {
            let rest = buf.get(at..).unwrap_or_default();
            match wire::parse(rest) {
                Ok(Some((frame, used))) => {
                    at += used;
                    let flow = on_frame(&frame, inbound, receiver, now, stats, key, &mut out);
                    if flow == Flow::Closed {
                        return (at, Flow::Closed);
                    }
                }
                Ok(None) => return (at, Flow::Open),
                Err(_) => return (at, Flow::Closed),
            }
        }
    };
    if ws.partial.is_empty() {
        let (used, flow) = on_frames(data, &mut ws.inbound);
        ws.partial
            .extend_from_slice(data.get(used..).unwrap_or_default());
        flow
    } else {
        let mut partial = std::mem::take(&mut ws.partial);
        partial.extend_from_slice(data);
        let (used, flow) = on_frames(&partial, &mut ws.inbound);
        partial.drain(..used.min(partial.len()));
        ws.partial = partial;
        flow
    }
}

/// Handles one WebSocket frame from the server.
fn on_frame(
    frame: &Frame<'_>,
    inbound: &mut Inbound,
    receiver: &mut Receiver,
    now: u64,
    stats: &Stats,
    key: [u8; 4],
    out: &mut Vec<u8>,
) -> Flow {
    let handled = match (frame.opcode, frame.fin, frame.rsv1) {
        (TEXT, true, false) => receiver.on_text(frame.payload, now, stats),
        (BINARY, true, false) => receiver.on_binary(frame.payload, now, stats),
        (TEXT | BINARY | CONTINUE, _, _) => match inbound.whole(frame) {
            Ok(Some((binary, compressed, message))) => {
                if compressed {
                    stats.inflated.set(stats.inflated.get() + 1);
                }
                let handled = if binary {
                    receiver.on_binary(&message, now, stats)
                } else {
                    receiver.on_text(&message, now, stats)
                };
                if handled == Handled::Pong {
                    wire::encode(
                        TEXT,
                        &[b"3", message.get(1..).unwrap_or_default()],
                        key,
                        out,
                    );
                    return Flow::Open;
                }
                handled
            }
            Ok(None) => Handled::Open,
            Err(_) => Handled::Closed,
        },
        (PING, _, _) => {
            wire::encode(PONG, &[frame.payload], key, out);
            Handled::Open
        }
        (CLOSE, _, _) => Handled::Closed,
        _ => Handled::Open,
    };
    match handled {
        Handled::Open => Flow::Open,
        Handled::Pong => {
            wire::encode(
                TEXT,
                &[b"3", frame.payload.get(1..).unwrap_or_default()],
                key,
                out,
            );
            Flow::Open
        }
        Handled::Closed => Flow::Closed,
    }
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;

    use super::*;

    fn frame(opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Frame<'_> {
        Frame {
            opcode,
            fin,
            rsv1,
            payload,
        }
    }

    fn inbound(inflater: Option<Inflater>) -> Inbound {
        Inbound {
            fragments: None,
            inflater,
        }
    }

    #[test]
    fn puts_fragmented_messages_together() {
        let stats = Stats::new();
        stats.set_window(0, u64::MAX);
        let (mut inbound, mut receiver, mut out) =
            (inbound(None), Receiver::new(Codec::Default, 0), Vec::new());
        let mut on =
            |f: Frame<'_>| on_frame(&f, &mut inbound, &mut receiver, 1, &stats, [0; 4], &mut out);
        on(frame(TEXT, false, false, b"42[\"b\",{\"t"));
        on(frame(PING, true, false, b"p"));
        on(frame(CONTINUE, false, false, b"\":3"));
        assert_eq!(stats.delivered.get(), 0);
        on(frame(CONTINUE, true, false, b"}]"));
        assert_eq!(stats.delivered.get(), 1);
        assert_eq!(on(frame(CLOSE, true, false, b"")), Flow::Closed);
        assert_eq!(out, [0x8a, 0x81, 0, 0, 0, 0, b'p'], "the ping answered");
    }

    #[test]
    fn answers_pings_with_a_masked_pong() {
        let stats = Stats::new();
        let (mut inbound, mut receiver, mut out) =
            (inbound(None), Receiver::new(Codec::Default, 0), Vec::new());
        let f = frame(TEXT, true, false, b"2");
        assert_eq!(
            on_frame(&f, &mut inbound, &mut receiver, 1, &stats, [0; 4], &mut out),
            Flow::Open
        );
        assert_eq!(out, [0x81, 0x81, 0, 0, 0, 0, b'3'], "a masked pong");
    }

    #[test]
    fn inflates_compressed_messages_and_refuses_them_without_deflate() {
        let stats = Stats::new();
        stats.set_window(0, u64::MAX);
        let text = format!(
            "42[\"broadcast\",{{\"t\":7,\"p\":\"{}\"}}]",
            "x".repeat(2000)
        );
        let mut deflater = ferrio_proto::websocket::deflate::Deflater::new(6, 15, true);
        let mut compressed = Vec::new();
        assert!(deflater.compress(text.as_bytes(), &mut compressed));
        let mut receiver = Receiver::new(Codec::Default, 0);
        let mut out = Vec::new();
        let mut on = inbound(Some(Inflater::new(true)));
        for _ in 0..2 {
            let f = frame(TEXT, true, true, &compressed);
            assert_eq!(
                on_frame(&f, &mut on, &mut receiver, 9, &stats, [0; 4], &mut out),
                Flow::Open
            );
            compressed.clear();
            assert!(deflater.compress(text.as_bytes(), &mut compressed));
        }
        assert_eq!((stats.delivered.get(), stats.inflated.get()), (2, 2));
        let f = frame(TEXT, true, true, &compressed);
        assert_eq!(
            on_frame(
                &f,
                &mut inbound(None),
                &mut receiver,
                9,
                &stats,
                [0; 4],
                &mut out
            ),
            Flow::Closed
        );
    }

    #[test]
    fn polling_payloads_separate_packets_and_encode_binary() {
        let mut out = Vec::new();
        push(Framing::Polling, Out::Text(b"42[1]"), &mut out);
        push(Framing::Polling, Out::Binary(&[1, 2, 3]), &mut out);
        assert_eq!(out, b"42[1]\x1ebAQID");
    }
}
