use std::borrow::Cow;

use super::DecodeError;

/// The seven Engine.IO packet types and their type characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: the server's handshake.
    Open,
    /// `1`: either side ends the session.
    Close,
    /// `2`: the server's heartbeat (and the client's `2probe` during an upgrade).
    Ping,
    /// `3`: the client's answer to a ping (and the server's `3probe`).
    Pong,
    /// `4`: application data.
    Message,
    /// `5`: the client switches the session to the probed transport.
    Upgrade,
    /// `6`: nothing; releases a parked poll.
    Noop,
}

impl PacketType {
    /// The character that starts a packet of this type.
    pub const fn as_char(self) -> u8 {
        match self {
            Self::Open => b'0',
            Self::Close => b'1',
            Self::Ping => b'2',
            Self::Pong => b'3',
            Self::Message => b'4',
            Self::Upgrade => b'5',
            Self::Noop => b'6',
        }
    }

    /// The type a character stands for, if any.
    pub const fn from_char(c: u8) -> Option<Self> {
        Some(match c {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }
}

/// One Engine.IO packet, borrowing its data from the frame it was decoded from.
///
/// Close, upgrade and noop carry no data; like the reference parser, the decoder
/// accepts and ignores anything after their type character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// The handshake JSON (see [`Handshake`](super::Handshake)).
    Open(&'a str),
    /// End of the session.
    Close,
    /// Heartbeat or upgrade probe; the data is empty or `probe`.
    Ping(&'a str),
    /// Answer to a ping; the data is empty or `probe`.
    Pong(&'a str),
    /// A text message.
    Message(&'a str),
    /// A binary message (a binary frame, or `b<base64>` in a polling payload).
    Binary(Cow<'a, [u8]>),
    /// Completes an upgrade.
    Upgrade,
    /// No operation.
    Noop,
}

impl Packet<'_> {
    /// The packet's type; a binary message is of type [`PacketType::Message`].
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Open(_) => PacketType::Open,
            Self::Close => PacketType::Close,
            Self::Ping(_) => PacketType::Ping,
            Self::Pong(_) => PacketType::Pong,
            Self::Message(_) | Self::Binary(_) => PacketType::Message,
            Self::Upgrade => PacketType::Upgrade,
            Self::Noop => PacketType::Noop,
        }
    }
}

/// Decodes one text packet: a WebSocket text frame, or one segment of a payload.
pub fn decode_text(frame: &str) -> Result<Packet<'_>, DecodeError> {
    let &first = frame.as_bytes().first().ok_or(DecodeError::Empty)?;
    let ty = PacketType::from_char(first).ok_or(DecodeError::UnknownType(first))?;
    // The type character is ASCII, so byte 1 is a char boundary.
    let data = &frame[1..];
    Ok(match ty {
        PacketType::Open => Packet::Open(data),
        PacketType::Close => Packet::Close,
        PacketType::Ping => Packet::Ping(data),
        PacketType::Pong => Packet::Pong(data),
        PacketType::Message => Packet::Message(data),
        PacketType::Upgrade => Packet::Upgrade,
        PacketType::Noop => Packet::Noop,
    })
}

/// Decodes a WebSocket binary frame: its bytes are one binary message, whatever they hold.
pub fn decode_binary(frame: &[u8]) -> Packet<'_> {
    Packet::Binary(Cow::Borrowed(frame))
}

/// Appends a packet as it travels in its own WebSocket frame.
///
/// Text packets are written as their type character and data; a binary message is
/// written as its raw bytes and belongs in a binary frame.
pub fn encode_packet(packet: &Packet<'_>, out: &mut Vec<u8>) {
    let data: &[u8] = match packet {
        Packet::Binary(bytes) => {
            out.extend_from_slice(bytes);
            return;
        }
        Packet::Open(s) | Packet::Ping(s) | Packet::Pong(s) | Packet::Message(s) => s.as_bytes(),
        Packet::Close | Packet::Upgrade | Packet::Noop => b"",
    };
    out.push(packet.packet_type().as_char());
    out.extend_from_slice(data);
}

/// Appends a text message packet (`4` followed by `data`).
pub fn encode_message_text(data: &str, out: &mut Vec<u8>) {
    out.reserve(1 + data.len());
    out.push(b'4');
    out.extend_from_slice(data.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_type() {
        assert_eq!(decode_text("0{}"), Ok(Packet::Open("{}")));
        assert_eq!(decode_text("1"), Ok(Packet::Close));
        assert_eq!(decode_text("2"), Ok(Packet::Ping("")));
        assert_eq!(decode_text("2probe"), Ok(Packet::Ping("probe")));
        assert_eq!(decode_text("3probe"), Ok(Packet::Pong("probe")));
        assert_eq!(decode_text("4héllo"), Ok(Packet::Message("héllo")));
        assert_eq!(decode_text("4"), Ok(Packet::Message("")));
        assert_eq!(decode_text("5"), Ok(Packet::Upgrade));
        assert_eq!(decode_text("6"), Ok(Packet::Noop));
    }

    #[test]
    fn rejects_bad_type() {
        assert_eq!(decode_text(""), Err(DecodeError::Empty));
        assert_eq!(decode_text("7"), Err(DecodeError::UnknownType(b'7')));
        assert_eq!(decode_text("é"), Err(DecodeError::UnknownType(0xc3)));
    }

    #[test]
    fn binary_frames_are_raw() {
        let mut out = Vec::new();
        encode_packet(&decode_binary(&[1, 2, 3]), &mut out);
        assert_eq!(out, [1, 2, 3]);
    }
}
