//! One client connection, speaking raw Engine.IO / Socket.IO frames over a
//! WebSocket: the handshake, then a task that answers pings, writes what the
//! scheduler hands it and records every stamped delivery.
//!
//! ```text
//!  TCP connect (bound to a --source-addrs address) → WebSocket upgrade
//!  ← 0{"sid":…,"pingInterval":…}   Engine.IO open
//!  → 40  ← 40{"sid":…}              Socket.IO CONNECT to `/`
//!  [→ 42["join",room]  → 420["echo",{}]  ← 430[{}]]   rooms: joined for sure
//!  then: ← 2 → 3 (heartbeat);  → 42…/42N… (scheduled);  ← 43N…/42… (deliveries)
//! ```

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use ferrio_proto::engine::{self, Handshake};
use ferrio_proto::socketio::{self, DecoderConfig, PacketKind};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::stats::Stats;

type Ws = WebSocketStream<TcpStream>;

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

/// The handle the scheduler writes through; dropping it closes the connection.
pub(crate) struct Conn {
    tx: mpsc::UnboundedSender<Utf8Bytes>,
}

impl Conn {
    /// Queues a complete Engine.IO text frame.
    pub(crate) fn send(&self, frame: Utf8Bytes) {
        // A closed connection is counted as a disconnect by its task, and its
        // deliveries as lost; nothing more to do here.
        let _ = self.tx.send(frame);
    }
}

/// Small buffers: the generator holds thousands of mostly idle connections.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(64 * 1024)
}

/// An EVENT packet as a complete Engine.IO message: `42[name,...args]`, or
/// `42<ack>[…]` when an acknowledgement is asked.
pub(crate) fn event_frame(name: &str, args: Vec<Value>, ack: Option<u64>) -> Utf8Bytes {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::String(name.to_owned()));
    data.extend(args);
    let mut packet = socketio::Packet::new(PacketKind::Event, "/", Some(Value::Array(data)));
    packet.id = ack;
    let mut out = Vec::with_capacity(64);
    socketio::encode_message(&packet, &mut out);
    String::from_utf8(out)
        .expect("the encoder writes UTF-8")
        .into()
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
    if !target.sources.is_empty() {
        let source = target.sources[index % target.sources.len()];
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| format!("bind {source}: {e}"))?;
    }
    let stream = socket
        .connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(target.url.as_str(), stream, Some(ws_config()))
            .await
            .map_err(|e| format!("websocket upgrade: {e}"))?;

    let open = next_text(&mut ws).await?;
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
    send(&mut ws, "40".into()).await?;
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
        send(&mut ws, event_frame("join", vec![json!(room)], None)).await?;
        // Events are handled in order: once this ack is back, so is the join.
        send(&mut ws, event_frame("echo", vec![json!({})], Some(0))).await?;
        wait_for(&mut ws, |p| {
            (p.kind == PacketKind::Ack && p.id == Some(0)).then_some(Ok(()))
        })
        .await?;
    }
    Ok(ws)
}

async fn send(ws: &mut Ws, frame: Utf8Bytes) -> Result<(), String> {
    ws.send(Message::Text(frame))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// The next text frame; WebSocket control and binary frames are skipped.
async fn next_text(ws: &mut Ws) -> Result<Utf8Bytes, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text),
            Some(Ok(Message::Close(_))) | None => return Err("closed by the server".to_owned()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("receive: {e}")),
        }
    }
}

/// Reads until `check` decides on a Socket.IO packet, answering pings meanwhile.
async fn wait_for(
    ws: &mut Ws,
    check: impl Fn(&socketio::Packet) -> Option<Result<(), String>>,
) -> Result<(), String> {
    let config = DecoderConfig::default();
    loop {
        let text = next_text(ws).await?;
        match engine::decode_text(&text) {
            Ok(engine::Packet::Ping(data)) => send(ws, format!("3{data}").into()).await?,
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
    let (tx, rx) = mpsc::unbounded_channel();
    stats.open.set(stats.open.get() + 1);
    tokio::task::spawn_local(drive(ws, rx, stats));
    Conn { tx }
}

async fn drive(mut ws: Ws, mut rx: mpsc::UnboundedReceiver<Utf8Bytes>, stats: Rc<Stats>) {
    let config = DecoderConfig::default();
    let failed = 'run: loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(frame) = out else { break false };
                // Everything queued goes out in one flush (one write, mostly).
                if ws.feed(Message::Text(frame)).await.is_err() {
                    break true;
                }
                while let Ok(frame) = rx.try_recv() {
                    if ws.feed(Message::Text(frame)).await.is_err() {
                        break 'run true;
                    }
                }
                if ws.flush().await.is_err() {
                    break true;
                }
            }
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => match on_text(&text, &stats, &config) {
                    Reply::Nothing => {}
                    Reply::Pong(frame) => {
                        if ws.send(Message::Text(frame)).await.is_err() {
                            break true;
                        }
                    }
                    Reply::Closed => break true,
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break true,
                Some(Ok(_)) => {}
            },
        }
    };
    stats.open.set(stats.open.get().saturating_sub(1));
    if failed && !stats.stopping.get() {
        stats.disconnects.set(stats.disconnects.get() + 1);
    }
}

enum Reply {
    Nothing,
    Pong(Utf8Bytes),
    Closed,
}

/// Handles one Engine.IO text frame from the server.
fn on_text(text: &str, stats: &Stats, config: &DecoderConfig) -> Reply {
    match engine::decode_text(text) {
        Ok(engine::Packet::Ping(data)) => {
            stats.pings.set(stats.pings.get() + 1);
            Reply::Pong(format!("3{data}").into())
        }
        Ok(engine::Packet::Message(data)) => match socketio::decode_packet(data, config) {
            Ok(packet) if packet.kind == PacketKind::Disconnect => Reply::Closed,
            Ok(packet) => {
                if let Some(t) = stamp(&packet) {
                    stats.on_delivery(t);
                }
                Reply::Nothing
            }
            Err(_) => Reply::Nothing,
        },
        Ok(engine::Packet::Close) => Reply::Closed,
        _ => Reply::Nothing,
    }
}

/// The schedule stamp `t` of an ack (`[{"t":…}]`) or an event (`[name, …, {"t":…}]`).
fn stamp(packet: &socketio::Packet) -> Option<u64> {
    let Some(Value::Array(items)) = &packet.data else {
        return None;
    };
    let args = match packet.kind {
        PacketKind::Ack => &items[..],
        PacketKind::Event => items.get(1..)?,
        _ => return None,
    };
    args.iter().find_map(|arg| arg.get("t")?.as_u64())
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
    fn finds_stamps_in_acks_and_events() {
        let config = DecoderConfig::default();
        let p = |s| socketio::decode_packet(s, &config).unwrap();
        assert_eq!(stamp(&p(r#"37[{"t":5,"p":"x"}]"#)), Some(5));
        assert_eq!(stamp(&p(r#"2["room",{"t":9}]"#)), Some(9));
        assert_eq!(stamp(&p(r#"2["t",1]"#)), None);
        assert_eq!(stamp(&p(r#"0{"sid":"a"}"#)), None);
    }

    #[test]
    fn answers_pings_and_counts_deliveries() {
        let stats = Stats::new();
        let config = DecoderConfig::default();
        assert!(matches!(on_text("2", &stats, &config), Reply::Pong(f) if f.as_str() == "3"));
        stats.set_window(0, u64::MAX);
        assert!(matches!(
            on_text(r#"42["broadcast",{"t":1}]"#, &stats, &config),
            Reply::Nothing
        ));
        assert_eq!(stats.delivered.get(), 1);
        assert!(matches!(on_text("41", &stats, &config), Reply::Closed));
        assert!(matches!(on_text("1", &stats, &config), Reply::Closed));
    }
}
