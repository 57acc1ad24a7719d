//! The kernel floor: a reference row of the side-by-side benchmark
//! (bench/run.py), not a peer.
//!
//! On loopback most of every server's CPU per message is the kernel's: the
//! wake-up, `epoll_wait`, `read`, `writev`, and the receiving side's TCP work,
//! which loopback charges to the sender. This server does those syscalls and
//! next to nothing else, so its CPU per message is the floor under ferrio,
//! Node's socket.io and socketioxide alike. It does them as ferrio's
//! WebSocket transport does: one `writev` (header + payload) per frame, one
//! `read` per readiness event unless the buffer filled (mio is edge-triggered:
//! a short read means the socket is drained), TCP_NODELAY on.
//!
//! On `127.0.0.1:$PORT` (default 3000), single-threaded, it speaks just
//! enough for `ferrio bench`'s echo, broadcast and rooms scenarios:
//!
//! - `GET /socket.io/?EIO=4&transport=websocket` → the WebSocket upgrade,
//!   then the Engine.IO open packet; `2…` (ping) → `3…`;
//! - `40` → `40{"sid":…}`; `42N["echo",…]` → `43N[…]`, `42["echo",…]` back
//!   as is; `42["broadcast",…]` → to every connection, the sender included;
//!   `42["join","r"]` → joins room `r`; `42["room","r",x]` → `42["room",x]`
//!   to every connection in room `r`.
//!
//! Deliberately left out: heartbeats (it never pings: runs are short),
//! JSON parsing (events are matched by prefix; room names with escapes are
//! not understood), namespaces, polling, binary and fragmented messages,
//! WebSocket ping/pong and close handshakes (a close frame drops the
//! connection), UTF-8 checks. Its memory is meaningless: run.py leaves it out
//! of the idle scenario.

use std::collections::HashMap;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use base64::Engine as _;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use sha1::{Digest, Sha1};

const LISTENER: Token = Token(0);
/// Bytes per `read`, as ferrio's transport reads.
const READ_CHUNK: usize = 16 * 1024;
/// The longest HTTP request head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// The longest client frame accepted: the open packet's `maxPayload`.
const MAX_FRAME: usize = 1_000_000;
/// Unsent bytes beyond which a connection that does not read is dropped.
const MAX_PENDING: usize = 4 << 20;

#[derive(PartialEq)]
enum Stage {
    Http,
    Open,
    Connected,
}

struct Conn {
    tcp: TcpStream,
    stage: Stage,
    /// The request head, or an incomplete frame, from earlier reads.
    partial: Vec<u8>,
    /// What the socket did not take; written when it becomes writable.
    pending: Vec<u8>,
    rooms: Vec<Box<str>>,
    /// A write failed or `pending` overflowed: shut down, waiting for the
    /// event that drops it.
    broken: bool,
}

impl Conn {
    /// Writes a text frame of the concatenated `parts` (at most 4).
    fn send(&mut self, parts: &[&[u8]]) {
        let len = parts.iter().map(|p| p.len()).sum::<usize>();
        let (code, extra) = match len {
            0..126 => (len as u8, 0),
            126..=0xffff => (126, 2),
            _ => (127, 8),
        };
        let mut head = [0x81, code, 0, 0, 0, 0, 0, 0, 0, 0];
        head[2..2 + extra].copy_from_slice(&(len as u64).to_be_bytes()[8 - extra..]);
        let mut all: [&[u8]; 5] = [&head[..2 + extra], &[], &[], &[], &[]];
        all[1..=parts.len()].copy_from_slice(parts);
        self.write(&all[..=parts.len()]);
    }

    /// One `writev` when nothing waits; whatever the socket does not take
    /// waits in `pending`, behind which later writes queue.
    fn write(&mut self, parts: &[&[u8]]) {
        if self.broken {
            return;
        }
        let mut written = 0;
        if self.pending.is_empty() {
            let mut slices = [IoSlice::new(&[]); 5];
            for (slice, part) in slices.iter_mut().zip(parts) {
                *slice = IoSlice::new(part);
            }
            written = match self.tcp.write_vectored(&slices[..parts.len()]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(_) => return self.fail(),
            };
        }
        for part in parts {
            let skip = written.min(part.len());
            written -= skip;
            self.pending.extend_from_slice(&part[skip..]);
        }
        if self.pending.len() > MAX_PENDING {
            self.fail();
        }
    }

    fn fail(&mut self) {
        self.broken = true;
        self.pending = Vec::new();
        let _ = self.tcp.shutdown(Shutdown::Both);
    }

    fn flush(&mut self) {
        while !self.pending.is_empty() && !self.broken {
            match self.tcp.write(&self.pending) {
                Ok(n) => drop(self.pending.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => self.fail(),
            }
        }
        if self.pending.is_empty() {
            self.pending = Vec::new(); // a burst may have grown it
        }
    }
}

/// The first complete client frame of `buf`, unmasked in place: its opcode
/// and where its payload starts and ends (the end is the frame's length).
/// `Ok(None)`: more bytes are needed; `Err`: unmasked or too large.
fn frame(buf: &mut [u8]) -> Result<Option<(u8, usize, usize)>, ()> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[1] & 0x80 == 0 {
        return Err(());
    }
    let (len, at) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().unwrap()), 10),
        126 | 127 => return Ok(None),
        n => (n as u64, 2),
    };
    if len > MAX_FRAME as u64 {
        return Err(());
    }
    let (start, end) = (at + 4, at + 4 + len as usize);
    if buf.len() < end {
        return Ok(None);
    }
    let mask = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
    for (i, b) in buf[start..end].iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    Ok(Some((buf[0] & 0x0f, start, end)))
}

/// The room name at the start of `s` (up to its closing quote) and the rest.
fn room_name(s: &[u8]) -> Option<(&str, &[u8])> {
    let q = s.iter().position(|&b| b == b'"')?;
    Some((std::str::from_utf8(&s[..q]).ok()?, &s[q + 1..]))
}

#[derive(Default)]
struct Server {
    conns: HashMap<usize, Conn>,
    rooms: HashMap<Box<str>, Vec<usize>>,
}

impl Server {
    /// Reads what connection `id` has for us; false when it is to be dropped.
    fn read(&mut self, id: usize, buf: &mut [u8]) -> bool {
        loop {
            let Some(c) = self.conns.get_mut(&id) else {
                return false;
            };
            let n = match c.tcp.read(buf) {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
            };
            if c.partial.is_empty() {
                let Some(used) = self.consume(id, &mut buf[..n]) else {
                    return false;
                };
                let c = self.conns.get_mut(&id).unwrap();
                c.partial.extend_from_slice(&buf[used..n]);
            } else {
                let mut data = std::mem::take(&mut c.partial);
                data.extend_from_slice(&buf[..n]);
                let Some(used) = self.consume(id, &mut data) else {
                    return false;
                };
                data.drain(..used);
                self.conns.get_mut(&id).unwrap().partial = data;
            }
            if n < buf.len() {
                return true;
            }
        }
    }

    /// Handles the complete head or frames at the start of `data`; returns
    /// how many bytes it used, `None` to drop the connection.
    fn consume(&mut self, id: usize, data: &mut [u8]) -> Option<usize> {
        let mut used = 0;
        if self.conns[&id].stage == Stage::Http {
            let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                return (data.len() <= MAX_HEAD).then_some(0);
            };
            self.upgrade(id, &data[..end])?;
            used = end + 4;
        }
        while let Some((opcode, start, end)) = frame(&mut data[used..]).ok()? {
            match opcode {
                1 => self.on_text(id, &data[used + start..used + end]),
                8 => return None,
                _ => {}
            }
            used += end;
        }
        Some(used)
    }

    /// Answers the upgrade request `head`; `None` for any other request.
    fn upgrade(&mut self, id: usize, head: &[u8]) -> Option<()> {
        let c = self.conns.get_mut(&id)?;
        let head = std::str::from_utf8(head).ok()?;
        let query = head.strip_prefix("GET /socket.io/?")?.split(' ').next()?;
        if !query.contains("EIO=4") || !query.contains("transport=websocket") {
            return None;
        }
        let key = head.lines().skip(1).find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim())
        })?;
        let mut sha = Sha1::new();
        sha.update(key.as_bytes());
        sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
        let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
        c.write(&[format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .as_bytes()]);
        c.send(&[format!(
            "0{{\"sid\":\"floor{id}\",\"upgrades\":[],\"pingInterval\":25000,\
             \"pingTimeout\":20000,\"maxPayload\":{MAX_FRAME}}}"
        )
        .as_bytes()]);
        c.stage = Stage::Open;
        Some(())
    }

    fn on_text(&mut self, id: usize, p: &[u8]) {
        let c = self.conns.get_mut(&id).unwrap();
        if let Some(data) = p.strip_prefix(b"2") {
            return c.send(&[b"3", data]); // Engine.IO ping
        }
        if c.stage == Stage::Open && p.starts_with(b"40") && !p.starts_with(b"40/") {
            c.stage = Stage::Connected;
            return c.send(&[format!("40{{\"sid\":\"socket{id}\"}}").as_bytes()]);
        }
        let Some(rest) = p
            .strip_prefix(b"42")
            .filter(|_| c.stage == Stage::Connected)
        else {
            return;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (ack, args) = rest.split_at(digits);
        if let Some(echoed) = args.strip_prefix(b"[\"echo\",") {
            if ack.is_empty() {
                c.send(&[p]);
            } else {
                c.send(&[b"43", ack, b"[", echoed]);
            }
        } else if args.starts_with(b"[\"broadcast\",") {
            for c in self.conns.values_mut() {
                if c.stage == Stage::Connected {
                    c.send(&[b"42", args]);
                }
            }
        } else if let Some((room, _)) = args.strip_prefix(b"[\"join\",\"").and_then(room_name) {
            if !c.rooms.iter().any(|r| &**r == room) {
                c.rooms.push(room.into());
                self.rooms.entry(room.into()).or_default().push(id);
            }
        } else if let Some((room, payload)) = args.strip_prefix(b"[\"room\",\"").and_then(room_name)
        {
            for to in self.rooms.get(room).into_iter().flatten() {
                self.conns
                    .get_mut(to)
                    .unwrap()
                    .send(&[b"42[\"room\"", payload]);
            }
        }
    }

    fn drop_conn(&mut self, poll: &Poll, id: usize) {
        let Some(mut c) = self.conns.remove(&id) else {
            return;
        };
        let _ = poll.registry().deregister(&mut c.tcp);
        for room in c.rooms {
            if let Some(members) = self.rooms.get_mut(&room) {
                members.retain(|&m| m != id);
                if members.is_empty() {
                    self.rooms.remove(&room);
                }
            }
        }
    }
}

fn main() -> io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let mut listener = TcpListener::bind(([127, 0, 0, 1], port).into())?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    println!(
        "bench-floor on http://{}/socket.io/",
        listener.local_addr()?
    );
    let mut server = Server::default();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0; READ_CHUNK];
    let mut next_id = 1;
    loop {
        match poll.poll(&mut events, None) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // SIGSTOP, SIGCONT
            result => result?,
        }
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    let mut tcp = match listener.accept() {
                        Ok((tcp, _)) => tcp,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => {
                            eprintln!("accept: {e}"); // out of descriptors, mostly
                            break;
                        }
                    };
                    let _ = tcp.set_nodelay(true);
                    let token = Token(next_id);
                    poll.registry().register(
                        &mut tcp,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    let conn = Conn {
                        tcp,
                        stage: Stage::Http,
                        partial: Vec::new(),
                        pending: Vec::new(),
                        rooms: Vec::new(),
                        broken: false,
                    };
                    server.conns.insert(next_id, conn);
                    next_id += 1;
                }
                continue;
            }
            let id = event.token().0;
            if event.is_writable()
                && let Some(c) = server.conns.get_mut(&id)
            {
                c.flush();
            }
            let readable = event.is_readable() || event.is_read_closed() || event.is_error();
            if readable && !server.read(id, &mut buf) {
                server.drop_conn(&poll, id);
            }
        }
    }
}
