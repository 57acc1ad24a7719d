//! The tests' own `redis-server` (shared with other crates' tests through
//! `ferrio-test-support`).

#![allow(unused_imports)] // each test binary uses a different subset

pub use ferrio_test_support::redis::{RedisServer, free_port};
