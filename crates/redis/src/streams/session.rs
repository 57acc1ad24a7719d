//! The session blob of the streams adapter (memo §3.4): the value of
//! `SET {sessionKeyPrefix}{pid} <blob> PX <maxDisconnectionDuration>` is
//! base64 (standard, padded) of the msgpack map `{sid, pid, rooms, data}`,
//! as `@msgpack/msgpack` writes it, so Node and ferrio nodes read each
//! other's sessions.
//!
//! `data` is JSON on the ferrio side: binary that a Node node kept in
//! `socket.data` comes back as `{"type":"Buffer","data":[…]}` (and is
//! written back as that map, not as a Buffer).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use ferrio::adapter::SessionToPersist;
use ferrio::{Room, SocketId};
use ferrio_proto::socketio::Payload;
use ferrio_proto::socketio::msgpack::{self, EncodeError};
use serde_json::{Value, json};

use super::entry::json_of;
use crate::classic::wire::{WireError, decoder_config};
use crate::cluster::wire::{msgpack_bytes, object};
use crate::view::{into_entries, rooms, string, take};

/// A session read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Session {
    /// The socket's id.
    pub sid: SocketId,
    /// The private id.
    pub pid: SocketId,
    /// Its rooms, its own included.
    pub rooms: Vec<Room>,
    /// Its data.
    pub data: Value,
}

/// The blob of a session.
pub(crate) fn encode(session: &SessionToPersist) -> Result<Bytes, EncodeError> {
    let rooms: Vec<&str> = session.rooms.iter().map(|r| &**r).collect();
    let map = object(vec![
        ("sid", Payload::Json(json!(session.sid.as_str()))),
        ("pid", Payload::Json(json!(session.pid.as_str()))),
        ("rooms", Payload::Json(json!(rooms))),
        // Node's `socket.data` is `{}` when unset; ferrio's is null.
        (
            "data",
            Payload::Json(match &session.data {
                Value::Null => json!({}),
                data => data.clone(),
            }),
        ),
    ]);
    Ok(Bytes::from(STANDARD.encode(msgpack_bytes(&map)?)))
}

/// Reads a blob; an error for one of another shape, or whose ids are not
/// socket ids.
pub(crate) fn decode(blob: &[u8]) -> Result<Session, WireError> {
    let bytes = STANDARD
        .decode(blob)
        .map_err(|_| WireError::Shape("session is not base64"))?;
    let payload = msgpack::decode(&Bytes::from(bytes), &decoder_config())?;
    let mut map = into_entries(payload).ok_or(WireError::Shape("session is not a map"))?;
    let id = |value: Option<Payload>| {
        value
            .and_then(string)
            .and_then(|s| SocketId::parse(&s))
            .ok_or(WireError::Shape("session id is not a socket id"))
    };
    let sid = id(take(&mut map, "sid"))?;
    let pid = id(take(&mut map, "pid"))?;
    let rooms = take(&mut map, "rooms")
        .and_then(rooms)
        .ok_or(WireError::Shape("session rooms are not names"))?
        .into_iter()
        .map(|r| Room::from(r.as_str()))
        .collect();
    let data = take(&mut map, "data").map_or(Value::Null, |d| json_of(&d));
    Ok(Session {
        sid,
        pid,
        rooms,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Appendix A: the blob Node wrote, with a Buffer in `data`
    /// (`84 a3"sid" … a4"data" 82 a4"user" a2"u1" a3"bin" c4 01 07`).
    #[test]
    fn nodes_blob_reads() {
        let mut raw = hex("84a3736964b4");
        raw.extend(b"DNowDcU4TKdVliqEAAAA");
        raw.extend(hex("a3706964b4"));
        raw.extend(b"1SU2z3_UnNV7Erc_AAAB");
        raw.extend(hex("a5726f6f6d7392b4"));
        raw.extend(b"DNowDcU4TKdVliqEAAAA");
        raw.extend(hex("a27231a46461746182a475736572a27531a362696ec40107"));
        let blob = STANDARD.encode(&raw);
        assert!(blob.starts_with("hKNzaWS0"), "{blob}");
        let session = decode(blob.as_bytes()).unwrap();
        assert_eq!(session.sid.as_str(), "DNowDcU4TKdVliqEAAAA");
        assert_eq!(session.pid.as_str(), "1SU2z3_UnNV7Erc_AAAB");
        assert_eq!(
            session.rooms,
            [Room::from("DNowDcU4TKdVliqEAAAA"), Room::from("r1")]
        );
        assert_eq!(
            session.data,
            json!({"user": "u1", "bin": {"type": "Buffer", "data": [7]}})
        );
    }

    /// What ferrio writes is the same bytes, for the same (JSON) values.
    #[test]
    fn ferrio_writes_the_same_bytes() {
        let session = SessionToPersist::new(
            SocketId::parse("DNowDcU4TKdVliqEAAAA").unwrap(),
            SocketId::parse("1SU2z3_UnNV7Erc_AAAB").unwrap(),
            vec![Room::from("DNowDcU4TKdVliqEAAAA"), Room::from("r1")],
            json!({"user": "u1"}),
        );
        let blob = encode(&session).unwrap();
        let mut raw = hex("84a3736964b4");
        raw.extend(b"DNowDcU4TKdVliqEAAAA");
        raw.extend(hex("a3706964b4"));
        raw.extend(b"1SU2z3_UnNV7Erc_AAAB");
        raw.extend(hex("a5726f6f6d7392b4"));
        raw.extend(b"DNowDcU4TKdVliqEAAAA");
        raw.extend(hex("a27231a46461746181a475736572a27531"));
        assert_eq!(&blob[..], STANDARD.encode(&raw).as_bytes());
        let back = decode(&blob).unwrap();
        assert_eq!(back.data, json!({"user": "u1"}));
    }

    #[test]
    fn malformed_blobs_are_errors() {
        for bad in [
            &b""[..],
            b"!!!",
            b"gA==",     // {}
            b"kA==",     // []
            b"hKNzaWQB", // cut
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }

    /// Random and corrupted blobs: an error or a session, never a panic.
    mod never_panic {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn on_random_blobs(bytes in prop::collection::vec(any::<u8>(), 0..128), b64 in any::<bool>()) {
                let blob = if b64 { STANDARD.encode(&bytes).into_bytes() } else { bytes };
                let _ = decode(&blob);
            }

            #[test]
            fn on_mutated_blobs(cut in any::<prop::sample::Index>(),
                                flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)) {
                let session = SessionToPersist::new(
                    SocketId::parse("DNowDcU4TKdVliqEAAAA").unwrap(),
                    SocketId::parse("1SU2z3_UnNV7Erc_AAAB").unwrap(),
                    vec![Room::from("r1")],
                    json!({"user": "u1", "n": [1, 2.5]}),
                );
                let mut raw = STANDARD.decode(encode(&session).unwrap()).unwrap();
                for (at, value) in flips {
                    let i = at.index(raw.len());
                    raw[i] = value;
                }
                raw.truncate(cut.index(raw.len() + 1));
                let _ = decode(STANDARD.encode(&raw).as_bytes());
            }
        }
    }
}
