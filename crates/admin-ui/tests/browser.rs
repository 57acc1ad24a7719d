//! The official Admin UI dashboard in a real browser against ferrio: Debian's
//! Chromium (driven by playwright-core from `interop/admin-ui/browser.mjs`)
//! loads the dashboard from `@socket.io/admin-ui/ui/dist`, logs in through its
//! connection form, and lists a socket connected to the ferrio server.
//!
//! Needs Node.js, the npm packages of `interop/` and Chromium at
//! `/usr/bin/chromium` (or `$CHROMIUM`): `apt-get install chromium`. The
//! screenshot goes to `target/admin-ui-screenshot.png`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferrio::engine::{Cors, Origins};
use ferrio::{SocketIo, SocketIoConfig};
use ferrio_admin_ui::{Auth, Options, instrument};
use ferrio_test_support::node;

/// bcrypt of "secret", cost 4, made by bcryptjs.
const HASH: &str = "$2a$04$1sKkx5IJoyA/gIu7WSzobeVRTxFqiC/B9ILIHZXoRJN/kfFNYhj52";

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_dashboard_lists_a_ferrio_socket() {
    node::ensure_npm_deps();
    let chromium = chromium();
    // The dashboard's page is served from another port: its origin must be
    // allowed, with credentials (it connects `withCredentials`).
    let cors = Cors::default()
        .origins(Origins::predicate(|origin| {
            origin.starts_with("http://127.0.0.1:")
        }))
        .credentials(true);
    let io = SocketIo::with_config(SocketIoConfig::default().with_engine(|e| e.cors(cors)));
    instrument(&io, Options::new(Auth::basic("admin", HASH))).expect("valid options");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let server = io.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });

    let screenshot = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/admin-ui-screenshot.png")
        .display()
        .to_string();
    let out = tokio::task::spawn_blocking(move || {
        let chromium = chromium.display().to_string();
        node::run_node(
            "admin-ui/browser.mjs",
            &[
                "--url",
                &url,
                "--chromium",
                &chromium,
                "--screenshot",
                &screenshot,
            ],
            Duration::from_secs(90),
        )
    })
    .await
    .expect("node ran");
    out.assert_ok();
}
