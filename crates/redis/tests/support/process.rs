//! A child process spoken to in JSON lines: commands on its stdin, one JSON
//! object a line on its stdout. Used for the Node cluster node and the
//! official-client driver (`interop/socketio/cluster-*.mjs`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// How long any one expected line may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// The repository's `interop/` folder.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("interop"))
        .find(|dir| dir.join("package.json").is_file())
        .expect("interop/ above the crate")
}

/// A running JSON-lines child; killed on drop.
pub struct JsonProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Value>,
    /// Every line received so far, in order (also those a `wait_for` skipped).
    pub seen: Vec<Value>,
    /// Lines received but not yet matched by a wait.
    pending: Vec<Value>,
}

impl JsonProcess {
    /// Runs `node interop/<script>` with these environment variables.
    pub fn node(script: &str, env: &[(&str, String)]) -> Self {
        let dir = interop_dir();
        let mut cmd = Command::new("node");
        cmd.arg(dir.join(script)).current_dir(&dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(script, cmd)
    }

    /// Runs a command whose stdout is JSON lines (other lines are ignored).
    pub fn spawn(name: &str, mut cmd: Command) -> Self {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::unbounded_channel();
        let label = name.to_owned();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("[{label}] {line}"),
                }
            }
        });
        Self {
            name: name.to_owned(),
            child,
            stdin,
            lines,
            seen: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Writes one command line.
    pub async fn send(&mut self, command: Value) {
        let mut line = serde_json::to_vec(&command).expect("json");
        line.push(b'\n');
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(&line).await.expect("write to child");
        stdin.flush().await.expect("flush child stdin");
    }

    /// The next line that `matches`, within `within`; panics with what was
    /// seen otherwise.
    pub async fn wait_for_within(
        &mut self,
        within: Duration,
        mut matches: impl FnMut(&Value) -> bool,
    ) -> Value {
        if let Some(pos) = self.pending.iter().position(&mut matches) {
            return self.pending.remove(pos);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(v)) => {
                    self.seen.push(v.clone());
                    if matches(&v) {
                        return v;
                    }
                    self.pending.push(v);
                }
                Ok(None) => panic!("{} exited; seen: {:?}", self.name, self.seen),
                Err(_) => panic!(
                    "{}: nothing matched within {within:?}; seen: {:?}",
                    self.name, self.seen
                ),
            }
        }
    }

    /// [`wait_for_within`](Self::wait_for_within) with [`WAIT`].
    pub async fn wait_for(&mut self, matches: impl FnMut(&Value) -> bool) -> Value {
        self.wait_for_within(WAIT, matches).await
    }

    /// Whether a matching line arrives within `within` (consumed if so).
    pub async fn arrives_within(
        &mut self,
        within: Duration,
        mut matches: impl FnMut(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(pos) = self.pending.iter().position(&mut matches) {
            return Some(self.pending.remove(pos));
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(v)) => {
                    self.seen.push(v.clone());
                    if matches(&v) {
                        return Some(v);
                    }
                    self.pending.push(v);
                }
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Closes stdin (the scripts stop on it) and kills the child.
    pub async fn stop(mut self) {
        self.stdin.take();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        let _ = self.child.kill().await;
    }

    /// Stops the process at once (SIGKILL).
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}
