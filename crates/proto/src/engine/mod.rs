//! The Engine.IO v4 wire format.
//!
//! An Engine.IO packet is a type character followed by its data. Over WebSocket each
//! packet is one frame (a binary message is a binary frame holding only its bytes);
//! over HTTP long-polling the packets of one request or response are joined by the
//! record separator `\x1e` into a [payload](decode_payload), with binary messages
//! written as `b` followed by their standard base64.

mod error;
mod handshake;
mod packet;
mod payload;

pub use error::DecodeError;
pub use handshake::Handshake;
pub use packet::{
    Packet, PacketType, decode_binary, decode_text, encode_message_text, encode_packet,
};
pub use payload::{
    PayloadDecoder, RECORD_SEPARATOR, decode_payload, encode_payload_binary, encode_payload_packet,
};

/// The Engine.IO protocol revision this crate implements (`EIO=4` in the query).
pub const PROTOCOL_VERSION: u8 = 4;
