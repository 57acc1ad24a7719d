//! Run the Node.js programs in `interop/` as real peers.
//!
//! ```ignore
//! use ferrio_test_support::node;
//!
//! node::ensure_npm_deps();
//! let out = node::run_node(
//!     "engineio/client.mjs",
//!     &["--url", &url, "--mode", "websocket", "--scenario", "echo-text"],
//!     std::time::Duration::from_secs(20),
//! );
//! out.assert_ok();
//! ```

use crate::install_lock;
use crate::peer;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The repository's `interop/` folder.
///
/// Found by walking up from this crate's folder (`crates/test-support`) to the first ancestor holding
/// `interop/package.json` (the workspace root).
pub fn interop_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("interop"))
        .find(|dir| dir.join("package.json").is_file())
        .unwrap_or_else(|| {
            panic!(
                "no interop/package.json above {}; is this the ferrio workspace?",
                manifest.display()
            )
        })
}

/// Makes sure `interop/node_modules` is installed (`npm ci`), once per process.
///
/// Does nothing when `interop/node_modules/engine.io-client` already exists
/// (`scripts/test` installs before running cargo). Otherwise runs
/// `npm ci --no-audit --no-fund` in `interop/`, holding the lock file
/// `interop/.npm-install.lock` so that test binaries running in parallel do not
/// install at the same time; the others wait for the lock to go away.
///
/// Panics with npm's output if the install fails.
pub fn ensure_npm_deps() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = DONE.get_or_init(install_npm_deps) {
        panic!("{e}");
    }
}

fn deps_present(dir: &Path) -> bool {
    dir.join("node_modules")
        .join("engine.io-client")
        .join("package.json")
        .is_file()
}

fn install_npm_deps() -> Result<(), String> {
    let dir = interop_dir();
    if deps_present(&dir) {
        return Ok(());
    }
    let lock = dir.join(".npm-install.lock");
    let _guard = install_lock::acquire(&lock, "npm install")?;
    // Another process may have finished the install while we waited.
    if deps_present(&dir) {
        return Ok(());
    }
    eprintln!(
        "[node.rs] installing interop npm dependencies: npm ci in {}",
        dir.display()
    );
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run npm (is Node.js installed?): {e}"))?;
    if !out.status.success() || !deps_present(&dir) {
        return Err(format!(
            "npm ci in {} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// What a finished (or killed) `node` process left behind.
pub type NodeOutput = peer::PeerOutput;

/// Extracts the raw value of `"key":` from a one-line JSON object: the string
/// contents (without quotes, escapes left as they are) or the bare token of a
/// number / `true` / `false` / `null`. Good enough for flat fields such as
/// `"port":3000` or `"transport":"websocket"`; not a JSON parser.
pub fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("\"{key}\":");
    let start = line.find(&needle)? + needle.len();
    let rest = line[start..].trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return Some(&s[..i]),
                _ => i += 1,
            }
        }
        None
    } else {
        let end = rest
            .find(|c: char| c == ',' || c == '}' || c == ']' || c.is_whitespace())
            .unwrap_or(rest.len());
        Some(&rest[..end])
    }
}

fn node_command(script: &str, args: &[&str]) -> (Command, String) {
    let dir = interop_dir();
    let path = dir.join(script);
    let mut cmd = Command::new("node");
    cmd.arg(&path)
        .args(args)
        .current_dir(dir.parent().unwrap_or(&dir))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = std::iter::once(format!("node {}", path.display()))
        .chain(args.iter().map(|a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    (cmd, shown)
}

/// Runs `node interop/<script> args...` to completion, killing it after `timeout`.
///
/// Stdout is kept line by line, stderr whole. Panics only if `node` cannot be
/// started at all.
pub fn run_node(script: &str, args: &[&str], timeout: Duration) -> NodeOutput {
    let (cmd, command) = node_command(script, args);
    peer::run("node", cmd, command, timeout, "is Node.js installed?")
}

/// A long-running node peer (e.g. `engineio/echo-server.mjs`), killed on drop.
#[derive(Debug)]
pub struct NodeProcess {
    child: Child,
    command: String,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

/// Starts `node interop/<script> args...` in the background.
pub fn spawn_node(script: &str, args: &[&str]) -> NodeProcess {
    let (mut cmd, command) = node_command(script, args);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}` (is Node.js installed?): {e}"));
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&stderr);
    let mut err = child.stderr.take().expect("piped stderr");
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut s) = sink.lock() {
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    NodeProcess {
        child,
        command,
        lines,
        seen: Vec::new(),
        stderr,
    }
}

impl NodeProcess {
    /// Waits for the next stdout line containing `"event":"<event>"` and returns it.
    ///
    /// Lines read on the way are kept in [`NodeProcess::lines`]. Panics (with the
    /// transcript so far) on timeout or if the process exits first.
    #[track_caller]
    pub fn wait_for_event(&mut self, event: &str, timeout: Duration) -> String {
        let needle = format!("\"event\":\"{event}\"");
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(&needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let transcript = self.transcript();
                    panic!("no {needle} within {timeout:?} from {transcript}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    let transcript = self.transcript();
                    panic!("exited ({status:?}) before {needle}: {transcript}")
                }
            }
        }
    }

    /// Waits for `{"event":"listening","port":N}` and returns N.
    #[track_caller]
    pub fn wait_for_port(&mut self, timeout: Duration) -> u16 {
        let line = self.wait_for_event("listening", timeout);
        json_field(&line, "port")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"))
    }

    /// Stdout lines read so far (plus any that are already waiting).
    pub fn lines(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// Stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn transcript(&mut self) -> String {
        let out = self.lines().join("\n");
        format!(
            "`{}`\n--- stdout\n{out}\n--- stderr\n{}",
            self.command,
            self.stderr()
        )
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
