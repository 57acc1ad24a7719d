//! One client connection, speaking raw Engine.IO / Socket.IO frames over a
//! WebSocket: the handshake, then a task that answers pings, writes what the
//! scheduler hands it and records every stamped delivery.
//!
//! The generator must not be the bottleneck, so the task does as little as it
//! can per message: one read takes every frame that has arrived (into a
//! buffer all connections share), frames are handled where they lie, and an
//! event or ack is read only as far as its type and its `"t":` stamp, with no
//! JSON parsed and nothing allocated. The scheduler's messages are framed and
//! masked straight into the connection's outbox, which goes out in one write.
//!
//! ```text
//!  TCP connect (bound to a --source-addrs address) → WebSocket upgrade
//!  ← 0{"sid":…,"pingInterval":…}   Engine.IO open
//!  → 40  ← 40{"sid":…}              Socket.IO CONNECT to `/`
//!  [→ 42["join",room]  → 420["echo",{}]  ← 430[{}]]   rooms: joined for sure
//!  then: ← 2 → 3 (heartbeat);  → 42…/42N… (scheduled);  ← 43N…/42… (deliveries)
//! ```

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use ferrio_proto::engine::{self, Handshake};
use ferrio_proto::socketio::{self, DecoderConfig, PacketKind};
use serde_json::{Value, json};
use tokio::io::{AsyncRead as _, AsyncReadExt as _, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;

use super::stats::Stats;
use super::wire::{self, CLOSE, CONTINUE, Frame, PING, PONG, TEXT};

/// Bytes one read may take: many frames at once when the server sends them
/// together. One buffer for every connection (they run on one thread).
const READ_BUFFER: usize = 256 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUFFER].into_boxed_slice());
}

/// Where and how to connect.
pub(crate) struct DialPlan {
    /// The server's address.
    pub(crate) addr: SocketAddr,
    /// `ws://host:port/path/?EIO=4&transport=websocket`.
    pub(crate) url: String,
    /// Local addresses to bind, round-robin by connection index (none: the kernel picks).
    pub(crate) sources: Vec<IpAddr>,
    /// The longest a whole handshake may take.
    pub(crate) timeout: Duration,
}

/// An open WebSocket: the stream, the bytes of a frame a read cut short, a
/// fragmented message being put together, and the mask of what it sends.
pub(crate) struct Ws {
    stream: TcpStream,
    partial: Vec<u8>,
    fragments: Option<Vec<u8>>,
    key: [u8; 4],
}

/// What the scheduler hands a connection's task: frames, already masked.
struct Outbox {
    frames: RefCell<Vec<u8>>,
    ready: Notify,
    closed: Cell<bool>,
    key: [u8; 4],
}

/// The handle the scheduler writes through; dropping it closes the connection.
pub(crate) struct Conn {
    outbox: Rc<Outbox>,
}

impl Conn {
    /// Queues an Engine.IO text message (`42[…]`), framed and masked at once:
    /// no allocation per message. A closed connection is counted as a
    /// disconnect by its task, and its deliveries as lost.
    pub(crate) fn send(&self, text: &[u8]) {
        let outbox = &self.outbox;
        wire::encode(TEXT, &[text], outbox.key, &mut outbox.frames.borrow_mut());
        outbox.ready.notify_one();
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.outbox.closed.set(true);
        self.outbox.ready.notify_one();
    }
}

/// An EVENT packet as a complete Engine.IO message: `42[name,...args]`, or
/// `42<ack>[…]` when an acknowledgement is asked.
pub(crate) fn event_frame(name: &str, args: Vec<Value>, ack: Option<u64>) -> String {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::String(name.to_owned()));
    data.extend(args);
    let mut packet = socketio::Packet::new(PacketKind::Event, "/", Some(Value::Array(data)));
    packet.id = ack;
    let mut out = Vec::with_capacity(64);
    socketio::encode_message(&packet, &mut out);
    String::from_utf8(out).expect("the encoder writes UTF-8")
}

/// The scheduler's message, written into `out` without building JSON values:
/// `42<ack>["<name>","<room>",{"t":<t>,"p":"<pad>"}]` (no ack, no room when
/// `None`). `name`, `room` and `pad` must need no JSON escaping.
pub(crate) fn stamped_event(
    out: &mut String,
    name: &str,
    room: Option<&str>,
    ack: Option<u64>,
    t: u64,
    pad: &str,
) {
    out.clear();
    out.push_str("42");
    if let Some(ack) = ack {
        let _ = write!(out, "{ack}");
    }
    let _ = write!(out, "[\"{name}\",");
    if let Some(room) = room {
        let _ = write!(out, "\"{room}\",");
    }
    let _ = write!(out, "{{\"t\":{t},\"p\":\"{pad}\"}}]");
}

/// A mask key for connection `index`. RFC 6455 wants it unpredictable, which
/// guards proxies against a hostile page; the generator talks to a server it
/// is pointed at, and the server only unmasks with it.
fn mask_key(index: usize) -> [u8; 4] {
    ((index as u32).wrapping_mul(0x9E37_79B9) ^ 0x5A5A_A5A5).to_be_bytes()
}

/// Opens connection number `index`: TCP, WebSocket, Engine.IO and Socket.IO
/// handshakes, then (for `rooms`) joins `room` and waits until the server has
/// handled the join. Errors are short descriptions, counted by the caller.
pub(crate) async fn connect(
    target: &DialPlan,
    index: usize,
    room: Option<&str>,
) -> Result<Ws, String> {
    tokio::time::timeout(target.timeout, handshake(target, index, room))
        .await
        .unwrap_or_else(|_| Err("handshake timed out".to_owned()))
}

async fn handshake(target: &DialPlan, index: usize, room: Option<&str>) -> Result<Ws, String> {
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
    let mut stream = socket
        .connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let partial = wire::upgrade(&mut stream, &target.url)
        .await
        .map_err(|e| format!("websocket upgrade: {e}"))?;
    let mut ws = Ws {
        stream,
        partial,
        fragments: None,
        key: mask_key(index),
    };

    let open = ws.next_text().await?;
    match engine::decode_text(&open) {
        Ok(engine::Packet::Open(json)) => {
            Handshake::decode(json).map_err(|e| format!("bad Engine.IO open packet: {e}"))?;
        }
        _ => {
            return Err(format!(
                "expected the Engine.IO open packet, got {open:.40}"
            ));
        }
    }
    ws.send(b"40").await?;
    wait_for(&mut ws, |p| match p.kind {
        PacketKind::Connect => Some(Ok(())),
        PacketKind::ConnectError => Some(Err(format!(
            "connect error: {}",
            p.data.clone().unwrap_or_default()
        ))),
        _ => None,
    })
    .await?;

    if let Some(room) = room {
        ws.send(event_frame("join", vec![json!(room)], None).as_bytes())
            .await?;
        // Events are handled in order: once this ack is back, so is the join.
        ws.send(event_frame("echo", vec![json!({})], Some(0)).as_bytes())
            .await?;
        wait_for(&mut ws, |p| {
            (p.kind == PacketKind::Ack && p.id == Some(0)).then_some(Ok(()))
        })
        .await?;
    }
    Ok(ws)
}

impl Ws {
    /// Writes one text message at once (the handshake's).
    async fn send(&mut self, text: &[u8]) -> Result<(), String> {
        let mut frame = Vec::with_capacity(text.len() + 8);
        wire::encode(TEXT, &[text], self.key, &mut frame);
        self.stream
            .write_all(&frame)
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// The next text message, read frame by frame (the handshake's); pings
    /// are answered, other frames skipped.
    async fn next_text(&mut self) -> Result<String, String> {
        loop {
            let mut text = None;
            let mut pong = Vec::new();
            let used = match wire::parse(&self.partial)? {
                None => None,
                Some((frame, used)) => {
                    match frame.opcode {
                        CLOSE => return Err("closed by the server".to_owned()),
                        PING => wire::encode(PONG, &[frame.payload], self.key, &mut pong),
                        _ => text = whole_text(&mut self.fragments, &frame),
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
                    if let Some(text) = text {
                        return String::from_utf8(text).map_err(|_| "text not UTF-8".to_owned());
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

/// A text message complete with `frame`, put together from its fragments if
/// it had any; `None` while one is incomplete, or for other frames.
fn whole_text(fragments: &mut Option<Vec<u8>>, frame: &Frame<'_>) -> Option<Vec<u8>> {
    match (frame.opcode, frame.fin) {
        (TEXT, true) => Some(frame.payload.to_vec()),
        (TEXT, false) => {
            *fragments = Some(frame.payload.to_vec());
            None
        }
        (CONTINUE, fin) => {
            let buf = fragments.as_mut()?;
            buf.extend_from_slice(frame.payload);
            if fin { fragments.take() } else { None }
        }
        _ => None,
    }
}

/// Reads until `check` decides on a Socket.IO packet, answering pings meanwhile.
async fn wait_for(
    ws: &mut Ws,
    check: impl Fn(&socketio::Packet) -> Option<Result<(), String>>,
) -> Result<(), String> {
    let config = DecoderConfig::default();
    loop {
        let text = ws.next_text().await?;
        match engine::decode_text(&text) {
            Ok(engine::Packet::Ping(data)) => ws.send(format!("3{data}").as_bytes()).await?,
            Ok(engine::Packet::Message(data)) => {
                if let Some(result) = socketio::decode_packet(data, &config)
                    .ok()
                    .as_ref()
                    .and_then(&check)
                {
                    return result;
                }
            }
            Ok(engine::Packet::Close) => return Err("closed by the server".to_owned()),
            _ => {}
        }
    }
}

/// Runs a connected socket on the current `LocalSet` until its handle is dropped.
pub(crate) fn spawn(ws: Ws, stats: Rc<Stats>) -> Conn {
    let outbox = Rc::new(Outbox {
        frames: RefCell::new(Vec::new()),
        ready: Notify::new(),
        closed: Cell::new(false),
        key: ws.key,
    });
    stats.open.set(stats.open.get() + 1);
    tokio::task::spawn_local(drive(ws, outbox.clone(), stats));
    Conn { outbox }
}

/// Whether a connection goes on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Open,
    Closed,
}

async fn drive(mut ws: Ws, outbox: Rc<Outbox>, stats: Rc<Stats>) {
    let mut spare = Vec::new();
    let failed = loop {
        let flow = tokio::select! {
            () = outbox.ready.notified() => Flow::Open,
            flow = read(&mut ws, &stats, &outbox) => flow,
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
async fn read(ws: &mut Ws, stats: &Stats, outbox: &Outbox) -> Flow {
    std::future::poll_fn(|cx| {
        SCRATCH.with_borrow_mut(|scratch| {
            let mut buf = ReadBuf::new(scratch);
            match Pin::new(&mut ws.stream).poll_read(cx, &mut buf) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(_)) => Poll::Ready(Flow::Closed),
                Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(Flow::Closed),
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    Poll::Ready(on_bytes(ws, &scratch[..n], stats, outbox))
                }
            }
        })
    })
    .await
}

/// Handles the bytes of one read: whole frames in place, the start of a cut
/// one kept for the next read.
fn on_bytes(ws: &mut Ws, data: &[u8], stats: &Stats, outbox: &Outbox) -> Flow {
    let (now, key) = (stats.now_ns(), ws.key);
    let mut out = outbox.frames.borrow_mut();
    let mut on_frames = |buf: &[u8], fragments: &mut Option<Vec<u8>>| -> (usize, Flow) {
        let mut at = 0;
        loop {
            let rest = buf.get(at..).unwrap_or_default();
            match wire::parse(rest) {
                Ok(Some((frame, used))) => {
                    at += used;
                    if on_frame(&frame, fragments, now, stats, key, &mut out) == Flow::Closed {
                        return (at, Flow::Closed);
                    }
                }
                Ok(None) => return (at, Flow::Open),
                Err(_) => return (at, Flow::Closed),
            }
        }
    };
    if ws.partial.is_empty() {
        let (used, flow) = on_frames(data, &mut ws.fragments);
        ws.partial
            .extend_from_slice(data.get(used..).unwrap_or_default());
        flow
    } else {
        let mut partial = std::mem::take(&mut ws.partial);
        partial.extend_from_slice(data);
        let (used, flow) = on_frames(&partial, &mut ws.fragments);
        partial.drain(..used.min(partial.len()));
        ws.partial = partial;
        flow
    }
}

/// Handles one WebSocket frame from the server.
fn on_frame(
    frame: &Frame<'_>,
    fragments: &mut Option<Vec<u8>>,
    now: u64,
    stats: &Stats,
    key: [u8; 4],
    out: &mut Vec<u8>,
) -> Flow {
    match (frame.opcode, frame.fin) {
        (TEXT, true) => on_text(frame.payload, now, stats, key, out),
        (TEXT | CONTINUE, _) => match whole_text(fragments, frame) {
            Some(text) => on_text(&text, now, stats, key, out),
            None => Flow::Open,
        },
        (PING, _) => {
            wire::encode(PONG, &[frame.payload], key, out);
            Flow::Open
        }
        (CLOSE, _) => Flow::Closed,
        _ => Flow::Open,
    }
}

/// Handles one Engine.IO text message from the server, reading no more of it
/// than it must: its type bytes, and the stamp of an event or an ack.
fn on_text(text: &[u8], now: u64, stats: &Stats, key: [u8; 4], out: &mut Vec<u8>) -> Flow {
    match text {
        [b'2', rest @ ..] => {
            stats.pings.set(stats.pings.get() + 1);
            wire::encode(TEXT, &[b"3", rest], key, out);
            Flow::Open
        }
        [b'4', b'1', ..] | [b'1', ..] => Flow::Closed,
        [b'4', b'2' | b'3', rest @ ..] => {
            if let Some(t) = stamp(rest) {
                stats.on_delivery_at(t, now);
            }
            Flow::Open
        }
        _ => Flow::Open,
    }
}

/// The schedule stamp `t` in an ack's or an event's arguments: the number
/// after the first `"t":` (the generator's padding is `x`s, and servers keep
/// the key as it is, whatever order they write the keys in).
fn stamp(packet: &[u8]) -> Option<u64> {
    let at = wire::find(packet, b"\"t\":")? + 4;
    let digits = packet.get(at..)?;
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(digits.get(..end)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_events_with_and_without_ack() {
        let f = event_frame("echo", vec![json!({"t": 5, "p": "xx"})], Some(7));
        assert_eq!(f.as_str(), r#"427["echo",{"t":5,"p":"xx"}]"#);
        let f = event_frame("room", vec![json!("r1"), json!({"t": 5})], None);
        assert_eq!(f.as_str(), r#"42["room","r1",{"t":5}]"#);
    }

    #[test]
    fn stamped_events_are_what_the_encoder_writes() {
        let mut out = String::new();
        stamped_event(&mut out, "echo", None, Some(7), 5, "xx");
        let payload = json!({"t": 5, "p": "xx"});
        assert_eq!(out, event_frame("echo", vec![payload.clone()], Some(7)));
        stamped_event(&mut out, "room", Some("room-3"), None, 123, "");
        let payload = json!({"t": 123, "p": ""});
        assert_eq!(
            out,
            event_frame("room", vec![json!("room-3"), payload], None)
        );
    }

    #[test]
    fn finds_stamps_in_acks_and_events() {
        assert_eq!(stamp(br#"7[{"t":5,"p":"x"}]"#), Some(5));
        assert_eq!(stamp(br#"["room",{"t":9}]"#), Some(9));
        // serde_json without preserve_order writes keys sorted.
        assert_eq!(
            stamp(br#"["broadcast",{"p":"xx","t":1234567}]"#),
            Some(1234567)
        );
        assert_eq!(stamp(br#"{"sid":"a"}"#), None);
        assert_eq!(stamp(br#"["t",{"t":}]"#), None);
    }

    fn handle(text: &str, stats: &Stats, out: &mut Vec<u8>) -> Flow {
        on_text(text.as_bytes(), stats.now_ns(), stats, [0; 4], out)
    }

    #[test]
    fn answers_pings_and_counts_deliveries() {
        let stats = Stats::new();
        let mut out = Vec::new();
        assert_eq!(handle("2", &stats, &mut out), Flow::Open);
        assert_eq!(out, [0x81, 0x81, 0, 0, 0, 0, b'3'], "a masked pong");
        stats.set_window(0, u64::MAX);
        out.clear();
        assert_eq!(
            handle(r#"42["broadcast",{"t":1}]"#, &stats, &mut out),
            Flow::Open
        );
        assert_eq!(handle(r#"4312[{"t":1}]"#, &stats, &mut out), Flow::Open);
        assert_eq!(stats.delivered.get(), 2);
        assert!(out.is_empty());
        assert_eq!(handle("41", &stats, &mut out), Flow::Closed);
        assert_eq!(handle("1", &stats, &mut out), Flow::Closed);
        assert_eq!(handle("40{}", &stats, &mut out), Flow::Open);
    }

    #[test]
    fn puts_fragmented_messages_together() {
        let stats = Stats::new();
        stats.set_window(0, u64::MAX);
        let (mut fragments, mut out) = (None, Vec::new());
        let mut frame = |opcode, fin, payload: &[u8]| {
            let frame = Frame {
                opcode,
                fin,
                payload,
            };
            on_frame(&frame, &mut fragments, 1, &stats, [0; 4], &mut out)
        };
        frame(TEXT, false, b"42[\"b\",{\"t");
        frame(PING, true, b"p");
        frame(CONTINUE, false, b"\":3");
        assert_eq!(stats.delivered.get(), 0);
        frame(CONTINUE, true, b"}]");
        assert_eq!(stats.delivered.get(), 1);
        assert_eq!(frame(CLOSE, true, b""), Flow::Closed);
        assert_eq!(out, [0x8a, 0x81, 0, 0, 0, 0, b'p'], "the ping answered");
    }
}
