//! Golden tests against the real notepack.io 3.0.1 (`interop/node_modules`), run
//! by `node`: ferrio writes notepack's bytes for canonical payloads, Node reads
//! ferrio's bytes as the value they stand for, and ferrio reads notepack's bytes
//! (including `Date`, `Buffer`, `Map`, `undefined`, NaN) as a Node server would
//! pass them on. Without `node` the test fails and says so.
//!
//! The Node side is `tests/msgpack/notepack.cjs`. Values cross as JSON in which
//! `{"$bin": "<hex>"}` stands for a buffer.

use ferrio_test_support::node;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use ferrio_proto::socketio::msgpack::{self, Writer};
use ferrio_proto::socketio::{DecoderConfig, Payload, RawJson, write_json};
use serde_json::{Map, Value, json};

/// Cases where ferrio's bytes differ from notepack's on purpose (see the
/// `msgpack` module's documentation); Node still reads ferrio's as the value.
const DIVERGENT: &[&str] = &[
    // An exact u64 that JavaScript cannot hold: notepack gets 2^53.
    "int_2^53+1",
    // Integral beyond the 64-bit range: notepack wraps it modulo 2^64.
    "float_1e20",
    "float_-1e20",
    "float_1e300",
    "float_1e21",
    "float_max",
];

/// The memo's first capture (Appendix A): `io.emit("hello","world",1,2.5,
/// Buffer[1,2,3],{d:Date(2000-06-13),u:undefined,n:null})`.
const MEMO_CAPTURE: &str = "93a661745448564783a47479706502a46461746196a568656c6c6fa5776f726c6401cb4004000000000000c40301020382a164d6ff39457980a16ec0a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Bytes {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect::<Vec<u8>>()
        .into()
}

fn bin(bytes: &[u8]) -> Value {
    json!({"$bin": hex(bytes)})
}

/// A marked value as a payload: each `{"$bin": hex}` a buffer.
fn payload(value: &Value) -> Payload {
    match value {
        Value::Object(map) if map.len() == 1 && map.get("$bin").is_some_and(Value::is_string) => {
            Payload::Binary(unhex(map["$bin"].as_str().unwrap_or_default()))
        }
        Value::Array(items) => Payload::Array(items.iter().map(payload).collect()),
        Value::Object(map) => {
            Payload::Object(map.iter().map(|(k, v)| (k.clone(), payload(v))).collect())
        }
        other => Payload::Json(other.clone()),
    }
}

/// A payload as a marked value, its numbers as JavaScript prints them.
fn view(payload: &Payload) -> Value {
    fn marked(payload: &Payload) -> Value {
        match payload {
            Payload::Binary(bytes) => bin(bytes),
            Payload::Array(items) => Value::Array(items.iter().map(marked).collect()),
            Payload::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), marked(v)))
                    .collect::<Map<_, _>>(),
            ),
            other => other.to_value().unwrap_or(Value::Null),
        }
    }
    let mut text = Vec::new();
    write_json(&marked(payload), &mut text).expect("JSON");
    serde_json::from_slice(&text).expect("JSON")
}

/// Node's view (a JSON text) as a value.
/// `undefined` has no view (`JSON.stringify` gives `undefined`, the key is left
/// out); as an argument it goes to clients as `null`.
fn node_view(text: &Value) -> Value {
    match text.as_str() {
        Some(text) => serde_json::from_str(text).expect("JSON"),
        None => Value::Null,
    }
}

fn ascii(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

fn list(len: usize) -> Value {
    Value::Array((0..len).map(|i| json!(i % 200)).collect())
}

fn object(len: usize) -> Value {
    Value::Object((0..len).map(|i| (format!("k{i}"), json!(i % 3))).collect())
}

fn canonical_cases() -> Vec<(String, Value)> {
    let mut cases: Vec<(String, Value)> = vec![
        // The memo's captures (Appendix A) that JSON can write.
        (
            "memo_room_broadcast".into(),
            json!(["atTHVG", {"type": 2, "data": ["x", {"b": null}], "nsp": "/"},
            {"rooms": ["r1"], "except": ["r2"], "flags": {"compress": false}}]),
        ),
        (
            "memo_volatile".into(),
            json!(["atTHVG", {"type": 2, "data": ["y"], "nsp": "/"},
            {"rooms": ["r1", "r9"], "except": [], "flags": {"volatile": true}}]),
        ),
        (
            "memo_emitter".into(),
            json!(["emitter", {"type": 2, "data": ["from-emitter", bin(&[9])], "nsp": "/"},
            {"rooms": ["r3"], "flags": {}, "except": []}]),
        ),
        (
            "memo_emitter_admin".into(),
            json!(["emitter", {"type": 2, "data": ["b"], "nsp": "/admin"},
            {"rooms": [], "flags": {"volatile": true}, "except": ["r"]}]),
        ),
        (
            "memo_broadcast_ack_request".into(),
            json!({"uid": "atTHVG", "requestId": "a9B0Yl", "type": 7,
            "packet": {"type": 2, "data": ["withack", 7], "nsp": "/"},
            "opts": {"rooms": [], "except": [], "flags": {"timeout": 1000}}}),
        ),
        (
            "memo_response".into(),
            json!({"type": 9, "requestId": "a9B0Yl", "packet": {"ok": 42}}),
        ),
        (
            "memo_sharded_binary".into(),
            json!({"type": 3, "data": {"packet": {"type": 2, "data": ["bin", bin(&[1, 2, 3])]},
            "opts": {"rooms": [], "except": [], "flags": {}}}, "uid": "2d7fb3130cb77152", "nsp": "/"}),
        ),
        (
            "memo_session".into(),
            json!({"sid": "DNowDcU4TKdVliqEAAAA", "pid": "1SU2z3_UnNV7Erc_AAAB",
            "rooms": ["DNowDcU4TKdVliqEAAAA", "r1"], "data": {"user": "u1", "bin": bin(&[7])}}),
        ),
        (
            "nested".into(),
            json!({"a": {"b": {"c": [1, [2, [3, {"d": null, "e": [true, false]}]]]}}, "z": "end"}),
        ),
        (
            "nested_binary".into(),
            json!([{"x": [bin(&[]), {"y": bin(&[255])}]}, bin(&[0, 1])]),
        ),
        (
            "unicode".into(),
            json!(["é", "日本語", "😀", "a😀b\u{0}\u{1f}\u{7f}\u{2028}", {"ключ": "значение", "😀": 1}]),
        ),
        (
            "unicode_31_bytes".into(),
            json!(format!("{}a", "é".repeat(15))),
        ),
        ("unicode_32_bytes".into(), json!("é".repeat(16))),
        (
            "empty".into(),
            json!([[], {}, "", [[]], [{}], {"a": {}}, {"b": []}]),
        ),
        ("literals".into(), json!([null, true, false])),
    ];
    let numbers: &[(&str, Value)] = &[
        ("int_2^53-1", json!(9_007_199_254_740_991u64)),
        ("int_2^53", json!(9_007_199_254_740_992u64)),
        ("int_2^53+1", json!(9_007_199_254_740_993u64)),
        ("int_-(2^53-1)", json!(-9_007_199_254_740_991i64)),
        ("int_-2^53", json!(-9_007_199_254_740_992i64)),
        ("float_2^63", json!(9_223_372_036_854_775_808.0)),
        ("float_below_2^64", json!(18_446_744_073_709_549_568.0)),
        ("float_-2^63", json!(-9_223_372_036_854_775_808.0)),
        ("float_1e20", json!(1e20)),
        ("float_-1e20", json!(-1e20)),
        ("float_1e300", json!(1e300)),
        ("float_2.0", json!(2.0)),
        ("float_-0", json!(-0.0)),
        ("float_-4096.0", json!(-4096.0)),
        ("float_1e21", json!(1e21)),
        ("float_max", json!(f64::MAX)),
        (
            "floats",
            json!([
                0.1,
                -0.1,
                1.5,
                -2.5,
                1e-7,
                5e-324,
                -f64::MIN_POSITIVE,
                123_456.789,
                4_503_599_627_370_495.5
            ]),
        ),
    ];
    cases.extend(numbers.iter().map(|(n, v)| (n.to_string(), v.clone())));
    for n in [
        0u64,
        1,
        127,
        128,
        255,
        256,
        65535,
        65536,
        4_294_967_295,
        4_294_967_296,
    ] {
        cases.push((format!("uint_{n}"), json!(n)));
    }
    for n in [
        -1i64,
        -31,
        -32,
        -33,
        -127,
        -128,
        -129,
        -32767,
        -32768,
        -32769,
        -2_147_483_647,
        -2_147_483_648,
        -2_147_483_649,
        -4_294_967_296,
    ] {
        cases.push((format!("int_{n}"), json!(n)));
    }
    for len in [0, 1, 31, 32, 255, 256, 65535, 65536] {
        cases.push((format!("str_{len}"), json!(ascii(len))));
        cases.push((format!("bin_{len}"), bin(&vec![0xa5; len])));
    }
    for len in [15, 16, 31, 32, 255, 256, 65535, 65536] {
        cases.push((format!("array_{len}"), list(len)));
        cases.push((format!("map_{len}"), object(len)));
    }
    cases
}

/// Hand-written bytes Node's decoder reads too: extensions notepack does not
/// write, its 2.x forms, keys that are not strings, odd UTF-8.
const DECODE_CASES: &[(&str, &str)] = &[
    ("ext_fixext1", "d40507"),
    ("ext_fixext2", "d5fe0102"),
    ("ext_fixext4_other", "d6010a0b0c0d"),
    ("ext_fixext8_other", "d7020102030405060708"),
    ("ext_fixext16", "d87f000102030405060708090a0b0c0d0e0f"),
    ("ext_8", "c703800a0b0c"),
    ("ext_16", "c800020b0102"),
    ("ext_32", "c9000000020c0102"),
    ("ext_in_map", "81a165d40507"),
    ("legacy_arraybuffer", "c703000a0b0c"),
    ("legacy_arraybuffer_16", "c80002000102"),
    ("legacy_undefined_top", "d40000"),
    ("legacy_undefined_array", "93d4000001d40000"),
    ("legacy_undefined_map", "83a161d40000a16201a163c0"),
    ("legacy_undefined_then_set", "82a161d40000a16101"),
    ("legacy_date", "d700000000dfb7629c00"),
    ("legacy_date_negative", "d700ffffffffffffffff"),
    ("ts32_max", "d6ffffffffff"),
    ("ts64_ns", "d7ff1d5353003945880b"),
    ("ts96_negative", "c70cff3b8b87c0ffffffffffffffff"),
    ("ts96_out_of_range", "c70cff000000007fffffffffffffff"),
    ("float32", "94ca3fc00000ca7fc00000ca7f800000ca80000000"),
    (
        "float64_integral",
        "93cb4000000000000000cb8000000000000000cbc0b0000000000000",
    ),
    (
        "uint64_beyond_2^53",
        "93cf0020000000000001cf0030000000000001cfffffffffffffffff",
    ),
    (
        "int64_beyond_2^53",
        "92d3ffdfffffffffffffd38000000000000000",
    ),
    (
        "keys_not_strings",
        "86c00101020a03c204cb3ff80000000000000592010206",
    ),
    ("key_array_with_nil", "8193c001c003"),
    ("key_binary", "81c402686901"),
    ("key_map", "818001"),
    ("key_negative_and_big", "82ff01cf002000000000000102"),
    ("key_repeated", "83a16101a16202a16103"),
    ("key_proto", "82a95f5f70726f746f5f5f81a17801a16102"),
    ("key_proto_scalar", "82a95f5f70726f746f5f5f01a16102"),
    (
        "utf8_invalid",
        "96a2ff61a3e282aca2e282a3eda080a4f0908080a4f4908080",
    ),
    ("str8_short", "d903616263"),
    ("str16_short", "da0001ff"),
    ("map16_small", "de0001a16101"),
    ("array32_small", "dd0000000101"),
    ("bin32", "c60000000201ff"),
];

/// Runs the Node side and returns its `case` lines as JSON.
fn run_node(args: &[&str]) -> Vec<Value> {
    node::ensure_npm_deps();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/msgpack/notepack.cjs");
    let interop = node::interop_dir();
    let mut all = vec![interop.to_str().expect("UTF-8 path")];
    all.extend_from_slice(args);
    let out = node::run_node(
        script.to_str().expect("UTF-8 path"),
        &all,
        Duration::from_secs(120),
    );
    out.assert_ok();
    out.lines_with_event("case")
        .into_iter()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

fn with_file(name: &str, contents: &str, run: impl FnOnce(&str) -> Vec<Value>) -> Vec<Value> {
    let path =
        std::env::temp_dir().join(format!("ferrio-msgpack-{}-{name}.txt", std::process::id()));
    std::fs::write(&path, contents).expect("temp file");
    let lines = run(path.to_str().expect("UTF-8 path"));
    let _ = std::fs::remove_file(&path);
    lines
}

#[test]
fn ferrio_writes_the_bytes_notepack_writes() {
    let cases = canonical_cases();
    let mut input = String::new();
    let mut ours = Vec::new();
    let mut raws = Vec::new();
    for (name, value) in &cases {
        let payload = payload(value);
        let bytes = msgpack::encode(&payload).expect("encodes");
        if !payload.has_binary() {
            // The same bytes from a Value, and appended to a buffer.
            assert_eq!(
                msgpack::encode_value(value).expect("encodes"),
                bytes,
                "{name}: value"
            );
            let raw = Payload::Raw(RawJson::from_value(value));
            raws.push(Some(msgpack::encode(&raw).expect("encodes")));
        } else {
            raws.push(None);
        }
        let mut appended = b"head".to_vec();
        Writer::append(&mut appended, |w| w.payload(&payload)).expect("encodes");
        assert_eq!(appended[4..], bytes[..], "{name}: appended");
        let _ = writeln!(
            input,
            "{} {}",
            hex(&bytes),
            serde_json::to_string(value).expect("JSON")
        );
        ours.push(bytes);
    }
    let lines = with_file("encode", &input, |path| run_node(&["encode", path]));
    assert_eq!(lines.len(), cases.len(), "one line per case");
    let mut divergent = Vec::new();
    for ((((name, _), bytes), raw), line) in cases.iter().zip(&ours).zip(&raws).zip(&lines) {
        let notepack = line["notepack"].as_str().expect("hex");
        // Raw JSON text is read as JSON.parse reads it, so its bytes are
        // notepack's, 2^53 + 1 included.
        if let Some(raw) = raw {
            if !name.starts_with("float_") || !DIVERGENT.contains(&name.as_str()) {
                assert_eq!(hex(raw), notepack, "{name}: raw");
            }
        }
        let parsed = node_view(&line["parsed"]);
        // Node reads ferrio's bytes as the value, always.
        assert_eq!(
            node_view(&line["ferrio"]),
            parsed,
            "{name}: Node reads ferrio's bytes"
        );
        if DIVERGENT.contains(&name.as_str()) {
            assert_ne!(
                hex(bytes),
                notepack,
                "{name} is listed as divergent but is not"
            );
            divergent.push(name.clone());
            continue;
        }
        assert!(
            hex(bytes) == notepack,
            "{name}: ferrio and notepack write different bytes\n ferrio:   {}\n notepack: {}",
            short(&hex(bytes)),
            short(notepack)
        );
        // And ferrio reads notepack's bytes as the value.
        let back = msgpack::decode(
            &unhex(notepack),
            &DecoderConfig::default().max_json_values(200_000),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(view(&back), parsed, "{name}: ferrio reads notepack's bytes");
    }
    assert_eq!(divergent.len(), DIVERGENT.len());
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(200)]
}

#[test]
fn ferrio_reads_javascript_values_as_node_passes_them_on() {
    let lines = run_node(&["js"]);
    assert!(
        lines.len() >= 20,
        "the Node side lists its values: {lines:?}"
    );
    for line in &lines {
        let name = line["name"].as_str().expect("name");
        let bytes = unhex(line["hex"].as_str().expect("hex"));
        let decoded = msgpack::decode(&bytes, &DecoderConfig::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(view(&decoded), node_view(&line["node"]), "{name}");
        if name == "memo_capture" {
            assert_eq!(
                hex(&bytes),
                MEMO_CAPTURE,
                "notepack still writes the memo's capture"
            );
        }
    }
    assert!(lines.iter().any(|l| l["name"] == "memo_capture"));
}

#[test]
fn ferrio_reads_other_msgpack_as_notepack_does() {
    let input: String = DECODE_CASES
        .iter()
        .map(|(name, hex)| format!("{name} {hex}\n"))
        .collect();
    let lines = with_file("decode", &input, |path| run_node(&["decode", path]));
    assert_eq!(lines.len(), DECODE_CASES.len());
    for ((name, hex), line) in DECODE_CASES.iter().zip(&lines) {
        let decoded = msgpack::decode(&unhex(hex), &DecoderConfig::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(view(&decoded), node_view(&line["node"]), "{name} ({hex})");
    }
}
