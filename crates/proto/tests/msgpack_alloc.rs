//! The MessagePack encoder allocates nothing but the output buffer: with the
//! buffer reserved beforehand, writing JSON values, payloads with binary leaves
//! and raw JSON text (without escapes) takes no heap at all. Measured with a
//! counting global allocator; any allocation, even one freed at once, raises
//! the peak above the start.
//!
//! One test in this binary, so that no other thread allocates meanwhile.

use bytes::Bytes;
use ferrio_proto::socketio::msgpack::Writer;
use ferrio_proto::socketio::{Payload, RawJson};
use peak_alloc::PeakAlloc;
use serde_json::{Value, json};

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// Heap taken at the peak while `write` appends to a buffer of `capacity`
/// reserved beforehand, and the bytes written.
fn heap_while_writing(capacity: usize, write: impl FnOnce(&mut Writer)) -> (usize, usize) {
    let mut out = Vec::with_capacity(capacity);
    let start = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    Writer::append(&mut out, write);
    let peak = ALLOCATOR.peak_usage() - start;
    assert_eq!(out.capacity(), capacity, "the buffer did not grow");
    (peak, out.len())
}

#[test]
fn the_encoder_allocates_only_the_output_buffer() {
    let long: Vec<Value> = (0..70_000)
        .map(|i| json!([i, -i, f64::from(i) + 0.5]))
        .collect();
    let value = json!({
        "type": 2,
        "data": ["event", "é😀", {"nested": [[[null, true, false]]], "n": -4096, "f": 2.0}, long],
        "opts": {"rooms": ["r1", "r2"], "except": [], "flags": {"volatile": true}},
    });
    let payload = Payload::Array(vec![
        json!("img").into(),
        Bytes::from(vec![7u8; 100_000]).into(),
        Payload::Object(vec![
            ("meta".into(), json!({"w": 10, "h": 20}).into()),
            ("thumb".into(), Bytes::from_static(&[1, 2, 3]).into()),
        ]),
        Payload::Raw(RawJson::new(r#"{"raw":[1,2.5,"text"]}"#).expect("canonical")),
    ]);
    let raw = RawJson::from_value(&value);
    assert!(!raw.as_str().contains('\\'), "no escapes in this text");

    let capacity = 8 << 20;
    let (peak, len) = heap_while_writing(capacity, |w| w.value(&value).expect("encodes"));
    println!("Writer::value: {len} bytes written, {peak} bytes of heap besides the buffer");
    assert_eq!(peak, 0);

    let (peak, len) = heap_while_writing(capacity, |w| {
        w.map_len(2).expect("encodes");
        w.str("packet").expect("encodes");
        w.payload(&payload).expect("encodes");
        w.str("uid").expect("encodes");
        w.str("2d7fb3130cb77152").expect("encodes");
    });
    println!("Writer::payload: {len} bytes written, {peak} bytes of heap besides the buffer");
    assert_eq!(peak, 0);

    // 70 000 items: the array's header is widened in place once its end is read.
    let (peak, len) = heap_while_writing(capacity, |w| w.raw(&raw).expect("encodes"));
    println!("Writer::raw: {len} bytes written, {peak} bytes of heap besides the buffer");
    assert_eq!(peak, 0);
}
