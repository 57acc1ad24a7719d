//! The stream entries of the streams adapter (memo §2.5.2):
//! `uid <uid> nsp <nsp> type <decimal> data <…>`, where `data` is
//! `JSON.stringify(data)`, or base64 (standard, padded) of the msgpack of
//! `data` when it holds binary. Readers tell them apart by the first byte
//! (`{`: JSON).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use ferrio_proto::socketio::Payload;
use ferrio_proto::socketio::msgpack::{self, EncodeError};
use serde_json::Value;

use crate::classic::wire::{WireError, decoder_config, json_bytes};
use crate::cluster::wire::{Message, decode_message, msgpack_bytes};
use crate::driver::{StreamEntry, XAdd};

/// A payload as JSON, binary as Node's `JSON.stringify` writes a Buffer:
/// `{"type":"Buffer","data":[…]}`.
pub(crate) fn json_of(payload: &Payload) -> Value {
    match payload {
        Payload::Binary(bytes) => serde_json::json!({"type": "Buffer", "data": bytes.to_vec()}),
        Payload::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Payload::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), json_of(v)))
                .collect(),
        ),
        other => other.to_value().unwrap_or(Value::Null),
    }
}

/// The `XADD` of a message.
pub(crate) fn encode(
    stream: &str,
    max_len: u64,
    kind: u64,
    data: &Payload,
    uid: &str,
    nsp: &str,
    only_plaintext: bool,
) -> Result<XAdd, EncodeError> {
    let data = if data.has_binary() && !only_plaintext {
        Bytes::from(STANDARD.encode(msgpack_bytes(data)?))
    } else {
        json_bytes(&json_of(data))
    };
    Ok(XAdd {
        stream: stream.to_owned(),
        max_len,
        fields: vec![
            ("uid", Bytes::copy_from_slice(uid.as_bytes())),
            ("nsp", Bytes::copy_from_slice(nsp.as_bytes())),
            ("type", Bytes::from(kind.to_string())),
            ("data", data),
        ],
    })
}

/// A stream entry, read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    /// The sender's uid.
    pub uid: String,
    /// The namespace.
    pub nsp: String,
    /// The message type.
    pub kind: u64,
    /// The message.
    pub message: Message,
}

fn field<'a>(entry: &'a StreamEntry, name: &str) -> Option<&'a Bytes> {
    entry
        .fields
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn text(entry: &StreamEntry, name: &'static str) -> Result<String, WireError> {
    let bytes = field(entry, name).ok_or(WireError::Shape("stream entry without a field"))?;
    String::from_utf8(bytes.to_vec()).map_err(|_| WireError::Shape("stream field is not UTF-8"))
}

/// Reads a stream entry; an error for one of another shape (which the
/// reader logs and skips).
pub(crate) fn decode(entry: &StreamEntry) -> Result<Decoded, WireError> {
    let uid = text(entry, "uid")?;
    let nsp = text(entry, "nsp")?;
    let kind: u64 = text(entry, "type")?
        .parse()
        .map_err(|_| WireError::Shape("stream entry type is not a number"))?;
    let data = match field(entry, "data") {
        None => None,
        Some(raw) if raw.first() == Some(&b'{') => {
            Some(Payload::Json(serde_json::from_slice::<Value>(raw)?))
        }
        Some(raw) => {
            let bytes = STANDARD
                .decode(raw)
                .map_err(|_| WireError::Shape("stream entry data is neither JSON nor base64"))?;
            Some(msgpack::decode(&Bytes::from(bytes), &decoder_config())?)
        }
    };
    let message = decode_message(kind, data)?;
    Ok(Decoded {
        uid,
        nsp,
        kind,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classic::wire::WireOpts;
    use crate::cluster::wire::{kind, object, opts_payload, packet_payload};
    use serde_json::json;

    fn broadcast(data: Payload) -> Payload {
        object(vec![
            ("packet", packet_payload(data)),
            ("opts", opts_payload(&WireOpts::default())),
        ])
    }

    fn entry_of(add: &XAdd) -> StreamEntry {
        StreamEntry {
            id: "1-0".into(),
            fields: add
                .fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    /// Appendix A: the entry Node's streams adapter 0.3.1 wrote for
    /// `io.emit("init", 1)`.
    #[test]
    fn a_broadcast_entry_is_nodes() {
        let add = encode(
            "socket.io",
            10_000,
            kind::BROADCAST,
            &broadcast(Payload::Json(json!(["init", 1]))),
            "7fb9ff0b8e4846d6",
            "/",
            false,
        )
        .unwrap();
        let fields: Vec<(&str, &[u8])> = add.fields.iter().map(|(k, v)| (*k, &v[..])).collect();
        assert_eq!(
            fields,
            [
                ("uid", &b"7fb9ff0b8e4846d6"[..]),
                ("nsp", b"/"),
                ("type", b"3"),
                (
                    "data",
                    br#"{"packet":{"type":2,"data":["init",1]},"opts":{"rooms":[],"except":[],"flags":{}}}"#
                ),
            ]
        );
        let decoded = decode(&entry_of(&add)).unwrap();
        assert_eq!(
            (decoded.uid.as_str(), decoded.kind),
            ("7fb9ff0b8e4846d6", 3)
        );
    }

    /// Appendix A: a binary broadcast (`["m", 3, <01>]` to r1) is base64 of
    /// msgpack of `data`, as Node wrote it.
    #[test]
    fn a_binary_broadcast_entry_is_nodes() {
        let opts = WireOpts {
            rooms: vec!["r1".into()],
            ..WireOpts::default()
        };
        let data = object(vec![
            (
                "packet",
                packet_payload(Payload::Array(vec![
                    Payload::Json(json!("m")),
                    Payload::Json(json!(3)),
                    Payload::Binary(Bytes::from_static(&[1])),
                ])),
            ),
            ("opts", opts_payload(&opts)),
        ]);
        let add = encode("socket.io", 10_000, kind::BROADCAST, &data, "u", "/", false).unwrap();
        assert_eq!(
            &add.fields[3].1[..],
            &b"gqZwYWNrZXSCpHR5cGUCpGRhdGGToW0DxAEBpG9wdHODpXJvb21zkaJyMaZleGNlcHSQpWZsYWdzgA=="[..]
        );
        let decoded = decode(&entry_of(&add)).unwrap();
        let Message::Broadcast { data, opts, .. } = decoded.message else {
            panic!("a broadcast")
        };
        assert_eq!(opts.rooms, ["r1"]);
        assert_eq!(
            data,
            Payload::Array(vec![
                json!("m").into(),
                json!(3).into(),
                Bytes::from_static(&[1]).into()
            ])
        );
    }

    #[test]
    fn only_plaintext_writes_buffers_as_json() {
        let data = broadcast(Payload::Array(vec![
            Payload::Json(json!("b")),
            Payload::Binary(Bytes::from_static(&[7])),
        ]));
        let add = encode("s", 1, kind::BROADCAST, &data, "u", "/", true).unwrap();
        assert!(add.fields[3].1.starts_with(
            b"{\"packet\":{\"type\":2,\"data\":[\"b\",{\"type\":\"Buffer\",\"data\":[7]}]}"
        ));
    }

    #[test]
    fn malformed_entries_are_errors() {
        let entry = |fields: &[(&str, &[u8])]| StreamEntry {
            id: "1-0".into(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Bytes::copy_from_slice(v)))
                .collect(),
        };
        for bad in [
            entry(&[]),
            entry(&[("uid", b"u"), ("nsp", b"/")]),
            entry(&[("uid", b"u"), ("nsp", b"/"), ("type", b"x")]),
            entry(&[("uid", b"u"), ("nsp", b"/"), ("type", b"3"), ("data", b"{")]),
            entry(&[
                ("uid", b"u"),
                ("nsp", b"/"),
                ("type", b"3"),
                ("data", b"!!"),
            ]),
            entry(&[
                ("uid", b"u"),
                ("nsp", b"/"),
                ("type", b"3"),
                ("data", b"gqZw"),
            ]),
            entry(&[
                ("uid", b"u"),
                ("nsp", b"/"),
                ("type", b"99"),
                ("data", b"{}"),
            ]),
            entry(&[
                ("uid", &[0xff]),
                ("nsp", b"/"),
                ("type", b"3"),
                ("data", b"{}"),
            ]),
        ] {
            assert!(decode(&bad).is_err(), "{bad:?}");
        }
    }

    /// Cut and corrupted entries, and random fields: an error or a message,
    /// never a panic.
    mod never_panic {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn on_random_fields(kind in "[0-9]{0,3}", data in prop::collection::vec(any::<u8>(), 0..128),
                                b64 in any::<bool>()) {
                let data = if b64 { Bytes::from(STANDARD.encode(&data)) } else { Bytes::from(data) };
                let entry = StreamEntry {
                    id: "1-0".into(),
                    fields: vec![
                        ("uid".into(), Bytes::from_static(b"u")),
                        ("nsp".into(), Bytes::from_static(b"/")),
                        ("type".into(), Bytes::from(kind)),
                        ("data".into(), data),
                    ],
                };
                let _ = decode(&entry);
            }
        }
    }
}
