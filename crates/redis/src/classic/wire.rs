//! The classic adapter's messages (memo §2.2–2.3): what `@socket.io/redis-adapter`
//! 8.x `createAdapter` and `@socket.io/redis-emitter` publish, byte for byte.
//!
//! * broadcasts: msgpack `[uid, {type:2, data, nsp}, {rooms, except, flags}]`;
//! * requests and responses: JSON (first byte `{`), or msgpack for a broadcast
//!   with acks, an ack answer, and whatever carries binary.
//!
//! Decoding never trusts the bytes: a message of an unexpected shape is an
//! error, which the adapter logs and skips.

use bytes::Bytes;
use ferrio_proto::socketio::msgpack::{self, EncodeError, MsgpackError, Writer};
use ferrio_proto::socketio::{DecoderConfig, Payload, write_json};
use serde_json::{Map, Value, json};

use crate::view::{boolean, into_entries, into_items, rooms, string, take, uint};

/// Node's `RequestType` of the classic adapter.
pub(crate) mod kind {
    /// SOCKETS (legacy).
    pub(crate) const SOCKETS: u64 = 0;
    /// ALL_ROOMS.
    pub(crate) const ALL_ROOMS: u64 = 1;
    /// REMOTE_JOIN.
    pub(crate) const REMOTE_JOIN: u64 = 2;
    /// REMOTE_LEAVE.
    pub(crate) const REMOTE_LEAVE: u64 = 3;
    /// REMOTE_DISCONNECT.
    pub(crate) const REMOTE_DISCONNECT: u64 = 4;
    /// REMOTE_FETCH.
    pub(crate) const REMOTE_FETCH: u64 = 5;
    /// SERVER_SIDE_EMIT.
    pub(crate) const SERVER_SIDE_EMIT: u64 = 6;
    /// BROADCAST (with acks).
    pub(crate) const BROADCAST: u64 = 7;
    /// BROADCAST_CLIENT_COUNT.
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 8;
    /// BROADCAST_ACK.
    pub(crate) const BROADCAST_ACK: u64 = 9;
}

/// Why a message from Redis was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// Not valid msgpack (or over a decoding limit).
    #[error("bad msgpack: {0}")]
    Msgpack(#[from] MsgpackError),
    /// Not valid JSON.
    #[error("bad JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid, but not a message of this adapter.
    #[error("unexpected message shape: {0}")]
    Shape(&'static str),
}

/// The flags of a broadcast as they travel: only the keys that are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WireFlags {
    /// `volatile: true`.
    pub volatile: bool,
    /// `compress`, when set.
    pub compress: Option<bool>,
    /// `timeout` in ms, when set.
    pub timeout_ms: Option<u64>,
    /// `expectSingleResponse: true`.
    pub expect_single_response: bool,
}

/// `{rooms, except, flags}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WireOpts {
    /// Target rooms (empty: everyone).
    pub rooms: Vec<String>,
    /// Rooms left out.
    pub except: Vec<String>,
    /// The flags.
    pub flags: WireFlags,
}

/// The decoding limits for everything read from Redis.
pub(crate) fn decoder_config() -> DecoderConfig {
    DecoderConfig::default()
}

fn write_strings(w: &mut Writer, items: &[String]) -> Result<(), EncodeError> {
    w.array_len(items.len())?;
    for item in items {
        w.str(item)?;
    }
    Ok(())
}

fn write_flags(w: &mut Writer, flags: &WireFlags) -> Result<(), EncodeError> {
    let len = usize::from(flags.volatile)
        + usize::from(flags.compress.is_some())
        + usize::from(flags.timeout_ms.is_some())
        + usize::from(flags.expect_single_response);
    w.map_len(len)?;
    if flags.volatile {
        w.str("volatile")?;
        w.bool(true);
    }
    if let Some(compress) = flags.compress {
        w.str("compress")?;
        w.bool(compress);
    }
    if let Some(ms) = flags.timeout_ms {
        w.str("timeout")?;
        w.uint(ms);
    }
    if flags.expect_single_response {
        w.str("expectSingleResponse")?;
        w.bool(true);
    }
    Ok(())
}

fn write_opts(w: &mut Writer, opts: &WireOpts, with_flags: bool) -> Result<(), EncodeError> {
    w.map_len(if with_flags { 3 } else { 2 })?;
    w.str("rooms")?;
    write_strings(w, &opts.rooms)?;
    w.str("except")?;
    write_strings(w, &opts.except)?;
    if with_flags {
        w.str("flags")?;
        write_flags(w, &opts.flags)?;
    }
    Ok(())
}

/// `{type: 2, data, nsp}`.
fn write_packet(w: &mut Writer, nsp: &str, data: &Payload) -> Result<(), EncodeError> {
    w.map_len(3)?;
    w.str("type")?;
    w.uint(2);
    w.str("data")?;
    w.payload(data)?;
    w.str("nsp")?;
    w.str(nsp)
}

/// A broadcast: `[uid, {type:2, data, nsp}, {rooms, except, flags}]`.
pub(crate) fn encode_broadcast(
    uid: &str,
    nsp: &str,
    data: &Payload,
    opts: &WireOpts,
) -> Result<Bytes, EncodeError> {
    let mut w = Writer::new();
    w.array_len(3)?;
    w.str(uid)?;
    write_packet(&mut w, nsp, data)?;
    write_opts(&mut w, opts, true)?;
    Ok(Bytes::from(w.into_vec()))
}

/// A broadcast with acks (type 7): msgpack
/// `{uid, requestId, type:7, packet:{type:2,data,nsp}, opts:{rooms,except,flags}}`.
pub(crate) fn encode_ack_broadcast(
    uid: &str,
    request_id: &str,
    nsp: &str,
    data: &Payload,
    opts: &WireOpts,
) -> Result<Bytes, EncodeError> {
    let mut w = Writer::new();
    w.map_len(5)?;
    w.str("uid")?;
    w.str(uid)?;
    w.str("requestId")?;
    w.str(request_id)?;
    w.str("type")?;
    w.uint(kind::BROADCAST);
    w.str("packet")?;
    write_packet(&mut w, nsp, data)?;
    w.str("opts")?;
    write_opts(&mut w, opts, true)?;
    Ok(Bytes::from(w.into_vec()))
}

/// One client's answer to a relayed broadcast (type 9): msgpack
/// `{type:9, requestId, packet}`, `packet` being the first ack argument.
pub(crate) fn encode_ack_answer(request_id: &str, first: &Payload) -> Result<Bytes, EncodeError> {
    let mut w = Writer::new();
    w.map_len(3)?;
    w.str("type")?;
    w.uint(kind::BROADCAST_ACK);
    w.str("requestId")?;
    w.str(request_id)?;
    w.str("packet")?;
    w.payload(first)?;
    Ok(Bytes::from(w.into_vec()))
}

/// A server-side event: JSON `{uid, [requestId,] type:6, data:[event, ...args]}`,
/// or the same map in msgpack when an argument is binary (Node receivers
/// decode by the first byte).
pub(crate) fn encode_server_side(
    uid: &str,
    request_id: Option<&str>,
    data: &Payload,
) -> Result<Bytes, EncodeError> {
    if let Some(value) = data.to_value() {
        let mut map = Map::new();
        map.insert("uid".into(), json!(uid));
        if let Some(id) = request_id {
            map.insert("requestId".into(), json!(id));
        }
        map.insert("type".into(), json!(kind::SERVER_SIDE_EMIT));
        map.insert("data".into(), value);
        return Ok(json_bytes(&Value::Object(map)));
    }
    let mut w = Writer::new();
    w.map_len(if request_id.is_some() { 4 } else { 3 })?;
    w.str("uid")?;
    w.str(uid)?;
    if let Some(id) = request_id {
        w.str("requestId")?;
        w.str(id)?;
    }
    w.str("type")?;
    w.uint(kind::SERVER_SIDE_EMIT);
    w.str("data")?;
    w.payload(data)?;
    Ok(Bytes::from(w.into_vec()))
}

/// The answer to a server-side event (`{type:6, requestId, data}`), JSON, or
/// msgpack when it is binary.
pub(crate) fn encode_server_side_answer(
    request_id: &str,
    answer: &Payload,
) -> Result<Bytes, EncodeError> {
    if let Some(value) = answer.to_value() {
        return Ok(json_bytes(
            &json!({"type": kind::SERVER_SIDE_EMIT, "requestId": request_id, "data": value}),
        ));
    }
    let mut w = Writer::new();
    w.map_len(3)?;
    w.str("type")?;
    w.uint(kind::SERVER_SIDE_EMIT);
    w.str("requestId")?;
    w.str(request_id)?;
    w.str("data")?;
    w.payload(answer)?;
    Ok(Bytes::from(w.into_vec()))
}

/// JSON text as `JSON.stringify` writes it.
pub(crate) fn json_bytes(value: &Value) -> Bytes {
    let mut out = Vec::with_capacity(128);
    // Writing a `Value` to a Vec cannot fail.
    let _ = write_json(value, &mut out);
    Bytes::from(out)
}

/// JSON `{"rooms":[…],"except":[…]}` of a request.
pub(crate) fn opts_json(opts: &WireOpts) -> Value {
    json!({"rooms": opts.rooms, "except": opts.except})
}

/// A broadcast received from another node (or the emitter).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RemoteBroadcast {
    /// The sender's uid.
    pub uid: String,
    /// `packet.nsp` (absent: `/`).
    pub nsp: String,
    /// `packet.data`: `[event, ...args]`.
    pub data: Payload,
    /// The options.
    pub opts: WireOpts,
}

/// Reads `{rooms, except, flags}` (missing parts: empty).
pub(crate) fn read_opts(payload: Option<Payload>) -> Result<WireOpts, WireError> {
    let Some(payload) = payload else {
        return Ok(WireOpts::default());
    };
    let mut entries = into_entries(payload).ok_or(WireError::Shape("opts is not a map"))?;
    let rooms_of = |p: Option<Payload>| -> Result<Vec<String>, WireError> {
        match p {
            None | Some(Payload::Json(Value::Null)) => Ok(Vec::new()),
            Some(p) => rooms(p).ok_or(WireError::Shape("rooms is not a list of names")),
        }
    };
    let rooms_list = rooms_of(take(&mut entries, "rooms"))?;
    let except = rooms_of(take(&mut entries, "except"))?;
    let mut flags = WireFlags::default();
    if let Some(f) = take(&mut entries, "flags").and_then(into_entries) {
        for (key, value) in f {
            match key.as_str() {
                "volatile" => flags.volatile = boolean(&value).unwrap_or(false),
                "compress" => flags.compress = boolean(&value),
                "timeout" => flags.timeout_ms = uint(&value),
                "expectSingleResponse" => {
                    flags.expect_single_response = boolean(&value).unwrap_or(false);
                }
                _ => {}
            }
        }
    }
    Ok(WireOpts {
        rooms: rooms_list,
        except,
        flags,
    })
}

/// Reads `{type:2, data, nsp}` (an `id` is ignored, as the memo says).
pub(crate) fn read_packet(payload: Payload) -> Result<(String, Payload), WireError> {
    let mut packet = into_entries(payload).ok_or(WireError::Shape("packet is not a map"))?;
    let data = take(&mut packet, "data").ok_or(WireError::Shape("packet without data"))?;
    let nsp = match take(&mut packet, "nsp") {
        None => "/".to_owned(),
        Some(p) => string(p).ok_or(WireError::Shape("packet.nsp is not a string"))?,
    };
    if into_items(data.clone()).is_none_or(|items| items.is_empty()) {
        return Err(WireError::Shape("packet.data is not a non-empty array"));
    }
    Ok((nsp, data))
}

/// Decodes a broadcast (msgpack `[uid, packet, opts]`).
pub(crate) fn decode_broadcast(bytes: &Bytes) -> Result<RemoteBroadcast, WireError> {
    let payload = msgpack::decode(bytes, &decoder_config())?;
    let mut items = into_items(payload)
        .ok_or(WireError::Shape("broadcast is not an array"))?
        .into_iter();
    let (Some(uid), Some(packet), opts) = (items.next(), items.next(), items.next()) else {
        return Err(WireError::Shape("broadcast has fewer than 2 items"));
    };
    let uid = string(uid).ok_or(WireError::Shape("broadcast uid is not a string"))?;
    let (nsp, data) = read_packet(packet)?;
    Ok(RemoteBroadcast {
        uid,
        nsp,
        data,
        opts: read_opts(opts)?,
    })
}

/// A request on `{key}-request#{nsp}#`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// SOCKETS (legacy): the ids of the sockets in rooms.
    Sockets {
        /// The request id.
        request_id: String,
        /// The rooms.
        rooms: Vec<String>,
    },
    /// ALL_ROOMS.
    AllRooms {
        /// The request id.
        request_id: String,
    },
    /// REMOTE_JOIN / REMOTE_LEAVE, new form: sockets selected by `opts`.
    JoinLeave {
        /// Join (true) or leave.
        join: bool,
        /// Which sockets.
        opts: WireOpts,
        /// The rooms to join or leave.
        rooms: Vec<String>,
    },
    /// REMOTE_JOIN / REMOTE_LEAVE / REMOTE_DISCONNECT, legacy form: one socket.
    Legacy {
        /// The request id (answered with `{requestId}` by the owner).
        request_id: String,
        /// The request type.
        kind: u64,
        /// The socket.
        sid: String,
        /// The room (join and leave).
        room: Option<String>,
        /// Close the connection (disconnect).
        close: bool,
    },
    /// REMOTE_DISCONNECT.
    Disconnect {
        /// Which sockets.
        opts: WireOpts,
        /// Close their connections.
        close: bool,
    },
    /// REMOTE_FETCH.
    Fetch {
        /// The request id.
        request_id: String,
        /// Which sockets.
        opts: WireOpts,
    },
    /// SERVER_SIDE_EMIT.
    ServerSide {
        /// The request id when the sender waits for an answer.
        request_id: Option<String>,
        /// `[event, ...args]`.
        data: Vec<Payload>,
    },
    /// BROADCAST with acks.
    AckBroadcast {
        /// The request id.
        request_id: String,
        /// `packet.nsp`.
        nsp: String,
        /// `packet.data`.
        data: Payload,
        /// The options (flags are not applied, as in Node's classic adapter).
        opts: WireOpts,
    },
}

/// A request with the sender's uid (absent for the emitter's join, leave and
/// disconnect requests).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Envelope<T> {
    /// The sender's uid.
    pub uid: Option<String>,
    /// The message.
    pub message: T,
}

/// JSON when the first byte is `{`, msgpack otherwise.
pub(crate) fn decode_any(bytes: &Bytes) -> Result<Payload, WireError> {
    if bytes.first() == Some(&b'{') {
        let value: Value = serde_json::from_slice(bytes)?;
        Ok(Payload::Json(value))
    } else {
        Ok(msgpack::decode(bytes, &decoder_config())?)
    }
}

fn required_id(entries: &mut Vec<(String, Payload)>) -> Result<String, WireError> {
    take(entries, "requestId")
        .and_then(string)
        .ok_or(WireError::Shape("request without a string requestId"))
}

/// Decodes a request.
pub(crate) fn decode_request(bytes: &Bytes) -> Result<Envelope<Request>, WireError> {
    let mut m = into_entries(decode_any(bytes)?).ok_or(WireError::Shape("request is not a map"))?;
    let uid = take(&mut m, "uid").and_then(string);
    let kind = take(&mut m, "type")
        .as_ref()
        .and_then(uint)
        .ok_or(WireError::Shape("request without a numeric type"))?;
    let legacy_sid = take(&mut m, "sid").and_then(string);
    let message = match kind {
        kind::SOCKETS => Request::Sockets {
            request_id: required_id(&mut m)?,
            rooms: take(&mut m, "rooms").and_then(rooms).unwrap_or_default(),
        },
        kind::ALL_ROOMS => Request::AllRooms {
            request_id: required_id(&mut m)?,
        },
        kind::REMOTE_JOIN | kind::REMOTE_LEAVE | kind::REMOTE_DISCONNECT
            if legacy_sid.is_some() =>
        {
            Request::Legacy {
                request_id: required_id(&mut m)?,
                kind,
                sid: legacy_sid.unwrap_or_default(),
                room: take(&mut m, "room").and_then(string),
                close: take(&mut m, "close")
                    .as_ref()
                    .and_then(boolean)
                    .unwrap_or(false),
            }
        }
        kind::REMOTE_JOIN | kind::REMOTE_LEAVE => Request::JoinLeave {
            join: kind == kind::REMOTE_JOIN,
            opts: read_opts(take(&mut m, "opts"))?,
            rooms: take(&mut m, "rooms")
                .and_then(rooms)
                .ok_or(WireError::Shape("join/leave without rooms"))?,
        },
        kind::REMOTE_DISCONNECT => Request::Disconnect {
            opts: read_opts(take(&mut m, "opts"))?,
            close: take(&mut m, "close")
                .as_ref()
                .and_then(boolean)
                .unwrap_or(false),
        },
        kind::REMOTE_FETCH => Request::Fetch {
            request_id: required_id(&mut m)?,
            opts: read_opts(take(&mut m, "opts"))?,
        },
        kind::SERVER_SIDE_EMIT => {
            let data = take(&mut m, "data")
                .and_then(into_items)
                .filter(|d| matches!(d.first(), Some(Payload::Json(Value::String(_)))))
                .ok_or(WireError::Shape(
                    "server-side emit without [event, ...args]",
                ))?;
            Request::ServerSide {
                request_id: take(&mut m, "requestId").and_then(string),
                data,
            }
        }
        kind::BROADCAST => {
            let request_id = required_id(&mut m)?;
            let packet =
                take(&mut m, "packet").ok_or(WireError::Shape("broadcast without packet"))?;
            let (nsp, data) = read_packet(packet)?;
            Request::AckBroadcast {
                request_id,
                nsp,
                data,
                opts: read_opts(take(&mut m, "opts"))?,
            }
        }
        _ => return Err(WireError::Shape("unknown request type")),
    };
    Ok(Envelope { uid, message })
}

/// A response on `{key}-response#{nsp}#[uid#]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Response {
    /// `{requestId, sockets}`: socket ids (legacy) or socket details (fetch).
    Sockets(Vec<Value>),
    /// `{requestId, rooms}`.
    Rooms(Vec<String>),
    /// `{type:6, requestId, data}`: a server's answer to a server-side event.
    ServerSide(Payload),
    /// `{type:8, requestId, clientCount}`.
    ClientCount(usize),
    /// `{type:9, requestId, packet}`: one client's first ack argument.
    Ack(Payload),
    /// `{requestId}` alone (legacy join/leave/disconnect), or a response of
    /// no known kind: it still counts as an answer, as in Node.
    Empty,
}

/// Decodes a response; the request id comes first.
pub(crate) fn decode_response(bytes: &Bytes) -> Result<(String, Response), WireError> {
    let mut m =
        into_entries(decode_any(bytes)?).ok_or(WireError::Shape("response is not a map"))?;
    let request_id = required_id(&mut m)?;
    let kind = take(&mut m, "type").as_ref().and_then(uint);
    let response = match kind {
        Some(kind::SERVER_SIDE_EMIT) => {
            Response::ServerSide(take(&mut m, "data").unwrap_or(Payload::Json(Value::Null)))
        }
        Some(kind::BROADCAST_CLIENT_COUNT) => {
            let count = take(&mut m, "clientCount")
                .as_ref()
                .and_then(uint)
                .ok_or(WireError::Shape("client count is not a number"))?;
            Response::ClientCount(usize::try_from(count).unwrap_or(usize::MAX))
        }
        Some(kind::BROADCAST_ACK) => {
            Response::Ack(take(&mut m, "packet").unwrap_or(Payload::Json(Value::Null)))
        }
        _ => {
            if let Some(sockets) = take(&mut m, "sockets") {
                let items =
                    into_items(sockets).ok_or(WireError::Shape("sockets is not an array"))?;
                Response::Sockets(items.iter().filter_map(Payload::to_value).collect())
            } else if let Some(list) = take(&mut m, "rooms") {
                Response::Rooms(
                    rooms(list).ok_or(WireError::Shape("rooms is not a list of names"))?,
                )
            } else {
                Response::Empty
            }
        }
    };
    Ok((request_id, response))
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

    /// Appendix A: `io.to("r1").except("r2").compress(false).emit("x",{a:undefined,b:null})`.
    const NODE_ROOM_EXCEPT: &str = "93a661745448564783a47479706502a46461746192a17881a162c0a36e7370a12f83a5726f6f6d7391a27231a665786365707491a27232a5666c61677381a8636f6d7072657373c2";
    /// Appendix A: `io.to(["r1","r9"]).volatile.emit("y")`.
    const NODE_VOLATILE: &str = "93a661745448564783a47479706502a46461746191a179a36e7370a12f83a5726f6f6d7392a27231a27239a665786365707490a5666c61677381a8766f6c6174696c65c3";

    #[test]
    fn a_broadcast_is_written_with_nodes_bytes() {
        let opts = WireOpts {
            rooms: vec!["r1".into()],
            except: vec!["r2".into()],
            flags: WireFlags {
                compress: Some(false),
                ..WireFlags::default()
            },
        };
        let data = Payload::Json(json!(["x", {"b": null}]));
        let bytes = encode_broadcast("atTHVG", "/", &data, &opts).unwrap();
        assert_eq!(bytes.to_vec(), hex(NODE_ROOM_EXCEPT));

        let opts = WireOpts {
            rooms: vec!["r1".into(), "r9".into()],
            flags: WireFlags {
                volatile: true,
                ..WireFlags::default()
            },
            ..WireOpts::default()
        };
        let bytes = encode_broadcast("atTHVG", "/", &Payload::Json(json!(["y"])), &opts).unwrap();
        assert_eq!(bytes.to_vec(), hex(NODE_VOLATILE));
    }

    #[test]
    fn nodes_broadcasts_decode() {
        let b = decode_broadcast(&Bytes::from(hex(NODE_ROOM_EXCEPT))).unwrap();
        assert_eq!(b.uid, "atTHVG");
        assert_eq!(b.nsp, "/");
        assert_eq!(b.data, Payload::Json(json!(["x", {"b": null}])));
        assert_eq!(b.opts.rooms, vec!["r1"]);
        assert_eq!(b.opts.except, vec!["r2"]);
        assert_eq!(b.opts.flags.compress, Some(false));
    }

    #[test]
    fn the_emitters_broadcast_with_binary_and_keys_out_of_order_decodes() {
        let bytes = hex(
            "93a7656d697474657283a47479706502a46461746192ac66726f6d2d656d6974746572c40109a36e7370a12f83a5726f6f6d7391a27233a5666c61677380a665786365707490",
        );
        let b = decode_broadcast(&Bytes::from(bytes)).unwrap();
        assert_eq!(b.uid, "emitter");
        assert_eq!(
            b.data,
            Payload::Array(vec![
                json!("from-emitter").into(),
                Bytes::from_static(&[9]).into()
            ])
        );
        assert_eq!(b.opts.rooms, vec!["r3"]);
    }

    #[test]
    fn the_ack_broadcast_and_its_answers_are_nodes() {
        let opts = WireOpts {
            flags: WireFlags {
                timeout_ms: Some(1000),
                ..WireFlags::default()
            },
            ..WireOpts::default()
        };
        let bytes = encode_ack_broadcast(
            "atTHVG",
            "a9B0Yl",
            "/",
            &Payload::Json(json!(["withack", 7])),
            &opts,
        )
        .unwrap();
        assert_eq!(
            bytes.to_vec(),
            hex(
                "85a3756964a6617454485647a9726571756573744964a661394230596ca47479706507a67061636b657483a47479706502a46461746192a77769746861636b07a36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd03e8"
            )
        );
        let answer = encode_ack_answer("a9B0Yl", &Payload::Json(json!({"ok": 42}))).unwrap();
        assert_eq!(
            answer.to_vec(),
            hex("83a47479706509a9726571756573744964a661394230596ca67061636b657481a26f6b2a")
        );
        let request = decode_request(&bytes).unwrap();
        assert_eq!(request.uid.as_deref(), Some("atTHVG"));
        assert!(
            matches!(request.message, Request::AckBroadcast { ref request_id, .. } if request_id == "a9B0Yl")
        );
        assert_eq!(
            decode_response(&answer).unwrap(),
            (
                "a9B0Yl".to_owned(),
                Response::Ack(Payload::Json(json!({"ok": 42})))
            )
        );
    }

    #[test]
    fn json_requests_decode() {
        let r = decode_request(&Bytes::from_static(
            br#"{"uid":"atTHVG","requestId":"vTEw7C","type":5,"opts":{"rooms":[],"except":[]}}"#,
        ))
        .unwrap();
        assert_eq!(
            r.message,
            Request::Fetch {
                request_id: "vTEw7C".into(),
                opts: WireOpts::default()
            }
        );
        let r = decode_request(&Bytes::from_static(
            br#"{"type":3,"opts":{"rooms":[],"except":[]},"rooms":["r3"]}"#,
        ))
        .unwrap();
        assert_eq!(r.uid, None);
        assert_eq!(
            r.message,
            Request::JoinLeave {
                join: false,
                opts: WireOpts::default(),
                rooms: vec!["r3".into()]
            }
        );
        let r = decode_request(&Bytes::from_static(
            br#"{"uid":"emitter","type":6,"data":["evt",1]}"#,
        ))
        .unwrap();
        assert_eq!(
            r.message,
            Request::ServerSide {
                request_id: None,
                data: vec![json!("evt").into(), json!(1).into()]
            }
        );
        let (id, r) = decode_response(&Bytes::from_static(
            br#"{"type":6,"requestId":"yIW0iR","data":"pong-from-B"}"#,
        ))
        .unwrap();
        assert_eq!(
            (id.as_str(), r),
            ("yIW0iR", Response::ServerSide(json!("pong-from-B").into()))
        );
        let (_, r) = decode_response(&Bytes::from_static(
            br#"{"requestId":"O9U3jn","rooms":["a",1]}"#,
        ))
        .unwrap();
        assert_eq!(r, Response::Rooms(vec!["a".into(), "1".into()]));
    }

    #[test]
    fn server_side_events_are_json_unless_binary() {
        let data = Payload::Json(json!(["ping", 1]));
        assert_eq!(
            &encode_server_side("atTHVG", Some("yIW0iR"), &data).unwrap()[..],
            br#"{"uid":"atTHVG","requestId":"yIW0iR","type":6,"data":["ping",1]}"#
        );
        let binary = Payload::Array(vec![json!("b").into(), Bytes::from_static(&[1]).into()]);
        let bytes = encode_server_side("atTHVG", None, &binary).unwrap();
        assert_ne!(bytes.first(), Some(&b'{'));
        let r = decode_request(&bytes).unwrap();
        assert_eq!(
            r.message,
            Request::ServerSide {
                request_id: None,
                data: vec![json!("b").into(), Bytes::from_static(&[1]).into()]
            }
        );
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"{",
            b"[1,2]",
            b"{\"type\":99}",
            b"\x93\xa1a",
            b"\xdd\x7f\xff\xff\xff",
            b"\x91\xc0",
            b"{\"uid\":1,\"type\":5}",
        ] {
            let bytes = Bytes::copy_from_slice(bad);
            assert!(decode_request(&bytes).is_err(), "{bad:?}");
            assert!(decode_response(&bytes).is_err(), "{bad:?}");
            assert!(decode_broadcast(&bytes).is_err(), "{bad:?}");
        }
        let deep = Bytes::from([vec![0x91u8; 100_000], vec![0xc0]].concat());
        assert!(decode_broadcast(&deep).is_err());
        assert!(decode_request(&deep).is_err());
    }

    /// Known-good messages, each cut and flipped at random: the decoders
    /// answer (an error or a message), never panic. Redis is a trust boundary.
    mod never_panic {
        use super::*;
        use proptest::prelude::*;

        fn seeds() -> Vec<Vec<u8>> {
            vec![
                hex(NODE_ROOM_EXCEPT),
                hex(NODE_VOLATILE),
                hex("85a3756964a6617454485647a9726571756573744964a661394230596ca47479706507a67061636b657483a47479706502a46461746192a77769746861636b07a36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd03e8"),
                hex("83a47479706509a9726571756573744964a661394230596ca67061636b657481a26f6b2a"),
                br#"{"uid":"atTHVG","requestId":"vTEw7C","type":5,"opts":{"rooms":[],"except":[]}}"#.to_vec(),
                br#"{"requestId":"vTEw7C","sockets":[{"id":"x","handshake":{},"rooms":[],"data":{}}]}"#.to_vec(),
                br#"{"uid":"emitter","type":6,"data":["evt",1]}"#.to_vec(),
            ]
        }

        fn all_decoders(bytes: Vec<u8>) {
            let bytes = Bytes::from(bytes);
            let _ = decode_broadcast(&bytes);
            let _ = decode_request(&bytes);
            let _ = decode_response(&bytes);
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn on_mutated_messages(seed in 0usize..7, cut in any::<prop::sample::Index>(),
                                   flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)) {
                let mut bytes = seeds()[seed].clone();
                for (at, value) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                let len = cut.index(bytes.len() + 1);
                bytes.truncate(len);
                all_decoders(bytes);
            }

            #[test]
            fn on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                all_decoders(bytes);
            }
        }
    }
}
