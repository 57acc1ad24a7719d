//! A lock file around a one-time install (`npm ci`, a virtualenv), so that
//! test binaries running in parallel do not install at the same time.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// A lock file older than this is considered left behind by a dead process.
const STALE_LOCK: Duration = Duration::from_secs(600);
/// How long to wait for another process's install before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(900);

/// The held lock; removes its file when dropped (also on panic).
#[derive(Debug)]
pub(crate) struct InstallLock(PathBuf);

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Creates `lock` (with this process's id in it), waiting while another
/// process holds it, and taking it over once it is stale. `what` names the
/// install in the message when the wait runs out ("npm install").
pub(crate) fn acquire(lock: &Path, what: &str) -> Result<InstallLock, String> {
    let started = Instant::now();
    loop {
        match OpenOptions::new().write(true).create_new(true).open(lock) {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", std::process::id());
                return Ok(InstallLock(lock.to_path_buf()));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if is_stale(lock) {
                    let _ = fs::remove_file(lock);
                    continue;
                }
                if started.elapsed() > LOCK_WAIT {
                    return Err(format!(
                        "waited {LOCK_WAIT:?} for {} to disappear (another {what}?); \
                         remove it if no install is running",
                        lock.display()
                    ));
                }
                thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(format!("cannot create {}: {e}", lock.display())),
        }
    }
}

fn is_stale(lock: &Path) -> bool {
    fs::metadata(lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_LOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_lives_as_long_as_the_guard() {
        let lock = std::env::temp_dir().join(format!("ferrio-install-lock-{}", std::process::id()));
        let guard = acquire(&lock, "test install").unwrap();
        assert!(lock.is_file());
        drop(guard);
        assert!(!lock.exists());
    }
}
