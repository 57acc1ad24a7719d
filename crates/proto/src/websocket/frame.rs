//! Writing frames: the server sends final, unmasked frames.

/// The longest frame header a server writes: 2 bytes, then 8 of length.
pub const MAX_HEADER: usize = 10;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// The next fragment of a message.
    Continuation,
    /// A text message (UTF-8).
    Text,
    /// A binary message.
    Binary,
    /// The closing handshake.
    Close,
    /// A ping, to be answered with a pong carrying the same bytes.
    Ping,
    /// The answer to a ping.
    Pong,
}

impl Opcode {
    /// The opcode of a frame's first byte, if it is one RFC 6455 defines.
    pub fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The opcode's four bits.
    pub fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong: at most 125 bytes, never fragmented.
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// The header of one final, unmasked frame, built on the stack.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    bytes: [u8; MAX_HEADER],
    len: u8,
}

impl Header {
    /// The header's bytes, to write before the payload.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The header of a final, unmasked frame carrying `payload_len` bytes.
pub fn header(opcode: Opcode, payload_len: usize) -> Header {
    let mut bytes = [0u8; MAX_HEADER];
    bytes[0] = 0x80 | opcode.bits();
    let len = if payload_len < 126 {
        bytes[1] = payload_len as u8;
        2
    } else if let Ok(short) = u16::try_from(payload_len) {
        bytes[1] = 126;
        bytes[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        bytes[1] = 127;
        bytes[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
        10
    };
    Header { bytes, len }
}

/// The header of a final, unmasked frame carrying a compressed message
/// (permessage-deflate: RSV1 set) of `payload_len` bytes.
pub fn compressed_header(opcode: Opcode, payload_len: usize) -> Header {
    let mut head = header(opcode, payload_len);
    head.bytes[0] |= 0x40;
    head
}

/// Appends a final, unmasked frame to `out`.
pub fn encode_frame(opcode: Opcode, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(MAX_HEADER + payload.len());
    out.extend_from_slice(header(opcode, payload.len()).as_bytes());
    out.extend_from_slice(payload);
}

/// Appends a close frame to `out`: with a status code, or empty.
pub fn encode_close(code: Option<u16>, out: &mut Vec<u8>) {
    match code {
        Some(code) => encode_frame(Opcode::Close, &code.to_be_bytes(), out),
        None => encode_frame(Opcode::Close, &[], out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_use_the_shortest_length_form() {
        assert_eq!(header(Opcode::Text, 0).as_bytes(), [0x81, 0]);
        assert_eq!(header(Opcode::Binary, 125).as_bytes(), [0x82, 125]);
        assert_eq!(header(Opcode::Text, 126).as_bytes(), [0x81, 126, 0, 126]);
        assert_eq!(
            header(Opcode::Text, 65535).as_bytes(),
            [0x81, 126, 255, 255]
        );
        assert_eq!(
            header(Opcode::Pong, 65536).as_bytes(),
            [0x8A, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn close_frames_carry_the_code_or_nothing() {
        let mut out = Vec::new();
        encode_close(Some(1002), &mut out);
        encode_close(None, &mut out);
        assert_eq!(out, [0x88, 2, 0x03, 0xEA, 0x88, 0]);
    }

    #[test]
    fn opcodes_round_trip() {
        for bits in 0..16u8 {
            if let Some(op) = Opcode::from_bits(bits) {
                assert_eq!(op.bits(), bits);
                assert_eq!(op.is_control(), bits >= 8);
            }
        }
    }
}
