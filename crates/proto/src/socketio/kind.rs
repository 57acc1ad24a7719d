/// The seven Socket.IO packet types and their type characters.
///
/// The two binary types exist only on the wire: they announce that binary
/// attachments follow the text packet. A [`Decoder`](super::Decoder) turns them back
/// into [`Event`](Self::Event) and [`Ack`](Self::Ack) once the attachments are in
/// place, as the reference parser does, and
/// [`Packet::deconstruct`](super::Packet::deconstruct) picks them when it finds binary
/// data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// `0`: connect to a namespace (client), or accept the connection (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event: `["name", ...args]`.
    Event,
    /// `3`: the answer to an event that asked for an acknowledgement: `[...args]`.
    Ack,
    /// `4`: the server refuses a namespace connection: `{"message":…,"data":…}`.
    ConnectError,
    /// `5`: an event whose arguments hold binary attachments.
    BinaryEvent,
    /// `6`: an acknowledgement whose arguments hold binary attachments.
    BinaryAck,
}

impl PacketKind {
    /// The character that starts a packet of this type.
    pub const fn as_char(self) -> u8 {
        match self {
            Self::Connect => b'0',
            Self::Disconnect => b'1',
            Self::Event => b'2',
            Self::Ack => b'3',
            Self::ConnectError => b'4',
            Self::BinaryEvent => b'5',
            Self::BinaryAck => b'6',
        }
    }

    /// The type a character stands for, if any.
    pub const fn from_char(c: u8) -> Option<Self> {
        Some(match c {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// Whether binary attachments follow a packet of this type.
    pub const fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }

    /// The binary form of an event or ack; other types are returned unchanged.
    pub const fn to_binary(self) -> Self {
        match self {
            Self::Event => Self::BinaryEvent,
            Self::Ack => Self::BinaryAck,
            other => other,
        }
    }

    /// The plain form of a binary event or ack; other types are returned unchanged.
    pub const fn to_plain(self) -> Self {
        match self {
            Self::BinaryEvent => Self::Event,
            Self::BinaryAck => Self::Ack,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PacketKind; 7] = [
        PacketKind::Connect,
        PacketKind::Disconnect,
        PacketKind::Event,
        PacketKind::Ack,
        PacketKind::ConnectError,
        PacketKind::BinaryEvent,
        PacketKind::BinaryAck,
    ];

    #[test]
    fn type_characters_round_trip() {
        for (i, kind) in ALL.into_iter().enumerate() {
            assert_eq!(kind.as_char(), b'0' + i as u8);
            assert_eq!(PacketKind::from_char(kind.as_char()), Some(kind));
        }
        assert_eq!(PacketKind::from_char(b'7'), None);
        assert_eq!(PacketKind::from_char(b'/'), None);
    }

    #[test]
    fn binary_and_plain_forms() {
        assert_eq!(PacketKind::Event.to_binary(), PacketKind::BinaryEvent);
        assert_eq!(PacketKind::Ack.to_binary(), PacketKind::BinaryAck);
        assert_eq!(PacketKind::Connect.to_binary(), PacketKind::Connect);
        assert_eq!(PacketKind::BinaryEvent.to_plain(), PacketKind::Event);
        assert_eq!(PacketKind::BinaryAck.to_plain(), PacketKind::Ack);
        assert_eq!(
            ALL.iter().filter(|k| k.is_binary()).count(),
            2,
            "only types 5 and 6 are binary"
        );
    }
}
