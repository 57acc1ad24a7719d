//! What [`node`](crate::node) and [`python`](crate::python) share: running a
//! peer program to completion under a timeout and reading what it printed.

use std::io::{BufReader, Read};
use std::process::{Command, ExitStatus};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What a finished (or killed) peer process left behind.
#[derive(Debug)]
pub struct PeerOutput {
    /// Which kind of peer ran ("node", "python"), for messages.
    pub peer: &'static str,
    /// The command line, for messages.
    pub command: String,
    /// Exit status; `None` if the process was killed on timeout.
    pub status: Option<ExitStatus>,
    /// True if the process ran past its timeout and was killed.
    pub timed_out: bool,
    /// Every stdout line, raw.
    pub stdout_lines: Vec<String>,
    /// All of stderr.
    pub stderr: String,
    /// Wall time until exit or kill.
    pub elapsed: Duration,
}

impl PeerOutput {
    /// True if the process exited on its own with code 0.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// Exit code, if the process exited on its own.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Stdout lines containing `"event":"<event>"`.
    pub fn lines_with_event(&self, event: &str) -> Vec<&str> {
        let needle = format!("\"event\":\"{event}\"");
        self.stdout_lines
            .iter()
            .filter(|l| l.contains(&needle))
            .map(String::as_str)
            .collect()
    }

    /// The last `"event":"result"` line, if any.
    pub fn result_line(&self) -> Option<&str> {
        self.lines_with_event("result").last().copied()
    }

    /// True if the process succeeded and its result line says `"ok":true`.
    pub fn ok(&self) -> bool {
        self.success()
            && self
                .result_line()
                .is_some_and(|l| l.contains("\"ok\":true"))
    }

    /// Panics with the full transcript unless [`PeerOutput::ok`].
    #[track_caller]
    pub fn assert_ok(&self) {
        if !self.ok() {
            panic!("{} peer failed:\n{self}", self.peer);
        }
    }
}

impl std::fmt::Display for PeerOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        match (self.timed_out, self.status) {
            (true, _) => writeln!(f, "killed after timeout ({:?})", self.elapsed)?,
            (false, Some(s)) => writeln!(f, "exit: {s} after {:?}", self.elapsed)?,
            (false, None) => writeln!(f, "no exit status")?,
        }
        writeln!(f, "--- stdout")?;
        for line in &self.stdout_lines {
            writeln!(f, "{line}")?;
        }
        writeln!(f, "--- stderr")?;
        write!(f, "{}", self.stderr)
    }
}

fn spawn_reader<R: Read + Send + 'static>(r: R) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(r).read_to_string(&mut s);
        s
    })
}

/// Runs `cmd` (stdout and stderr piped) to completion, killing it after
/// `timeout`. Stdout is kept line by line, stderr whole. Panics with `hint`
/// only if the program cannot be started at all.
pub(crate) fn run(
    peer: &'static str,
    mut cmd: Command,
    command: String,
    timeout: Duration,
    hint: &str,
) -> PeerOutput {
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}` ({hint}): {e}"));
    let out = spawn_reader(child.stdout.take().expect("piped stdout"));
    let err = spawn_reader(child.stderr.take().expect("piped stderr"));
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    let elapsed = started.elapsed();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    PeerOutput {
        peer,
        command,
        status,
        timed_out,
        stdout_lines: stdout.lines().map(str::to_owned).collect(),
        stderr,
        elapsed,
    }
}
