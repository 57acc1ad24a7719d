//! The harness: the server in a child process with its address space capped,
//! its peak RSS (`VmHWM`, reset through `clear_refs`), its open descriptors, a
//! healthy client that keeps exchanging acknowledged messages, and a probe
//! that asks the app for its counters.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::child::{CHILD_ENV, Options};
use super::raw::{Target, tls_client};
use crate::support::{Frame, SioPacket, WsClient};

/// The child's address-space cap, in KiB (`ulimit -v`): 4 GiB. Unfixed code
/// that asks for more dies (allocation failure aborts) instead of eating the
/// shared machine's memory.
pub const ADDRESS_SPACE_CAP_KIB: u64 = 4 * 1024 * 1024;

/// How long any single expected answer may take.
pub const WAIT: Duration = Duration::from_secs(15);

const MIB: u64 = 1 << 20;

/// The server under attack, in a child process of its own.
pub struct Server {
    process: std::process::Child,
    /// Its process id (the test binary re-executed, after `sh` exec'd it).
    pub pid: u32,
    /// The plain listener.
    pub plain: Target,
    /// The TLS listener, with a client configuration trusting its certificate.
    pub tls: Target,
    baseline_rss: u64,
}

impl Server {
    /// Starts the child with these options and waits for its ports.
    pub fn start(mut options: Options) -> Server {
        // One folder per server: tests run in parallel in this process, and a
        // certificate written over another server's would not match its key.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("attacks-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        options.cert_pem = cert.display().to_string();
        options.key_pem = key.display().to_string();

        let exe = std::env::current_exe().unwrap();
        let mut process = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v {ADDRESS_SPACE_CAP_KIB}; exec \"$0\" \"$@\""
            ))
            .arg(exe)
            .args([
                "attack_server_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, serde_json::to_string(&options).unwrap())
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the child server starts");
        let pid = process.id();
        let stdout = process.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest prints `test attack_server_child ... ` first, on
                // the same line.
                if let Some(at) = line.find("ATTACK-SERVER ") {
                    let ports = &line[at + "ATTACK-SERVER ".len()..];
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(ports.to_owned());
                    }
                }
            }
        });
        let started = Instant::now();
        let ports = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(ports) => break ports,
                Err(_) => {
                    if let Ok(Some(status)) = process.try_wait() {
                        panic!("the child server exited at start: {status}");
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "the child prints its ports"
                    );
                }
            }
        };
        let port = |key: &str| -> u16 {
            ports
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(key))
                .and_then(|p| p.parse().ok())
                .expect("a port")
        };
        let addr = |p| SocketAddr::from(([127, 0, 0, 1], p));
        let tls_config = tls_client(certified.cert.der().clone());
        let mut server = Server {
            process,
            pid,
            plain: Target::Plain(addr(port("plain="))),
            tls: Target::Tls(addr(port("tls=")), tls_config),
            baseline_rss: 0,
        };
        server.reset_peak();
        server
    }

    /// Whether the child still runs; if not, how it ended.
    pub fn exit_status(&mut self) -> Option<String> {
        match self.process.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(format!("{status}")),
            Err(e) => Some(format!("unknown: {e}")),
        }
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Current resident set, in bytes.
    pub fn rss(&self) -> u64 {
        self.status_kib("VmRSS:").unwrap_or(0) * 1024
    }

    /// Peak resident set since the last reset, in bytes.
    pub fn hwm(&self) -> u64 {
        self.status_kib("VmHWM:").unwrap_or(0) * 1024
    }

    /// Current address space (virtual), in bytes.
    pub fn vm_size(&self) -> u64 {
        self.status_kib("VmSize:").unwrap_or(0) * 1024
    }

    /// Resets the peak RSS to the current RSS (`echo 5 > clear_refs`) and
    /// takes it as the baseline of [`peak_growth`](Self::peak_growth).
    pub fn reset_peak(&mut self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
        self.baseline_rss = self.rss();
    }

    /// How far the peak RSS rose over the baseline, in bytes.
    pub fn peak_growth(&self) -> u64 {
        self.hwm().saturating_sub(self.baseline_rss)
    }

    /// Whether the child still holds (has a descriptor of) the TCP connection
    /// whose peer end is `peer`: read from `/proc/net/tcp`, where a socket
    /// the process closed is gone or orphaned (inode 0).
    pub fn holds_connection_from(&self, peer: SocketAddr) -> bool {
        let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
            return false;
        };
        let wanted = format!(":{:04X}", peer.port());
        let inodes: Vec<String> = table
            .lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let remote = fields.get(2)?;
                (remote.ends_with(&wanted) && fields.get(9)? != &"0")
                    .then(|| format!("socket:[{}]", fields[9]))
            })
            .collect();
        let Ok(fds) = std::fs::read_dir(format!("/proc/{}/fd", self.pid)) else {
            return false;
        };
        fds.filter_map(Result::ok).any(|fd| {
            std::fs::read_link(fd.path())
                .map(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
                .unwrap_or(false)
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.process.stdin.take());
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A Socket.IO client over WebSocket (the raw client of `tests/support`),
/// connected to `/` on the plain listener.
pub async fn ws_client(addr: SocketAddr) -> WsClient {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let request = url.into_client_request().unwrap();
    let mut client = WsClient::open(addr, request).await;
    client.connect("/").await;
    client
}

/// Sends `42<id>["<event>"]` on `/`; an error instead of a panic if the
/// connection is gone.
async fn emit_with_id(client: &mut WsClient, id: u64, event: &str) -> Result<(), String> {
    use futures_util::SinkExt;
    let text = format!(r#"42{id}["{event}"]"#);
    client
        .ws
        .send(tokio_tungstenite::tungstenite::Message::text(text))
        .await
        .map_err(|e| format!("sending {event} {id}: {e}"))
}

/// Waits for the ack of `id`, skipping events; every error is a message.
async fn ack_of(client: &mut WsClient, id: u64) -> Result<Vec<Value>, String> {
    loop {
        let frame = client
            .next_frame_within(WAIT)
            .await
            .map_err(|()| format!("no ack {id} within {WAIT:?}"))?;
        let text = match frame {
            Some(Frame::Text(t)) => t,
            Some(Frame::Binary(_)) => continue,
            None => return Err(format!("connection closed while waiting for ack {id}")),
        };
        let packet = SioPacket::parse_message(&text);
        if packet.kind == 3 && packet.nsp == "/" {
            return match packet.id {
                Some(got) if got == id => Ok(packet
                    .data
                    .and_then(|d| d.as_array().cloned())
                    .unwrap_or_default()),
                other => Err(format!("ack {other:?} came while waiting for {id}")),
            };
        }
    }
}

/// A client that keeps sending `ping` with an ack every few ms and checks
/// that every ack comes, in order.
pub struct Healthy {
    stop: Arc<AtomicBool>,
    acks: Arc<AtomicU64>,
    slowest_us: Arc<AtomicU64>,
    task: JoinHandle<Result<u64, String>>,
}

impl Healthy {
    /// Connects and starts exchanging.
    pub async fn start(server: &Server) -> Healthy {
        let mut client = ws_client(server.plain.addr()).await;
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(AtomicU64::new(0));
        let slowest_us = Arc::new(AtomicU64::new(0));
        let (flag, count, slowest) = (stop.clone(), acks.clone(), slowest_us.clone());
        let task = tokio::spawn(async move {
            let mut id = 0u64;
            while !flag.load(Ordering::Relaxed) {
                id += 1;
                let sent = Instant::now();
                emit_with_id(&mut client, id, "ping").await?;
                ack_of(&mut client, id).await?;
                slowest.fetch_max(sent.elapsed().as_micros() as u64, Ordering::Relaxed);
                count.store(id, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok(id)
        });
        Healthy {
            stop,
            acks,
            slowest_us,
            task,
        }
    }

    /// The longest round trip so far (a figure, never asserted).
    pub fn slowest(&self) -> Duration {
        Duration::from_micros(self.slowest_us.load(Ordering::Relaxed))
    }

    /// Acks received so far.
    pub fn acks(&self) -> u64 {
        self.acks.load(Ordering::Relaxed)
    }

    /// Stops; `Ok(acks)` if every ack came, in order, else what went wrong.
    pub async fn result(self) -> Result<u64, String> {
        self.stop.store(true, Ordering::Relaxed);
        let result = tokio::time::timeout(WAIT * 2, self.task)
            .await
            .map_err(|_| "the healthy client is stuck".to_owned())?
            .map_err(|e| format!("the healthy client panicked: {e}"))?;
        match result {
            Ok(0) => Err("no ack at all".to_owned()),
            other => other,
        }
    }
}

/// A client that asks the app for its counters (`stats`). It reads only
/// when asked, so a short heartbeat may close it while idle: it then
/// reconnects (its old socket counts as one more connect and disconnect).
pub struct Probe {
    addr: SocketAddr,
    client: WsClient,
    next: u64,
}

impl Probe {
    pub async fn start(server: &Server) -> Probe {
        let addr = server.plain.addr();
        Probe {
            addr,
            client: ws_client(addr).await,
            next: 0,
        }
    }

    /// `{sockets, namespaces, sessions, pending_handshakes, connects, disconnects}`.
    pub async fn stats(&mut self) -> Value {
        for attempt in 0..2 {
            self.next += 1;
            let id = self.next;
            let sent = emit_with_id(&mut self.client, id, "stats").await;
            let answer = match sent {
                Ok(()) => ack_of(&mut self.client, id).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(args) => return args.into_iter().next().unwrap_or(Value::Null),
                Err(e) if attempt == 0 => {
                    eprintln!("probe: {e}; reconnecting");
                    self.client = ws_client(self.addr).await;
                    // Let the old socket's disconnect be counted.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("stats: {e}"),
            }
        }
        unreachable!("two attempts")
    }

    /// One counter.
    pub async fn stat(&mut self, key: &str) -> u64 {
        self.stats().await[key].as_u64().unwrap_or(0)
    }

    /// Polls `check` on the stats every 50 ms for at most `limit`; returns how
    /// long it took, or `None`.
    pub async fn wait_until(
        &mut self,
        limit: Duration,
        mut check: impl FnMut(&Value) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let stats = self.stats().await;
            if check(&stats) {
                return Some(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

/// Formats bytes as MiB for the figures.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}
