//! How many allocations the server side of one echo takes with each parser:
//! decode the event, split it into its name and arguments, write the ack.
//! Counted by this test binary's global allocator, so the figures are exact
//! and the same on every machine: a regression fails here instead of hiding
//! in a benchmark's noise. The packet is what `ferrio bench echo` sends.

use std::alloc::System;

use bytes::Bytes;
use ferrio_proto::socketio::{
    Decoder, DecoderConfig, Packet, PacketKind, args_data, msgpack, split_event,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TEXT: &str = r#"2417["echo",{"t":1732560000123,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]"#;

/// `TEXT` as socket.io-msgpack-parser sends it.
const MSGPACK: &[u8] = b"\x84\xa4type\x02\xa4data\x92\xa4echo\x82\xa1t\xcf\x00\x00\x01\x93\x6a\x6d\x5c\x7b\xa1p\xd9\x20xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xa3nsp\xa1/\xa2id\xcd\x01\xa1";

/// Allocations and reallocations made by the second call of `f` (the first
/// one warms up what is made once: thread-locals, hash keys).
fn allocations(mut f: impl FnMut()) -> usize {
    f();
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    change.allocations + change.reallocations
}

fn text_echo() -> usize {
    let mut decoder = Decoder::default();
    let mut out = Vec::with_capacity(256);
    allocations(|| {
        let packet = decoder.feed_text(TEXT).unwrap().unwrap();
        let id = packet.id.unwrap();
        let (_, args) = split_event(packet.data).unwrap();
        let ack = Packet::new(PacketKind::Ack, "/", Some(args_data(args))).with_id(id);
        out.clear();
        assert!(ack.write_message(&mut out).is_empty());
    })
}

/// As the server does it: the packet is written in a scratch buffer (grown
/// by then) and copied out at its size.
fn msgpack_echo() -> usize {
    let bytes = Bytes::from_static(MSGPACK);
    let config = DecoderConfig::default();
    let mut scratch = Vec::with_capacity(256);
    allocations(|| {
        let packet = msgpack::decode_packet(&bytes, &config).unwrap();
        let id = packet.id.unwrap();
        let (_, args) = split_event(packet.data).unwrap();
        let ack = Packet::new(PacketKind::Ack, "/", Some(args_data(args))).with_id(id);
        scratch.clear();
        msgpack::write_packet(&ack, &mut scratch).unwrap();
        drop(Bytes::copy_from_slice(&scratch));
    })
}

/// One test, so that no other test of this binary allocates meanwhile (the
/// count is the whole process's).
#[test]
fn allocations_per_echo() {
    // The event's name, its one argument's text, and the ack's buffer
    // growing past its first capacity.
    let text = text_echo();
    assert!(text <= 3, "text echo: {text} allocations");
    // The event's list and name, the object (its entries and its index, two
    // keys, one string), the namespace, the ack's list, and the packet
    // copied out. 0f3fce6's decoder took 11 here (and its server wrote
    // the packet in a `Vec` growing from empty: four or five more).
    let msgpack = msgpack_echo();
    assert!(msgpack <= 10, "msgpack echo: {msgpack} allocations");
}
