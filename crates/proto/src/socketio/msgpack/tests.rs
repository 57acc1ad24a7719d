//! The memo's captured frames (Appendix A) and the decode table, byte by byte.

use bytes::Bytes;
use serde_json::{Value, json};

use super::{MsgpackError, Writer, decode, encode, encode_value};
use crate::socketio::{DecoderConfig, Payload, RawJson};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Bytes {
    let digits: Vec<u8> = text
        .as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect();
    Bytes::from(digits)
}

fn decoded(text: &str) -> Result<Payload, MsgpackError> {
    decode(&unhex(text), &DecoderConfig::default())
}

/// `to("r1").except("r2").compress(false).emit("x",{a:undefined,b:null})`.
const CLASSIC_ROOM: &str = "93a661745448564783a47479706502a46461746192a17881a162c0a36e7370a12f83a5726f6f6d7391a27231a665786365707491a27232a5666c61677381a8636f6d7072657373c2";

#[test]
fn writes_the_classic_broadcast_as_captured() {
    let mut w = Writer::new();
    w.array_len(3).unwrap();
    w.str("atTHVG").unwrap();
    w.map_len(3).unwrap();
    w.str("type").unwrap();
    w.uint(2);
    w.str("data").unwrap();
    w.args(&[json!("x").into(), json!({"b": null}).into()])
        .unwrap();
    w.str("nsp").unwrap();
    w.str("/").unwrap();
    w.value(&json!({"rooms": ["r1"], "except": ["r2"], "flags": {"compress": false}}))
        .unwrap();
    assert_eq!(hex(w.as_slice()), CLASSIC_ROOM);
    // The same as one value, and as raw text.
    let whole = json!(["atTHVG", {"type": 2, "data": ["x", {"b": null}], "nsp": "/"},
        {"rooms": ["r1"], "except": ["r2"], "flags": {"compress": false}}]);
    assert_eq!(hex(&encode_value(&whole).unwrap()), CLASSIC_ROOM);
    let raw = RawJson::from_value(&whole);
    assert_eq!(hex(&encode(&Payload::Raw(raw)).unwrap()), CLASSIC_ROOM);
}

#[test]
fn writes_the_sharded_binary_envelope_as_captured() {
    let expected = "84a47479706503a46461746182a67061636b657482a47479706502a46461746192a362696ec403010203a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b032643766623331333063623737313532a36e7370a12f";
    let data = Payload::Object(vec![
        (
            "packet".into(),
            Payload::Object(vec![
                ("type".into(), json!(2).into()),
                (
                    "data".into(),
                    Payload::Array(vec![
                        json!("bin").into(),
                        Bytes::from_static(&[1, 2, 3]).into(),
                    ]),
                ),
            ]),
        ),
        (
            "opts".into(),
            json!({"rooms": [], "except": [], "flags": {}}).into(),
        ),
    ]);
    let mut w = Writer::new();
    w.map_len(4).unwrap();
    w.str("type").unwrap();
    w.uint(3);
    w.str("data").unwrap();
    w.payload(&data).unwrap();
    w.str("uid").unwrap();
    w.str("2d7fb3130cb77152").unwrap();
    w.str("nsp").unwrap();
    w.str("/").unwrap();
    assert_eq!(hex(w.as_slice()), expected);
    let back = decoded(expected).unwrap();
    assert_eq!(
        back,
        Payload::Object(vec![
            ("type".into(), json!(3).into()),
            ("data".into(), data),
            ("uid".into(), json!("2d7fb3130cb77152").into()),
            ("nsp".into(), json!("/").into()),
        ])
    );
}

#[test]
fn reads_the_captured_broadcast_with_a_date_and_a_buffer() {
    let frame = "93a661745448564783a47479706502a46461746196a568656c6c6fa5776f726c6401cb4004000000000000c40301020382a164d6ff39457980a16ec0a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380";
    let expected = Payload::Array(vec![
        json!("atTHVG").into(),
        Payload::Object(vec![
            ("type".into(), json!(2).into()),
            (
                "data".into(),
                Payload::Array(vec![
                    json!("hello").into(),
                    json!("world").into(),
                    json!(1).into(),
                    json!(2.5).into(),
                    Bytes::from_static(&[1, 2, 3]).into(),
                    json!({"d": "2000-06-13T00:00:00.000Z", "n": null}).into(),
                ]),
            ),
            ("nsp".into(), json!("/").into()),
        ]),
        json!({"rooms": [], "except": [], "flags": {}}).into(),
    ]);
    assert_eq!(decoded(frame).unwrap(), expected);
    assert_eq!(
        decoded(CLASSIC_ROOM).unwrap().to_value().unwrap()[1]["data"][1],
        json!({"b": null})
    );
}

#[test]
fn numbers_follow_javascript() {
    let cases: &[(Value, &str)] = &[
        (json!(0), "00"),
        (json!(-0.0), "00"),
        (json!(2.0), "02"),
        (json!(127), "7f"),
        (json!(128), "cc80"),
        (json!(255), "ccff"),
        (json!(256), "cd0100"),
        (json!(65535), "cdffff"),
        (json!(65536), "ce00010000"),
        (json!(4294967295u64), "ceffffffff"),
        (json!(4294967296u64), "cf0000000100000000"),
        (json!(-1), "ff"),
        (json!(-32), "e0"),
        (json!(-33), "d0df"),
        (json!(-128), "d080"),
        (json!(-129), "d1ff7f"),
        (json!(-32768), "d18000"),
        (json!(-32769), "d2ffff7fff"),
        (json!(-2147483648i64), "d280000000"),
        (json!(-2147483649i64), "d3ffffffff7fffffff"),
        (json!(-4096.0), "d1f000"),
        (json!(2.5), "cb4004000000000000"),
        (json!(1e20), "cb4415af1d78b58c40"),
        (json!(9007199254740992.0), "cf0020000000000000"),
    ];
    for (value, bytes) in cases {
        assert_eq!(hex(&encode_value(value).unwrap()), *bytes, "{value}");
    }
    let mut w = Writer::new();
    w.number(-f64::NAN);
    w.number(f64::INFINITY);
    assert_eq!(hex(w.as_slice()), "cb7ff8000000000000cb7ff0000000000000");
}

#[test]
fn raw_text_transcodes_to_the_bytes_of_its_value() {
    let long: Vec<Value> = (0..70_000).map(|i| json!(i % 300)).collect();
    let wide: serde_json::Map<String, Value> = (0..20)
        .map(|i| (format!("k{i}"), json!([i, "é", 0.5])))
        .collect();
    for value in [
        json!([]),
        json!({}),
        json!([[], {}, [[[]]]]),
        json!({"a": [1, -1, 1.5, -4096, 1e21, "x\"\\\u{1F600}"], "b": {"c": null, "d": true}}),
        Value::Array(long),
        json!([
            Value::Object(wide),
            (0..16).collect::<Vec<_>>(),
            (0..15).collect::<Vec<_>>()
        ]),
    ] {
        let raw = RawJson::from_value(&value);
        assert_eq!(
            encode(&Payload::Raw(raw)).unwrap(),
            encode_value(&value).unwrap(),
            "{value}"
        );
    }
}

#[test]
fn reads_the_decode_table() {
    let cases: &[(&str, Value)] = &[
        // Timestamps: 32, 64 (with ms), 96 (before 1970), notepack 2.x date.
        ("d6ff39457980", json!("2000-06-13T00:00:00.000Z")),
        ("d7ff1d53530039457980", json!("2000-06-13T00:00:00.123Z")),
        (
            "c70cff00000000ffffffffffffffff",
            json!("1969-12-31T23:59:59.000Z"),
        ),
        ("d700000000dfb7629c00", json!("2000-06-13T00:00:00.000Z")),
        // Beyond what a Date holds: invalid, toJSON gives null.
        ("c70cff000000007fffffffffffffff", Value::Null),
        // Legacy undefined: null in arrays, key dropped in maps.
        ("92d40000c0", json!([null, null])),
        ("82a161d40000a162c0", json!({"b": null})),
        ("d40000", Value::Null),
        // NaN and infinities.
        (
            "93cb7ff8000000000000ca7f800000cbfff0000000000000",
            json!([null, null, null]),
        ),
        // Integral floats are integers; -0 is 0.
        ("92cb4000000000000000cb8000000000000000", json!([2, 0])),
        // Beyond 2^53: the nearest f64.
        ("cf0020000000000001", json!(9007199254740992u64)),
        ("d3ffdfffffffffffff", json!(-9007199254740992i64)),
        ("cfffffffffffffffff", json!(18446744073709551616.0)),
        // Keys: not strings, repeated, __proto__.
        (
            "84c0010102c3039102c3",
            json!({"null": 1, "1": 2, "true": 3, "2": true}),
        ),
        ("83a16101a16202a16103", json!({"a": 3, "b": 2})),
        ("82a95f5f70726f746f5f5f01a16102", json!({"a": 2})),
        ("8192010203", json!({"1,2": 3})),
        ("818001", json!({"[object Object]": 1})),
        // Invalid UTF-8.
        ("a2ff61", json!("\u{fffd}a")),
    ];
    for (bytes, value) in cases {
        assert_eq!(decoded(bytes), Ok(Payload::Json(value.clone())), "{bytes}");
    }
    // Other extensions: [type, Buffer]; ext type 0 (2.x ArrayBuffer): a Buffer.
    assert_eq!(
        decoded("d40507").unwrap(),
        Payload::Array(vec![json!(5).into(), Bytes::from_static(&[7]).into()])
    );
    assert_eq!(
        decoded("c702fe0102").unwrap(),
        Payload::Array(vec![json!(-2).into(), Bytes::from_static(&[1, 2]).into()])
    );
    assert_eq!(
        decoded("c702000102").unwrap(),
        Payload::Binary(Bytes::from_static(&[1, 2]))
    );
}

#[test]
fn refuses_what_notepack_refuses_and_what_is_too_big() {
    let config = DecoderConfig::default();
    assert_eq!(
        decoded(""),
        Err(MsgpackError::Truncated {
            offset: 0,
            needed: 1
        })
    );
    assert_eq!(
        decoded("c1"),
        Err(MsgpackError::InvalidMarker {
            marker: 0xc1,
            offset: 0
        })
    );
    assert_eq!(
        decoded("c0c0"),
        Err(MsgpackError::TrailingBytes { count: 1 })
    );
    assert_eq!(
        decoded("a3ab"),
        Err(MsgpackError::Truncated {
            offset: 1,
            needed: 3
        })
    );
    assert_eq!(
        decoded("c708ff0000000000000000"),
        Err(MsgpackError::InvalidTimestamp { len: 8, offset: 0 })
    );
    // A declared length of 2^32 − 1 with nothing behind it fails at once.
    assert!(matches!(
        decoded("ddffffffff"),
        Err(MsgpackError::Truncated { .. })
    ));
    assert!(matches!(
        decoded("dfffffffff00"),
        Err(MsgpackError::Truncated { .. })
    ));
    assert!(matches!(
        decoded("c6ffffffff00"),
        Err(MsgpackError::Truncated { .. })
    ));
    // Depth: 64 levels pass, 65 do not.
    let deep = |n: usize| Bytes::from([vec![0x91; n - 1], vec![0x90]].concat());
    assert!(decode(&deep(64), &config).is_ok());
    assert_eq!(
        decode(&deep(65), &config),
        Err(MsgpackError::TooDeep { max: 64 })
    );
    assert_eq!(
        decode(&deep(1_000_000), &config),
        Err(MsgpackError::TooDeep { max: 64 })
    );
    // A configured depth above 128 acts as 128: no stack overflow.
    let unbounded = config.max_depth(usize::MAX);
    assert!(decode(&deep(128), &unbounded).is_ok());
    assert_eq!(
        decode(&deep(1_000_000), &unbounded),
        Err(MsgpackError::TooDeep { max: 128 })
    );
    // Values: the array and its items count, string keys do not.
    let small = config.max_json_values(3);
    assert!(decode(&unhex("920102"), &small).is_ok());
    assert_eq!(
        decode(&unhex("93010203"), &small),
        Err(MsgpackError::TooManyValues { max: 3 })
    );
    assert!(decode(&unhex("82a16101a16202"), &small).is_ok());
}

#[test]
fn raw_integers_beyond_2_pow_53_are_read_as_json_parse_reads_them() {
    // Built from a value, as RawJson::new keeps integers of 18 digits at most.
    let two_pow_63 = RawJson::from_value(&json!(9_223_372_036_854_775_808.0));
    assert_eq!(two_pow_63.as_str(), "9223372036854776000");
    assert_eq!(
        hex(&encode(&Payload::Raw(two_pow_63)).unwrap()),
        "cf8000000000000000"
    );
    for (text, bytes) in [
        ("9007199254740993", "cf0020000000000000"),
        ("-9007199254740993", "d3ffe0000000000000"),
        ("9007199254740991", "cf001fffffffffffff"),
    ] {
        let raw = RawJson::new(text).unwrap();
        assert_eq!(hex(&encode(&Payload::Raw(raw)).unwrap()), bytes, "{text}");
    }
    // A Value holds the integer exactly, and is written exactly.
    assert_eq!(
        hex(&encode_value(&json!(9007199254740993u64)).unwrap()),
        "cf0020000000000001"
    );
}

/// Past 16 entries a map finds repeated keys through an index: the same rules
/// as a small map (the last value at the place of the first, `undefined`
/// leaves the key out), in linear time.
#[test]
fn a_large_map_keeps_the_first_place_and_the_last_value_of_a_repeated_key() {
    let key = |out: &mut Vec<u8>, name: &str| {
        out.push(0xa0 | u8::try_from(name.len()).unwrap());
        out.extend_from_slice(name.as_bytes());
    };
    let mut bytes = vec![0xde, 0x00, 23];
    for i in 0..20u8 {
        key(&mut bytes, &format!("k{i}"));
        bytes.push(i);
    }
    key(&mut bytes, "k3");
    bytes.push(99);
    key(&mut bytes, "k5");
    bytes.extend([0xd4, 0x00, 0x00]);
    // A buffer, so the map stays a list of entries and its order shows.
    key(&mut bytes, "bin");
    bytes.extend([0xc4, 0x01, 0x07]);
    let Payload::Object(entries) = decode(&Bytes::from(bytes), &DecoderConfig::default()).unwrap()
    else {
        panic!("a map holding a buffer is a Payload::Object");
    };
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let mut want: Vec<String> = (0..20)
        .filter(|i| *i != 5)
        .map(|i| format!("k{i}"))
        .collect();
    want.push("bin".into());
    assert_eq!(keys, want);
    assert_eq!(entries[3].1, Payload::Json(json!(99)));
    assert_eq!(entries[4].1, Payload::Json(json!(4)));
}
