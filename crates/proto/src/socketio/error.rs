use thiserror::Error;

use super::PacketKind;

/// Why frames from a peer are not a valid Socket.IO packet.
///
/// Every variant is a protocol error: the reference server closes the whole
/// connection on any of them, and so should a caller.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text packet had no type character at all.
    #[error("empty packet")]
    Empty,
    /// The first character is not one of the seven packet types.
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// The attachment count of a binary packet is not decimal digits followed by `-`.
    #[error("invalid attachment count")]
    InvalidAttachmentCount,
    /// A binary packet announced zero attachments (the npm 4.2.7 parser refuses it).
    #[error("binary packet without attachments")]
    ZeroAttachments,
    /// A binary packet announced more attachments than the configured maximum.
    #[error("more than {max} attachments")]
    TooManyAttachments {
        /// The configured maximum ([`DecoderConfig::max_attachments`](super::DecoderConfig::max_attachments)).
        max: usize,
    },
    /// The ack id does not fit in a `u64`.
    #[error("ack id out of range")]
    InvalidAckId,
    /// An ACK or BINARY_ACK packet without an ack id.
    #[error("ack packet without an id")]
    MissingAckId,
    /// The payload is not valid JSON.
    #[error("invalid JSON payload at line {line}, column {column}")]
    InvalidJson {
        /// One-based line of the error, as reported by `serde_json`.
        line: usize,
        /// One-based column of the error, as reported by `serde_json`.
        column: usize,
    },
    /// Arrays and objects in the payload nest deeper than the configured maximum.
    #[error("payload nests deeper than {max} levels")]
    TooDeep {
        /// The configured maximum ([`DecoderConfig::max_depth`](super::DecoderConfig::max_depth)).
        max: usize,
    },
    /// The payload holds more JSON values than the configured maximum.
    #[error("payload holds more than {max} JSON values")]
    TooManyValues {
        /// The configured maximum ([`DecoderConfig::max_json_values`](super::DecoderConfig::max_json_values)).
        max: usize,
    },
    /// A packet of this type must carry a payload and has none.
    #[error("{0:?} packet without a payload")]
    MissingPayload(PacketKind),
    /// A DISCONNECT packet carries a payload.
    #[error("{0:?} packet with a payload")]
    UnexpectedPayload(PacketKind),
    /// The payload has the wrong shape for the packet type (for instance a CONNECT
    /// payload that is not an object, or an event that is not a non-empty array whose
    /// first element is a string or a number).
    #[error("invalid payload for a {0:?} packet")]
    InvalidPayload(PacketKind),
    /// An event uses one of the [reserved names](super::RESERVED_EVENTS).
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
    /// A text packet arrived while the attachments of a binary packet were awaited.
    #[error("text packet while {remaining} binary attachments are awaited")]
    UnexpectedText {
        /// How many attachments were still missing.
        remaining: usize,
    },
    /// A binary frame arrived while no binary packet was awaiting attachments.
    #[error("binary frame without a binary packet")]
    UnexpectedBinary,
    /// A placeholder's `num` is not an integer below the attachment count.
    #[error("invalid attachment placeholder")]
    InvalidPlaceholder,
}

impl DecodeError {
    pub(crate) fn from_json(e: &serde_json::Error) -> Self {
        Self::InvalidJson {
            line: e.line(),
            column: e.column(),
        }
    }
}
