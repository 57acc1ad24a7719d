//! Long-polling payloads of Engine.IO v3 sessions: a poll's answer is a text
//! payload (`<length>:<packet>`), or a binary one when it holds a binary
//! message and the client takes binary; a POST's body is either, told by its
//! content type. The codec is `ferrio_proto::engine`'s `*_v3` functions.

use bytes::Bytes;
use ferrio_proto::engine::{
    DecodeError, Packet, decode_binary_payload_v3, decode_text_payload_v3,
    encode_binary_payload_binary_v3, encode_binary_payload_text_v3, encode_text_payload_binary_v3,
    encode_text_payload_text_v3,
};
use http::HeaderMap;
use http::header::{self, HeaderValue};

use crate::{CloseReason, Connection, OutPacket, Session};

/// The content type of a binary payload, both ways.
const OCTET_STREAM: &str = "application/octet-stream";

/// Encodes a poll's answer; `last` are control packets (`6`, `1`) that end
/// it. Binary messages are queued in their v3 form, type byte first.
pub(super) fn encode(
    frames: impl IntoIterator<Item = OutPacket>,
    last: &[&'static str],
    base64: bool,
) -> (Vec<u8>, HeaderValue) {
    let frames: Vec<OutPacket> = frames.into_iter().collect();
    let binary = !base64 && frames.iter().any(|f| matches!(f, OutPacket::Binary(_)));
    let mut out = Vec::new();
    for frame in &frames {
        match (frame, binary) {
            (OutPacket::Text(text), false) => encode_text_payload_text_v3(text, &mut out),
            (OutPacket::Text(text), true) => encode_binary_payload_text_v3(text, &mut out),
            (OutPacket::Binary(bytes), false) => {
                encode_text_payload_binary_v3(data_of(bytes), &mut out);
            }
            (OutPacket::Binary(bytes), true) => {
                encode_binary_payload_binary_v3(data_of(bytes), &mut out);
            }
            // Compressed only for a WebSocket that agreed on permessage-deflate.
            (OutPacket::Deflated(_), _) => {}
        }
    }
    for last in last {
        if binary {
            encode_binary_payload_text_v3(last, &mut out);
        } else {
            encode_text_payload_text_v3(last, &mut out);
        }
    }
    let content_type = if binary {
        HeaderValue::from_static(OCTET_STREAM)
    } else {
        HeaderValue::from_static("text/plain; charset=UTF-8")
    };
    (out, content_type)
}

/// A queued binary message without its type byte.
fn data_of(frame: &Bytes) -> &[u8] {
    frame.get(1..).unwrap_or_default()
}

/// Whether a POST carries a binary payload.
pub(super) fn is_binary(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(OCTET_STREAM.as_bytes()))
}

/// Hands every packet of a v3 payload to the session; stops at the first
/// that is malformed.
pub(super) fn deliver(
    session: &std::sync::Arc<Session>,
    connection: &std::sync::Arc<dyn Connection>,
    body: &Bytes,
    binary: bool,
) -> Result<(), CloseReason> {
    let mut each = |packet: Result<Packet<'_>, DecodeError>| {
        let packet = packet.map_err(|error| {
            tracing::debug!(sid = %session.id(), %error, "malformed v3 payload");
            CloseReason::ParseError
        })?;
        session.on_packet(connection, packet, body)
    };
    if binary {
        decode_binary_payload_v3(body).try_for_each(&mut each)
    } else {
        let text = std::str::from_utf8(body).map_err(|_| CloseReason::ParseError)?;
        decode_text_payload_v3(text).try_for_each(&mut each)
    }
}
