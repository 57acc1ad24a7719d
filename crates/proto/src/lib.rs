//! Sans-IO codecs for the protocols ferrio speaks.
//!
//! This crate holds every byte format of Engine.IO v4 and Socket.IO v5 as pure
//! functions: no sockets, no clock, no runtime. The server, the client and the load
//! generator all share it, and it is what the property tests and fuzzers exercise.
//!
//! Decoders take a borrowed frame and return a typed error on bad input; they never
//! panic on what a peer sends. Encoders append to a buffer the caller owns, so a
//! writer can batch many packets into one allocation.
//!
//! The `msgpack` feature adds `socketio::msgpack`: MessagePack with the bytes of
//! notepack.io, which Node's Redis adapters and `socket.io-msgpack-parser` use.
//!
//! ```
//! use ferrio_proto::engine::{Packet, decode_text, encode_packet};
//!
//! let packet = decode_text("4hello").unwrap();
//! assert_eq!(packet, Packet::Message("hello"));
//!
//! let mut out = Vec::new();
//! encode_packet(&Packet::Ping(""), &mut out);
//! assert_eq!(out, b"2");
//! ```

#![warn(unreachable_pub, missing_debug_implementations)]

pub mod engine;
pub mod socketio;
pub mod websocket;
