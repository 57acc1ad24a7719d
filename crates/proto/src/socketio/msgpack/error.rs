use thiserror::Error;

/// Why a value could not be written as MessagePack.
///
/// MessagePack lengths are 32-bit: only a string, a buffer, an array or a map
/// with 2^32 items or more cannot be written (notepack.io throws on them too).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string, buffer, array or map has 2^32 bytes or items or more.
    #[error("{what} too long for MessagePack: {len} (at most 4294967295)")]
    TooLong {
        /// `"string"`, `"binary"`, `"array"` or `"map"`.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// Raw JSON text that could not be read again (it is checked when built,
    /// so this does not happen).
    #[error("raw JSON could not be transcoded: {0}")]
    Raw(#[from] serde_json::Error),
}

/// Why MessagePack bytes were refused. Decoding never panics, whatever the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MsgpackError {
    /// The input ended inside a value.
    #[error("MessagePack ends early: {needed} more bytes needed at offset {offset}")]
    Truncated {
        /// Where the value that did not fit starts.
        offset: usize,
        /// How many bytes it needs there.
        needed: usize,
    },
    /// The marker `0xc1`, which MessagePack never uses.
    #[error("invalid MessagePack marker {marker:#04x} at offset {offset}")]
    InvalidMarker {
        /// The marker byte.
        marker: u8,
        /// Its offset.
        offset: usize,
    },
    /// An ext −1 (timestamp) of the `ext 8` form whose length is not 12.
    #[error("timestamp extension of {len} bytes at offset {offset} (ext 8 timestamps have 12)")]
    InvalidTimestamp {
        /// The declared length.
        len: usize,
        /// The offset of the marker.
        offset: usize,
    },
    /// Arrays and maps nest deeper than the limit (the outermost one is level 1).
    #[error("MessagePack nests deeper than {max} levels")]
    TooDeep {
        /// The limit ([`DecoderConfig::max_depth`](crate::socketio::DecoderConfig::max_depth)).
        max: usize,
    },
    /// More values than the limit (map keys that are strings do not count).
    #[error("MessagePack holds more than {max} values")]
    TooManyValues {
        /// The limit ([`DecoderConfig::max_json_values`](crate::socketio::DecoderConfig::max_json_values)).
        max: usize,
    },
    /// Bytes after the value (notepack.io refuses them too).
    #[error("{count} trailing bytes after the MessagePack value")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// Why a binary message is not a `socket.io-msgpack-parser` packet. The
/// messages of the Node parser's checks are kept where it has one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The bytes are not MessagePack, or break a limit.
    #[error(transparent)]
    Msgpack(#[from] MsgpackError),
    /// The value is not a map (Node: "invalid packet type", as `type` is then
    /// missing).
    #[error("invalid packet type: the packet is not a map")]
    NotAMap,
    /// `type` is missing or not an integer from 0 to 4.
    #[error("invalid packet type")]
    InvalidType,
    /// `nsp` is missing or not a string.
    #[error("invalid namespace")]
    InvalidNamespace,
    /// `data` does not fit the type.
    #[error("invalid payload for a {0:?} packet")]
    InvalidPayload(crate::socketio::PacketKind),
    /// `id` is not an integer from 0 to 2^64 − 1.
    #[error("invalid packet id")]
    InvalidId,
    /// An ACK without `id`.
    #[error("ACK packet without an id")]
    MissingAckId,
    /// An event named after one of [`RESERVED_EVENTS`](crate::socketio::RESERVED_EVENTS).
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
}
