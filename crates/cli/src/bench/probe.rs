//! `--probe`: the highest rate a server sustains, found by search.
//!
//! ```text
//!  rate r ── a step: warm-up, window, drain ──▶ passes?  (p99 ≤ 50 ms, nothing lost,
//!     ▲                                          ≥ 95 % of the offered deliveries per
//!     │                                          second arrived, no connection lost)
//!     └─ yes and no failure yet: r × 1.5 ; a failure above: the geometric mean of the
//!        highest pass and the lowest failure, until they are within 5 % of each other
//! ```
//!
//! Every step runs on the same connections with the same pacing (no busy-wait, so
//! the generator's CPU time is its work). Between steps the generator waits until
//! nothing more arrives, so a backlog a failed step left in the server does not
//! spill into the next one. Each step reads the server's CPU time (`--pid`) and
//! the generator's own over the window: at the lowest failing rate, the side near
//! 100 % of its core is the limit. It also reads what the rest of the machine
//! used (`/proc/stat`): a step that fails while other work took more than 15 %
//! of a core is measured again, up to three times, and the least disturbed
//! attempt is kept.

use std::time::Duration;

use super::Args;
use super::conn::Conn;
use super::procfs::Sample;
use super::report::{Limit, ProbeReport, ProbeStep};
use super::scenario::{Load, Measured, send_messages};
use super::stats::Stats;

/// The highest p99 latency a sustainable rate may have, in microseconds.
const MAX_P99_US: u64 = 50_000;
/// The share of the offered deliveries per second that must arrive.
const MIN_DELIVERED: f64 = 0.95;
/// The factor between two steps while every step passes.
const STEP_UP: f64 = 1.5;
/// The search stops once the highest pass and the lowest failure are this close.
const RESOLUTION: f64 = 1.05;
/// No more steps than this, whatever happens.
const MAX_STEPS: usize = 30;
/// A failed step is measured again when other work took more than this share
/// of a core (percent) meanwhile: on a shared machine, it is what failed.
const MAX_OTHER_PCT: f64 = 15.0;
/// How many times a step may be measured.
const ATTEMPTS: u32 = 3;
/// Nothing arrived for this long: the server has caught up.
const QUIET: Duration = Duration::from_millis(300);
/// The longest the generator waits for the server to catch up between steps.
const MAX_SETTLE: Duration = Duration::from_secs(30);

/// Runs the search on open connections, starting at `--rate`.
pub(crate) async fn run(
    args: &Args,
    conns: &[(usize, Conn)],
    rooms: usize,
    stats: &Stats,
) -> Result<ProbeReport, String> {
    let mut steps: Vec<ProbeStep> = Vec::new();
    let (mut pass, mut fail): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = args.rate;
    let mut stopped = None;
    while steps.len() < MAX_STEPS {
        let disconnects = stats.disconnects.get();
        let load = Load {
            rate,
            warmup: args.warmup,
            duration: args.duration,
            drain: args.drain,
            spin: false,
        };
        // A pass, or a failure other work cannot explain, is final; of
        // disturbed failures, the least disturbed is kept.
        let mut kept: Option<ProbeStep> = None;
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                settle(stats).await;
            }
            stats.reset();
            let measured = send_messages(args, load, conns, rooms, stats).await?;
            let dropped = stats.disconnects.get() - disconnects;
            let mut this = judge(rate, &measured, dropped);
            this.attempts = attempt;
            let disturbed = !this.ok && this.other_cpu_pct > MAX_OTHER_PCT && dropped == 0;
            if !disturbed {
                kept = Some(this);
                break;
            }
            if !args.quiet {
                eprintln!("{} (disturbed)", this.line(args.scenario.name()));
            }
            match &mut kept {
                Some(k) if k.other_cpu_pct <= this.other_cpu_pct => k.attempts = attempt,
                _ => kept = Some(this),
            }
        }
        let Some(step) = kept else { break };
        let dropped = stats.disconnects.get() - disconnects;
        if !args.quiet {
            eprintln!("{}", step.line(args.scenario.name()));
        }
        if step.ok {
            pass = Some(pass.map_or(rate, |p: f64| p.max(rate)));
        } else {
            fail = Some(fail.map_or(rate, |f: f64| f.min(rate)));
        }
        steps.push(step);
        if dropped > 0 {
            stopped = Some(format!(
                "{dropped} connection(s) closed at {rate:.0}/s: the search stops there"
            ));
            break;
        }
        match next_rate(pass, fail, args.probe_max) {
            Some(next) => rate = next,
            None => break,
        }
        settle(stats).await;
    }
    let lowest_failure = fail.and_then(|f| steps.iter().find(|s| s.rate == f));
    let limit = lowest_failure.map_or(Limit::Unknown, Limit::of);
    Ok(ProbeReport {
        max_rate: pass,
        max_deliveries_per_s: pass
            .and_then(|p| steps.iter().find(|s| s.rate == p))
            .map(|s| s.delivered_per_s),
        lowest_failing_rate: fail,
        limit,
        max_p99_ms: MAX_P99_US as f64 / 1000.0,
        min_delivered_pct: MIN_DELIVERED * 100.0,
        stopped,
        steps,
    })
}

/// The next rate to try, none above `max`, or `None` when the search is done.
fn next_rate(pass: Option<f64>, fail: Option<f64>, max: Option<f64>) -> Option<f64> {
    match (pass, fail) {
        (Some(p), None) => match max {
            Some(max) if p >= max => None,
            Some(max) => Some((p * STEP_UP).min(max)),
            None => Some(p * STEP_UP),
        },
        (None, Some(f)) if f / STEP_UP >= 0.1 => Some(f / STEP_UP),
        (Some(p), Some(f)) if f / p > RESOLUTION => Some((p * f).sqrt()),
        _ => None,
    }
}

/// Whether one step's load was sustained, and how busy each core was.
fn judge(rate: f64, m: &Measured, dropped: u64) -> ProbeStep {
    let msgs = &m.messages;
    let seconds = m.seconds.max(1e-3);
    let offered = msgs.expected as f64 / seconds;
    let delivered = m.arrived as f64 / seconds;
    let share = |a: Option<Sample>, b: Option<Sample>| {
        let (a, b) = (a?, b?);
        Some(b.cpu_us.saturating_sub(a.cpu_us) as f64 / 1e4 / seconds)
    };
    let server_cpu_pct = share(m.server.0, m.server.1);
    let generator_cpu_pct = share(Some(m.generator.0), Some(m.generator.1)).unwrap_or_default();
    let other_cpu_pct = (m.machine_us as f64 / 1e4 / seconds
        - server_cpu_pct.unwrap_or_default()
        - generator_cpu_pct)
        .max(0.0);
    let mut failed = Vec::new();
    if msgs.latency.p99_us > MAX_P99_US {
        failed.push("p99");
    }
    if msgs.lost > 0 {
        failed.push("loss");
    }
    if delivered < MIN_DELIVERED * offered {
        failed.push("rate");
    }
    if dropped > 0 {
        failed.push("disconnects");
    }
    if msgs.sent == 0 {
        failed.push("nothing sent");
    }
    ProbeStep {
        rate,
        offered_per_s: offered.round(),
        delivered_per_s: delivered.round(),
        p50_ms: msgs.latency.p50_us as f64 / 1000.0,
        p99_ms: msgs.latency.p99_us as f64 / 1000.0,
        lost: msgs.lost,
        expected: msgs.expected,
        send_lag_p99_ms: msgs.send_lag.p99_us as f64 / 1000.0,
        server_cpu_pct: server_cpu_pct.map(|v| (v * 10.0).round() / 10.0),
        generator_cpu_pct: (generator_cpu_pct * 10.0).round() / 10.0,
        other_cpu_pct: (other_cpu_pct * 10.0).round() / 10.0,
        attempts: 1,
        ok: failed.is_empty(),
        failed: failed.join(", "),
    }
}

/// Waits until nothing has arrived for [`QUIET`] (at most [`MAX_SETTLE`]).
async fn settle(stats: &Stats) {
    stats.phase.set("settling");
    let deadline = tokio::time::Instant::now() + MAX_SETTLE;
    let mut seen = stats.delivered_all.get();
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(QUIET).await;
        let now = stats.delivered_all.get();
        if now == seen {
            return;
        }
        seen = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_up_then_bisects_to_five_percent() {
        assert_eq!(next_rate(Some(100.0), None, None), Some(150.0));
        assert_eq!(next_rate(None, Some(150.0), None), Some(100.0));
        let mid = next_rate(Some(100.0), Some(150.0), None).unwrap();
        assert!((mid - 122.47).abs() < 0.01, "{mid}");
        assert_eq!(next_rate(Some(100.0), Some(104.0), None), None);
        assert_eq!(
            next_rate(None, Some(0.1), None),
            None,
            "gives up below 0.1/s"
        );
        // From a 1.5× bracket, four bisections reach 5 %.
        let (mut p, mut f) = (100.0, 150.0);
        let mut n = 0;
        while let Some(r) = next_rate(Some(p), Some(f), None) {
            (p, f) = if n % 2 == 0 { (r, f) } else { (p, r) };
            n += 1;
        }
        assert_eq!(n, 4);
    }

    #[test]
    fn never_above_the_cap() {
        assert_eq!(next_rate(Some(100.0), None, Some(120.0)), Some(120.0));
        assert_eq!(next_rate(Some(120.0), None, Some(120.0)), None);
    }

    fn step(server: Option<f64>, generator: f64) -> ProbeStep {
        ProbeStep {
            rate: 1.0,
            offered_per_s: 1.0,
            delivered_per_s: 1.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            lost: 0,
            expected: 1,
            send_lag_p99_ms: 0.0,
            server_cpu_pct: server,
            generator_cpu_pct: generator,
            other_cpu_pct: 0.0,
            attempts: 1,
            ok: false,
            failed: String::new(),
        }
    }

    #[test]
    fn the_full_core_is_the_limit() {
        assert_eq!(Limit::of(&step(Some(99.0), 60.0)), Limit::Server);
        assert_eq!(Limit::of(&step(Some(70.0), 97.0)), Limit::Generator);
        assert_eq!(Limit::of(&step(Some(95.0), 99.0)), Limit::Generator);
        assert_eq!(Limit::of(&step(None, 50.0)), Limit::Neither);
    }
}
