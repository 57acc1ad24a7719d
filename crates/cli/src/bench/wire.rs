//! The client's side of WebSocket, as lean as the generator needs it: the
//! upgrade, the server's unmasked frames parsed where they lie in a read
//! buffer (several per read, no copy, no allocation), and masked frames
//! appended to a write buffer.
//!
//! ```text
//!  GET … Upgrade: websocket  →  ← 101 (Sec-WebSocket-Accept checked)  + any frames after it
//!  read buffer: [frame][frame][frame][partial…]  → Frame { opcode, fin, payload: &[u8] } …
//!  write buffer: [masked frame][masked frame] …  → one write
//! ```
//!
//! The key and the accept value come from tungstenite, the frame headers are
//! parsed and written by tungstenite's `FrameHeader`; only the loop around
//! them is here, to read in place rather than into a message per frame.

use std::io::Cursor;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::generate_request;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// The longest upgrade response read.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// What the upgrade brought: the bytes after the response's head (frames the
/// server sent at once) and the server's `Sec-WebSocket-Extensions` answer.
pub(crate) struct Upgraded {
    pub(crate) rest: Vec<u8>,
    pub(crate) extensions: Option<String>,
}

/// Upgrades `stream` to WebSocket at `url`, offering `extensions` (a
/// `Sec-WebSocket-Extensions` value) if given.
pub(crate) async fn upgrade(
    stream: &mut TcpStream,
    url: &str,
    extensions: Option<&str>,
) -> Result<Upgraded, String> {
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("bad url: {e}"))?;
    if let Some(offer) = extensions {
        let value = offer.parse().map_err(|_| "bad extension offer")?;
        request
            .headers_mut()
            .insert("sec-websocket-extensions", value);
    }
    let (bytes, key) = generate_request(request).map_err(|e| format!("bad request: {e}"))?;
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| format!("send the upgrade: {e}"))?;
    let mut head = Vec::with_capacity(1024);
    loop {
        if let Some(end) = find(&head, b"\r\n\r\n") {
            let accept = derive_accept_key(key.as_bytes());
            let extensions = check_response(&head[..end], &accept)?;
            return Ok(Upgraded {
                rest: head.split_off(end + 4),
                extensions,
            });
        }
        if head.len() > MAX_RESPONSE_HEAD {
            return Err("upgrade response too long".into());
        }
        let n = stream
            .read_buf(&mut head)
            .await
            .map_err(|e| format!("read the upgrade response: {e}"))?;
        if n == 0 {
            return Err("closed during the upgrade".into());
        }
    }
}

/// Checks a `101 Switching Protocols` head carrying the expected accept
/// value; returns its `Sec-WebSocket-Extensions` answer, if any.
fn check_response(head: &[u8], accept: &str) -> Result<Option<String>, String> {
    let head = std::str::from_utf8(head).map_err(|_| "upgrade response not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("101") {
        return Err(format!("websocket upgrade refused: {status:.60}"));
    }
    let (mut accepted, mut extensions) = (false, None);
    for (name, value) in lines.filter_map(|l| l.split_once(':')) {
        let name = name.trim();
        if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accepted |= value.trim() == accept;
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
            extensions = Some(value.trim().to_owned());
        }
    }
    if accepted {
        Ok(extensions)
    } else {
        Err("websocket upgrade: wrong or missing Sec-WebSocket-Accept".into())
    }
}

/// Where `needle` starts in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One frame from the server, its payload where it lies in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    pub(crate) opcode: OpCode,
    /// The last frame of its message.
    pub(crate) fin: bool,
    /// RSV1: with permessage-deflate, the message is compressed (first frame only).
    pub(crate) rsv1: bool,
    pub(crate) payload: &'a [u8],
}

/// The frame at the start of `buf` and the bytes it takes, `Ok(None)` when
/// `buf` holds only part of one. Masked frames from a server are refused.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, String> {
    let mut cursor = Cursor::new(buf);
    let Some((header, len)) =
        FrameHeader::parse(&mut cursor).map_err(|e| format!("bad frame: {e}"))?
    else {
        return Ok(None);
    };
    if header.mask.is_some() {
        return Err("the server masked a frame".into());
    }
    if header.rsv2 || header.rsv3 {
        return Err("the server set RSV2 or RSV3".into());
    }
    let start = usize::try_from(cursor.position()).map_err(|_| "frame offset")?;
    let len = usize::try_from(len).map_err(|_| "frame too long")?;
    let end = start.checked_add(len).ok_or("frame too long")?;
    Ok(buf.get(start..end).map(|payload| {
        let frame = Frame {
            opcode: header.opcode,
            fin: header.is_final,
            rsv1: header.rsv1,
            payload,
        };
        (frame, end)
    }))
}

/// The opcode of a text frame.
pub(crate) const TEXT: OpCode = OpCode::Data(Data::Text);
/// The opcode of a binary frame.
pub(crate) const BINARY: OpCode = OpCode::Data(Data::Binary);
/// The opcode of a continuation frame.
pub(crate) const CONTINUE: OpCode = OpCode::Data(Data::Continue);
/// The opcode of a close frame.
pub(crate) const CLOSE: OpCode = OpCode::Control(Control::Close);
/// The opcode of a ping.
pub(crate) const PING: OpCode = OpCode::Control(Control::Ping);
/// The opcode of a pong.
pub(crate) const PONG: OpCode = OpCode::Control(Control::Pong);

/// Appends one masked frame whose payload is `parts`, one after the other.
pub(crate) fn encode(opcode: OpCode, parts: &[&[u8]], key: [u8; 4], out: &mut Vec<u8>) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let header = FrameHeader {
        opcode,
        mask: Some(key),
        ..FrameHeader::default()
    };
    header
        .format(len as u64, out)
        .expect("writing to a Vec cannot fail");
    let mut i = 0;
    for part in parts {
        out.extend(part.iter().map(|b| {
            let masked = b ^ key[i % 4];
            i += 1;
            masked
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_frames_in_place_and_waits_for_the_rest() {
        let mut buf = vec![0x81, 2, b'4', b'2', 0x89, 0, 0x01, 3, b'a']; // text, ping, a first fragment
        let (frame, used) = parse(&buf).unwrap().unwrap();
        assert_eq!(
            (frame.opcode, frame.fin, frame.payload),
            (TEXT, true, &b"42"[..])
        );
        buf.drain(..used);
        let (frame, used) = parse(&buf).unwrap().unwrap();
        assert_eq!((frame.opcode, frame.payload), (PING, &b""[..]));
        buf.drain(..used);
        assert_eq!(parse(&buf).unwrap(), None, "a text frame cut short");
        assert_eq!(parse(&buf[..1]).unwrap(), None, "a header cut short");
        buf.extend(b"bc");
        let (frame, used) = parse(&buf).unwrap().unwrap();
        assert_eq!(
            (frame.opcode, frame.fin, frame.payload),
            (TEXT, false, &b"abc"[..])
        );
        assert_eq!(used, buf.len());
        // A 300-byte payload takes a 16-bit length.
        let mut long = vec![0x81, 126, 1, 44];
        long.extend([b'x'; 300]);
        assert_eq!(parse(&long).unwrap().unwrap().0.payload.len(), 300);
    }

    #[test]
    fn refuses_masked_frames() {
        assert!(parse(&[0x81, 0x81, 1, 2, 3, 4, 5]).is_err());
    }

    #[test]
    fn encodes_masked_frames_from_parts() {
        let mut out = Vec::new();
        encode(TEXT, &[b"4", b"2"], [1, 2, 3, 4], &mut out);
        assert_eq!(out, [0x81, 0x82, 1, 2, 3, 4, b'4' ^ 1, b'2' ^ 2]);
    }

    #[test]
    fn checks_the_accept_value() {
        let ok =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nsec-websocket-accept: abc=";
        assert_eq!(check_response(ok.as_bytes(), "abc="), Ok(None));
        let deflate = format!("{ok}\r\nSec-WebSocket-Extensions: permessage-deflate ");
        assert_eq!(
            check_response(deflate.as_bytes(), "abc="),
            Ok(Some("permessage-deflate".to_owned()))
        );
        assert!(check_response(ok.as_bytes(), "xyz=").is_err());
        let refused = "HTTP/1.1 400 Bad Request\r\n";
        assert!(check_response(refused.as_bytes(), "abc=").is_err());
    }
}
