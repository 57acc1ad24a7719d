//! The Socket.IO `Decoder` fed a sequence of Engine.IO messages cut from the input.
//!
//! Each frame is one byte of header then its body: the low bit says text (0) or
//! binary (1), the other seven bits the body length (cut short at the end of the
//! input). Text bodies that are not UTF-8 are decoded lossily.
//!
//! Invariants: after an error the decoder waits for nothing; it never waits for more
//! attachments than its limit; and every packet it completes goes through
//! deconstruct, encode and a second decoder to the same text and buffers.
#![no_main]

use bytes::Bytes;
use ferrio_proto::socketio::{Decoder, DecoderConfig, Packet, Payload, encode_packet};
use libfuzzer_sys::fuzz_target;

/// The text and buffers a packet goes on the wire as.
fn wire(packet: Packet<Payload>) -> (Vec<u8>, Vec<Bytes>) {
    let (header, buffers) = packet.deconstruct();
    assert_eq!(header.attachments, buffers.len());
    let mut text = Vec::new();
    encode_packet(&header, &mut text);
    (text, buffers)
}

/// Sends a packet through a fresh decoder and returns its wire form afterwards.
fn round_trip(text: &[u8], buffers: &[Bytes]) -> (Vec<u8>, Vec<Bytes>) {
    // Buffers are sent once each, so never more than the source had; allow any
    // count anyway, the limit is not what is tested here.
    let mut decoder = Decoder::new(DecoderConfig::default().max_attachments(usize::MAX));
    let text = std::str::from_utf8(text).expect("the encoder writes UTF-8");
    let mut done = decoder.feed_text(text).expect("an encoded header decodes");
    for b in buffers {
        assert!(done.is_none(), "complete before its last attachment");
        done = decoder
            .feed_binary(b.clone())
            .expect("an attachment is accepted");
    }
    wire(done.expect("complete after its last attachment"))
}

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::default();
    let mut rest = data;
    while let Some((&head, tail)) = rest.split_first() {
        let len = usize::from(head >> 1).min(tail.len());
        let (body, tail) = tail.split_at(len);
        rest = tail;
        let result = if head & 1 == 0 {
            decoder.feed_text(&String::from_utf8_lossy(body))
        } else {
            decoder.feed_binary(Bytes::copy_from_slice(body))
        };
        match result {
            Ok(Some(packet)) => {
                let (text, buffers) = wire(packet);
                assert_eq!(round_trip(&text, &buffers), (text, buffers));
            }
            Ok(None) => {}
            Err(_) => assert_eq!(decoder.awaiting(), 0, "an error leaves the decoder empty"),
        }
        assert!(decoder.awaiting() <= decoder.config().max_attachments);
    }
});
