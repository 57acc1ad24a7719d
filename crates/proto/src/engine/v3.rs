//! The Engine.IO v3 polling payloads (engine.io-parser 2.x), for old clients.
//!
//! v3 packets are the v4 ones; what differs is how a long-polling payload
//! joins them, and that a binary message carries its type byte (`4`) in front
//! of its data, in a WebSocket binary frame as in a payload:
//!
//! - a **text payload** is `<length>:<packet>` repeated, the length counted in
//!   UTF-16 code units (JavaScript's `String.length`); a binary message is
//!   written in it as `b4` followed by its standard base64;
//! - a **binary payload** (`application/octet-stream`) is, per packet, a
//!   marker byte (`0` for a text packet, `1` for a binary one), the decimal
//!   digits of its byte length as bytes 0–9, `0xff`, then the packet: a text
//!   packet as UTF-8, a binary one as its type byte and data.
//!
//! Packets of type message are the only binary ones a client sends; the
//! decoders hand their data out as [`Packet::Binary`] without the type byte.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{DecodeError, Packet, PacketType, decode_text};

/// The type byte in front of a v3 binary message.
pub const BINARY_MESSAGE_TYPE: u8 = 4;

/// The most length digits a v3 payload may use for one packet: more than any
/// payload a server accepts (Node allows 310, `Number.MAX_VALUE`'s length).
const MAX_LENGTH_DIGITS: usize = 10;

/// Splits a v3 text payload (`<length>:<packet>...`) into its packets.
///
/// A packet of length 0 is skipped, as the reference does; an empty body is
/// [`DecodeError::Empty`].
pub fn decode_text_payload_v3(body: &str) -> TextPayloadV3<'_> {
    TextPayloadV3 {
        rest: body,
        first: true,
    }
}

/// Iterator over the packets of a v3 text payload; see [`decode_text_payload_v3`].
///
/// After an error it yields nothing more: the framing is lost.
#[derive(Debug, Clone)]
pub struct TextPayloadV3<'a> {
    rest: &'a str,
    first: bool,
}

impl<'a> Iterator for TextPayloadV3<'a> {
    type Item = Result<Packet<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                let first = std::mem::replace(&mut self.first, false);
                return first.then_some(Err(DecodeError::Empty));
            }
            self.first = false;
            let result = self.split_one();
            match result {
                Ok("") => continue,
                Ok(packet) => return Some(decode_v3_text_packet(packet)),
                Err(error) => {
                    self.rest = "";
                    return Some(Err(error));
                }
            }
        }
    }
}

impl<'a> TextPayloadV3<'a> {
    /// Takes the next `<length>:<packet>` off the payload.
    fn split_one(&mut self) -> Result<&'a str, DecodeError> {
        let (digits, tail) = self
            .rest
            .split_once(':')
            .ok_or(DecodeError::InvalidLength)?;
        let units = parse_length(digits.as_bytes(), b'0')?;
        let end = utf16_prefix_end(tail, units).ok_or(DecodeError::InvalidLength)?;
        let (packet, rest) = tail.split_at(end);
        self.rest = rest;
        Ok(packet)
    }
}

/// The byte index in `s` after its first `units` UTF-16 code units, if `s`
/// has that many and the count does not end inside a character.
fn utf16_prefix_end(s: &str, units: usize) -> Option<usize> {
    let mut counted = 0;
    for (at, c) in s.char_indices() {
        if counted == units {
            return Some(at);
        }
        counted += c.len_utf16();
        if counted > units {
            return None;
        }
    }
    (counted == units).then_some(s.len())
}

/// Parses a payload length: 1 to [`MAX_LENGTH_DIGITS`] decimal digits, as
/// ASCII (`zero` is `b'0'`, text payloads) or as byte values 0–9 (`zero` is
/// 0, binary payloads).
fn parse_length(digits: &[u8], zero: u8) -> Result<usize, DecodeError> {
    if digits.is_empty() || digits.len() > MAX_LENGTH_DIGITS {
        return Err(DecodeError::InvalidLength);
    }
    digits.iter().try_fold(0usize, |n, &d| {
        let d = d.wrapping_sub(zero);
        if d > 9 {
            return Err(DecodeError::InvalidLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d)))
            .ok_or(DecodeError::InvalidLength)
    })
}

/// Decodes one packet of a v3 text payload: a v4-style text packet, or
/// `b<type><base64>`, a binary message.
fn decode_v3_text_packet(packet: &str) -> Result<Packet<'_>, DecodeError> {
    match packet.strip_prefix('b') {
        Some(encoded) => {
            let encoded = encoded
                .strip_prefix(PacketType::Message.as_char() as char)
                .ok_or(DecodeError::InvalidBinaryType)?;
            let bytes = STANDARD
                .decode(encoded)
                .map_err(|_| DecodeError::InvalidBase64)?;
            Ok(Packet::Binary(Cow::Owned(bytes)))
        }
        None => decode_text(packet),
    }
}

/// Splits a v3 binary payload into its packets.
pub fn decode_binary_payload_v3(body: &[u8]) -> BinaryPayloadV3<'_> {
    BinaryPayloadV3 {
        rest: body,
        first: true,
    }
}

/// Iterator over the packets of a v3 binary payload; see
/// [`decode_binary_payload_v3`]. After an error it yields nothing more.
#[derive(Debug, Clone)]
pub struct BinaryPayloadV3<'a> {
    rest: &'a [u8],
    first: bool,
}

impl<'a> Iterator for BinaryPayloadV3<'a> {
    type Item = Result<Packet<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            let first = std::mem::replace(&mut self.first, false);
            return first.then_some(Err(DecodeError::Empty));
        }
        self.first = false;
        let result = self.split_one();
        if result.is_err() {
            self.rest = &[];
        }
        Some(result)
    }
}

impl<'a> BinaryPayloadV3<'a> {
    fn split_one(&mut self) -> Result<Packet<'a>, DecodeError> {
        let (&marker, tail) = self.rest.split_first().ok_or(DecodeError::Empty)?;
        let end = tail
            .iter()
            .take(MAX_LENGTH_DIGITS + 1)
            .position(|&b| b == 0xff)
            .ok_or(DecodeError::InvalidLength)?;
        let (digits, tail) = tail.split_at(end);
        let len = parse_length(digits, 0)?;
        let tail = tail.get(1..).unwrap_or_default();
        if tail.len() < len {
            return Err(DecodeError::InvalidLength);
        }
        let (packet, rest) = tail.split_at(len);
        self.rest = rest;
        match marker {
            0 => {
                let text = std::str::from_utf8(packet).map_err(|_| DecodeError::InvalidUtf8)?;
                decode_v3_text_packet(text)
            }
            1 => decode_binary_v3(packet),
            _ => Err(DecodeError::InvalidLength),
        }
    }
}

/// Decodes a v3 binary packet (a WebSocket binary frame, or a binary entry of
/// a payload): its type byte, which must be message, then its data.
pub fn decode_binary_v3(frame: &[u8]) -> Result<Packet<'_>, DecodeError> {
    match frame.split_first() {
        Some((&BINARY_MESSAGE_TYPE, data)) => Ok(Packet::Binary(Cow::Borrowed(data))),
        Some(_) => Err(DecodeError::InvalidBinaryType),
        None => Err(DecodeError::Empty),
    }
}

/// Appends a text packet to a v3 text payload: `<length>:<packet>`, the
/// length in UTF-16 code units.
pub fn encode_text_payload_text_v3(packet: &str, out: &mut Vec<u8>) {
    let units = if packet.is_ascii() {
        packet.len()
    } else {
        packet.chars().map(char::len_utf16).sum()
    };
    push_decimal(units, out);
    out.push(b':');
    out.extend_from_slice(packet.as_bytes());
}

/// Appends a binary message to a v3 text payload: `<length>:b4<base64>`.
/// `data` is the message without its type byte.
pub fn encode_text_payload_binary_v3(data: &[u8], out: &mut Vec<u8>) {
    let encoded = base64::encoded_len(data.len(), true).unwrap_or(0);
    push_decimal(2 + encoded, out);
    out.extend_from_slice(b":b4");
    let start = out.len();
    out.resize(start + encoded, 0);
    let written = STANDARD
        .encode_slice(data, &mut out[start..])
        .expect("buffer sized by encoded_len");
    out.truncate(start + written);
}

/// Appends a text packet to a v3 binary payload: `0`, its length digits,
/// `0xff`, its UTF-8.
pub fn encode_binary_payload_text_v3(packet: &str, out: &mut Vec<u8>) {
    out.push(0);
    push_length_bytes(packet.len(), out);
    out.extend_from_slice(packet.as_bytes());
}

/// Appends a binary message to a v3 binary payload: `1`, its length digits,
/// `0xff`, the type byte `4` and `data`.
pub fn encode_binary_payload_binary_v3(data: &[u8], out: &mut Vec<u8>) {
    out.push(1);
    push_length_bytes(1 + data.len(), out);
    out.push(BINARY_MESSAGE_TYPE);
    out.extend_from_slice(data);
}

fn push_decimal(n: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(n.to_string().as_bytes());
}

/// The length's decimal digits as byte values 0–9, then `0xff`.
fn push_length_bytes(n: usize, out: &mut Vec<u8>) {
    out.extend(n.to_string().bytes().map(|d| d - b'0'));
    out.push(0xff);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(body: &str) -> Result<Vec<Packet<'_>>, DecodeError> {
        decode_text_payload_v3(body).collect()
    }

    fn binary(body: &[u8]) -> Result<Vec<Packet<'_>>, DecodeError> {
        decode_binary_payload_v3(body).collect()
    }

    #[test]
    fn text_payloads_split_on_their_lengths() {
        assert_eq!(
            text("6:4hello2:2:1:6").unwrap(),
            [Packet::Message("hello"), Packet::Ping(":"), Packet::Noop]
        );
        assert_eq!(text("3:4é€").unwrap(), [Packet::Message("é€")]);
        // An emoji is two UTF-16 code units.
        assert_eq!(text("3:4😀").unwrap(), [Packet::Message("😀")]);
        assert_eq!(text("0:1:2").unwrap(), [Packet::Ping("")]);
        assert_eq!(
            text("10:b4AQIDBA==").unwrap(),
            [Packet::Binary(Cow::Owned(vec![1, 2, 3, 4]))]
        );
    }

    #[test]
    fn bad_text_payloads_are_refused() {
        assert_eq!(text(""), Err(DecodeError::Empty));
        for body in [
            "4hello",
            "7:4hello",
            "x:4",
            ":4",
            "2:4😀",
            "2:4",
            "12345678901:4",
        ] {
            assert_eq!(text(body), Err(DecodeError::InvalidLength), "{body}");
        }
        assert_eq!(text("2:9x"), Err(DecodeError::UnknownType(b'9')));
        assert_eq!(text("4:b2AA"), Err(DecodeError::InvalidBinaryType));
        assert_eq!(text("4:b4!!"), Err(DecodeError::InvalidBase64));
        // The framing is lost after an error: nothing more comes.
        assert_eq!(decode_text_payload_v3("x:2:2").count(), 1);
    }

    #[test]
    fn binary_payloads_split_on_their_lengths() {
        let body = [
            &[0, 6, 0xff][..],
            b"4hello",
            &[1, 4, 0xff, 4, 1, 2, 3],
            &[0, 1, 0xff],
            b"2",
        ]
        .concat();
        assert_eq!(
            binary(&body).unwrap(),
            [
                Packet::Message("hello"),
                Packet::Binary(Cow::Borrowed(&[1, 2, 3])),
                Packet::Ping("")
            ]
        );
    }

    #[test]
    fn bad_binary_payloads_are_refused() {
        assert_eq!(binary(b""), Err(DecodeError::Empty));
        assert_eq!(binary(&[0, 6, 0xff, b'4']), Err(DecodeError::InvalidLength));
        assert_eq!(binary(&[0, 1, 2]), Err(DecodeError::InvalidLength));
        assert_eq!(binary(&[2, 1, 0xff, b'2']), Err(DecodeError::InvalidLength));
        assert_eq!(
            binary(&[0, 10, 0xff, b'2']),
            Err(DecodeError::InvalidLength)
        );
        assert_eq!(binary(&[0, 0xff]), Err(DecodeError::InvalidLength));
        assert_eq!(
            binary(&[1, 2, 0xff, 3, 1]),
            Err(DecodeError::InvalidBinaryType)
        );
        assert_eq!(binary(&[0, 1, 0xff, 0xc3]), Err(DecodeError::InvalidUtf8));
        let mut long = vec![0];
        long.extend([9; 11]);
        long.push(0xff);
        assert_eq!(binary(&long), Err(DecodeError::InvalidLength));
    }

    #[test]
    fn encodes_like_engine_io_parser_2() {
        let mut out = Vec::new();
        encode_text_payload_text_v3("4hé😀", &mut out);
        encode_text_payload_binary_v3(&[1, 2, 3, 4], &mut out);
        encode_text_payload_text_v3("6", &mut out);
        assert_eq!(out, "5:4hé😀10:b4AQIDBA==1:6".as_bytes());
        assert_eq!(text(std::str::from_utf8(&out).unwrap()).unwrap().len(), 3);

        let mut out = Vec::new();
        encode_binary_payload_text_v3("4hé", &mut out);
        encode_binary_payload_binary_v3(&[7; 12], &mut out);
        let mut expected = vec![0, 4, 0xff];
        expected.extend_from_slice("4hé".as_bytes());
        expected.extend([1, 1, 3, 0xff, 4]);
        expected.extend([7; 12]);
        assert_eq!(out, expected);
        assert_eq!(
            binary(&out).unwrap(),
            [
                Packet::Message("hé"),
                Packet::Binary(Cow::Borrowed(&[7; 12]))
            ]
        );
    }

    #[test]
    fn websocket_binary_frames_carry_the_type_byte() {
        assert_eq!(
            decode_binary_v3(&[4, 9]),
            Ok(Packet::Binary(Cow::Borrowed(&[9])))
        );
        assert_eq!(decode_binary_v3(&[]), Err(DecodeError::Empty));
        assert_eq!(decode_binary_v3(&[2]), Err(DecodeError::InvalidBinaryType));
    }
}
