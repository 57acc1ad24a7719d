use thiserror::Error;

/// Why bytes from a peer are not a valid Engine.IO packet or payload.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A packet had no type character at all.
    #[error("empty packet")]
    Empty,
    /// The first character is not one of the seven packet types.
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// A `b`-prefixed packet in a polling payload was not valid standard base64.
    #[error("invalid base64 in binary packet")]
    InvalidBase64,
    /// A text payload or packet was not valid UTF-8.
    #[error("payload is not valid UTF-8")]
    InvalidUtf8,
    /// A v3 payload's packet length was missing, malformed or longer than
    /// what follows it.
    #[error("invalid packet length in v3 payload")]
    InvalidLength,
    /// A v3 binary packet was of another type than message.
    #[error("v3 binary packet of a type other than message")]
    InvalidBinaryType,
}
