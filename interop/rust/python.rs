//! Test support: run the Python programs in `interop/python/` as real peers.
//!
//! Std only, the Python counterpart of `node.rs`. Include it from an
//! integration test with
//!
//! ```ignore
//! #[path = "../../../interop/rust/python.rs"]
//! mod python;
//! ```
//!
//! then, for example:
//!
//! ```ignore
//! python::ensure_venv();
//! let out = python::run_python(
//!     "client.py",
//!     &["--url", &url, "--transport", "websocket", "--scenario", "auth"],
//!     std::time::Duration::from_secs(60),
//! );
//! out.assert_ok();
//! ```
//!
//! The scripts print one JSON object per line (`{"event":"...",...}`) and end
//! with `{"event":"result","ok":...}`; lines are kept raw and matched by
//! substring, so this module needs no JSON dependency.

#![allow(dead_code)] // each test binary uses a different subset

#[path = "peer.rs"]
mod peer;

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// A lock file older than this is considered left behind by a dead process.
const STALE_LOCK: Duration = Duration::from_secs(600);
/// How long to wait for another process's install before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(900);
/// Written into the virtualenv after a successful install: a copy of the
/// `requirements.txt` it was installed from. The venv is up to date when the two
/// are the same (`scripts/test` uses the same file).
const STAMP: &str = ".requirements.installed";

/// The repository's `interop/python/` folder.
///
/// Found by walking up from `CARGO_MANIFEST_DIR` of the crate that includes this
/// module (e.g. `crates/server`) to the first ancestor holding
/// `interop/python/requirements.txt` (the workspace root).
pub fn python_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("interop").join("python"))
        .find(|dir| dir.join("requirements.txt").is_file())
        .unwrap_or_else(|| {
            panic!(
                "no interop/python/requirements.txt above {}; is this the ferrio workspace?",
                manifest.display()
            )
        })
}

/// The virtualenv's interpreter, `interop/python/.venv/bin/python`.
pub fn venv_python() -> PathBuf {
    python_dir().join(".venv").join("bin").join("python")
}

/// Makes sure `interop/python/.venv` holds `requirements.txt`, once per process.
///
/// Does nothing when the venv's stamp matches `requirements.txt` (`scripts/test`
/// installs before running cargo). Otherwise, holding the lock file
/// `interop/python/.venv-install.lock` so that test binaries running in
/// parallel do not install at the same time (the others wait for it to go
/// away), creates the venv with `$PYTHON -m venv` (default `python3`) if it has
/// no interpreter yet and runs `pip install -r requirements.txt` in it.
///
/// Panics with the failing command's output if the install fails.
pub fn ensure_venv() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = DONE.get_or_init(install_venv) {
        panic!("{e}");
    }
}

/// Makes sure the virtualenv `<dir>/.venv` holds `<dir>/requirements.txt`:
/// the same stamp, lock file and install steps as [`ensure_venv`], for any
/// folder of Python peers (the Autobahn client uses it too).
pub fn ensure_venv_in(dir: &Path) -> Result<(), String> {
    install_venv_in(dir)
}

fn venv_up_to_date(dir: &Path) -> bool {
    let venv = dir.join(".venv");
    if !venv.join("bin").join("python").is_file() {
        return false;
    }
    match (
        fs::read(dir.join("requirements.txt")),
        fs::read(venv.join(STAMP)),
    ) {
        (Ok(wanted), Ok(installed)) => wanted == installed,
        _ => false,
    }
}

fn install_venv() -> Result<(), String> {
    install_venv_in(&python_dir())
}

fn install_venv_in(dir: &Path) -> Result<(), String> {
    if venv_up_to_date(dir) {
        return Ok(());
    }
    let lock = dir.join(".venv-install.lock");
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
                        "waited {LOCK_WAIT:?} for {} to disappear (another venv install?); \
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
    if venv_up_to_date(dir) {
        return Ok(());
    }
    let venv = dir.join(".venv");
    if !venv.join("bin").join("python").is_file() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        eprintln!(
            "[python.rs] creating the interop virtualenv: {python} -m venv --clear {}",
            venv.display()
        );
        run_install_step(
            Command::new(&python)
                .args(["-m", "venv", "--clear"])
                .arg(&venv)
                .current_dir(dir),
            &format!("{python} -m venv (is python3 with the venv module installed?)"),
        )?;
    }
    eprintln!(
        "[python.rs] installing the interop Python packages: pip install -r {}",
        dir.join("requirements.txt").display()
    );
    run_install_step(
        Command::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
                "requirements.txt",
            ])
            .current_dir(dir),
        "pip install -r requirements.txt",
    )?;
    fs::copy(dir.join("requirements.txt"), venv.join(STAMP))
        .map_err(|e| format!("cannot write {}: {e}", venv.join(STAMP).display()))?;
    Ok(())
}

fn run_install_step(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
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

/// What a finished (or killed) Python process left behind.
pub type PythonOutput = peer::PeerOutput;

/// Runs `interop/python/.venv/bin/python interop/python/<script> args...` to
/// completion, killing it after `timeout`. Call [`ensure_venv`] first.
///
/// Stdout is kept line by line, stderr whole. Panics only if the interpreter
/// cannot be started at all.
pub fn run_python(script: &str, args: &[&str], timeout: Duration) -> PythonOutput {
    let dir = python_dir();
    let python = venv_python();
    let path = dir.join(script);
    let command = std::iter::once(format!("{} {}", python.display(), path.display()))
        .chain(args.iter().map(|a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new(&python);
    cmd.arg(&path)
        .args(args)
        .current_dir(&dir)
        // Unbuffered, so that a killed process still shows what it printed.
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    peer::run("python", cmd, command, timeout, "did ensure_venv run?")
}
