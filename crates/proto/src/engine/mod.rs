//! The Engine.IO v4 wire format.
//!
//! An Engine.IO packet is a type character followed by its data. Over WebSocket each
//! packet is one frame (a binary message is a binary frame holding only its bytes);
//! over HTTP long-polling the packets of one request or response are joined by the
//! record separator `\x1e` into a [payload](decode_payload), with binary messages
//! written as `b` followed by their standard base64.
//!
//! The v3 polling payloads of older clients (engine.io-client 3.x, Socket.IO v2)
//! have their own codec, the `*_v3` functions.

mod error;
mod handshake;
mod packet;
mod payload;
mod v3;

pub use error::DecodeError;
pub use handshake::Handshake;
pub use packet::{
    Packet, PacketType, decode_binary, decode_text, encode_message_text, encode_packet,
};
pub use payload::{
    PayloadDecoder, RECORD_SEPARATOR, decode_payload, encode_payload_binary, encode_payload_packet,
};

pub use v3::{
    BINARY_MESSAGE_TYPE, BinaryPayloadV3, TextPayloadV3, decode_binary_payload_v3,
    decode_binary_v3, decode_text_payload_v3, encode_binary_payload_binary_v3,
    encode_binary_payload_text_v3, encode_text_payload_binary_v3, encode_text_payload_text_v3,
};

/// The Engine.IO protocol revision this crate implements (`EIO=4` in the query).
pub const PROTOCOL_VERSION: u8 = 4;
