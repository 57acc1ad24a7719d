//! The `ClusterAdapter` message format (memo §2.5), which the sharded adapter
//! (`createShardedAdapter`) and the streams adapter
//! (`@socket.io/redis-streams-adapter` 0.3) both speak: an envelope
//! `{type, data?, uid, nsp}` in that key order. The sharded adapter sends it as
//! JSON, or notepack msgpack of the whole envelope when `data` holds binary;
//! the streams adapter's pub/sub messages are always msgpack, and its stream
//! entries carry the same `data` in a field of their own
//! ([`crate::streams`]).

use bytes::Bytes;
use ferrio_proto::socketio::Payload;
use ferrio_proto::socketio::msgpack::{EncodeError, Writer};
use serde_json::{Value, json};

use crate::classic::wire::{WireError, WireOpts, decode_any, json_bytes, read_opts, read_packet};
use crate::view::{boolean, into_entries, into_items, rooms, string, take, uint};

/// Node's `MessageType` of the ClusterAdapter.
pub(crate) mod kind {
    /// BROADCAST (with a `requestId`: with acks).
    pub(crate) const BROADCAST: u64 = 3;
    /// SOCKETS_JOIN.
    pub(crate) const SOCKETS_JOIN: u64 = 4;
    /// SOCKETS_LEAVE.
    pub(crate) const SOCKETS_LEAVE: u64 = 5;
    /// DISCONNECT_SOCKETS.
    pub(crate) const DISCONNECT_SOCKETS: u64 = 6;
    /// FETCH_SOCKETS.
    pub(crate) const FETCH_SOCKETS: u64 = 7;
    /// FETCH_SOCKETS_RESPONSE.
    pub(crate) const FETCH_SOCKETS_RESPONSE: u64 = 8;
    /// SERVER_SIDE_EMIT.
    pub(crate) const SERVER_SIDE_EMIT: u64 = 9;
    /// SERVER_SIDE_EMIT_RESPONSE.
    pub(crate) const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    /// BROADCAST_CLIENT_COUNT.
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 11;
    /// BROADCAST_ACK.
    pub(crate) const BROADCAST_ACK: u64 = 12;
}

fn strings(items: &[String]) -> Payload {
    Payload::Json(json!(items))
}

/// `{rooms, except, flags}` with only the flags that are set.
pub(crate) fn opts_payload(opts: &WireOpts) -> Payload {
    let mut flags = serde_json::Map::new();
    if opts.flags.volatile {
        flags.insert("volatile".into(), json!(true));
    }
    if let Some(compress) = opts.flags.compress {
        flags.insert("compress".into(), json!(compress));
    }
    if let Some(ms) = opts.flags.timeout_ms {
        flags.insert("timeout".into(), json!(ms));
    }
    if opts.flags.expect_single_response {
        flags.insert("expectSingleResponse".into(), json!(true));
    }
    Payload::Object(vec![
        ("rooms".into(), strings(&opts.rooms)),
        ("except".into(), strings(&opts.except)),
        ("flags".into(), Payload::Json(Value::Object(flags))),
    ])
}

/// `{type:2, data}` (no `nsp` in this format).
pub(crate) fn packet_payload(data: Payload) -> Payload {
    Payload::Object(vec![
        ("type".into(), Payload::Json(json!(2))),
        ("data".into(), data),
    ])
}

/// An object payload from `(key, value)` pairs, in order.
pub(crate) fn object(entries: Vec<(&str, Payload)>) -> Payload {
    Payload::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// `{type, data?, uid, nsp}`, in that order.
fn envelope(kind: u64, data: Option<Payload>, uid: &str, nsp: &str) -> Payload {
    let mut entries = vec![("type".to_owned(), Payload::Json(json!(kind)))];
    if let Some(data) = data {
        entries.push(("data".to_owned(), data));
    }
    entries.push(("uid".to_owned(), Payload::Json(json!(uid))));
    entries.push(("nsp".to_owned(), Payload::Json(json!(nsp))));
    Payload::Object(entries)
}

/// The envelope, encoded as the sharded adapter does: JSON, or msgpack when
/// `data` has binary.
pub(crate) fn encode(
    kind: u64,
    data: Option<Payload>,
    uid: &str,
    nsp: &str,
) -> Result<Bytes, EncodeError> {
    let binary = data.as_ref().is_some_and(Payload::has_binary);
    let envelope = envelope(kind, data, uid, nsp);
    if binary {
        return msgpack_bytes(&envelope);
    }
    Ok(json_bytes(&envelope.to_value().unwrap_or(Value::Null)))
}

/// The envelope as msgpack, always: the streams adapter's pub/sub messages.
pub(crate) fn encode_msgpack(
    kind: u64,
    data: Option<Payload>,
    uid: &str,
    nsp: &str,
) -> Result<Bytes, EncodeError> {
    msgpack_bytes(&envelope(kind, data, uid, nsp))
}

/// A payload as msgpack (the bytes notepack.io and @msgpack/msgpack both
/// write for the values ferrio sends).
pub(crate) fn msgpack_bytes(payload: &Payload) -> Result<Bytes, EncodeError> {
    let mut w = Writer::new();
    w.payload(payload)?;
    Ok(Bytes::from(w.into_vec()))
}

/// A message of the ClusterAdapter family.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    /// BROADCAST, with a request id when acks are wanted.
    Broadcast {
        /// `packet.data`.
        data: Payload,
        /// The options, flags included.
        opts: WireOpts,
        /// With acks.
        request_id: Option<String>,
    },
    /// SOCKETS_JOIN / SOCKETS_LEAVE.
    JoinLeave {
        /// Join (true) or leave.
        join: bool,
        /// Which sockets.
        opts: WireOpts,
        /// The rooms.
        rooms: Vec<String>,
    },
    /// DISCONNECT_SOCKETS.
    Disconnect {
        /// Which sockets.
        opts: WireOpts,
        /// Close their connections.
        close: bool,
    },
    /// FETCH_SOCKETS.
    Fetch {
        /// Which sockets.
        opts: WireOpts,
        /// The request id.
        request_id: String,
    },
    /// SERVER_SIDE_EMIT.
    ServerSide {
        /// `[event, ...args]`.
        packet: Vec<Payload>,
        /// With an ack.
        request_id: Option<String>,
    },
    /// A response: FETCH_SOCKETS_RESPONSE, SERVER_SIDE_EMIT_RESPONSE,
    /// BROADCAST_CLIENT_COUNT or BROADCAST_ACK.
    Response {
        /// The request it answers.
        request_id: String,
        /// What it says.
        response: crate::classic::wire::Response,
    },
}

/// A decoded envelope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Envelope {
    /// The sender's uid.
    pub uid: String,
    /// The namespace.
    pub nsp: String,
    /// The message.
    pub message: Message,
}

/// Decodes an envelope (JSON if it starts with `{`, msgpack otherwise).
pub(crate) fn decode(bytes: &Bytes) -> Result<Envelope, WireError> {
    let mut m = into_entries(decode_any(bytes)?).ok_or(WireError::Shape("message is not a map"))?;
    let kind = take(&mut m, "type")
        .as_ref()
        .and_then(uint)
        .ok_or(WireError::Shape("message without a numeric type"))?;
    let uid = take(&mut m, "uid")
        .and_then(string)
        .ok_or(WireError::Shape("message without a uid"))?;
    let nsp = take(&mut m, "nsp")
        .and_then(string)
        .ok_or(WireError::Shape("message without a nsp"))?;
    let message = decode_message(kind, take(&mut m, "data"))?;
    Ok(Envelope { uid, nsp, message })
}

/// Reads the `data` of a message of type `kind`.
pub(crate) fn decode_message(kind: u64, data: Option<Payload>) -> Result<Message, WireError> {
    use crate::classic::wire::Response;
    let mut d = match data {
        Some(data) => into_entries(data).ok_or(WireError::Shape("data is not a map"))?,
        None => Vec::new(),
    };
    let request_id = take(&mut d, "requestId").and_then(string);
    let required = |id: Option<String>| id.ok_or(WireError::Shape("message without a requestId"));
    let message = match kind {
        kind::BROADCAST => {
            let packet =
                take(&mut d, "packet").ok_or(WireError::Shape("broadcast without packet"))?;
            let (_, data) = read_packet(packet)?;
            Message::Broadcast {
                data,
                opts: read_opts(take(&mut d, "opts"))?,
                request_id,
            }
        }
        kind::SOCKETS_JOIN | kind::SOCKETS_LEAVE => Message::JoinLeave {
            join: kind == kind::SOCKETS_JOIN,
            opts: read_opts(take(&mut d, "opts"))?,
            rooms: take(&mut d, "rooms")
                .and_then(rooms)
                .ok_or(WireError::Shape("join/leave without rooms"))?,
        },
        kind::DISCONNECT_SOCKETS => Message::Disconnect {
            opts: read_opts(take(&mut d, "opts"))?,
            close: take(&mut d, "close")
                .as_ref()
                .and_then(boolean)
                .unwrap_or(false),
        },
        kind::FETCH_SOCKETS => Message::Fetch {
            opts: read_opts(take(&mut d, "opts"))?,
            request_id: required(request_id)?,
        },
        kind::SERVER_SIDE_EMIT => Message::ServerSide {
            packet: take(&mut d, "packet")
                .and_then(into_items)
                .filter(|p| matches!(p.first(), Some(Payload::Json(Value::String(_)))))
                .ok_or(WireError::Shape(
                    "server-side emit without [event, ...args]",
                ))?,
            request_id,
        },
        kind::FETCH_SOCKETS_RESPONSE => {
            let sockets = take(&mut d, "sockets")
                .and_then(into_items)
                .ok_or(WireError::Shape("fetch response without sockets"))?;
            Message::Response {
                request_id: required(request_id)?,
                response: Response::Sockets(sockets.iter().filter_map(Payload::to_value).collect()),
            }
        }
        kind::SERVER_SIDE_EMIT_RESPONSE => Message::Response {
            request_id: required(request_id)?,
            response: Response::ServerSide(
                take(&mut d, "packet").unwrap_or(Payload::Json(Value::Null)),
            ),
        },
        kind::BROADCAST_CLIENT_COUNT => {
            let count = take(&mut d, "clientCount")
                .as_ref()
                .and_then(uint)
                .ok_or(WireError::Shape("client count is not a number"))?;
            Message::Response {
                request_id: required(request_id)?,
                response: Response::ClientCount(usize::try_from(count).unwrap_or(usize::MAX)),
            }
        }
        kind::BROADCAST_ACK => Message::Response {
            request_id: required(request_id)?,
            response: Response::Ack(take(&mut d, "packet").unwrap_or(Payload::Json(Value::Null))),
        },
        _ => return Err(WireError::Shape("unknown message type")),
    };
    Ok(message)
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

    #[test]
    fn a_broadcast_is_nodes_json() {
        let data = object(vec![
            (
                "packet",
                packet_payload(Payload::Json(json!(["hello", "world", 1]))),
            ),
            ("opts", opts_payload(&WireOpts::default())),
        ]);
        let bytes = encode(kind::BROADCAST, Some(data), "2d7fb3130cb77152", "/").unwrap();
        assert_eq!(
            &bytes[..],
            br#"{"type":3,"data":{"packet":{"type":2,"data":["hello","world",1]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"2d7fb3130cb77152","nsp":"/"}"#
        );
        let e = decode(&bytes).unwrap();
        assert_eq!(e.uid, "2d7fb3130cb77152");
        assert!(matches!(
            e.message,
            Message::Broadcast {
                request_id: None,
                ..
            }
        ));
    }

    /// Appendix A: a binary broadcast is msgpack of the whole envelope.
    #[test]
    fn a_binary_broadcast_is_nodes_msgpack() {
        let data = object(vec![
            (
                "packet",
                packet_payload(Payload::Array(vec![
                    Payload::Json(json!("bin")),
                    Payload::Binary(Bytes::from_static(&[1, 2, 3])),
                ])),
            ),
            ("opts", opts_payload(&WireOpts::default())),
        ]);
        let bytes = encode(kind::BROADCAST, Some(data), "2d7fb3130cb77152", "/").unwrap();
        assert_eq!(
            bytes.to_vec(),
            hex(
                "84a47479706503a46461746182a67061636b657482a47479706502a46461746192a362696ec403010203a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b032643766623331333063623737313532a36e7370a12f"
            )
        );
        let e = decode(&bytes).unwrap();
        let Message::Broadcast { data, .. } = e.message else {
            panic!()
        };
        assert_eq!(
            data,
            Payload::Array(vec![
                json!("bin").into(),
                Bytes::from_static(&[1, 2, 3]).into()
            ])
        );
    }

    #[test]
    fn requests_and_responses_decode() {
        let e = decode(&Bytes::from_static(
            br#"{"type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"774a0c071b8de44f"},"uid":"2d7f","nsp":"/"}"#,
        ))
        .unwrap();
        assert_eq!(
            e.message,
            Message::Fetch {
                opts: WireOpts::default(),
                request_id: "774a0c071b8de44f".into()
            }
        );
        let e = decode(&Bytes::from_static(
            br#"{"type":10,"data":{"requestId":"57b9","packet":"pong-from-B"},"uid":"0276","nsp":"/"}"#,
        ))
        .unwrap();
        assert_eq!(
            e.message,
            Message::Response {
                request_id: "57b9".into(),
                response: crate::classic::wire::Response::ServerSide(json!("pong-from-B").into())
            }
        );
        for bad in [
            &b"{}"[..],
            b"{\"type\":3,\"uid\":\"a\",\"nsp\":\"/\"}",
            b"\x84",
            b"[1]",
        ] {
            assert!(decode(&Bytes::copy_from_slice(bad)).is_err());
        }
    }

    /// Cut and corrupted envelopes, and random bytes: an error or a message,
    /// never a panic.
    mod never_panic {
        use super::*;
        use proptest::prelude::*;

        fn seeds() -> Vec<Vec<u8>> {
            vec![
                hex("84a47479706503a46461746182a67061636b657482a47479706502a46461746192a362696ec403010203a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b032643766623331333063623737313532a36e7370a12f"),
                br#"{"type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"774a0c071b8de44f"},"uid":"2d7f","nsp":"/"}"#.to_vec(),
                br#"{"type":11,"data":{"requestId":"eab1","clientCount":1},"uid":"0276","nsp":"/"}"#.to_vec(),
                br#"{"type":4,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"rooms":["r3"]},"uid":"2d7f","nsp":"/"}"#.to_vec(),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn on_mutated_envelopes(seed in 0usize..4, cut in any::<prop::sample::Index>(),
                                    flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)) {
                let mut bytes = seeds()[seed].clone();
                for (at, value) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                bytes.truncate(cut.index(bytes.len() + 1));
                let _ = decode(&Bytes::from(bytes));
            }

            #[test]
            fn on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                let _ = decode(&Bytes::from(bytes));
            }
        }
    }
}
