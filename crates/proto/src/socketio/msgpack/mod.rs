//! MessagePack with the bytes of notepack.io 3.0.1, the encoder that Node's Redis
//! adapters (`@socket.io/redis-adapter`, `@socket.io/redis-emitter`) and
//! `socket.io-msgpack-parser` use. Behind the `msgpack` feature.
//!
//! [`Writer`] writes values the way notepack writes the same JavaScript values,
//! byte for byte: JSON ([`Writer::value`]), raw JSON text ([`Writer::raw`]),
//! payloads with binary leaves ([`Writer::payload`]), and the maps, arrays,
//! strings, integers and buffers of an envelope around them. Numbers follow
//! JavaScript's single number type (`2.0` is written `02`). [`decode`] reads what
//! Node sends into a [`Payload`](super::Payload), with the limits of a
//! [`DecoderConfig`](super::DecoderConfig), as a Node server would pass it on
//! (a `Date` becomes its ISO string, NaN becomes `null`, ...).
//!
//! [`write_packet`] and [`decode_packet`] are the packets of
//! `socket.io-msgpack-parser` 3.0.2 ([`Parser::MsgPack`](super::Parser::MsgPack)),
//! one map per packet; for the values ferrio writes (JSON and buffers) its
//! notepack.io 2.2 writes the same bytes as 3.0.1.
//!
//! ```
//! use bytes::Bytes;
//! use ferrio_proto::socketio::{DecoderConfig, Payload, msgpack};
//! use serde_json::json;
//!
//! let args = Payload::Array(vec![json!("img").into(), Bytes::from_static(&[1, 2]).into()]);
//! let bytes = msgpack::encode(&args)?;
//! assert_eq!(bytes, b"\x92\xa3img\xc4\x02\x01\x02");
//! assert_eq!(msgpack::decode(&Bytes::from(bytes), &DecoderConfig::default())?, args);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Where the bytes can differ from notepack's for the same value (a peer decodes
//! the same value either way):
//!
//! * integer-like object keys: JavaScript puts `"0"`…`"4294967294"` first in
//!   ascending order, ferrio keeps the map's order;
//! * lone surrogates: notepack writes 3-byte WTF-8, ferrio U+FFFD;
//! * integral numbers at or beyond 2^64 or below −2^63: notepack wraps them
//!   modulo 2^64 into `cf`/`d3`, ferrio writes `cb` and keeps the value;
//! * integers held exactly in Rust beyond ±2^53 are written exactly; JavaScript
//!   holds the nearest `f64`, which is what a JavaScript decoder reads.

mod date;
mod decode;
mod encode;
mod error;
mod packet;
mod transcode;
mod writer;

pub use decode::decode;
pub use encode::{encode, encode_value};
pub use error::{EncodeError, MsgpackError, PacketError};
pub use packet::{decode_packet, write_packet};
pub use writer::Writer;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod packet_tests;
