//! The text part of a Socket.IO packet: `decode_packet` on UTF-8 input.
//!
//! A decoded packet must encode to text that decodes again, with the same header,
//! and whose encoding is the same text (a fixed point). Exact equality of the data
//! is too strong: JSON numbers are normalised as JavaScript does (`1.0` is `1`).
#![no_main]

use ferrio_proto::socketio::{DecoderConfig, Packet, decode_packet, encode_packet};
use libfuzzer_sys::fuzz_target;

fn encode(packet: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    encode_packet(packet, &mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = DecoderConfig::default();
    let Ok(packet) = decode_packet(text, &config) else {
        return;
    };
    let once = encode(&packet);
    let once_text = std::str::from_utf8(&once).expect("the encoder writes UTF-8");
    let again = decode_packet(once_text, &config).expect("a re-encoded packet decodes");
    assert_eq!(
        (again.kind, &again.nsp, again.id, again.attachments),
        (packet.kind, &packet.nsp, packet.id, packet.attachments)
    );
    assert_eq!(encode(&again), once, "encoding is a fixed point");
});
