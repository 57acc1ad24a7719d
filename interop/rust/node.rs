//! Test support: run the Node.js programs in `interop/` as real peers.
//!
//! Std only. Include it from an integration test with
//!
//! ```ignore
//! #[path = "../../../interop/rust/node.rs"]
//! mod node;
//! ```
//!
//! then, for example:
//!
//! ```ignore
//! node::ensure_npm_deps();
//! let out = node::run_node(
//!     "engineio/client.mjs",
//!     &["--url", &url, "--mode", "websocket", "--scenario", "echo-text"],
//!     std::time::Duration::from_secs(20),
//! );
//! out.assert_ok();
//! ```
//!
//! The Node scripts print one JSON object per line (`{"event":"...",...}`); this
//! module keeps the raw lines and matches them by substring, so it needs no JSON
//! dependency.

#![allow(dead_code)] // each test binary uses a different subset

#[path = "peer.rs"]
mod peer;

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// A lock file older than this is considered left behind by a dead process.
const STALE_LOCK: Duration = Duration::from_secs(600);
/// How long to wait for another process's `npm ci` before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(900);

/// The repository's `interop/` folder.
///
/// Found by walking up from `CARGO_MANIFEST_DIR` of the crate that includes this
/// module (e.g. `crates/engine`) to the first ancestor holding
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
    let started = Instant::now();
    let _guard = loop {
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", std::process::id());
                break LockGuard(lock.clone());
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if lock_is_stale(&lock) {
                    let _ = fs::remove_file(&lock);
                    continue;
                }
                if started.elapsed() > LOCK_WAIT {
                    return Err(format!(
                        "waited {LOCK_WAIT:?} for {} to disappear (another npm install?); \
                         remove it if no install is running",
                        lock.display()
                    ));
                }
                thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(format!("cannot create {}: {e}", lock.display())),
        }
    };
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

fn lock_is_stale(lock: &Path) -> bool {
    fs::metadata(lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_LOCK)
}

/// Removes the lock file when dropped (also on panic).
struct LockGuard(PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
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
