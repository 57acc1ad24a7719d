//! An Engine.IO v3 polling payload: the text form (`<length>:<packet>`) on
//! UTF-8 input and the binary form (marker, length digits, `0xff`) on any
//! bytes. Neither panics; packets decoded from either re-encode to a payload
//! that decodes to the same packets.
#![no_main]

use ferrio_proto::engine::{
    Packet, decode_binary_payload_v3, decode_text_payload_v3, encode_binary_payload_binary_v3,
    encode_binary_payload_text_v3, encode_packet, encode_text_payload_binary_v3,
    encode_text_payload_text_v3,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let packets: Result<Vec<Packet<'_>>, _> = decode_text_payload_v3(text).collect();
        if let Ok(packets) = packets {
            let mut out = Vec::new();
            for packet in &packets {
                match packet {
                    Packet::Binary(bytes) => encode_text_payload_binary_v3(bytes, &mut out),
                    other => {
                        let mut one = Vec::new();
                        encode_packet(other, &mut one);
                        let one = std::str::from_utf8(&one).expect("a text packet is UTF-8");
                        encode_text_payload_text_v3(one, &mut out);
                    }
                }
            }
            let again = std::str::from_utf8(&out).expect("a text payload is UTF-8");
            let again: Vec<Packet<'_>> = decode_text_payload_v3(again)
                .collect::<Result<_, _>>()
                .unwrap_or_default();
            assert_eq!(again, packets);
        }
    }

    let packets: Result<Vec<Packet<'_>>, _> = decode_binary_payload_v3(data).collect();
    if let Ok(packets) = packets {
        let mut out = Vec::new();
        for packet in &packets {
            match packet {
                Packet::Binary(bytes) => encode_binary_payload_binary_v3(bytes, &mut out),
                other => {
                    let mut one = Vec::new();
                    encode_packet(other, &mut one);
                    let one = std::str::from_utf8(&one).expect("a text packet is UTF-8");
                    encode_binary_payload_text_v3(one, &mut out);
                }
            }
        }
        let again: Vec<Packet<'_>> = decode_binary_payload_v3(&out)
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        assert_eq!(again, packets);
    }
});
