//! Test support shared by the integration tests of ferrio's crates: the
//! Node.js and Python programs of the repository's `interop/` folder, run as
//! real peers, and a `redis-server` of each test's own.
//!
//! A dev-dependency only (`publish = false`). Std only: the peers print one
//! JSON object per line (`{"event":"...",...}`), kept raw and matched by
//! substring.
//!
//! ```ignore
//! use ferrio_test_support::node;
//!
//! node::ensure_npm_deps();
//! let out = node::run_node(
//!     "engineio/client.mjs",
//!     &["--url", &url, "--mode", "websocket", "--scenario", "echo-text"],
//!     std::time::Duration::from_secs(20),
//! );
//! out.assert_ok();
//! ```

#![warn(unreachable_pub, missing_debug_implementations)]

pub mod browser;
mod install_lock;
pub mod node;
mod peer;
pub mod python;
pub mod redis;

pub use peer::PeerOutput;
