//! Configuration knobs that the fixes add and that do not exist on main
//! (450456b). Each one is a small function here, called from the child's
//! configuration, that does nothing today: after merging the branch that adds
//! the knob, replace its body by the commented call (`TODO(merge)`).
//!
//! Tests ask for a knob through [`Knobs`]; with the body empty the test runs
//! against the defaults, which is what the "before" figures measure.

use std::time::Duration;

use ferrio::engine::EngineConfig;
use ferrio::{ServeConfig, SocketIoConfig};
use serde::{Deserialize, Serialize};

/// The knobs a test asks for (ms for durations).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Knobs {
    /// Finding 6: `packet_completion_timeout`.
    pub packet_completion_timeout_ms: Option<u64>,
    /// Finding 5: `ServeConfig::request_timeout` (body included).
    pub request_timeout_ms: Option<u64>,
    /// Finding 5: a write/idle timeout for responses.
    pub response_write_timeout_ms: Option<u64>,
    /// Finding 3: an engine-wide budget of queued bytes.
    pub max_total_buffered_bytes: Option<usize>,
    /// Finding 9: remove a dynamic child namespace when its last socket leaves.
    pub cleanup_empty_child_namespaces: bool,
    /// Finding 10: enforce the CORS Origin list on handshakes and upgrades.
    pub enforce_origins: bool,
    /// Finding 14: polling handshakes in progress per remote address.
    pub max_pending_handshakes_per_ip: Option<usize>,
}

/// Applies the engine knobs.
pub fn engine(config: EngineConfig, knobs: &Knobs) -> EngineConfig {
    let config = max_total_buffered_bytes(config, knobs.max_total_buffered_bytes);
    let config = enforce_origins(config, knobs.enforce_origins);
    max_pending_handshakes_per_ip(config, knobs.max_pending_handshakes_per_ip)
}

/// Applies the Socket.IO knobs.
pub fn socketio(config: SocketIoConfig, knobs: &Knobs) -> SocketIoConfig {
    let config = packet_completion_timeout(config, knobs.packet_completion_timeout_ms);
    cleanup_empty_child_namespaces(config, knobs.cleanup_empty_child_namespaces)
}

/// Applies the listener knobs.
pub fn serve(config: ServeConfig, knobs: &Knobs) -> ServeConfig {
    let config = request_timeout(config, knobs.request_timeout_ms);
    response_write_timeout(config, knobs.response_write_timeout_ms)
}

fn ms(ms: Option<u64>) -> Option<Duration> {
    ms.map(Duration::from_millis)
}

// TODO(merge): finding 6 (server branch: `SocketIoConfig::packet_completion_timeout`).
// Replace by
// `match ms(timeout) { Some(t) => config.packet_completion_timeout(t), None => config }`.
fn packet_completion_timeout(config: SocketIoConfig, timeout: Option<u64>) -> SocketIoConfig {
    let _ = ms(timeout);
    config
}

// TODO(merge): finding 3 (engine branch, `EngineConfig::max_total_buffered_bytes`;
// no test sets it today: the tests run against its default). Replace by
// `match budget { Some(b) => config.max_total_buffered_bytes(b), None => config }`.
fn max_total_buffered_bytes(config: EngineConfig, budget: Option<usize>) -> EngineConfig {
    let _ = budget;
    config
}

// TODO(merge): finding 10 (HTTP branch, merged into main as 377b864): the fix
// enforces `Origins::List` on every request by default (`http/cors.rs`
// `allows`), so this stays a no-op; delete it with the `enforce_origins` field.
fn enforce_origins(config: EngineConfig, enforce: bool) -> EngineConfig {
    let _ = enforce;
    config
}

// TODO(merge): finding 14 (HTTP branch, in main as 377b864). Replace by
// `config.max_pending_handshakes_per_address(max)`.
fn max_pending_handshakes_per_ip(config: EngineConfig, max: Option<usize>) -> EngineConfig {
    let _ = max;
    config
}

// TODO(merge): finding 9 (server branch). Replace by
// `config.cleanup_empty_child_namespaces(cleanup)`.
fn cleanup_empty_child_namespaces(config: SocketIoConfig, cleanup: bool) -> SocketIoConfig {
    let _ = cleanup;
    config
}

// TODO(merge): finding 5 (HTTP branch, in main as 377b864). Replace by
// `match ms(timeout) { Some(t) => config.request_timeout(t), None => config }`.
fn request_timeout(config: ServeConfig, timeout: Option<u64>) -> ServeConfig {
    let _ = ms(timeout);
    config
}

// TODO(merge): finding 5 (HTTP branch, in main as 377b864). Replace by
// `match ms(timeout) { Some(t) => config.write_timeout(t), None => config }`.
fn response_write_timeout(config: ServeConfig, timeout: Option<u64>) -> ServeConfig {
    let _ = ms(timeout);
    config
}
