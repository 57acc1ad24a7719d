//! What a run found: a summary table for people, the same as JSON for scripts
//! (`--json`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::stats::Latency;

/// The result of one run. Times are in microseconds, sizes in KiB unless the
/// field name says otherwise.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) scenario: &'static str,
    pub(crate) url: String,
    /// `websocket` or `polling`.
    pub(crate) transport: &'static str,
    /// `default` or `msgpack`.
    pub(crate) parser: &'static str,
    /// Whether permessage-deflate was negotiated.
    pub(crate) deflate: bool,
    /// Messages that arrived compressed and were inflated.
    pub(crate) inflated: u64,
    /// Deliveries whose binary attachment was missing or not of `--binary`
    /// bytes: not counted as delivered.
    pub(crate) binary_mismatch: u64,
    /// Binary messages that could not be read.
    pub(crate) malformed: u64,
    pub(crate) connect: ConnectReport,
    /// For `echo`, `broadcast` and `rooms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) messages: Option<MessageReport>,
    /// With `--probe`: the search for the highest sustainable rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) probe: Option<ProbeReport>,
    /// For `idle`: seconds the connections were held after the warm-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) held_s: Option<f64>,
    /// Connections closed by the server, or broken, before the end.
    pub(crate) disconnects: u64,
    /// Engine.IO pings answered.
    pub(crate) pings: u64,
    /// With `--pid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) server: Option<ServerReport>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ConnectReport {
    pub(crate) requested: usize,
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    /// From the first attempt to the last handshake done.
    pub(crate) seconds: f64,
    pub(crate) per_second: f64,
    /// Each handshake, from its TCP connect to the Socket.IO CONNECT reply.
    pub(crate) handshake: Latency,
    /// Failures, by reason.
    pub(crate) errors: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageReport {
    /// Scheduled messages per second.
    pub(crate) rate: f64,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
    pub(crate) payload_bytes: usize,
    /// Bytes of the binary attachment of each message (0: none).
    pub(crate) binary_bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rooms: Option<usize>,
    /// Messages scheduled in the measured window.
    pub(crate) sent: u64,
    /// Deliveries they should make: acks (`echo`), or one per recipient.
    pub(crate) expected: u64,
    /// Deliveries received.
    pub(crate) delivered: u64,
    /// `expected - delivered`.
    pub(crate) lost: u64,
    /// From each message's scheduled send time to its arrival.
    pub(crate) latency: Latency,
    /// From each message's scheduled send time to when the generator wrote it:
    /// large values mean the generator, not the server, fell behind.
    pub(crate) send_lag: Latency,
}

/// What `--probe` found.
#[derive(Debug, Serialize)]
pub(crate) struct ProbeReport {
    /// The highest rate (messages per second) that passed, if any did.
    pub(crate) max_rate: Option<f64>,
    /// Deliveries per second that arrived at that rate.
    pub(crate) max_deliveries_per_s: Option<f64>,
    /// The lowest rate that failed, if any did.
    pub(crate) lowest_failing_rate: Option<f64>,
    /// Which core was full at the lowest failing rate.
    pub(crate) limit: Limit,
    /// The criteria: p99 at most this, …
    pub(crate) max_p99_ms: f64,
    /// … and at least this share of the offered deliveries per second arrived.
    pub(crate) min_delivered_pct: f64,
    /// Why the search ended early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stopped: Option<String>,
    /// Every step, in the order run.
    pub(crate) steps: Vec<ProbeStep>,
}

/// One rate the probe tried.
#[derive(Debug, Serialize)]
pub(crate) struct ProbeStep {
    /// Messages per second.
    pub(crate) rate: f64,
    /// Deliveries per second the messages of the window should make.
    pub(crate) offered_per_s: f64,
    /// Deliveries per second that arrived during the window.
    pub(crate) delivered_per_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// Deliveries of the window's messages missing after the drain.
    pub(crate) lost: u64,
    pub(crate) expected: u64,
    pub(crate) send_lag_p99_ms: f64,
    /// The server's CPU time over the window, in percent of one core (`--pid`).
    pub(crate) server_cpu_pct: Option<f64>,
    /// The generator's own, likewise.
    pub(crate) generator_cpu_pct: f64,
    /// What every other process of the machine used meanwhile, likewise
    /// (`/proc/stat`; only meaningful with `--pid`).
    pub(crate) other_cpu_pct: f64,
    /// How many times this rate was measured: a failure while other work
    /// took more than 15 % of a core is measured again (at most 3 times).
    pub(crate) attempts: u32,
    /// Whether every criterion held.
    pub(crate) ok: bool,
    /// The criteria that failed, comma-separated.
    pub(crate) failed: String,
}

impl ProbeStep {
    /// One line for the progress output and the table.
    pub(crate) fn line(&self, scenario: &str) -> String {
        let cpu = self
            .server_cpu_pct
            .map_or("–".to_owned(), |v| format!("{v:.0} %"));
        format!(
            "probe {scenario} {:>9.0}/s: {:>9.0} of {:>9.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms, lost {}, cpu server {cpu} / generator {:.0} % / other {:.0} %: {}",
            self.rate,
            self.delivered_per_s,
            self.offered_per_s,
            self.p50_ms,
            self.p99_ms,
            self.lost,
            self.generator_cpu_pct,
            self.other_cpu_pct,
            if self.ok {
                "ok".to_owned()
            } else {
                format!("failed ({})", self.failed)
            }
        )
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ServerReport {
    pub(crate) pid: u32,
    /// CPU time (user + system) while connecting.
    pub(crate) connect_cpu_us: u64,
    pub(crate) cpu_us_per_connection: f64,
    /// CPU time of the measured window and the drain after it (`idle`: the hold).
    pub(crate) cpu_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_us_per_message: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_us_per_delivery: Option<f64>,
    /// Before the first connection.
    pub(crate) rss_base_kib: u64,
    /// Once every connection is open.
    pub(crate) rss_connected_kib: u64,
    /// At the end of the run, connections still open.
    pub(crate) rss_end_kib: u64,
    /// `(rss_end - rss_base) / connections`.
    pub(crate) rss_per_connection_bytes: f64,
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.connect;
        writeln!(f, "ferrio bench {} → {}", self.scenario, self.url)?;
        writeln!(
            f,
            "  protocol     {}, {} parser{}",
            self.transport,
            self.parser,
            if self.deflate {
                format!(", permessage-deflate ({} messages inflated)", self.inflated)
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "  connections  {} of {} open in {:.2} s ({:.0}/s), {} failed; handshake p50 {}, p99 {}, max {}",
            c.ok,
            c.requested,
            c.seconds,
            c.per_second,
            c.failed,
            ms(c.handshake.p50_us),
            ms(c.handshake.p99_us),
            ms(c.handshake.max_us)
        )?;
        for (reason, count) in &c.errors {
            writeln!(f, "    {count} × {reason}")?;
        }
        if let Some(m) = &self.messages {
            let rooms = m.rooms.map(|k| format!(", {k} rooms")).unwrap_or_default();
            writeln!(
                f,
                "  messages     {} sent in {} s at {}/s ({} B payload{rooms}), warm-up {} s",
                m.sent, m.duration_s, m.rate, m.payload_bytes, m.warmup_s
            )?;
            writeln!(
                f,
                "  deliveries   {} of {} expected, {} lost",
                m.delivered, m.expected, m.lost
            )?;
            if m.binary_bytes > 0 || self.binary_mismatch > 0 || self.malformed > 0 {
                writeln!(
                    f,
                    "  binary       {} B per message; {} came back without it whole, {} unreadable",
                    m.binary_bytes, self.binary_mismatch, self.malformed
                )?;
            }
            let l = &m.latency;
            writeln!(
                f,
                "  latency      p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                ms(l.p50_us),
                ms(l.p90_us),
                ms(l.p99_us),
                ms(l.p999_us),
                ms(l.max_us)
            )?;
            writeln!(
                f,
                "  send lag     p50 {}  p99 {}  max {} (generator behind schedule)",
                ms(m.send_lag.p50_us),
                ms(m.send_lag.p99_us),
                ms(m.send_lag.max_us)
            )?;
        }
        if let Some(p) = &self.probe {
            for step in &p.steps {
                writeln!(f, "  {}", step.line(self.scenario))?;
            }
            let max = p
                .max_rate
                .map_or("none passed".to_owned(), |r| format!("{r:.0}/s"));
            writeln!(
                f,
                "  max rate     {max} (p99 ≤ {} ms, nothing lost, ≥ {} % delivered); the limit: {}",
                p.max_p99_ms,
                p.min_delivered_pct,
                p.limit.describe()
            )?;
            if let Some(why) = &p.stopped {
                writeln!(f, "  stopped      {why}")?;
            }
        }
        if let Some(held) = self.held_s {
            writeln!(f, "  held         {held} s")?;
        }
        writeln!(
            f,
            "  connection   {} disconnects, {} pings answered",
            self.disconnects, self.pings
        )?;
        if let Some(s) = &self.server {
            let mut per = format!("{:.1} µs/connection to connect", s.cpu_us_per_connection);
            if let Some(v) = s.cpu_us_per_message {
                per += &format!(", {v:.2} µs/message");
            }
            if let Some(v) = s.cpu_us_per_delivery {
                per += &format!(", {v:.2} µs/delivery");
            }
            writeln!(
                f,
                "  server cpu   {:.2} s measured; {per}",
                s.cpu_us as f64 / 1e6
            )?;
            writeln!(
                f,
                "  server rss   {} → {} connected → {} at the end; {:.2} KiB/connection",
                mib(s.rss_base_kib),
                mib(s.rss_connected_kib),
                mib(s.rss_end_kib),
                s.rss_per_connection_bytes / 1024.0
            )?;
        }
        Ok(())
    }
}

/// A core this busy (percent) is full.
const FULL_CORE_PCT: f64 = 90.0;

/// Which core held the rate down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Limit {
    /// The server's core was full at the lowest failing rate.
    Server,
    /// The generator's core was full there: the server may go further.
    Generator,
    /// Neither core was full: latency, loss or something else failed first.
    Neither,
    /// No step failed (or none could be measured).
    Unknown,
}

impl Limit {
    /// Judged from a failing step's CPU shares.
    pub(crate) fn of(step: &ProbeStep) -> Self {
        let server = step.server_cpu_pct.unwrap_or(0.0);
        let generator = step.generator_cpu_pct;
        if server >= FULL_CORE_PCT && server >= generator {
            Self::Server
        } else if generator >= FULL_CORE_PCT {
            Self::Generator
        } else {
            Self::Neither
        }
    }

    /// For people.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Server => "the server's core",
            Self::Generator => "the generator's core",
            Self::Neither => "neither core (latency or loss failed first)",
            Self::Unknown => "unknown (no step failed)",
        }
    }
}
