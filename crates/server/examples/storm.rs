//! Connection storms and churn against a running `storm_server` (another
//! process: each side needs its own file descriptors). `scripts/storm` builds
//! and runs both and prints the figures.
//!
//! 1. **Churn**: `STORM_CHURN_WORKERS` (1 000) workers each run
//!    `STORM_CHURN_ROUNDS` (100) connect/disconnect cycles, 100 000 in all: a
//!    WebSocket session, the Socket.IO CONNECT to `/`, then a close (every other
//!    cycle a WebSocket close frame, else the TCP socket just dropped). The
//!    server's RSS (`/proc/$STORM_SERVER_PID/status`) is reported idle before
//!    (after one warm-up round), at its peak, and idle after.
//! 2. **Storm**: `STORM_CONNECTIONS` (15 000) clients connect, are all dropped
//!    at once, and all reconnect at once; reported: the time until every one is
//!    connected again, and until the server counts exactly that many sockets.
//!
//! Client sockets are spread over `STORM_SOURCES` (16) loopback source
//! addresses 127.0.0.1, 127.0.0.2, … so that ephemeral ports (and the
//! TIME_WAIT sockets of the churn) do not run short. `STORM_ADDR` is the
//! server (127.0.0.1:3100). A failed connect is retried, as a client would,
//! and the retries are counted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

type Ws = WebSocketStream<TcpStream>;
type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long one connection attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Target {
    addr: SocketAddr,
    sources: u32,
    retries: AtomicU64,
}

impl Target {
    /// The i-th loopback source address.
    fn source(&self, i: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(
            u32::from(Ipv4Addr::new(127, 0, 0, 1)) + i as u32 % self.sources,
        ))
    }

    /// A Socket.IO client connected to `/`, retrying failed attempts.
    async fn connect(&self, i: usize) -> Ws {
        let mut delay = Duration::from_millis(50);
        loop {
            match tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(i)).await {
                Ok(Ok(ws)) => return ws,
                Ok(Err(_)) | Err(_) => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    async fn attempt(&self, i: usize) -> Result<Ws, Error> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(self.source(i), 0))?;
        let stream = socket.connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr);
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await?;
        let open = next_text(&mut ws).await?;
        if !open.starts_with('0') {
            return Err(format!("expected the open packet, got {open:?}").into());
        }
        ws.send(Message::text("40")).await?;
        let reply = next_text(&mut ws).await?;
        if !reply.starts_with("40") {
            return Err(format!("expected the CONNECT reply, got {reply:?}").into());
        }
        Ok(ws)
    }
}

/// The next text message, answering Engine.IO pings on the way.
async fn next_text(ws: &mut Ws) -> Result<String, Error> {
    loop {
        match ws.next().await.ok_or("connection closed")?? {
            Message::Text(t) if t.as_str() == "2" => ws.send(Message::text("3")).await?,
            Message::Text(t) => return Ok(t.to_string()),
            Message::Close(_) => return Err("connection closed".into()),
            _ => {}
        }
    }
}

/// A connection that asks the server how many sockets it counts, answering
/// its pings meanwhile (it lives through every phase).
struct Control {
    asks: tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<u64>>,
}

impl Control {
    fn spawn(mut ws: Ws) -> Self {
        let (asks, mut asked) = tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<u64>>(1);
        tokio::spawn(async move {
            let mut id = 0u64;
            let mut waiting: Option<(u64, tokio::sync::oneshot::Sender<u64>)> = None;
            loop {
                tokio::select! {
                    ask = asked.recv(), if waiting.is_none() => {
                        let Some(answer) = ask else { return };
                        id += 1;
                        let query = format!("42{id}[\"count\"]");
                        if ws.send(Message::text(query)).await.is_err() {
                            return;
                        }
                        waiting = Some((id, answer));
                    }
                    message = ws.next() => match message {
                        Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                            let _ = ws.send(Message::text("3")).await;
                        }
                        Some(Ok(Message::Text(t))) => {
                            if let Some((id, answer)) = waiting.take() {
                                let prefix = format!("43{id}[");
                                match t.strip_prefix(&prefix) {
                                    Some(rest) => {
                                        let n = rest.trim_end_matches(']').parse().unwrap_or(0);
                                        let _ = answer.send(n);
                                    }
                                    None => waiting = Some((id, answer)),
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => return,
                    }
                }
            }
        });
        Self { asks }
    }

    /// The number of sockets the server counts on `/`, this one excluded.
    async fn count(&self) -> Result<u64, Error> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.asks
            .send(answer)
            .await
            .map_err(|_| "control connection lost")?;
        Ok(answered.await.map_err(|_| "control connection lost")? - 1)
    }

    /// Asks until the server counts `want` sockets; returns how long that took.
    async fn wait_count(&self, want: u64) -> Result<Duration, Error> {
        let started = Instant::now();
        loop {
            let n = self.count().await?;
            if n == want {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Err(format!("the server still counts {n} sockets, not {want}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A process's resident set size in bytes, from `/proc/<pid>/status`.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

/// Connects `n` clients at once (numbered from `first`); returns them.
async fn connect_all(target: &Arc<Target>, first: usize, n: usize) -> Vec<Ws> {
    let tasks: Vec<_> = (first..first + n)
        .map(|i| {
            let target = target.clone();
            tokio::spawn(async move { target.connect(i).await })
        })
        .collect();
    let mut clients = Vec::with_capacity(n);
    for task in tasks {
        clients.push(task.await.expect("connect task"));
    }
    clients
}

async fn churn(target: &Arc<Target>, workers: usize, rounds: usize) -> usize {
    let cycles = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let target = target.clone();
            let cycles = cycles.clone();
            tokio::spawn(async move {
                for round in 0..rounds {
                    let mut ws = target.connect(w + round * workers).await;
                    if (w + round) % 2 == 0 {
                        let _ = ws.close(None).await;
                    }
                    drop(ws);
                    cycles.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("churn worker");
    }
    cycles.load(Ordering::Relaxed) as usize
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let addr: SocketAddr = env_or("STORM_ADDR", "127.0.0.1:3100".parse()?);
    let pid: u32 = env_or("STORM_SERVER_PID", 0);
    let connections: usize = env_or("STORM_CONNECTIONS", 15_000);
    let workers: usize = env_or("STORM_CHURN_WORKERS", 1_000);
    let rounds: usize = env_or("STORM_CHURN_ROUNDS", 100);
    let target = Arc::new(Target {
        addr,
        sources: env_or("STORM_SOURCES", 16u32).max(1),
        retries: AtomicU64::new(0),
    });
    if pid == 0 {
        return Err("STORM_SERVER_PID: the server's process id (for its RSS)".into());
    }
    let control = Control::spawn(target.connect(usize::MAX / 2).await);

    // 1. Churn.
    let fresh = rss(pid);
    churn(&target, workers, 1).await;
    control.wait_count(0).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline = rss(pid);

    // Several passes: the RSS after each shows whether memory grows with the
    // cycles (a leak) or stays where the first pass left it (the allocator
    // keeping freed pages for reuse).
    let passes: usize = env_or("STORM_CHURN_PASSES", 2);
    let pause = Duration::from_secs(env_or("STORM_CHURN_PAUSE", 35));
    for pass in 1..=passes {
        if pass > 1 {
            tokio::time::sleep(pause).await;
            println!("churn: server RSS after {pause:?} idle: {}", mib(rss(pid)));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let peak = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                while !stop.load(Ordering::Relaxed) {
                    peak = peak.max(rss(pid));
                    std::thread::sleep(Duration::from_millis(10));
                }
                peak
            })
        };
        let started = Instant::now();
        let cycles = churn(&target, workers, rounds).await;
        let churn_time = started.elapsed();
        let settle = control.wait_count(0).await?;
        stop.store(true, Ordering::Relaxed);
        let peak = peak.join().expect("sampler");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss(pid);
        println!(
            "churn pass {pass}: {cycles} connect/disconnect cycles ({workers} concurrent x \
             {rounds}) in {churn_time:.1?} ({:.0}/s); server idle again {settle:.1?} later",
            cycles as f64 / churn_time.as_secs_f64()
        );
        println!(
            "churn pass {pass}: server RSS fresh {}, baseline (idle after a warm-up round) {}, \
             peak {}, after {} ({:+.1} MiB vs baseline)",
            mib(fresh),
            mib(baseline),
            mib(peak),
            mib(after),
            (after as f64 - baseline as f64) / 1048576.0
        );
    }
    let churn_retries = target.retries.swap(0, Ordering::Relaxed);

    // 2. Storm.
    let started = Instant::now();
    let clients = connect_all(&target, 0, connections).await;
    let first_connect = started.elapsed();
    control.wait_count(connections as u64).await?;
    let held = rss(pid);
    println!(
        "storm: {connections} clients connected in {first_connect:.2?}; server RSS {}",
        mib(held)
    );

    // All dropped at once (their sockets closed back to back), then all
    // reconnect at once.
    let started = Instant::now();
    drop(clients);
    let clients = connect_all(&target, connections, connections).await;
    let reconnected = started.elapsed();
    let settled = control.wait_count(connections as u64).await? + reconnected;
    println!(
        "storm: all {connections} dropped at once and reconnected in {reconnected:.2?} \
         (the server counted exactly {connections} sockets {settled:.2?} after the drop); \
         server RSS {}",
        mib(rss(pid))
    );
    drop(clients);
    let gone = control.wait_count(0).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "storm: all dropped again, server idle {gone:.2?} later; server RSS {}",
        mib(rss(pid))
    );
    println!(
        "retried connection attempts: churn {churn_retries}, storm {}",
        target.retries.load(Ordering::Relaxed)
    );
    Ok(())
}
