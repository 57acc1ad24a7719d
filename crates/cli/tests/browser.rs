//! The chat in a real browser, end to end: the `ferrio` binary serves the
//! page and the official client, Debian's Chromium (driven by playwright-core
//! from `crates/cli/web/tests/chat.mjs`) chats on long-polling and WebSocket,
//! and the server's log shows every user connecting and disconnecting.
//!
//! Needs Node.js, the npm packages of `crates/cli/web` (installed here with
//! `npm ci` when missing) and Chromium at `/usr/bin/chromium` (or `$CHROMIUM`):
//! `apt-get install chromium`. The screenshot goes to
//! `target/chat-screenshot.png`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// The workspace's `target/` folder (where the test binary is built).
fn target_dir() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_ferrio"));
    exe.ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// `npm ci` in `crates/cli/web` when its packages are missing.
fn ensure_npm_deps() {
    let web = web_dir();
    let installed = [
        "socket.io-client/dist/socket.io.js",
        "playwright-core/package.json",
    ]
    .iter()
    .all(|f| web.join("node_modules").join(f).is_file());
    if installed {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&web)
        .output()
        .expect("npm not found: the browser test needs Node.js and npm");
    assert!(
        out.status.success(),
        "npm ci in {} failed:\n{}{}",
        web.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chromium() -> PathBuf {
    let path =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(
        path.is_file(),
        "no Chromium at {}: install it with `apt-get install chromium` (or set CHROMIUM)",
        path.display()
    );
    path
}

/// A running `ferrio serve --port 0`, its URL and its log (stderr) lines.
struct Server {
    child: Child,
    url: String,
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// `ferrio serve` with these options too.
    fn start_with(options: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .args(options)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the ferrio binary");
        // The address is printed on stdout: "... open http://127.0.0.1:PORT/ ...".
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read ferrio's stdout");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in ferrio's first line: {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[ferrio] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            url,
            log,
            seen: Vec::new(),
        }
    }

    /// Every log line so far.
    fn drain(&mut self) -> &[String] {
        self.seen.extend(self.log.try_iter());
        &self.seen
    }

    fn count(&mut self, needle: &str) -> usize {
        self.drain().iter().filter(|l| l.contains(needle)).count()
    }

    /// Waits until the log has `n` lines containing `needle`.
    fn wait_for(&mut self, needle: &str, n: usize, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        while self.count(needle) < n {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {}
                Err(_) => return self.count(needle) >= n,
            }
        }
        true
    }

    /// SIGTERM, as a service manager would stop it; true if it exited cleanly.
    fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a script of `crates/cli/web/tests` with `--url` and `--chromium`
/// (and `extra`); returns its success and what it printed.
fn run_page_script(script: &str, url: &str, extra: &[&str]) -> (bool, String, String) {
    let mut node = Command::new("node")
        .arg(web_dir().join("tests").join(script))
        .args(["--url", url, "--chromium"])
        .arg(chromium())
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node not found: the browser test needs Node.js");
    let mut stdout = node.stdout.take().unwrap();
    let mut stderr = node.stderr.take().unwrap();
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut transcript = String::new();
    let _ = stdout.read_to_string(&mut transcript);
    let status = node.wait().unwrap();
    let node_err = err.join().unwrap();
    println!("{transcript}");
    let ok = status.success() && transcript.contains(r#"{"event":"result","ok":true}"#);
    (ok, transcript, node_err)
}

/// Chromium offers permessage-deflate on every WebSocket: `ferrio serve
/// --per-message-deflate` accepts it and the chat's long and short messages
/// arrive whole; without the option the server declines, as Node's default.
#[test]
fn permessage_deflate_with_chromium() {
    ensure_npm_deps();
    for (options, expect) in [(&["--per-message-deflate"][..], "on"), (&[][..], "off")] {
        let server = Server::start_with(options);
        let (ok, transcript, node_err) =
            run_page_script("deflate.mjs", &server.url, &["--expect", expect]);
        assert!(
            ok,
            "deflate.mjs --expect {expect} failed:\n{transcript}\n{node_err}"
        );
    }
}

#[test]
fn chat_in_chromium_over_polling_and_websocket() {
    ensure_npm_deps();
    let mut server = Server::start();
    let screenshot = target_dir().join("chat-screenshot.png");
    let _ = std::fs::remove_file(&screenshot);

    let screenshot_arg = screenshot.to_string_lossy().into_owned();
    let (ok, transcript, node_err) =
        run_page_script("chat.mjs", &server.url, &["--screenshot", &screenshot_arg]);
    assert!(ok, "the browser test failed:\n{transcript}\n{node_err}");
    assert!(
        screenshot.is_file(),
        "no screenshot at {}",
        screenshot.display()
    );

    // Three pages connected (alice, bob, carol), each logged with its transport.
    assert!(
        server.wait_for("a user connected", 3, Duration::from_secs(5)),
        "the log lacks 3 `a user connected` lines:\n{}",
        server.drain().join("\n")
    );
    let log = server.drain().join("\n");
    assert!(
        log.contains("transport=\"polling\"") || log.contains("transport=polling"),
        "{log}"
    );
    assert!(
        log.contains("transport=\"websocket\"") || log.contains("transport=websocket"),
        "{log}"
    );

    // Closed pages disconnect; whoever is left goes at shutdown.
    assert!(server.terminate(), "ferrio did not exit cleanly on SIGTERM");
    assert!(
        server.wait_for("a user disconnected", 3, Duration::from_secs(5)),
        "the log lacks 3 `a user disconnected` lines:\n{}",
        server.drain().join("\n")
    );
}
