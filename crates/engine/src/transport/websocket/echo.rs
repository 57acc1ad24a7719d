//! A raw WebSocket echo on the engine's own WebSocket stack (stream, reader,
//! writer), without Engine.IO on top: what the Autobahn suite is run against
//! (`examples/ws_echo.rs`, `tests/autobahn.rs`).

use std::collections::VecDeque;
use std::ops::ControlFlow;

use ferrio_proto::websocket::{Incoming, Opcode, Reader, encode_close, encode_frame};
use hyper::upgrade::OnUpgrade;
use tokio::net::TcpStream;

use super::io::{ReadFailure, WsIo};
use crate::conn::Counted;

/// Echoes every text and binary message on an upgraded connection, answers
/// pings and the closing handshake, and closes with the right status code on
/// a protocol error. Messages over `max_message` bytes are refused (1009).
#[doc(hidden)]
pub async fn echo(on_upgrade: OnUpgrade, max_message: usize) {
    let Ok(upgraded) = on_upgrade.await else {
        return;
    };
    let (mut io, early) = WsIo::from_upgraded::<Counted<TcpStream>>(upgraded);
    let mut reader = Reader::new(max_message);
    let mut waiting = VecDeque::new();
    let mut collect = |m| {
        waiting.push_back(m);
        ControlFlow::Continue(())
    };
    let mut result = reader
        .feed(&mut early.to_vec(), &mut collect)
        .map(|()| true);
    drop(early);
    loop {
        let mut out = Vec::new();
        let mut close = None;
        for message in waiting.drain(..) {
            match message {
                Incoming::Text(t) => encode_frame(Opcode::Text, &t, &mut out),
                Incoming::Binary(b) => encode_frame(Opcode::Binary, &b, &mut out),
                Incoming::Ping(p) => encode_frame(Opcode::Pong, &p, &mut out),
                Incoming::Pong => {}
                Incoming::Close(code) => close = Some(code),
            }
        }
        if let Err(error) = &result {
            close = Some(Some(error.close_code()));
        }
        if let Some(code) = close {
            encode_close(code, &mut out);
        }
        if io.write_all(&out).await.is_err() || close.is_some() || result != Ok(true) {
            return;
        }
        result = match io
            .read(&mut reader, &mut |m| {
                waiting.push_back(m);
                ControlFlow::Continue(())
            })
            .await
        {
            Ok(open) => Ok(open),
            Err(ReadFailure::Ws(error)) => Err(error),
            Err(ReadFailure::Io(_)) => return,
        };
    }
}
