//! Packets against the bytes `socket.io-msgpack-parser` 3.0.2 writes (captured
//! with its `Encoder` under Node 20), and every check of its decoder.

use bytes::Bytes;
use serde_json::json;

use super::{PacketError, decode_packet, write_packet};
use crate::socketio::{DecoderConfig, Packet, PacketKind, Payload};

fn unhex(text: &str) -> Bytes {
    let digits: Vec<u8> = text
        .as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect();
    Bytes::from(digits)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn written(packet: &Packet<Payload>) -> String {
    let mut out = Vec::new();
    write_packet(packet, &mut out).unwrap();
    hex(&out)
}

fn decoded(text: &str) -> Result<Packet<Payload>, PacketError> {
    decode_packet(&unhex(text), &DecoderConfig::default())
}

fn packet(kind: PacketKind, nsp: &'static str, data: Option<Payload>) -> Packet<Payload> {
    Packet::new(kind, nsp, data)
}

/// `{type: 2, data: ["hi", 1], nsp: "/"}`.
const EVENT: &str = "83a47479706502a46461746192a2686901a36e7370a12f";
/// `{type: 2, data: ["hi", {a: Buffer [1, 2]}], nsp: "/chat", id: 5}`.
const EVENT_BINARY: &str =
    "84a47479706502a46461746192a2686981a161c4020102a36e7370a52f63686174a2696405";
/// `{type: 3, data: [null, "ok"], nsp: "/", id: 7}`.
const ACK: &str = "84a47479706503a46461746192c0a26f6ba36e7370a12fa2696407";
/// `{type: 0, data: {sid: "abc"}, nsp: "/"}`.
const CONNECT: &str = "83a47479706500a46461746181a3736964a3616263a36e7370a12f";
/// `{type: 1, nsp: "/a"}`.
const DISCONNECT: &str = "82a47479706501a36e7370a22f61";
/// `{type: 4, data: {message: "Invalid namespace"}, nsp: "/x"}`.
const CONNECT_ERROR: &str =
    "83a47479706504a46461746181a76d657373616765b1496e76616c6964206e616d657370616365a36e7370a22f78";
/// What Node's client sends: `{type: 2, data: ["e", 1.5], options: {compress: true}, id: 3, nsp: "/"}`.
const CLIENT_EVENT: &str = "85a47479706502a46461746192a165cb3ff8000000000000a76f7074696f6e7381a8636f6d7072657373c3a2696403a36e7370a12f";
/// Node's client connecting without auth: `{type: 0, data: undefined, nsp: "/"}`.
const CLIENT_CONNECT: &str = "83a47479706500a464617461d40000a36e7370a12f";

fn binary_event() -> Packet<Payload> {
    let arg = Payload::Object(vec![("a".into(), Bytes::from_static(&[1, 2]).into())]);
    packet(
        PacketKind::Event,
        "/chat",
        Some(Payload::Array(vec![json!("hi").into(), arg])),
    )
    .with_id(5)
}

#[test]
fn writes_the_bytes_of_the_node_parser() {
    use PacketKind::*;
    assert_eq!(
        written(&packet(Event, "/", Some(json!(["hi", 1]).into()))),
        EVENT
    );
    assert_eq!(written(&binary_event()), EVENT_BINARY);
    let ack = packet(Ack, "/", Some(json!([null, "ok"]).into())).with_id(7);
    assert_eq!(written(&ack), ACK);
    assert_eq!(
        written(&packet(Connect, "/", Some(json!({"sid": "abc"}).into()))),
        CONNECT
    );
    assert_eq!(written(&packet(Disconnect, "/a", None)), DISCONNECT);
    let error = packet(
        ConnectError,
        "/x",
        Some(json!({"message": "Invalid namespace"}).into()),
    );
    assert_eq!(written(&error), CONNECT_ERROR);
}

#[test]
fn binary_types_are_written_as_plain_ones_and_the_empty_namespace_as_the_main_one() {
    let mut p = packet(PacketKind::BinaryEvent, "", Some(json!(["hi", 1]).into()));
    p.attachments = 1;
    assert_eq!(written(&p), EVENT);
}

#[test]
fn writing_appends() {
    let mut out = b"x".to_vec();
    write_packet(&packet(PacketKind::Disconnect, "/a", None), &mut out).unwrap();
    assert_eq!(hex(&out[1..]), DISCONNECT);
    assert_eq!(out[0], b'x');
}

#[test]
fn reads_what_node_writes() {
    use PacketKind::*;
    assert_eq!(
        decoded(EVENT).unwrap(),
        packet(Event, "/", Some(json!(["hi", 1]).into()))
    );
    assert_eq!(decoded(EVENT_BINARY).unwrap(), binary_event());
    assert_eq!(
        decoded(ACK).unwrap(),
        packet(Ack, "/", Some(json!([null, "ok"]).into())).with_id(7)
    );
    assert_eq!(
        decoded(CONNECT).unwrap(),
        packet(Connect, "/", Some(json!({"sid": "abc"}).into()))
    );
    assert_eq!(decoded(DISCONNECT).unwrap(), packet(Disconnect, "/a", None));
    assert_eq!(
        decoded(CONNECT_ERROR).unwrap(),
        packet(
            ConnectError,
            "/x",
            Some(json!({"message": "Invalid namespace"}).into())
        )
    );
    assert_eq!(
        decoded(CLIENT_EVENT).unwrap(),
        packet(Event, "/", Some(json!(["e", 1.5]).into())).with_id(3),
        "other keys are ignored"
    );
    assert_eq!(
        decoded(CLIENT_CONNECT).unwrap(),
        packet(Connect, "/", None),
        "undefined data is no data"
    );
}

#[test]
fn the_main_namespace_is_borrowed() {
    assert!(matches!(
        decoded(EVENT).unwrap().nsp,
        std::borrow::Cow::Borrowed("/")
    ));
}

/// Encodes a JSON value as the whole packet.
fn decoded_value(value: serde_json::Value) -> Result<Packet<Payload>, PacketError> {
    let bytes = super::encode_value(&value).unwrap();
    decode_packet(&Bytes::from(bytes), &DecoderConfig::default())
}

#[test]
fn refuses_what_the_node_parser_refuses() {
    use PacketError::*;
    let cases = [
        (json!(["not", "a", "map"]), NotAMap),
        (json!("0"), NotAMap),
        (json!({"nsp": "/"}), InvalidType),
        (json!({"type": 5, "nsp": "/", "data": []}), InvalidType),
        (json!({"type": -1, "nsp": "/"}), InvalidType),
        (json!({"type": 1.5, "nsp": "/"}), InvalidType),
        (json!({"type": "2", "nsp": "/", "data": ["a"]}), InvalidType),
        (json!({"type": 2, "data": ["a"]}), InvalidNamespace),
        (
            json!({"type": 2, "nsp": 1, "data": ["a"]}),
            InvalidNamespace,
        ),
        (
            json!({"type": 0, "nsp": "/", "data": "x"}),
            InvalidPayload(PacketKind::Connect),
        ),
        (
            json!({"type": 0, "nsp": "/", "data": null}),
            InvalidPayload(PacketKind::Connect),
        ),
        (
            json!({"type": 1, "nsp": "/", "data": {}}),
            InvalidPayload(PacketKind::Disconnect),
        ),
        (
            json!({"type": 2, "nsp": "/", "data": {}}),
            InvalidPayload(PacketKind::Event),
        ),
        (
            json!({"type": 2, "nsp": "/"}),
            InvalidPayload(PacketKind::Event),
        ),
        (
            json!({"type": 3, "nsp": "/", "data": "x", "id": 1}),
            InvalidPayload(PacketKind::Ack),
        ),
        (
            json!({"type": 4, "nsp": "/", "data": 1}),
            InvalidPayload(PacketKind::ConnectError),
        ),
        (
            json!({"type": 2, "nsp": "/", "data": ["a"], "id": "1"}),
            InvalidId,
        ),
        (
            json!({"type": 2, "nsp": "/", "data": ["a"], "id": 1.5}),
            InvalidId,
        ),
        (
            json!({"type": 2, "nsp": "/", "data": ["a"], "id": null}),
            InvalidId,
        ),
    ];
    for (value, error) in cases {
        assert_eq!(decoded_value(value.clone()), Err(error), "{value}");
    }
}

#[test]
fn a_disconnect_with_nil_data_is_python_socketios_and_is_taken() {
    let packet = decoded_value(json!({"type": 1, "nsp": "/", "data": null})).unwrap();
    assert_eq!(packet.kind, PacketKind::Disconnect);
    assert_eq!(packet.nsp, "/");
}

#[test]
fn is_as_strict_as_the_text_decoder_where_node_would_misbehave() {
    use PacketError::*;
    let cases = [
        (
            json!({"type": 2, "nsp": "/", "data": []}),
            InvalidPayload(PacketKind::Event),
        ),
        (
            json!({"type": 2, "nsp": "/", "data": [{}]}),
            InvalidPayload(PacketKind::Event),
        ),
        (
            json!({"type": 2, "nsp": "/", "data": ["disconnect"]}),
            ReservedEvent("disconnect".into()),
        ),
        (json!({"type": 3, "nsp": "/", "data": []}), MissingAckId),
        (
            json!({"type": 3, "nsp": "/", "data": [], "id": -1}),
            InvalidId,
        ),
    ];
    for (value, error) in cases {
        assert_eq!(decoded_value(value.clone()), Err(error), "{value}");
    }
    let named_by_number = decoded_value(json!({"type": 2, "nsp": "/", "data": [1]}));
    assert!(named_by_number.is_ok());
    let binary_name = Payload::Object(vec![
        ("type".into(), json!(2).into()),
        ("nsp".into(), json!("/").into()),
        (
            "data".into(),
            Payload::Array(vec![Bytes::from_static(b"x").into()]),
        ),
    ]);
    let bytes = Bytes::from(super::encode(&binary_name).unwrap());
    assert_eq!(
        decode_packet(&bytes, &DecoderConfig::default()),
        Err(InvalidPayload(PacketKind::Event))
    );
}

#[test]
fn malformed_msgpack_is_an_error() {
    assert!(matches!(decoded(""), Err(PacketError::Msgpack(_))));
    assert!(matches!(decoded("c1"), Err(PacketError::Msgpack(_))));
    assert!(matches!(
        decoded(&EVENT[..EVENT.len() - 2]),
        Err(PacketError::Msgpack(_))
    ));
    assert!(matches!(
        decoded(&format!("{EVENT}00")),
        Err(PacketError::Msgpack(_))
    ));
}

#[test]
fn the_depth_limit_bounds_the_data_as_in_a_text_packet() {
    let config = DecoderConfig::default().max_depth(3);
    // data: ["a", [[1]]] is three levels deep.
    let fits = super::encode_value(&json!({"type": 2, "nsp": "/", "data": ["a", [[1]]]})).unwrap();
    assert!(decode_packet(&Bytes::from(fits), &config).is_ok());
    let deeper =
        super::encode_value(&json!({"type": 2, "nsp": "/", "data": ["a", [[[1]]]]})).unwrap();
    assert!(matches!(
        decode_packet(&Bytes::from(deeper), &config),
        Err(PacketError::Msgpack(super::MsgpackError::TooDeep { .. }))
    ));
    // 10 000 nested arrays: refused, no stack overflow.
    let mut bomb = vec![
        0x83, 0xa4, b't', b'y', b'p', b'e', 2, 0xa3, b'n', b's', b'p', 0xa1, b'/', 0xa4, b'd',
        b'a', b't', b'a',
    ];
    bomb.extend(std::iter::repeat_n(0x91, 10_000));
    bomb.push(0);
    assert!(decode_packet(&Bytes::from(bomb), &DecoderConfig::default()).is_err());
}

#[test]
fn the_value_limit_bounds_the_data() {
    let config = DecoderConfig::default().max_json_values(3);
    let fits = super::encode_value(&json!({"type": 2, "nsp": "/", "data": ["a", 1]})).unwrap();
    assert!(decode_packet(&Bytes::from(fits), &config).is_ok());
    let more =
        super::encode_value(&json!({"type": 2, "nsp": "/", "data": ["a", 1, 2, 3]})).unwrap();
    assert!(decode_packet(&Bytes::from(more), &config).is_err());
}

#[test]
fn round_trips() {
    use PacketKind::*;
    let packets = [
        packet(Connect, "/", None),
        packet(Connect, "/admin", Some(json!({"token": "x"}).into())),
        packet(Disconnect, "/", None),
        binary_event(),
        packet(
            Ack,
            "/",
            Some(Payload::Array(vec![Bytes::from_static(&[0; 300]).into()])),
        )
        .with_id(9_007_199_254_740_991),
        packet(ConnectError, "/", Some(json!("not authorized").into())),
    ];
    for p in packets {
        let mut out = Vec::new();
        write_packet(&p, &mut out).unwrap();
        assert_eq!(
            decode_packet(&Bytes::from(out), &DecoderConfig::default()).unwrap(),
            p
        );
    }
}

/// An event's array is kept as the list of its items, which the server then
/// splits into the name and the arguments as they are (no array rebuilt).
#[test]
fn an_events_data_is_the_list_of_its_items() {
    let bytes = Bytes::from_static(
        b"\x84\xa4type\x02\xa4data\x92\xa4echo\x81\xa1t\x01\xa3nsp\xa1/\xa2id\x01",
    );
    let packet = decode_packet(&bytes, &DecoderConfig::default()).unwrap();
    let Some(Payload::Array(items)) = &packet.data else {
        panic!("{:?}", packet.data);
    };
    assert_eq!(items, &[json!("echo").into(), json!({"t": 1}).into()]);
    // Nested arrays are still one JSON value each.
    let bytes = Bytes::from_static(b"\x83\xa4type\x02\xa4data\x92\xa1e\x91\x01\xa3nsp\xa1/");
    let packet = decode_packet(&bytes, &DecoderConfig::default()).unwrap();
    let Some(Payload::Array(items)) = &packet.data else {
        panic!("{:?}", packet.data);
    };
    assert!(matches!(&items[1], Payload::Json(v) if *v == json!([1])));
}
