//! A raw WebSocket echo on the engine's own WebSocket stack (stream, reader,
//! writer), without Engine.IO on top: what the Autobahn suite is run against
//! (`examples/ws_echo.rs`, `tests/autobahn.rs`).

use ferrio_proto::websocket::deflate::{DeflateConfig, DeflateParams, Deflater, Inflater};
use ferrio_proto::websocket::{
    Opcode, Reader, WsMessage, compressed_header, encode_close, encode_frame,
};
use hyper::upgrade::OnUpgrade;
use tokio::net::TcpStream;

use super::io::WsIo;
use crate::conn::Counted;

/// Bytes read at once.
const READ: usize = 16 * 1024;

/// Echoes every text and binary message on an upgraded connection, answers
/// pings and the closing handshake, and closes with the right status code on
/// a protocol error. Messages over `max_message` bytes are refused (1009).
#[doc(hidden)]
pub async fn echo(on_upgrade: OnUpgrade, max_message: usize) {
    echo_deflate(on_upgrade, max_message, None).await
}

/// [`echo`], with permessage-deflate when it was agreed on (`deflate`, from
/// `websocket_negotiate`): messages at least the threshold long are echoed
/// compressed.
#[doc(hidden)]
pub async fn echo_deflate(
    on_upgrade: OnUpgrade,
    max_message: usize,
    deflate: Option<(DeflateParams, DeflateConfig)>,
) {
    let Ok(upgraded) = on_upgrade.await else {
        return;
    };
    let (mut io, early) = WsIo::from_upgraded::<Counted<TcpStream>>(upgraded);
    let mut reader = Reader::new(max_message);
    let mut deflater = None;
    if let Some((params, config)) = &deflate {
        reader = reader.inflate(Inflater::new(!params.client_no_context_takeover));
        let deflater_for = Deflater::new(
            config.level,
            params.server_max_window_bits,
            !params.server_no_context_takeover,
        );
        deflater = Some((deflater_for, config.threshold));
    }
    let mut send = |opcode: Opcode, payload: &[u8], out: &mut Vec<u8>| {
        if let Some((deflater, threshold)) = &mut deflater
            && payload.len() >= *threshold
        {
            let mut compressed = Vec::new();
            if deflater.compress(payload, &mut compressed) {
                out.extend_from_slice(compressed_header(opcode, compressed.len()).as_bytes());
                out.extend_from_slice(&compressed);
                return;
            }
        }
        encode_frame(opcode, payload, out);
    };
    // What the client sent with its upgrade request, then each read.
    let mut buf: Vec<u8> = early.into();
    loop {
        let mut out = Vec::new();
        let mut close = None;
        let mut at = 0;
        loop {
            match reader.next(&mut buf, &mut at) {
                Ok(Some(WsMessage::Text(t))) => send(Opcode::Text, t.as_bytes(), &mut out),
                Ok(Some(WsMessage::Binary(b))) => send(Opcode::Binary, &b, &mut out),
                Ok(Some(WsMessage::Ping(p))) => encode_frame(Opcode::Pong, &p, &mut out),
                Ok(Some(WsMessage::Pong)) => {}
                Ok(Some(WsMessage::Close(code))) => close = Some(code),
                Ok(None) => break,
                Err(error) => {
                    close = Some(Some(error.close_code()));
                    break;
                }
            }
        }
        if let Some(code) = close {
            encode_close(code, &mut out);
        }
        if io.write_all(&out).await.is_err() || close.is_some() {
            return;
        }
        buf.resize(READ, 0);
        match io.read_some(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.truncate(n),
        }
    }
}
