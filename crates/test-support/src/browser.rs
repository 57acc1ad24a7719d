//! The browser the web-page tests drive: Debian's Chromium.

use std::path::PathBuf;

/// Chromium's path: `$CHROMIUM`, or `/usr/bin/chromium`. Panics with the
/// install command when it is not there.
pub fn chromium() -> PathBuf {
    let path =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(
        path.is_file(),
        "no Chromium at {}: install it with `apt-get install chromium` (or set CHROMIUM)",
        path.display()
    );
    path
}
