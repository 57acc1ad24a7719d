//! The server's CPU time and memory, read from `/proc` (Linux only).

use std::io;

/// Clock ticks per second of `/proc/PID/stat` (`USER_HZ`, 100 on every Linux
/// architecture ferrio runs on).
const TICKS_PER_SECOND: u64 = 100;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// User plus system CPU time of every thread, living or exited, in µs.
    pub(crate) cpu_us: u64,
    /// Resident set size, in KiB.
    pub(crate) rss_kib: u64,
}

/// Reads `utime + stime` from `/proc/PID/stat` and `VmRSS` from `/proc/PID/status`.
pub(crate) fn sample(pid: u32) -> io::Result<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let bad =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("/proc/{pid}: {what}"));
    let ticks = cpu_ticks(&stat).ok_or_else(|| bad("unreadable stat"))?;
    let rss_kib = vm_rss_kib(&status).ok_or_else(|| bad("no VmRSS in status"))?;
    Ok(Sample {
        cpu_us: ticks * (1_000_000 / TICKS_PER_SECOND),
        rss_kib,
    })
}

/// `utime + stime` (fields 14 and 15) of a `stat` line. The command name (field
/// 2) is in parentheses and may hold spaces, so counting starts after the last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11); // field 3 is the first here
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU time every process of the machine has used (user, nice and system time
/// of all CPUs, from the first line of `/proc/stat`), in µs.
pub(crate) fn machine_busy_us() -> io::Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    busy_ticks(&stat)
        .map(|ticks| ticks * (1_000_000 / TICKS_PER_SECOND))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "/proc/stat: no cpu line"))
}

fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields = line.split_whitespace().skip(1).take(3);
    fields.map(|f| f.parse::<u64>().ok()).sum()
}

fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_tricky_name() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1 2 3";
        assert_eq!(cpu_ticks(stat), Some(300));
    }

    #[test]
    fn parses_status() {
        assert_eq!(vm_rss_kib("Name:\tx\nVmRSS:\t   12345 kB\n"), Some(12345));
        assert_eq!(vm_rss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn parses_the_machine_line() {
        let stat = "cpu  100 5 20 900 0 0 0\ncpu0 50 0 10 450 0 0 0\n";
        assert_eq!(busy_ticks(stat), Some(125));
        assert_eq!(busy_ticks("intr 1\n"), None);
    }

    #[test]
    fn reads_itself() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_kib > 0);
    }
}
