//! `ferrio bench`'s protocol variants end to end: long-polling, binary
//! attachments, the msgpack parser and permessage-deflate, against the
//! in-process bench server (the handlers of
//! `crates/server/examples/bench_server`, configured as that example does
//! from its environment) and against Node's bench server (bench/node), and
//! the options that do not go together.

#[path = "../../server/examples/bench_server/handlers.rs"]
mod handlers;

use std::process::{Command, Output};
use std::time::Duration;

use ferrio::engine::{DeflateConfig, EngineConfig};
use ferrio::{Parser, SocketIo, SocketIoConfig};
use ferrio_test_support::node;
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrio"))
        .arg("bench")
        .args(args)
        .output()
        .expect("run ferrio bench")
}

/// Runs `ferrio bench <args> --json` against `port` and parses its report.
fn bench(port: u16, args: &[&str]) -> Value {
    let url = format!("http://127.0.0.1:{port}");
    let mut all = args.to_vec();
    all.extend(["--url", &url, "--json", "--quiet", "--warmup", "0.2"]);
    all.extend(["--duration", "0.6", "--drain", "5"]);
    let out = run(&all);
    assert!(
        out.status.success(),
        "ferrio bench {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

/// Every message delivered, nothing lost, no connection dropped.
fn assert_all_delivered(report: &Value) {
    let m = &report["messages"];
    assert_eq!(report["connect"]["failed"], 0, "{report}");
    assert_eq!(report["disconnects"], 0, "{report}");
    assert_eq!(report["binary_mismatch"], 0, "{report}");
    assert_eq!(report["malformed"], 0, "{report}");
    assert!(m["sent"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(m["lost"], 0, "{report}");
    assert_eq!(m["delivered"], m["expected"], "{report}");
}

/// A bench server configured as `bench_server` is with `PARSER` and
/// `PER_MESSAGE_DEFLATE`; returns its port.
async fn start_server(parser: Parser, deflate: bool) -> u16 {
    let mut config = SocketIoConfig::default().parser(parser);
    if deflate {
        config = config.engine(
            EngineConfig::default()
                .path("/socket.io/")
                .per_message_deflate(Some(DeflateConfig::default())),
        );
    }
    let io = SocketIo::with_config(config);
    handlers::install(&io);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { io.serve(listener, std::future::pending()).await });
    port
}

/// Runs `ferrio bench` against the server on `port` once per command line
/// (its words separated by spaces), one after the other, off the runtime.
async fn benches<const N: usize>(port: u16, runs: [&'static str; N]) -> [Value; N] {
    tokio::task::spawn_blocking(move || {
        runs.map(|run| bench(port, &run.split(' ').collect::<Vec<_>>()))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polling_echo_and_broadcast() {
    let port = start_server(Parser::Default, false).await;
    let reports = benches(
        port,
        [
            "echo --transport polling -c 10 -r 300",
            "broadcast --transport polling -c 10 -r 20",
        ],
    )
    .await;
    for report in &reports {
        assert_all_delivered(report);
        assert_eq!(report["transport"], "polling", "{report}");
        assert!(report["messages"]["latency"]["p99_us"].as_u64().unwrap() > 0);
    }
    let [echo, broadcast] = &reports;
    assert_eq!(echo["messages"]["expected"], echo["messages"]["sent"]);
    let sent = broadcast["messages"]["sent"].as_u64().unwrap();
    assert_eq!(
        broadcast["messages"]["expected"].as_u64().unwrap(),
        10 * sent
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_attachments_come_back_whole() {
    let port = start_server(Parser::Default, false).await;
    let reports = benches(
        port,
        [
            "echo --binary 65536 -c 5 -r 50",
            "echo --binary 3000 --transport polling -c 5 -r 50",
            "broadcast --binary 1000 -c 5 -r 10",
        ],
    )
    .await;
    for report in &reports {
        assert_all_delivered(report);
    }
    assert_eq!(reports[0]["messages"]["binary_bytes"], 65536);
    assert_eq!(reports[1]["messages"]["binary_bytes"], 3000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_msgpack_parser_on_both_transports() {
    let port = start_server(Parser::MsgPack, false).await;
    let reports = benches(
        port,
        [
            "echo --parser msgpack -c 10 -r 500",
            "echo --parser msgpack --binary 65536 -c 5 -r 50",
            "broadcast --parser msgpack --transport polling -c 5 -r 20",
            "rooms --parser msgpack -c 10 --rooms 2 -r 40",
        ],
    )
    .await;
    for report in &reports {
        assert_all_delivered(report);
        assert_eq!(report["parser"], "msgpack", "{report}");
    }
    assert_eq!(reports[1]["messages"]["binary_bytes"], 65536);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deflate_broadcasts_arrive_compressed_and_are_inflated() {
    let port = start_server(Parser::Default, true).await;
    let [report] = benches(port, ["broadcast --deflate --payload 2048 -c 20 -r 10"]).await;
    assert_all_delivered(&report);
    assert_eq!(report["deflate"], true, "{report}");
    // Every broadcast of the window (and of the warm-up) came compressed.
    let delivered = report["messages"]["delivered"].as_u64().unwrap();
    assert!(
        report["inflated"].as_u64().unwrap() >= delivered,
        "{report}"
    );
}

#[test]
fn options_that_do_not_go_together_are_refused() {
    // No server is needed: the options are checked first.
    for (args, why) in [
        (
            &["echo", "--deflate", "--transport", "polling"][..],
            "--deflate needs --transport websocket",
        ),
        (&["idle", "--binary", "10"][..], "--binary goes with echo"),
    ] {
        let out = run(&[args, &["--url", "http://127.0.0.1:9"]].concat());
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
}

#[test]
fn a_server_without_deflate_is_a_clear_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = runtime.block_on(start_server(Parser::Default, false));
    let out = run(&[
        "echo",
        "--deflate",
        "-c",
        "1",
        "--url",
        &format!("http://127.0.0.1:{port}"),
        "--quiet",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("declined permessage-deflate"), "{stderr}");
}

/// Node's bench server (bench/node/server.js) with `PARSER=msgpack` and
/// `PER_MESSAGE_DEFLATE=1`, run from a scratch folder whose `node_modules`
/// is interop's (the same socket.io and socket.io-msgpack-parser versions
/// as bench/node's lock), so that nothing needs installing.
#[test]
fn msgpack_and_deflate_against_nodes_bench_server() {
    node::ensure_npm_deps();
    let interop = node::interop_dir();
    let dir = std::env::temp_dir().join(format!("ferrio-bench-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("node_modules");
    if !link.exists() {
        std::os::unix::fs::symlink(interop.join("node_modules"), &link).unwrap();
    }
    let script = dir.join("server.mjs");
    std::fs::copy(interop.join("../bench/node/server.js"), &script).unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut server = KillOnDrop(
        Command::new("node")
            .arg(&script)
            .env("PORT", port.to_string())
            .env("PARSER", "msgpack")
            .env("PER_MESSAGE_DEFLATE", "1")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start node"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(server.0.try_wait().unwrap().is_none(), "node exited");
        assert!(std::time::Instant::now() < deadline, "node never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let broadcast = bench(
        port,
        &[
            "broadcast",
            "--parser",
            "msgpack",
            "--deflate",
            "--payload",
            "2048",
            "-c",
            "20",
            "-r",
            "10",
        ],
    );
    assert_all_delivered(&broadcast);
    let delivered = broadcast["messages"]["delivered"].as_u64().unwrap();
    assert!(
        broadcast["inflated"].as_u64().unwrap() >= delivered,
        "{broadcast}"
    );
    let echo = bench(
        port,
        &[
            "echo", "--parser", "msgpack", "--binary", "65536", "-c", "5", "-r", "50",
        ],
    );
    assert_all_delivered(&echo);
    let polling = bench(
        port,
        &[
            "echo",
            "--parser",
            "msgpack",
            "--transport",
            "polling",
            "-c",
            "5",
            "-r",
            "100",
        ],
    );
    assert_all_delivered(&polling);
    server.0.kill().ok();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A child process killed when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
