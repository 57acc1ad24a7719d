//! Which Engine.IO revision a session speaks: v4, or v3 for old clients
//! (engine.io-client 3.x, the Socket.IO v2 clients) when
//! [`allow_eio3`](crate::EngineConfig::allow_eio3) is on.
//!
//! The revision is read once from the handshake's `EIO` query parameter and
//! never changes. What differs in v3, and where:
//!
//! - the client pings and the server answers; the session times out after
//!   `ping_interval + ping_timeout` without a ping (`heartbeat`);
//! - a binary message carries its type byte `4` in front of its data, on
//!   every transport: it is added when a frame is sent (`Session::send`),
//!   removed when one is received;
//! - long-polling payloads have their own framing (`http::polling_v3`), and
//!   a client that cannot take binary (`b64` in its handshake) gets binary
//!   messages as base64 text.

use crate::session::info::query_param;

/// The Engine.IO protocol revision of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// Engine.IO v3 (`EIO=3`), the protocol of Socket.IO v2 clients.
    V3,
    /// Engine.IO v4 (`EIO=4`).
    V4,
}

impl Protocol {
    /// The revision a handshake's query asks for. The HTTP front end has
    /// refused anything but `EIO=4`, and `EIO=3` when v3 is allowed.
    pub(crate) fn of_query(query: &str) -> Self {
        match query_param(query, "EIO") {
            Some("3") => Self::V3,
            _ => Self::V4,
        }
    }

    /// The revision's number, as the `EIO` query parameter spells it.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::V3 => 3,
            Self::V4 => 4,
        }
    }
}

/// Whether a v3 client asked, in its handshake, for binary messages as
/// base64 text in polling payloads (`b64` set to anything but the empty
/// string, as Node reads it).
pub(crate) fn wants_base64(query: &str) -> bool {
    query_param(query, "b64").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revision_and_base64_come_from_the_handshake_query() {
        assert_eq!(Protocol::of_query("EIO=3&transport=polling"), Protocol::V3);
        assert_eq!(Protocol::of_query("EIO=4&transport=polling"), Protocol::V4);
        assert!(wants_base64("EIO=3&b64=1"));
        assert!(!wants_base64("EIO=3&b64="));
        assert!(!wants_base64("EIO=3"));
    }
}
