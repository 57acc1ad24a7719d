//! WebSocket conformance: the Autobahn TestSuite's cases, run by `kosoku`'s
//! fuzzing client (from PyPI, installed into `interop/autobahn/.venv`), against
//! `examples/ws_echo.rs`, which echoes on ferrio's WebSocket stack (the
//! standalone listener, hyper's upgrade, the engine's own WebSocket stream,
//! reader and writer).
//!
//! The whole suite runs (about 300 cases, 15 s in a debug build), but for a
//! part of 12.* and 13.*, which test permessage-deflate (the echo accepts it
//! and compresses every message): all 216 of those take about 9 minutes in a
//! debug build (1000 messages of up to 128 KiB each), so here each data set
//! (12.1–12.5) and each offer (13.1–13.7) runs with 16-byte, 1 KiB, and
//! 8 KiB messages fragmented into 256-byte frames: 36 cases.
//! `scripts/autobahn` runs all of them. Every case must pass: `OK`, or
//! `NON-STRICT` / `INFORMATIONAL`, which the suite counts as conformant.
//! `scripts/autobahn` runs the same against the release build and keeps the
//! HTML report.

use ferrio_test_support::python;

#[path = "../examples/ws_echo.rs"]
#[allow(dead_code)]
mod ws_echo;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The message sizes of 12.* and 13.* left out (the third number of the case
/// id): all but 16 bytes (1), 1 KiB (4) and 8 KiB in 256-byte fragments (11).
const DEFLATE_SIZES_LEFT_OUT: &[u32] = &[2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18];
/// How long the whole run may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autobahn_cases_pass_on_ferrios_websocket_stack() {
    let kosoku = tokio::task::spawn_blocking(ensure_venv)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ws_echo::run(listener, async {
        let _ = stopped.await;
    }));

    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join("autobahn");
    let _ = fs::remove_dir_all(&report);
    let mut cmd = Command::new(&kosoku);
    cmd.arg(addr.to_string()).arg("-o").arg(&report);
    for group in [12, 13] {
        for size in DEFLATE_SIZES_LEFT_OUT {
            cmd.args(["-x", &format!("{group}.*.{size}")]);
        }
    }
    let command = format!("{cmd:?}");
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || run_with_timeout(cmd, RUN_TIMEOUT))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let _ = stop.send(());
    let _ = server.await;

    let index = fs::read_to_string(report.join("index.json")).unwrap_or_else(|e| {
        panic!("no report from `{command}` ({e}):\n{out}");
    });
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    let cases = index
        .as_object()
        .and_then(|agents| agents.values().next())
        .and_then(|cases| cases.as_object())
        .unwrap_or_else(|| panic!("unexpected report shape: {index}"));

    let mut behavior = BTreeMap::<String, usize>::new();
    let mut close = BTreeMap::<String, usize>::new();
    let mut failed = Vec::new();
    for (id, case) in cases {
        let b = case["behavior"].as_str().unwrap_or("?").to_owned();
        let c = case["behaviorClose"].as_str().unwrap_or("?").to_owned();
        let passed = matches!(b.as_str(), "OK" | "NON-STRICT" | "INFORMATIONAL")
            && matches!(c.as_str(), "OK" | "INFORMATIONAL");
        if !passed {
            failed.push(format!("{id}: {b} / close {c}"));
        }
        *behavior.entry(b).or_default() += 1;
        *close.entry(c).or_default() += 1;
    }
    eprintln!(
        "autobahn: {} cases in {elapsed:.1?}; behavior {behavior:?}; close {close:?}; report in {}",
        cases.len(),
        report.display()
    );
    assert!(cases.len() > 250, "only {} cases ran:\n{out}", cases.len());
    let deflate = cases
        .keys()
        .filter(|id| id.starts_with("12.") || id.starts_with("13."))
        .count();
    assert_eq!(deflate, 36, "permessage-deflate cases");
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
    assert!(out.contains("cases passed"), "kosoku did not pass:\n{out}");
}

/// Runs `cmd` to completion (killed after `timeout`); its stdout and stderr.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start kosoku: {e}"));
    let started = Instant::now();
    loop {
        match child.try_wait().unwrap() {
            Some(_) => break,
            None if started.elapsed() > timeout => {
                let _ = child.kill();
                break;
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let out = child.wait_with_output().unwrap();
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// --- the kosoku virtualenv, made as ferrio_test_support::python makes the Python one --

/// `interop/autobahn/`, found above this crate.
fn autobahn_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("interop").join("autobahn"))
        .find(|dir| dir.join("requirements.txt").is_file())
        .expect("interop/autobahn/requirements.txt above the crate")
}

/// Makes sure `interop/autobahn/.venv` holds `requirements.txt`; returns the
/// path of its `kosoku`.
fn ensure_venv() -> Result<PathBuf, String> {
    let dir = autobahn_dir();
    python::ensure_venv_in(&dir)?;
    Ok(dir.join(".venv").join("bin").join("kosoku"))
}
