//! The limits and timeouts a test sets on the child server beyond the
//! defaults: the options the security fixes added (completion timeout,
//! request and write timeouts, the engine-wide buffer budget, namespace
//! cleanup, per-address handshakes). Tests ask for them through [`Knobs`];
//! what a test leaves unset stays at its default.

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
    /// Finding 14: polling handshakes in progress per remote address.
    pub max_pending_handshakes_per_ip: Option<usize>,
    /// permessage-deflate on, with Node's defaults (the zip bomb).
    #[serde(default)]
    pub per_message_deflate: bool,
    /// WebSockets that may hold a compression context.
    #[serde(default)]
    pub max_deflate_sessions: Option<usize>,
}

/// Applies the engine knobs.
pub fn engine(config: EngineConfig, knobs: &Knobs) -> EngineConfig {
    let config = match knobs.max_total_buffered_bytes {
        Some(budget) => config.max_total_buffered_bytes(budget),
        None => config,
    };
    let config = match knobs.max_deflate_sessions {
        Some(max) => config.max_deflate_sessions(max),
        None => config,
    };
    config
        .max_pending_handshakes_per_address(knobs.max_pending_handshakes_per_ip)
        .per_message_deflate(
            knobs
                .per_message_deflate
                .then(ferrio::engine::DeflateConfig::default),
        )
}

/// Applies the Socket.IO knobs.
pub fn socketio(config: SocketIoConfig, knobs: &Knobs) -> SocketIoConfig {
    let config = match ms(knobs.packet_completion_timeout_ms) {
        Some(timeout) => config.packet_completion_timeout(timeout),
        None => config,
    };
    config.cleanup_empty_child_namespaces(knobs.cleanup_empty_child_namespaces)
}

/// Applies the listener knobs.
pub fn serve(config: ServeConfig, knobs: &Knobs) -> ServeConfig {
    let config = match ms(knobs.request_timeout_ms) {
        Some(timeout) => config.request_timeout(timeout),
        None => config,
    };
    match ms(knobs.response_write_timeout_ms) {
        Some(timeout) => config.write_timeout(timeout),
        None => config,
    }
}

fn ms(ms: Option<u64>) -> Option<Duration> {
    ms.map(Duration::from_millis)
}
