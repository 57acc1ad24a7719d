//! One Engine.IO packet in a WebSocket frame: `decode_text` on UTF-8 input and
//! `decode_binary` on any bytes. A decoded packet must encode to a frame that decodes
//! to the same packet.
#![no_main]

use ferrio_proto::engine::{decode_binary, decode_text, encode_packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(packet) = decode_text(text)
    {
        let mut out = Vec::new();
        encode_packet(&packet, &mut out);
        let again = std::str::from_utf8(&out).expect("a text packet encodes to UTF-8");
        assert_eq!(decode_text(again), Ok(packet));
    }

    let packet = decode_binary(data);
    let mut out = Vec::new();
    encode_packet(&packet, &mut out);
    assert_eq!(out, data, "a binary frame is its own encoding");
});
