//! A long-polling payload: `decode_payload` on any bytes. When every packet decodes,
//! encoding them again must give a payload that decodes to the same packets.
#![no_main]

use ferrio_proto::engine::{decode_payload, encode_payload_packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packets) = decode_payload(data).collect::<Result<Vec<_>, _>>() else {
        return;
    };
    let mut out = Vec::new();
    for packet in &packets {
        encode_payload_packet(packet, &mut out);
    }
    let again = decode_payload(&out)
        .collect::<Result<Vec<_>, _>>()
        .expect("a re-encoded payload decodes");
    assert_eq!(again, packets);
});
