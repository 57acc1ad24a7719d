//! The Socket.IO v5 packet format (the default `socket.io-parser`).
//!
//! A Socket.IO packet travels as the data of an Engine.IO message:
//! `<type>[<attachments>-][<nsp>,][<ack id>][<json>]`, so `2/chat,5["msg","hi"]` is
//! the event `msg` with argument `"hi"` in namespace `/chat`, asking for ack 5. Binary
//! data does not fit in JSON: each buffer is replaced by
//! `{"_placeholder":true,"num":N}`, the packet becomes BINARY_EVENT or BINARY_ACK
//! with its count of attachments, and the buffers follow as binary Engine.IO messages.
//!
//! ```text
//!  send:    Packet<Payload> ──write_message──▶ text (with the Engine.IO `4`), then buffers
//!  receive: text ──▶ Decoder::feed_text ┐
//!           bytes ─▶ Decoder::feed_binary ┴──▶ Packet<Payload> (attachments in place)
//! ```
//!
//! [`Packet::write_message`] is the encoder. [`Args`] is an argument list as the
//! server and the client hand it to users. [`decode_packet`] parses one text part
//! on its own; [`Decoder`] is the state machine a connection keeps to put binary
//! packets back together. Every limit a peer
//! could abuse is in [`DecoderConfig`].
//!
//! ```
//! use bytes::Bytes;
//! use ferrio_proto::socketio::{Decoder, Packet, PacketKind, Payload};
//! use serde_json::json;
//!
//! // Send an event with one binary argument.
//! let args = Payload::Array(vec![json!("img").into(), Bytes::from_static(b"\x89PNG").into()]);
//! let mut text = Vec::new();
//! let buffers = Packet::new(PacketKind::Event, "/", Some(args.clone())).write_message(&mut text);
//! assert_eq!(text, br#"451-["img",{"_placeholder":true,"num":0}]"#);
//!
//! // Receive it (the Engine.IO `4` taken off).
//! let mut decoder = Decoder::default();
//! assert!(decoder.feed_text(std::str::from_utf8(&text[1..]).unwrap())?.is_none());
//! let packet = decoder.feed_binary(buffers[0].clone())?.expect("last attachment");
//! assert_eq!((packet.kind, packet.data), (PacketKind::Event, Some(args)));
//! # Ok::<(), ferrio_proto::socketio::DecodeError>(())
//! ```

mod args;
mod config;
mod decode;
mod decoder;
mod error;
mod event_args;
mod json;
mod kind;
#[cfg(feature = "msgpack")]
pub mod msgpack;
mod packet;
mod parser;
mod payload;
mod payload_de;
mod raw;
mod write;

pub use args::{ArgsError, to_args, to_payload};
pub use config::DecoderConfig;
pub use decode::{decode_packet, packet_namespace};
pub use decoder::Decoder;
pub use error::DecodeError;
pub use event_args::{ArgError, Args};
#[doc(hidden)]
pub use event_args::{
    ack_args, args_data, binary_arg, event_data, read_arg, read_args, split_event,
};
pub use json::{JsFormatter, write_json};
pub use kind::PacketKind;
pub use packet::Packet;
#[doc(hidden)]
pub use packet::{encode_message, encode_packet};
pub use parser::{Parser, UnknownParser};
pub use payload::Payload;
pub use raw::{RawItems, RawJson};

/// The Socket.IO protocol revision this module implements.
pub const PROTOCOL_VERSION: u8 = 5;

/// Event names with a meaning of their own, which neither side may emit; the decoder
/// refuses an event that uses one.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];
