//! The receive side of a session: Engine.IO messages to Socket.IO packets,
//! with the configured parser.

use bytes::Bytes;
use ferrio_proto::socketio::{
    DecodeError, Decoder, DecoderConfig, Packet, Parser, Payload, msgpack,
};

/// Decodes a session's messages. The parser is chosen once per session.
#[derive(Debug)]
pub(super) enum PacketReader {
    /// `socket.io-parser`: text packets, attachments put back in place.
    Default(Decoder),
    /// `socket.io-msgpack-parser`: one binary message per packet.
    MsgPack(DecoderConfig),
}

/// Why a message is no packet; the session is then closed ("parse error").
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    /// Refused by the default parser.
    #[error(transparent)]
    Default(#[from] DecodeError),
    /// Refused by the msgpack parser.
    #[error(transparent)]
    MsgPack(#[from] msgpack::PacketError),
    /// A text message, which the msgpack parser has no use for (a server of
    /// the default parser).
    #[error("a text message, with the msgpack parser")]
    TextWithMsgPack,
}

impl PacketReader {
    pub(super) fn new(parser: Parser, config: DecoderConfig) -> Self {
        match parser {
            Parser::MsgPack => Self::MsgPack(config),
            _ => Self::Default(Decoder::new(config)),
        }
    }

    /// A text message: a packet, or `None` while attachments are due.
    pub(super) fn text(&mut self, text: &str) -> Result<Option<Packet<Payload>>, ReadError> {
        match self {
            Self::Default(decoder) => Ok(decoder.feed_text(text)?),
            Self::MsgPack(_) => Err(ReadError::TextWithMsgPack),
        }
    }

    /// A binary message: a packet, or `None` while attachments are due.
    pub(super) fn binary(&mut self, bytes: Bytes) -> Result<Option<Packet<Payload>>, ReadError> {
        match self {
            Self::Default(decoder) => Ok(decoder.feed_binary(bytes)?),
            Self::MsgPack(config) => Ok(Some(msgpack::decode_packet(&bytes, config)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use ferrio_proto::socketio::PacketKind;
    use serde_json::json;

    use super::*;

    #[test]
    fn msgpack_reads_binary_messages_only() {
        let mut reader = PacketReader::new(Parser::MsgPack, DecoderConfig::default());
        let event = Bytes::from_static(b"\x83\xa4type\x02\xa4data\x91\xa2hi\xa3nsp\xa1/");
        let packet = reader.binary(event).unwrap().unwrap();
        assert_eq!(packet.kind, PacketKind::Event);
        assert_eq!(packet.data, Some(json!(["hi"]).into()));
        assert!(matches!(
            reader.text("2[\"hi\"]"),
            Err(ReadError::TextWithMsgPack)
        ));
        assert!(matches!(
            reader.binary(Bytes::from_static(b"\xc1")),
            Err(ReadError::MsgPack(_))
        ));
    }

    #[test]
    fn the_default_parser_reads_text() {
        let mut reader = PacketReader::new(Parser::Default, DecoderConfig::default());
        let packet = reader.text("2[\"hi\"]").unwrap().unwrap();
        assert_eq!(packet.data, Some(json!(["hi"]).into()));
        assert!(matches!(
            reader.binary(Bytes::from_static(b"\x01")),
            Err(ReadError::Default(_))
        ));
    }
}
