//! WebSocket framing (RFC 6455), server side: the masked frames a client sends
//! are read by a [`Reader`], and the unmasked frames a server sends are written
//! with [`header`] / [`encode_frame`].
//!
//! The one extension is permessage-deflate ([`deflate`]): once agreed on, the
//! reader inflates messages whose first frame has RSV1 set; any other reserved
//! bit is a protocol error. Like the rest of this crate it is
//! sans-IO: bytes in, messages out, no sockets and no allocation while a read
//! holds whole frames, beyond the copy each message is handed up in.
//!
//! ```
//! use ferrio_proto::websocket::{WsMessage, Opcode, Reader, encode_frame};
//!
//! // A client's masked text frame "hi" (mask key 1, 2, 3, 4).
//! let mut wire = vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
//! let mut reader = Reader::new(1 << 20);
//! let mut at = 0;
//! let message = reader.next(&mut wire, &mut at).unwrap();
//! assert_eq!(message, Some(WsMessage::Text("hi".into())));
//! // All used: the next message needs more bytes.
//! assert_eq!(reader.next(&mut wire, &mut at), Ok(None));
//!
//! // The server's answer: unmasked.
//! let mut out = Vec::new();
//! encode_frame(Opcode::Text, b"hi", &mut out);
//! assert_eq!(out, [0x81, 2, b'h', b'i']);
//! ```

pub mod deflate;
mod frame;
mod mask;
mod reader;

pub use bytestring::ByteString;
pub use frame::{
    Header, MAX_HEADER, Opcode, compressed_header, encode_close, encode_frame, header,
};
pub use reader::{ReadError, Reader, WsMessage};

/// Whether a close code may appear in a close frame on the wire: the codes RFC
/// 6455 and the IANA registry define for use, and the private ranges.
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
