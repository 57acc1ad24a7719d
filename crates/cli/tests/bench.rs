//! `ferrio bench` end to end, quickly: the binary loads the in-process bench
//! server (the handlers of `crates/server/examples/bench_server`) in every
//! scenario, with `--json` and `--pid` (this test process, which hosts the
//! server), and the reports must show every message delivered.

#[path = "../../server/examples/bench_server/handlers.rs"]
mod handlers;

use std::process::Command;

use serde_json::Value;

/// Runs `ferrio bench <args> --json` against `port` and parses its report.
fn bench(port: u16, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrio"))
        .arg("bench")
        .args(args)
        .args(["--url", &format!("http://127.0.0.1:{port}")])
        .args(["--pid", &std::process::id().to_string()])
        .args(["--json", "--quiet", "--warmup", "0.2", "--duration", "0.5"])
        .output()
        .expect("run ferrio bench");
    assert!(
        out.status.success(),
        "ferrio bench {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_against_the_bench_server() {
    let io = ferrio::SocketIo::new();
    handlers::install(&io);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = io.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });

    let reports = tokio::task::spawn_blocking(move || {
        [
            bench(port, &["echo", "-c", "10", "-r", "500"]),
            bench(port, &["broadcast", "-c", "20", "-r", "20"]),
            bench(port, &["rooms", "-c", "30", "--rooms", "3", "-r", "60"]),
            bench(
                port,
                &["idle", "-c", "50", "--source-addrs", "127.0.0.1,127.0.0.2"],
            ),
            bench(port, &["connect", "-c", "50"]),
        ]
    })
    .await
    .unwrap();

    for report in &reports {
        let name = &report["scenario"];
        assert_eq!(report["connect"]["failed"], 0, "{name}: {report}");
        assert_eq!(report["disconnects"], 0, "{name}: {report}");
        assert!(
            report["server"]["rss_end_kib"].as_u64().unwrap() > 0,
            "{name}: {report}"
        );
        if let Some(m) = report.get("messages") {
            let sent = m["sent"].as_u64().unwrap();
            assert!(sent > 0, "{name}: {report}");
            assert_eq!(m["lost"], 0, "{name}: {report}");
            assert_eq!(m["delivered"], m["expected"], "{name}: {report}");
            assert!(
                m["latency"]["p99_us"].as_u64().unwrap() > 0,
                "{name}: {report}"
            );
        }
    }
    let [echo, broadcast, rooms, ..] = &reports;
    // One ack per echo; every socket gets each broadcast; each room holds 10.
    assert_eq!(echo["messages"]["expected"], echo["messages"]["sent"]);
    let sent = broadcast["messages"]["sent"].as_u64().unwrap();
    assert_eq!(
        broadcast["messages"]["expected"].as_u64().unwrap(),
        20 * sent
    );
    let sent = rooms["messages"]["sent"].as_u64().unwrap();
    assert_eq!(rooms["messages"]["expected"].as_u64().unwrap(), 10 * sent);
}

/// A bench server of its own on a free port; returns it and the port.
async fn start_server() -> (ferrio::SocketIo, u16) {
    let io = ferrio::SocketIo::new();
    handlers::install(&io);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = io.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    (io, port)
}

/// `--url` repeated (a cluster's nodes): connection i goes to URL i mod n,
/// and `--pid` repeated sums the processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_spread_over_several_urls() {
    let (one, port_one) = start_server().await;
    let (two, port_two) = start_server().await;
    let pid = std::process::id().to_string();
    let run = tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_ferrio"))
            .args([
                "bench",
                "idle",
                "-c",
                "5",
                "--warmup",
                "0",
                "--duration",
                "3",
            ])
            .args(["--url", &format!("http://127.0.0.1:{port_one}")])
            .args(["--url", &format!("http://127.0.0.1:{port_two}")])
            .args(["--pid", &format!("{pid},{pid}"), "--json", "--quiet"])
            .output()
            .expect("run ferrio bench");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("a JSON report")
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let counts = (
            one.sockets().local_sockets().len(),
            two.sockets().local_sockets().len(),
        );
        if counts == (3, 2) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "connections per server: {counts:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let report = run.await.unwrap();
    assert_eq!(report["connect"]["ok"], 5, "{report}");
    let url = report["url"].as_str().unwrap();
    assert!(url.contains(&port_one.to_string()) && url.contains(&port_two.to_string()));
    // This process counted twice: at least twice one reading of it.
    let single = std::fs::read_to_string("/proc/self/status").unwrap();
    let rss_kib: u64 = single
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        report["server"]["rss_end_kib"].as_u64().unwrap() > rss_kib * 3 / 2,
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_steps_up_by_half_and_stops_at_the_cap() {
    let (_io, port) = start_server().await;

    let report = tokio::task::spawn_blocking(move || {
        bench(
            port,
            &[
                "echo",
                "--probe",
                "-c",
                "5",
                "-r",
                "100",
                "--probe-max",
                "200",
                "--drain",
                "0.5",
            ],
        )
    })
    .await
    .unwrap();
    let probe = &report["probe"];
    let rates: Vec<f64> = probe["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rate"].as_f64().unwrap())
        .collect();
    assert_eq!(rates, [100.0, 150.0, 200.0], "{report}");
    for step in probe["steps"].as_array().unwrap() {
        assert_eq!(step["ok"], true, "{report}");
        assert_eq!(step["lost"], 0, "{report}");
        assert!(step["server_cpu_pct"].as_f64().is_some(), "{report}");
    }
    assert_eq!(probe["max_rate"], 200.0, "{report}");
    assert_eq!(probe["limit"], "unknown", "{report}");
}
