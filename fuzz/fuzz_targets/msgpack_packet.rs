//! The msgpack parser's packet decoder
//! (`ferrio_proto::socketio::msgpack::decode_packet`): what a
//! `socket.io-msgpack-parser` client or server can send in one binary message.
//!
//! The first byte sets the limits as in the `msgpack` target: its low 6 bits
//! `max_depth` (1 to 64; 0 keeps the default), its top 2 bits
//! `max_json_values` (16, 256, 4096 or the default). The rest is the message.
//!
//! Invariants: decoding never panics; a packet that decodes is written again
//! (`write_packet`), and those bytes decode to the same packet, within the same
//! limits, and are written to the same bytes again.
#![no_main]

use bytes::Bytes;
use ferrio_proto::socketio::DecoderConfig;
use ferrio_proto::socketio::msgpack::{decode_packet, write_packet};
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
    let Ok(packet) = decode_packet(&Bytes::copy_from_slice(input), &config) else {
        return;
    };
    let mut bytes = Vec::new();
    write_packet(&packet, &mut bytes).expect("a decoded packet is written");
    // An extension `[type, Buffer]` is one value and one level more once
    // written as an array.
    let roomy = DecoderConfig::default()
        .max_depth(config.max_depth + 1)
        .max_json_values(config.max_json_values * 3);
    let again = decode_packet(&Bytes::from(bytes.clone()), &roomy).expect("written bytes decode");
    assert_eq!(again, packet, "decode → write → decode changed the packet");
    let mut twice = Vec::new();
    write_packet(&again, &mut twice).expect("written again");
    assert_eq!(twice, bytes, "writing is not stable");
});
