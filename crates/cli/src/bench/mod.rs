//! `ferrio bench`: a load generator for any Socket.IO v5 server.
//!
//! ```text
//!  scheduler (open loop: message i due at start + i/rate, stamped with that time)
//!      │  messages in the chosen form (mode.rs: JSON or msgpack, with or without a binary attachment)
//!      ▼
//!  connection tasks ── WebSocket (wire.rs: many frames per read, parsed in place; --deflate: inflated)
//!      │             └─ or long-polling (polling.rs: a GET always out, POSTs batched) ──▶ server
//!      │  answer pings; read the stamp of acks and events (receive.rs); latency = arrival − stamp
//!      ▼
//!  Stats (counters + HdrHistogram)  +  /proc/PID of the server  ──▶ Report (table or JSON)
//! ```
//!
//! Everything runs on one thread (a current-thread runtime and a `LocalSet`),
//! so the generator's own cost is one core and results are comparable from
//! one server to the next. The server must obey the benchmark contract of
//! `crates/server/examples/bench_server` (`echo`, `broadcast`, `join`, `room`);
//! `connect` and `idle` need nothing but a Socket.IO server.

mod conn;
mod mode;
mod msgpack_scan;
mod pace;
mod polling;
mod probe;
mod procfs;
mod receive;
mod report;
mod scenario;
mod stats;
mod wire;

use std::io::IsTerminal as _;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::rc::Rc;
use std::time::Duration;

use mode::{Codec, Mode, Transport};
use stats::Stats;

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scenario {
    /// A storm of handshakes: how long N connections take to open, and what fails.
    Connect,
    /// Hold N connections open (answering pings): the server's memory per connection.
    Idle,
    /// C connections send R events `"echo"` per second in all, each asking for an
    /// ack; latency is the ack's arrival minus the scheduled send time.
    Echo,
    /// N connections receive; the first also emits `"broadcast"` R times per
    /// second, which the server sends to every socket; latency per delivery.
    Broadcast,
    /// N connections in K rooms (joined with `"join"`); R times per second one of
    /// them emits `"room"` with `[room, payload]`, which the server sends to the room.
    Rooms,
}

impl Scenario {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Idle => "idle",
            Self::Echo => "echo",
            Self::Broadcast => "broadcast",
            Self::Rooms => "rooms",
        }
    }
}

/// The options of `ferrio bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The scenario to run.
    #[arg(value_enum)]
    scenario: Scenario,
    /// The server, as `http://host:port` (or `ws://host:port`). Repeat it (or
    /// separate with commas) for the nodes of a cluster: connection `i` goes
    /// to URL `i mod n`, so the first connection (the sender of `broadcast`)
    /// is on the first URL.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:3000")]
    url: Vec<String>,
    /// The Socket.IO path on the server.
    #[arg(long, default_value = "/socket.io/")]
    path: String,
    /// Connections to open (for `broadcast`, the receivers; the first one also sends).
    #[arg(short = 'c', long, default_value_t = 100)]
    connections: usize,
    /// Messages per second, all connections together (`echo`, `broadcast`, `rooms`).
    #[arg(short = 'r', long, default_value_t = 1000.0)]
    rate: f64,
    /// Rooms the connections are spread over, round-robin (`rooms`).
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Seconds measured, after the warm-up (`idle`: seconds held).
    #[arg(short = 'd', long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring starts.
    #[arg(short = 'w', long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds to wait for the last deliveries once sending stops; what has not
    /// arrived by then is lost.
    #[arg(long, default_value_t = 3.0)]
    drain: f64,
    /// Bytes of padding in each message's payload.
    #[arg(long, default_value_t = 32)]
    payload: usize,
    /// How the connections reach the server: `websocket`, or `polling`
    /// (HTTP long-polling, never upgraded: a GET always outstanding per
    /// connection and POSTs for what it sends, each on a keep-alive
    /// connection of its own).
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    transport: Transport,
    /// The Socket.IO parser the server speaks: `default` (JSON text), or
    /// `msgpack` (socket.io-msgpack-parser: every packet one binary message).
    #[arg(long, value_enum, default_value_t = Codec::Default)]
    parser: Codec,
    /// Bytes of a binary attachment each message carries (`echo`,
    /// `broadcast`, `rooms`; 0: none). A delivery counts only if it brings
    /// the attachment back whole (`binary_mismatch` counts those that did not).
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    binary: usize,
    /// Negotiate permessage-deflate and inflate what the server compresses
    /// (the generator sends uncompressed); WebSocket only.
    #[arg(long)]
    deflate: bool,
    /// Handshakes in flight at once while connecting. Keep it under the
    /// server's listen backlog (128 for a tokio listener, 511 for Node) or the
    /// kernel drops SYNs and some handshakes take a second more.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    /// Seconds a connection's handshake may take before it counts as failed.
    #[arg(long, default_value_t = 10.0)]
    connect_timeout: f64,
    /// Local addresses to bind client sockets to, round-robin (e.g.
    /// `127.0.0.1,127.0.0.2`): each gives another ~28 000 ephemeral ports.
    #[arg(long, value_delimiter = ',')]
    source_addrs: Vec<IpAddr>,
    /// Search for the highest rate the server sustains instead of measuring
    /// one (`echo`, `broadcast`, `rooms`): start at `--rate`, step up ×1.5 while
    /// every step passes (p99 ≤ 50 ms, nothing lost, ≥ 95 % of the offered
    /// deliveries per second arriving), then bisect to 5 %. Each step is
    /// `--warmup` + `--duration` (+ `--drain`) seconds on the same connections,
    /// paced without a busy-wait; with `--pid`, it reports which core was full.
    #[arg(long)]
    probe: bool,
    /// With `--probe`: try no rate above this one (none by default).
    #[arg(long, value_name = "RATE")]
    probe_max: Option<f64>,
    /// The server's process id: report its CPU time per message and memory per
    /// connection, from /proc. Repeat it (or separate with commas) to report
    /// the sum over several processes (a cluster's nodes and its Redis).
    #[arg(long, value_delimiter = ',')]
    pid: Vec<u32>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress line on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// Runs the benchmark on a single-threaded runtime and prints the report.
pub(crate) fn run(args: Args) -> Result<(), String> {
    args.mode().check(args.scenario)?;
    let targets = args
        .url
        .iter()
        .map(|url| target(url, &args))
        .collect::<Result<Vec<_>, _>>()?;
    for (name, value) in [
        ("--duration", args.duration),
        ("--warmup", args.warmup),
        ("--drain", args.drain),
        ("--connect-timeout", args.connect_timeout),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(format!("{name} must be a number of seconds"));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    let report = local.block_on(&runtime, async {
        let stats = Rc::new(Stats::new());
        let progress = (!args.quiet)
            .then(|| tokio::task::spawn_local(progress(stats.clone(), args.scenario.name())));
        let report = scenario::run(&args, targets, stats).await;
        if let Some(progress) = progress {
            progress.abort();
            if std::io::stderr().is_terminal() {
                eprint!("\r\x1b[2K");
            }
        }
        report
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serialises")
        );
    } else {
        print!("{report}");
    }
    Ok(())
}

impl Args {
    /// The protocol options.
    pub(crate) fn mode(&self) -> Mode {
        Mode {
            transport: self.transport,
            codec: self.parser,
            binary: self.binary,
            deflate: self.deflate,
        }
    }
}

/// Resolves one `--url` and `--path` into where to connect.
fn target(url: &str, args: &Args) -> Result<conn::DialPlan, String> {
    let rest = ["http://", "ws://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .ok_or("--url must start with http:// or ws:// (TLS is not supported)")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let with_port = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addr: SocketAddr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} has no address"))?;
    let path = format!("/{}/", args.path.trim_matches('/')).replace("//", "/");
    Ok(conn::DialPlan {
        addr,
        url: format!("ws://{authority}{path}?EIO=4&transport=websocket"),
        polling: format!("{path}?EIO=4&transport=polling"),
        authority: with_port,
        sources: args.source_addrs.clone(),
        timeout: Duration::from_secs_f64(args.connect_timeout),
        mode: args.mode(),
    })
}

/// A status line on stderr: rewritten in place every 250 ms on a terminal,
/// a new line every 5 s otherwise.
async fn progress(stats: Rc<Stats>, scenario: &'static str) {
    let tty = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    for n in 0u64.. {
        tick.tick().await;
        let line = format!(
            "{scenario}: {:<10} {} open · {} sent · {} delivered · p99 {:.2} ms",
            stats.phase.get(),
            stats.open.get(),
            stats.sent_all.get(),
            stats.delivered_all.get(),
            stats.p99_us() as f64 / 1000.0,
        );
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else if n % 20 == 19 {
            eprintln!("{line}");
        }
    }
}
