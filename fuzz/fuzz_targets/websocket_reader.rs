//! The WebSocket `Reader` fed client bytes whole, and cut in two pieces.
//!
//! The first input byte picks where to cut (scaled to the rest's length), the
//! second the message limit. Invariants: it never panics; cutting the bytes
//! anywhere changes neither the messages nor the error; text messages are
//! UTF-8; nothing is read after a close frame or an error.
#![no_main]

use ferrio_proto::websocket::{ReadError, Reader, WsMessage};
use libfuzzer_sys::fuzz_target;

fn read(pieces: &[&[u8]], limit: usize) -> (Vec<WsMessage>, Option<ReadError>) {
    let mut reader = Reader::new(limit);
    let mut got = Vec::new();
    for piece in pieces {
        let mut piece = piece.to_vec();
        let mut at = 0;
        loop {
            match reader.next(&mut piece, &mut at) {
                Ok(Some(m)) => {
                    assert!(
                        !matches!(got.last(), Some(WsMessage::Close(_))),
                        "read after close"
                    );
                    got.push(m);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(reader.is_done(), "an error ends the reading");
                    return (got, Some(e));
                }
            }
        }
        assert_eq!(at, piece.len(), "a read is used up");
    }
    (got, None)
}

fuzz_target!(|data: &[u8]| {
    let [cut, limit, rest @ ..] = data else {
        return;
    };
    let limit = usize::from(*limit) * 16;
    let cut = usize::from(*cut) * rest.len() / 256;
    let whole = read(&[rest], limit);
    let split = read(&[&rest[..cut], &rest[cut..]], limit);
    assert_eq!(whole, split, "cut at {cut}");
    for m in &whole.0 {
        if let WsMessage::Text(t) = m {
            assert!(std::str::from_utf8(t.as_bytes()).is_ok());
        }
    }
});
