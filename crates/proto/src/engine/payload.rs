use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{DecodeError, Packet, encode_packet};

/// The byte that separates packets in a long-polling payload.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Splits a long-polling payload into its packets.
///
/// Each segment between separators is decoded on its own; a binary message arrives
/// as `b<base64>` and is decoded into owned bytes. An empty body or segment
/// packets is not valid: it yields [`DecodeError::Empty`], as the reference parser errs.
pub fn decode_payload(body: &[u8]) -> PayloadDecoder<'_> {
    PayloadDecoder { rest: Some(body) }
}

/// Iterator over the packets of a payload; see [`decode_payload`].
///
/// It yields `Err` for a bad segment and then continues with the next one; a server
/// usually stops at the first error and closes the session.
#[derive(Debug, Clone)]
pub struct PayloadDecoder<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for PayloadDecoder<'a> {
    type Item = Result<Packet<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest?;
        let segment = match rest.iter().position(|&b| b == RECORD_SEPARATOR) {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                &rest[..i]
            }
            None => {
                self.rest = None;
                rest
            }
        };
        Some(decode_segment(segment))
    }
}

fn decode_segment(segment: &[u8]) -> Result<Packet<'_>, DecodeError> {
    if let Some(encoded) = segment.strip_prefix(b"b") {
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| DecodeError::InvalidBase64)?;
        return Ok(Packet::Binary(Cow::Owned(bytes)));
    }
    let text = std::str::from_utf8(segment).map_err(|_| DecodeError::InvalidUtf8)?;
    super::decode_text(text)
}

/// Appends one packet to a payload being built in `out`.
///
/// A separator is written first unless `out` is empty, so a caller starts with an
/// empty buffer and pushes packets in order. Binary messages become `b<base64>`.
pub fn encode_payload_packet(packet: &Packet<'_>, out: &mut Vec<u8>) {
    if !out.is_empty() {
        out.push(RECORD_SEPARATOR);
    }
    match packet {
        Packet::Binary(bytes) => encode_payload_binary(bytes, out),
        other => encode_packet(other, out),
    }
}

/// Appends a binary message in its payload form, `b` followed by standard base64.
pub fn encode_payload_binary(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'b');
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), true).unwrap_or(0),
        0,
    );
    let written = STANDARD
        .encode_slice(bytes, &mut out[start..])
        .expect("buffer sized by encoded_len");
    out.truncate(start + written);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(body: &[u8]) -> Result<Vec<Packet<'_>>, DecodeError> {
        decode_payload(body).collect()
    }

    #[test]
    fn splits_on_record_separator() {
        assert_eq!(
            decode_all(b"4hello\x1e2\x1e4world").unwrap(),
            [
                Packet::Message("hello"),
                Packet::Ping(""),
                Packet::Message("world")
            ]
        );
    }

    #[test]
    fn decodes_base64_binary() {
        assert_eq!(
            decode_all(b"bAQIDBA==").unwrap(),
            [Packet::Binary(Cow::Owned(vec![1, 2, 3, 4]))]
        );
        assert_eq!(decode_all(b"b!!"), Err(DecodeError::InvalidBase64));
    }

    #[test]
    fn rejects_empty_segments_and_bad_utf8() {
        assert_eq!(decode_all(b""), Err(DecodeError::Empty));
        assert_eq!(decode_all(b"4a\x1e"), Err(DecodeError::Empty));
        assert_eq!(decode_all(b"4\xff"), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn encodes_like_the_reference() {
        let mut out = Vec::new();
        for p in [
            Packet::Message("hello"),
            Packet::Binary(Cow::Borrowed(&[1, 2, 3, 4])),
            Packet::Close,
        ] {
            encode_payload_packet(&p, &mut out);
        }
        assert_eq!(out, b"4hello\x1ebAQIDBA==\x1e1");
    }
}
