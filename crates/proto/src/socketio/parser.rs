//! Which Socket.IO packet format a connection speaks.

/// The packet format of a server or client, as Socket.IO's `parser` option.
///
/// Both ends must use the same one: a client with the other parser cannot
/// connect (as with Node, its first packet fails to decode and the connection
/// is closed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parser {
    /// The default `socket.io-parser`: text packets (`2["hi"]`), binary data as
    /// attachments that follow in binary messages.
    #[default]
    Default,
    /// `socket.io-msgpack-parser` (npm): each packet is one binary message, the
    /// MessagePack map `{type, data, nsp, id}` written as notepack.io writes
    /// it, binary data inline. Needs ferrio-proto's `msgpack` feature for the
    /// codec ([`msgpack::write_packet`](crate::socketio::msgpack::write_packet),
    /// [`msgpack::decode_packet`](crate::socketio::msgpack::decode_packet)).
    MsgPack,
}

impl Parser {
    /// The name used in configuration and on the command line: `default` or
    /// `msgpack`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::MsgPack => "msgpack",
        }
    }
}

impl std::str::FromStr for Parser {
    type Err = UnknownParser;

    /// `default` (or `json`) and `msgpack`, in any case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().as_str() {
            "default" | "json" => Ok(Self::Default),
            "msgpack" => Ok(Self::MsgPack),
            _ => Err(UnknownParser(name.to_owned())),
        }
    }
}

impl std::fmt::Display for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A parser name that is neither `default` nor `msgpack`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown parser {0:?} (expected \"default\" or \"msgpack\")")]
pub struct UnknownParser(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for parser in [Parser::Default, Parser::MsgPack] {
            assert_eq!(parser.name().parse(), Ok(parser));
        }
        assert_eq!("MsgPack".parse(), Ok(Parser::MsgPack));
        assert_eq!("json".parse(), Ok(Parser::Default));
        assert!("cbor".parse::<Parser>().is_err());
    }
}
