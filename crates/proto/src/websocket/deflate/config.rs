//! The settings of permessage-deflate, as one end wants it.

/// How a WebSocket end uses permessage-deflate (RFC 7692): what it offers or
/// accepts, and which messages it compresses. The defaults are those of
/// Node's `ws` as socket.io configures it (`perMessageDeflate: { threshold:
/// 1024 }`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Messages smaller than this many bytes are sent uncompressed. Default
    /// 1024, as socket.io's.
    pub threshold: usize,
    /// The zlib compression level, 0–9. Default 6 (zlib's default, as `ws`).
    pub level: u32,
    /// Ask that the server compress every message afresh. Default false.
    pub server_no_context_takeover: bool,
    /// Ask that the client compress every message afresh. Default false.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, in bits (9–15).
    /// Default 15.
    pub server_max_window_bits: u8,
    /// The window the client is told to compress with, in bits (8–15), when
    /// it lets the server choose; `None` leaves it to the client. Default
    /// `None`.
    pub client_max_window_bits: Option<u8>,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            threshold: 1024,
            level: 6,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: None,
        }
    }
}

impl DeflateConfig {
    /// Messages smaller than `bytes` are sent uncompressed. Default 1024.
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The zlib compression level, clamped to 0–9. Default 6.
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Whether the server compresses every message afresh, holding no
    /// compression state between messages. Default false.
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Whether the client is asked to compress every message afresh, so that
    /// the server holds no decompression state between messages. Default
    /// false.
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// The largest window the server compresses with, in bits, clamped to
    /// 9–15. Default 15.
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// The window the client is told to compress with, in bits (clamped to
    /// 8–15), when it lets the server choose. Default `None`.
    pub fn client_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.client_max_window_bits = bits.map(|b| b.clamp(8, 15));
        self
    }
}
