//! Run the Python programs in `interop/python/` as real peers, the Python
//! counterpart of [`node`](crate::node).
//!
//! ```ignore
//! use ferrio_test_support::python;
//!
//! python::ensure_venv();
//! let out = python::run_python(
//!     "client.py",
//!     &["--url", &url, "--transport", "websocket", "--scenario", "auth"],
//!     std::time::Duration::from_secs(60),
//! );
//! out.assert_ok();
//! ```
//!
//! The scripts end with `{"event":"result","ok":...}`.

use crate::install_lock;
use crate::peer;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
/// Written into the virtualenv after a successful install: a copy of the
/// `requirements.txt` it was installed from. The venv is up to date when the two
/// are the same (`scripts/test` uses the same file).
const STAMP: &str = ".requirements.installed";

/// The repository's `interop/python/` folder.
///
/// Found by walking up from this crate's folder (`crates/test-support`) to the first ancestor holding
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
    let _guard = install_lock::acquire(&lock, "venv install")?;
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
