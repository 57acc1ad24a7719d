//! Property tests of the Engine.IO codec: round trips and no panics on any input.

use std::borrow::Cow;

use ferrio_proto::engine::{
    Packet, decode_binary, decode_payload, decode_text, encode_packet, encode_payload_packet,
};
use proptest::prelude::*;

fn text_packet() -> impl Strategy<Value = Packet<'static>> {
    // Data must not contain the record separator to survive a payload round trip.
    let data = "[^\u{1e}]*".prop_map(|s: String| &*Box::leak(s.into_boxed_str()));
    prop_oneof![
        data.clone().prop_map(Packet::Open),
        Just(Packet::Close),
        data.clone().prop_map(Packet::Ping),
        data.clone().prop_map(Packet::Pong),
        data.prop_map(Packet::Message),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

fn any_packet() -> impl Strategy<Value = Packet<'static>> {
    prop_oneof![
        text_packet(),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|v| Packet::Binary(Cow::Owned(v))),
    ]
}

proptest! {
    #[test]
    fn text_frame_round_trips(packet in text_packet()) {
        let mut out = Vec::new();
        encode_packet(&packet, &mut out);
        let text = std::str::from_utf8(&out).unwrap();
        prop_assert_eq!(decode_text(text).unwrap(), packet);
    }

    #[test]
    fn binary_frame_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut out = Vec::new();
        encode_packet(&decode_binary(&bytes), &mut out);
        prop_assert_eq!(out, bytes);
    }

    #[test]
    fn payload_round_trips(packets in proptest::collection::vec(any_packet(), 1..8)) {
        let mut out = Vec::new();
        for p in &packets {
            encode_payload_packet(p, &mut out);
        }
        let decoded: Vec<_> = decode_payload(&out).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(decoded, packets);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for p in decode_payload(&bytes) {
            let _ = p;
        }
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = decode_text(s);
        }
    }
}
