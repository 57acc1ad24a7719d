//! The notepack-compatible MessagePack codec (`ferrio_proto::socketio::msgpack`):
//! what a Redis peer can send.
//!
//! The first byte sets the limits: its low 6 bits `max_depth` (1 to 64; 0 keeps
//! the default), its top 2 bits `max_json_values` (16, 256, 4096 or the
//! default). The rest is the MessagePack input.
//!
//! Invariants: decoding never panics; a value that decodes encodes, and its
//! bytes decode to an equal payload (with room for what decoding adds: an
//! extension `[type, Buffer]` is one value and one level deeper once written as
//! an array) whose bytes are the same again. When the input is canonical JSON
//! text (`RawJson`), transcoding it and writing its parsed `Value` give bytes
//! that decode to the same payload (the bytes differ only for integers beyond
//! ±2^53, which raw text reads as `JSON.parse` does).
#![no_main]

use bytes::Bytes;
use ferrio_proto::socketio::msgpack::{decode, encode, encode_value};
use ferrio_proto::socketio::{DecoderConfig, Payload, RawJson};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&limits, input)) = data.split_first() else {
        return;
    };
    let mut config = DecoderConfig::default();
    if limits & 0x3f != 0 {
        config = config.max_depth(usize::from(limits & 0x3f));
    }
    config = match limits >> 6 {
        0 => config.max_json_values(16),
        1 => config.max_json_values(256),
        2 => config.max_json_values(4096),
        _ => config,
    };
    if let Some(raw) = std::str::from_utf8(input).ok().and_then(RawJson::new) {
        let from_value = encode_value(&raw.to_value()).expect("a value encodes");
        let from_raw = encode(&Payload::Raw(raw)).expect("raw text encodes");
        let all = DecoderConfig::default().max_json_values(usize::MAX);
        assert_eq!(
            decode(&Bytes::from(from_raw), &all).expect("transcoded bytes decode"),
            decode(&Bytes::from(from_value), &all).expect("written bytes decode"),
            "raw text and its value encode differently"
        );
    }
    let Ok(payload) = decode(&Bytes::copy_from_slice(input), &config) else {
        return;
    };
    let bytes = encode(&payload).expect("a decoded payload encodes");
    let roomy = DecoderConfig::default()
        .max_depth(config.max_depth + 1)
        .max_json_values(config.max_json_values * 3);
    let again = decode(&Bytes::from(bytes.clone()), &roomy).expect("written bytes decode");
    assert_eq!(again, payload, "decode → encode → decode changed the value");
    assert_eq!(encode(&again).expect("encodes"), bytes, "encoding is not stable");
});
