//! `ferrio connect`, the real binary, against ferrio's conformance handlers
//! (in process) and against the official Node.js `socket.io` 4.8 server
//! (interop/socketio/server.mjs, and extras-server.mjs for TLS): the
//! scripted mode's lines and exit status in each transport, and the
//! interactive mode driven through a stdin pipe.

use ferrio_test_support::node;

#[path = "../../server/examples/conformance/handlers.rs"]
mod handlers;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ferrio::SocketIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// How long one run of the binary may take.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// What one run of `ferrio connect` left.
#[derive(Debug)]
struct Run {
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: String,
}

/// Runs `ferrio connect ARGS…` to its end (killed after [`RUN_LIMIT`]).
fn connect(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
        .arg("connect")
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ferrio");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!("ferrio connect {args:?} ran past {RUN_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        status,
        stdout: out
            .join()
            .expect("stdout reader")
            .lines()
            .map(str::to_owned)
            .collect(),
        stderr: err.join().expect("stderr reader"),
    };
    eprintln!("ferrio connect {args:?} -> {run:#?}");
    run
}

/// Runs it on a blocking thread, from an async test.
async fn connect_async(args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        connect(&args)
    })
    .await
    .expect("the run")
}

/// Splits a scripted line `NAME JSON` and reads the JSON.
fn split(line: &str) -> (&str, Value) {
    let (name, json) = line
        .split_once(' ')
        .unwrap_or_else(|| panic!("no JSON in {line:?}"));
    let value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    (name, value)
}

// ---- ferrio's conformance server, in process ----

/// ferrio with the conformance handlers on a loopback port; stops on drop.
struct Ferrio {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Ferrio {
    async fn start() -> Self {
        Self::with_parser(ferrio::Parser::Default).await
    }

    async fn with_parser(parser: ferrio::Parser) -> Self {
        let io = SocketIo::with_config(ferrio::SocketIoConfig::default().parser(parser));
        handlers::install(&io);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            let _ = io.serve(listener, std::future::pending()).await;
        });
        Self { url, task }
    }
}

impl Drop for Ferrio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Events and acknowledgements in each transport, one line each, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_lines_against_ferrio() {
    let server = Ferrio::start().await;
    for transport in ["websocket", "polling"] {
        let run = connect_async(&[
            &server.url,
            "--transport",
            transport,
            "--emit",
            "echo",
            r#"["hello", 1, {"k": [true, null]}]"#,
            "--emit",
            "message",
            r#"[{"_binary": "AQID"}, "text"]"#,
        ])
        .await;
        assert!(run.status.success(), "{transport}: {run:?}");
        assert_eq!(
            run.stdout,
            [
                // The conformance server greets with the auth it received.
                r#"auth [{}]"#,
                r#"echo ["hello",1,{"k":[true,null]}]"#,
                r#"message-back [{"_binary":"AQID"},"text"]"#,
            ],
            "{transport}"
        );

        let run = connect_async(&[
            &server.url,
            "--transport",
            transport,
            "--ack",
            "--emit",
            "echo",
            r#"["first"]"#,
            "--emit",
            "message-with-ack",
            r#"[{"_binary": "/w=="}, {"n": {"_binary": ""}}]"#,
            "--wait",
            "0.5",
        ])
        .await;
        assert!(run.status.success(), "{transport}: {run:?}");
        // Acknowledgements print as they come, and the server may answer
        // the two events in either order.
        let mut lines = run.stdout.clone();
        lines[1..].sort();
        assert_eq!(
            lines,
            [
                r#"auth [{}]"#,
                r#"ack ["first"]"#,
                r#"ack [{"_binary":"/w=="},{"n":{"_binary":""}}]"#,
            ],
            "{transport}"
        );
    }
}

/// Names and arguments the server chose are printed with control characters
/// escaped: a server cannot send terminal escape sequences through them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_from_the_server_are_escaped() {
    let io = SocketIo::new();
    io.on_connection(|socket: std::sync::Arc<ferrio::Socket>| async move {
        let _ = socket.emit("\u{1b}]0;x\u{7}", &("\u{9b}2J\u{7f}",));
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let _ = io.serve(listener, std::future::pending()).await;
    });
    let run = connect_async(&[&url, "--transport", "websocket", "--wait", "0.5"]).await;
    task.abort();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, [r#"\u001b]0;x\u0007 ["\u009b2J\u007f"]"#]);
    assert!(
        !run.stdout
            .concat()
            .contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{7f}'])
    );
}

/// `--namespace` (or the URL's path) and `--auth`; a middleware's refusal
/// is `connect_error JSON` and exit status 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_auth_and_refusal_against_ferrio() {
    let server = Ferrio::start().await;
    let run = connect_async(&[
        &server.url,
        "--namespace",
        "/custom",
        "--auth",
        r#"{"token": "abc", "n": 1}"#,
        "--wait",
        "0.5",
    ])
    .await;
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, [r#"auth [{"token":"abc","n":1}]"#]);

    let url = format!("{}/private", server.url);
    let run = connect_async(&[&url, "--auth", r#"{"token":"secret"}"#, "--wait", "0.5"]).await;
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, ["welcome []"]);

    for transport in ["websocket", "polling"] {
        let run = connect_async(&[
            &url,
            "--transport",
            transport,
            "--auth",
            r#"{"token":"wrong"}"#,
            "--emit",
            "echo",
            "[]",
        ])
        .await;
        assert_eq!(run.status.code(), Some(1), "{transport}: {run:?}");
        assert_eq!(
            run.stdout,
            [r#"connect_error {"message":"unauthorized","data":{"reason":"bad token"}}"#],
            "{transport}"
        );
    }
}

/// No server: `connect_error` with the reason, exit 1; a bad ARGS_JSON is
/// a usage error (exit 2) before connecting.
#[test]
fn connection_failures_and_bad_arguments() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let run = connect(&[&url, "--wait", "0.2"]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert_eq!(run.stdout.len(), 1, "{run:?}");
    let (name, error) = split(&run.stdout[0]);
    assert_eq!(name, "connect_error");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{error}"
    );

    let run = connect(&[&url, "--emit", "echo", r#""not an array""#]);
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert!(run.stderr.contains("JSON array"), "{run:?}");
    assert!(run.stdout.is_empty());
}

// ---- the interactive mode ----

/// A running interactive `ferrio connect`, its stdin, and its stdout lines.
struct Interactive {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Interactive {
    fn start(url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
            .args(["connect", url])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run ferrio");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    fn type_line(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to ferrio");
        self.stdin.flush().expect("flush");
    }

    /// Waits for a line ending with `tail` after the time and namespace
    /// (`HH:MM:SS.mmm NSP tail`); returns the whole line.
    fn expect(&mut self, nsp: &str, tail: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.seen.iter().find(|l| stamped(l, nsp, tail)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no `{nsp} {tail}` line; saw {:#?}", self.seen),
            }
        }
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `HH:MM:SS.mmm NSP tail`.
fn stamped(line: &str, nsp: &str, tail: &str) -> bool {
    let Some((time, rest)) = line.split_once(' ') else {
        return false;
    };
    let time_ok = time.len() == 12
        && time.chars().enumerate().all(|(i, c)| match i {
            2 | 5 => c == ':',
            8 => c == '.',
            _ => c.is_ascii_digit(),
        });
    time_ok && rest == format!("{nsp} {tail}")
}

/// Typed commands: `emit`, `ack`, `ns`, `help`, a mistake, and `quit`; each
/// line printed with its time and namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_commands_through_a_pipe() {
    let server = Ferrio::start().await;
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut term = Interactive::start(&url);
        let connected = term.seen_connected("/");
        assert!(connected.contains("connected (id "), "{connected}");
        term.expect("/", "auth [{}]");

        term.type_line(r#"emit echo ["hi", {"_binary": "AQI="}]"#);
        term.expect("/", r#"echo ["hi",{"_binary":"AQI="}]"#);

        term.type_line(r#"ack echo [1, 2]"#);
        term.expect("/", "ack echo [1,2]");

        term.type_line("ns /custom");
        term.seen_connected("/custom");
        term.expect("/custom", "auth [{}]");
        term.type_line("ns");
        term.expect_plain("namespace /custom (connected); connected namespaces: /, /custom");

        // Back to `/`, on the same connection.
        term.type_line("ns /");
        term.type_line("emit message [\"again\"]");
        term.expect("/", r#"message-back ["again"]"#);

        term.type_line("frobnicate");
        term.expect_plain("error: unknown command \"frobnicate\": type `help`");
        term.type_line("help");
        term.expect_plain("commands:");

        term.type_line("quit");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = term.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "quit did not end the program");
            thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status:?}");
    })
    .await
    .expect("the interactive session");
}

impl Interactive {
    /// Waits for `connected (id …)` on `nsp`.
    fn seen_connected(&mut self, nsp: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        let wanted = |l: &String| {
            l.split_once(' ')
                .is_some_and(|(_, rest)| rest.starts_with(&format!("{nsp} connected (id ")))
        };
        loop {
            if let Some(line) = self.seen.iter().find(|l| wanted(l)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("{nsp} did not connect; saw {:#?}", self.seen),
            }
        }
    }

    /// Waits for a line that is exactly `line` (no time stamp).
    fn expect_plain(&mut self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.seen.iter().any(|l| l == line) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!("no line {line:?}; saw {:#?}", self.seen),
            }
        }
    }
}

// ---- the official Node.js server ----

/// A Node script's server, killed on drop.
struct NodeServer {
    process: node::NodeProcess,
    port: u16,
}

impl NodeServer {
    fn start(script: &str, args: &[&str]) -> Self {
        node::ensure_npm_deps();
        let mut all = vec!["--port", "0"];
        all.extend_from_slice(args);
        let mut process = node::spawn_node(script, &all);
        let port = process.wait_for_port(Duration::from_secs(30));
        Self { process, port }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        self.process.kill();
    }
}

/// The scripted lines against socket.io 4.8, in websocket-only, polling-only
/// and upgrade modes: events with JSON and binary, acknowledgements, the
/// namespace and auth the server saw, and a middleware's refusal.
#[test]
fn scripted_lines_against_node() {
    let server = NodeServer::start("socketio/server.mjs", &[]);
    let base = format!("http://127.0.0.1:{}", server.port);
    for transport in [Some("websocket"), Some("polling"), None] {
        let mode: Vec<&str> = transport.map_or(vec![], |t| vec!["--transport", t]);
        let with = |more: &[&str]| -> Vec<String> {
            let mut args = vec![base.clone()];
            args.extend(mode.iter().map(|s| s.to_string()));
            args.extend(more.iter().map(|s| s.to_string()));
            args
        };
        let run_with = |more: &[&str]| {
            let args = with(more);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            connect(&args)
        };

        let run = run_with(&[
            "--emit",
            "echo",
            r#"["hello", 1, {"k": [true, null]}]"#,
            "--emit",
            "binary",
            "[]",
            "--emit",
            "echo",
            r#"[{"_binary": "AQID"}]"#,
        ]);
        assert!(run.status.success(), "{transport:?}: {run:?}");
        assert_eq!(
            run.stdout,
            [
                r#"echo ["hello",1,{"k":[true,null]}]"#,
                r#"binary [{"_binary":"AQID"},{"nested":{"_binary":"BAU="}}]"#,
                r#"echo [{"_binary":"AQID"}]"#,
            ],
            "{transport:?}"
        );

        let run = run_with(&[
            "--ack",
            "--emit",
            "echo-ack",
            r#"["a", {"_binary": "AQI="}]"#,
            "--wait",
            "0.5",
        ]);
        assert!(run.status.success(), "{transport:?}: {run:?}");
        assert_eq!(
            run.stdout,
            [r#"ack ["a",{"_binary":"AQI="}]"#],
            "{transport:?}"
        );

        let run = run_with(&[
            "--namespace",
            "/admin",
            "--auth",
            r#"{"token":"t"}"#,
            "--ack",
            "--emit",
            "whoami",
            "[]",
            "--wait",
            "0.5",
        ]);
        assert!(run.status.success(), "{transport:?}: {run:?}");
        assert_eq!(run.stdout.len(), 1, "{transport:?}: {run:?}");
        let (name, who) = split(&run.stdout[0]);
        assert_eq!(name, "ack");
        assert_eq!(who[0]["nsp"], "/admin");
        assert_eq!(who[0]["auth"], json!({"token": "t"}));
        if let Some(transport) = transport {
            assert_eq!(who[0]["transport"], transport);
        }

        let run = run_with(&[
            "--namespace",
            "/private",
            "--auth",
            r#"{"token":"bad"}"#,
            "--wait",
            "5",
        ]);
        assert_eq!(run.status.code(), Some(1), "{transport:?}: {run:?}");
        assert_eq!(
            run.stdout,
            [
                r#"connect_error {"message":"not authorized","data":{"code":401,"auth":{"token":"bad"}}}"#
            ],
            "{transport:?}"
        );
    }
}

/// `--parser msgpack` against socket.io 4.8 with socket.io-msgpack-parser
/// and against ferrio with `Parser::MsgPack`, in both transports: events
/// with binary arguments and acknowledgements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_msgpack_parser_against_node_and_ferrio() {
    let node = tokio::task::spawn_blocking(|| {
        NodeServer::start("socketio/server.mjs", &["--parser", "msgpack"])
    })
    .await
    .expect("node starts");
    let node_url = format!("http://127.0.0.1:{}", node.port);
    let ferrio = Ferrio::with_parser(ferrio::Parser::MsgPack).await;
    for transport in ["websocket", "polling"] {
        let run = connect_async(&[
            &node_url,
            "--parser",
            "msgpack",
            "--transport",
            transport,
            "--emit",
            "echo",
            r#"["hello", 1.5, {"k": [true, null, {"_binary": "AQID"}]}]"#,
            "--emit",
            "binary",
            "[]",
        ])
        .await;
        assert!(run.status.success(), "node, {transport}: {run:?}");
        assert_eq!(
            run.stdout,
            [
                r#"echo ["hello",1.5,{"k":[true,null,{"_binary":"AQID"}]}]"#,
                r#"binary [{"_binary":"AQID"},{"nested":{"_binary":"BAU="}}]"#,
            ],
            "node, {transport}"
        );
        let run = connect_async(&[
            &ferrio.url,
            "--parser",
            "msgpack",
            "--transport",
            transport,
            "--ack",
            "--emit",
            "message-with-ack",
            r#"[{"_binary": "/w=="}, {"n": {"_binary": ""}}]"#,
            "--wait",
            "0.5",
        ])
        .await;
        assert!(run.status.success(), "ferrio, {transport}: {run:?}");
        assert_eq!(
            run.stdout,
            [
                r#"auth [{}]"#,
                r#"ack [{"_binary":"/w=="},{"n":{"_binary":""}}]"#,
            ],
            "ferrio, {transport}"
        );
    }
    drop(node);
}

/// `https` with `--ca-cert`: the server's self-signed certificate trusted,
/// in both transports; without it, `connect_error` and exit 1.
#[test]
fn tls_with_a_given_certificate() {
    let dir = std::env::temp_dir().join(format!("ferrio-connect-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("rcgen");
    let cert_file: PathBuf = dir.join("cert.pem");
    let key_file = dir.join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).expect("write key");
    let (cert_path, key_path) = (
        cert_file.display().to_string(),
        key_file.display().to_string(),
    );

    let server = NodeServer::start(
        "socketio/extras-server.mjs",
        &["--tls-cert", &cert_path, "--tls-key", &key_path],
    );
    let url = format!("https://127.0.0.1:{}", server.port);
    for transport in ["websocket", "polling"] {
        let run = connect(&[
            &url,
            "--transport",
            transport,
            "--ca-cert",
            &cert_path,
            "--ack",
            "--emit",
            "whoami",
            "[]",
            "--wait",
            "0.3",
        ]);
        assert!(run.status.success(), "{transport}: {run:?}");
        let (name, who) = split(&run.stdout[0]);
        assert_eq!(name, "ack");
        assert_eq!(who[0]["secure"], true);
        assert_eq!(who[0]["transport"], transport);

        let run = connect(&[&url, "--transport", transport, "--wait", "0.3"]);
        assert_eq!(run.status.code(), Some(1), "{transport}: {run:?}");
        let (name, error) = split(&run.stdout[0]);
        assert_eq!(name, "connect_error");
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("certificate"),
            "{error}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the interactive mode in a real terminal ----

/// A tmux server of its own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` in a new 150x40 tmux window.
    fn start(command: &str) -> Self {
        let socket = format!("ferrio-connect-test-{}", std::process::id());
        let tmux = Self { socket };
        let status = tmux
            .command()
            .args([
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "150",
                "-y",
                "40",
                command,
            ])
            .status()
            .expect("tmux not found: the terminal test needs it (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    fn send(&self, keys: &[&str]) {
        let status = self
            .command()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// The screen, or `None` once the program (and so the session) ended.
    fn screen(&self) -> Option<String> {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .expect("tmux capture-pane");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Waits until a screen line satisfies `pred`.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        self.wait_screen(what, |screen| screen.lines().any(&pred));
    }

    /// Waits until the whole screen satisfies `pred`.
    fn wait_screen(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen().unwrap_or_default();
            if pred(&screen) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} on the screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

/// The line editor on a terminal: typed commands, lines printed above the
/// prompt (which shows the namespace) while a command is half typed, the
/// history, and `quit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_in_a_terminal() {
    let server = Ferrio::start().await;
    let command = format!("{} connect {}", env!("CARGO_BIN_EXE_ferrio"), server.url);
    tokio::task::spawn_blocking(move || {
        let term = Tmux::start(&command);
        term.wait_for("connection", |l| stamped_prefix(l, "/ connected (id "));
        term.send(&[r#"emit echo ["hi", {"_binary": "AQI="}]"#, "Enter"]);
        term.wait_for("echo", |l| {
            stamped(l, "/", r#"echo ["hi",{"_binary":"AQI="}]"#)
        });
        term.send(&["ack echo [1, 2]", "Enter"]);
        term.wait_for("ack", |l| stamped(l, "/", "ack echo [1,2]"));
        term.send(&["ns /custom", "Enter"]);
        term.wait_for("/custom", |l| stamped(l, "/custom", "auth [{}]"));
        term.wait_for("the prompt of /custom", |l| l == "/custom>");
        term.send(&["ns /", "Enter"]);
        term.wait_for("the prompt of /", |l| l == "/>");
        // The server asks a question, then gives up after a second and says
        // so: that line arrives while a command is half typed, and goes
        // above the prompt and the command.
        term.send(&["emit ask [5]", "Enter"]);
        term.wait_for("question", |l| {
            stamped(
                l,
                "/",
                "question [5] (the server asks for an acknowledgement)",
            )
        });
        term.send(&["emit echo [9"]);
        term.wait_screen("answer-timeout above the half-typed command", |screen| {
            let lines: Vec<&str> = screen.lines().filter(|l| !l.is_empty()).collect();
            lines.len() >= 2
                && stamped(lines[lines.len() - 2], "/", "answer-timeout []")
                && lines[lines.len() - 1] == "/> emit echo [9"
        });
        term.send(&["]", "Enter"]);
        term.wait_for("echo 9", |l| stamped(l, "/", "echo [9]"));
        // The history: five lines back is the `ack`.
        term.send(&["Up", "Up", "Up", "Up", "Up"]);
        term.wait_screen("the ack from the history", |screen| {
            screen.lines().rfind(|l| !l.is_empty()) == Some("/> ack echo [1, 2]")
        });
        term.send(&["Enter"]);
        term.wait_screen("a second ack", |screen| {
            screen
                .lines()
                .filter(|l| stamped(l, "/", "ack echo [1,2]"))
                .count()
                == 2
        });
        term.send(&["quit", "Enter"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while term.screen().is_some() {
            assert!(Instant::now() < deadline, "quit did not end the program");
            thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .expect("the terminal session");
}

/// `HH:MM:SS.mmm ` followed by `rest`.
fn stamped_prefix(line: &str, rest: &str) -> bool {
    line.split_once(' ')
        .is_some_and(|(time, tail)| time.len() == 12 && tail.starts_with(rest))
}
