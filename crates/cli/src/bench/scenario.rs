//! The five scenarios, all built from the same steps: open the connections,
//! (send on a schedule,) measure, report.

use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::conn::{self, Conn, DialPlan};
use super::mode::Outgoing;
use super::pace::Pacer;
use super::procfs::{self, Sample};
use super::report::{ConnectReport, MessageReport, Report, ServerReport};
use super::stats::{Latency, Stats, new_histogram};
use super::{Args, Scenario};

/// Room `k`'s name.
fn room_name(k: usize) -> String {
    format!("room-{k}")
}

fn secs_ns(s: f64) -> u64 {
    (s * 1e9) as u64
}

/// Reads the servers' `/proc` entries, summed, if pids were given.
fn probe(pids: &[u32]) -> Result<Option<Sample>, String> {
    let mut sum: Option<Sample> = None;
    for &pid in pids {
        let s = procfs::sample(pid).map_err(|e| format!("cannot read the server's /proc: {e}"))?;
        let total = sum.get_or_insert(Sample {
            cpu_us: 0,
            rss_kib: 0,
        });
        total.cpu_us += s.cpu_us;
        total.rss_kib += s.rss_kib;
    }
    Ok(sum)
}

/// Runs the scenario; connection `i` goes to `targets[i % targets.len()]`.
pub(crate) async fn run(
    args: &Args,
    targets: Vec<DialPlan>,
    stats: Rc<Stats>,
) -> Result<Report, String> {
    let base = probe(&args.pid)?;
    let rooms = if args.scenario == Scenario::Rooms {
        if args.rooms == 0 {
            return Err("--rooms must be at least 1".into());
        }
        args.rooms
    } else {
        0
    };
    stats.phase.set("connecting");
    let (conns, connect) = connect_all(args, targets, rooms, &stats).await;
    let connected = probe(&args.pid)?;
    if conns.is_empty() {
        let reasons: Vec<_> = connect.errors.keys().cloned().collect();
        return Err(format!(
            "no connection could be opened: {}",
            reasons.join("; ")
        ));
    }

    let mut measured = (connected, None);
    let mut messages = None;
    let mut held_s = None;
    let mut probed = None;
    match args.scenario {
        Scenario::Connect => measured.1 = connected,
        Scenario::Idle => {
            stats.phase.set("warm-up");
            tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
            measured.0 = probe(&args.pid)?;
            stats.phase.set("holding");
            tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
            measured.1 = probe(&args.pid)?;
            held_s = Some(args.duration);
        }
        Scenario::Echo | Scenario::Broadcast | Scenario::Rooms if args.probe => {
            probed = Some(super::probe::run(args, &conns, rooms, &stats).await?);
        }
        Scenario::Echo | Scenario::Broadcast | Scenario::Rooms => {
            let got = send_messages(args, Load::of(args), &conns, rooms, &stats).await?;
            measured = (got.server.0, got.server.2);
            messages = Some(got.messages);
        }
    }
    stats.stopping.set(true);
    drop(conns);

    let server = match (args.pid.first().copied(), base, connected, measured) {
        (Some(pid), Some(base), Some(connected), (Some(before), Some(after))) => {
            let n = connect.ok.max(1) as f64;
            let cpu_us = after.cpu_us.saturating_sub(before.cpu_us);
            let per = |count: u64| (count > 0).then(|| cpu_us as f64 / count as f64);
            let connect_cpu_us = connected.cpu_us.saturating_sub(base.cpu_us);
            Some(ServerReport {
                pid,
                connect_cpu_us,
                cpu_us_per_connection: connect_cpu_us as f64 / n,
                cpu_us,
                cpu_us_per_message: messages.as_ref().and_then(|m| per(m.sent)),
                cpu_us_per_delivery: messages.as_ref().and_then(|m| per(m.expected)),
                rss_base_kib: base.rss_kib,
                rss_connected_kib: connected.rss_kib,
                rss_end_kib: after.rss_kib,
                rss_per_connection_bytes: (after.rss_kib as f64 - base.rss_kib as f64) * 1024.0 / n,
            })
        }
        _ => None,
    };
    let mode = args.mode();
    Ok(Report {
        scenario: args.scenario.name(),
        url: args.url.join(","),
        transport: mode.transport.name(),
        parser: mode.codec.name(),
        deflate: mode.deflate,
        inflated: stats.inflated.get(),
        binary_mismatch: stats.binary_mismatch.get(),
        malformed: stats.malformed.get(),
        connect,
        messages,
        probe: probed,
        held_s,
        disconnects: stats.disconnects.get(),
        pings: stats.pings.get(),
        server,
    })
}

/// Opens `args.connections` connections, `args.concurrency` handshakes at a
/// time; each runs on its own task as soon as it is open. Returns the open
/// ones with their index.
async fn connect_all(
    args: &Args,
    targets: Vec<DialPlan>,
    rooms: usize,
    stats: &Rc<Stats>,
) -> (Vec<(usize, Conn)>, ConnectReport) {
    let targets: Vec<Rc<DialPlan>> = targets.into_iter().map(Rc::new).collect();
    let gate = Rc::new(Semaphore::new(args.concurrency.max(1)));
    let start = Instant::now();
    let handles: Vec<_> = (0..args.connections)
        .map(|i| {
            let target = targets[i % targets.len()].clone();
            let (gate, stats) = (gate.clone(), stats.clone());
            tokio::task::spawn_local(async move {
                let _permit = gate.acquire().await.expect("the gate is never closed");
                let began = Instant::now();
                let room = (rooms > 0).then(|| room_name(i % rooms));
                let conn = conn::connect(&target, i, room.as_deref()).await;
                let mode = target.mode;
                (
                    conn.map(|opened| conn::spawn(opened, stats, mode)),
                    began.elapsed(),
                )
            })
        })
        .collect();
    let mut conns = Vec::with_capacity(handles.len());
    let mut handshake = new_histogram();
    for (i, handle) in handles.into_iter().enumerate() {
        match handle.await {
            Ok((Ok(conn), took)) => {
                handshake.saturating_record((took.as_micros() as u64).max(1));
                conns.push((i, conn));
            }
            Ok((Err(reason), _)) => stats.on_error(reason),
            Err(e) => stats.on_error(format!("task failed: {e}")),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let ok = conns.len() as u64;
    let report = ConnectReport {
        requested: args.connections,
        ok,
        failed: args.connections as u64 - ok,
        seconds: (seconds * 1000.0).round() / 1000.0,
        per_second: (ok as f64 / seconds).round(),
        handshake: Latency::of(&handshake),
        errors: stats.errors(),
    };
    (conns, report)
}

/// How one load is offered: a rate and the seconds of each phase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// Messages per second.
    pub(crate) rate: f64,
    /// Seconds of load before the window.
    pub(crate) warmup: f64,
    /// Seconds of the measured window.
    pub(crate) duration: f64,
    /// Seconds to wait for the last deliveries after it.
    pub(crate) drain: f64,
    /// Busy-wait for messages due within 2 ms (see [`Pacer::coarse`]).
    pub(crate) spin: bool,
}

impl Load {
    /// The load `ferrio bench` was asked for on its command line.
    fn of(args: &Args) -> Self {
        Self {
            rate: args.rate,
            warmup: args.warmup,
            duration: args.duration,
            drain: args.drain,
            spin: true,
        }
    }
}

/// What one load measured: the deliveries and the CPU time each side used.
pub(crate) struct Measured {
    pub(crate) messages: MessageReport,
    /// The server at the start of the window, at its end, and after the drain.
    pub(crate) server: (Option<Sample>, Option<Sample>, Option<Sample>),
    /// This process at the start of the window and at its end.
    pub(crate) generator: (Sample, Sample),
    /// Wall-clock seconds from the start of the window to its end.
    pub(crate) seconds: f64,
    /// Deliveries that arrived within the window, of any message.
    pub(crate) arrived: u64,
    /// CPU time every process used over the window (`/proc/stat`), in µs.
    pub(crate) machine_us: u64,
}

/// This process's own CPU time and memory.
fn myself() -> Result<Sample, String> {
    procfs::sample(std::process::id()).map_err(|e| format!("cannot read /proc/self: {e}"))
}

/// Sends on schedule through the warm-up and the measured window, then waits
/// for the last deliveries.
pub(crate) async fn send_messages(
    args: &Args,
    load: Load,
    conns: &[(usize, Conn)],
    rooms: usize,
    stats: &Stats,
) -> Result<Measured, String> {
    if !(load.rate.is_finite() && load.rate > 0.0) {
        return Err("--rate must be positive".into());
    }
    let n = conns.len();
    let mut members = vec![0u64; rooms];
    if rooms > 0 {
        for (i, _) in conns {
            members[i % rooms] += 1;
        }
    }
    let room_names: Vec<String> = (0..rooms).map(room_name).collect();
    let pad = "x".repeat(args.payload);
    let scenario = args.scenario;
    let mut message = Outgoing::new(args.mode(), args.payload);
    let mut send = |i: u64, t: u64, now: u64| {
        let (conn, deliveries) = match scenario {
            Scenario::Echo => {
                message.event("echo", None, Some(i), t, &pad);
                (&conns[(i % n as u64) as usize].1, 1)
            }
            Scenario::Broadcast => {
                message.event("broadcast", None, None, t, &pad);
                (&conns[0].1, n as u64)
            }
            _ => {
                let k = (i % rooms as u64) as usize;
                message.event("room", Some(&room_names[k]), None, t, &pad);
                (&conns[(i % n as u64) as usize].1, members[k])
            }
        };
        stats.on_sent(t, now, deliveries);
        conn.send(&message);
    };

    let start = stats.now_ns() + 1_000_000;
    let window_start = start + secs_ns(load.warmup);
    let end = window_start + secs_ns(load.duration);
    stats.set_window(window_start, end);
    let mut pacer = if load.spin {
        Pacer::new(start, load.rate)
    } else {
        Pacer::coarse(start, load.rate)
    };
    stats.phase.set("warm-up");
    pacer.run_until(stats, window_start, &mut send).await;
    let (before, me_before, began) = (probe(&args.pid)?, myself()?, Instant::now());
    let machine_before = procfs::machine_busy_us().unwrap_or_default();
    stats.phase.set("measuring");
    pacer.run_until(stats, end, &mut send).await;
    // The window ends when the last message due in it is sent, or at its end.
    let wait = end.saturating_sub(stats.now_ns());
    tokio::time::sleep(Duration::from_nanos(wait)).await;
    let (at_end, me_end, seconds) = (probe(&args.pid)?, myself()?, began.elapsed().as_secs_f64());
    let machine_us = procfs::machine_busy_us()
        .unwrap_or_default()
        .saturating_sub(machine_before);

    stats.phase.set("draining");
    let deadline = Instant::now() + Duration::from_secs_f64(load.drain);
    while stats.delivered.get() < stats.expected.get() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let after = probe(&args.pid)?;
    let (expected, delivered) = (stats.expected.get(), stats.delivered.get());
    let messages = MessageReport {
        rate: load.rate,
        warmup_s: load.warmup,
        duration_s: load.duration,
        payload_bytes: args.payload,
        binary_bytes: args.binary,
        rooms: (rooms > 0).then_some(rooms),
        sent: stats.sent.get(),
        expected,
        delivered,
        lost: expected.saturating_sub(delivered),
        latency: stats.latency(),
        send_lag: stats.send_lag(),
    };
    Ok(Measured {
        messages,
        server: (before, at_end, after),
        generator: (me_before, me_end),
        seconds,
        arrived: stats.arrived.get(),
        machine_us,
    })
}
