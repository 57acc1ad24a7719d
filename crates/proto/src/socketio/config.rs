/// Limits a Socket.IO decoder enforces on what a peer sends.
///
/// ```
/// use ferrio_proto::socketio::DecoderConfig;
///
/// let config = DecoderConfig::default().max_attachments(64).max_depth(16);
/// assert_eq!(config.max_attachments, 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// The most binary attachments one packet may announce. Default: 10, the
    /// `maxAttachments` default of the npm parser since 4.2.6.
    ///
    /// Together with the Engine.IO payload limit this bounds the bytes one packet can
    /// make a peer buffer.
    pub max_attachments: usize,
    /// The deepest nesting of arrays and objects accepted in a JSON payload; the
    /// event array itself is level 1. Default: 64.
    ///
    /// The decoder checks it before parsing, so a deep payload is an error and never
    /// a stack overflow. `serde_json` refuses 128 levels or more on its own, so
    /// values above 127 act as 127 (the payload is then reported as invalid JSON).
    pub max_depth: usize,
    /// The most JSON values one packet's payload may hold: numbers, strings,
    /// literals, arrays and objects, at any depth (placeholders count as objects).
    /// Default: 10 000.
    ///
    /// A parsed value costs at least 72 bytes (a `serde_json::Value`, or a
    /// [`Payload`](super::Payload) per argument) for as little as 2 bytes on the
    /// wire, so this bounds what decoding a packet and reading its arguments as
    /// `serde_json::Value` can take beyond 4× the packet's size: at worst about 512
    /// bytes per value (a payload that is not kept as text, and one `Value` read of
    /// it: two trees of objects of one key), about 5 MiB with the default. The decoder counts before it parses, in the
    /// same linear pass as the depth; the count is an upper bound (one, plus one
    /// per comma, per array and per object).
    pub max_json_values: usize,
}

impl DecoderConfig {
    /// Sets [`max_attachments`](Self::max_attachments).
    pub const fn max_attachments(mut self, max: usize) -> Self {
        self.max_attachments = max;
        self
    }

    /// Sets [`max_depth`](Self::max_depth).
    pub const fn max_depth(mut self, max: usize) -> Self {
        self.max_depth = max;
        self
    }

    /// Sets [`max_json_values`](Self::max_json_values) (default: 10 000).
    pub const fn max_json_values(mut self, max: usize) -> Self {
        self.max_json_values = max;
        self
    }
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_attachments: 10,
            max_depth: 64,
            max_json_values: 10_000,
        }
    }
}
