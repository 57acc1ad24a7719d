//! Criterion benchmarks of the codec hot paths: what every emit and every
//! received event goes through.
//!
//! ```text
//! cargo bench -p ferrio-proto --bench codec
//! ```

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferrio_proto::engine::{decode_payload, decode_text, encode_payload_packet};
use ferrio_proto::socketio::{
    Decoder, DecoderConfig, Packet, PacketKind, Payload, args_data, decode_packet, encode_message,
    event_data, msgpack, split_event, to_args,
};
use serde_json::json;

/// A typical chat event: a name and one small object.
fn chat_event() -> Packet<Payload> {
    let args = to_args(&(json!({"from": "alice", "text": "hello, world", "time": 1732560000}),))
        .expect("serializable");
    Packet::new(
        PacketKind::Event,
        "/",
        Some(event_data("chat message", args)),
    )
    .with_id(42)
}

/// The same event with a 1 KiB binary argument.
fn binary_event() -> Packet<Payload> {
    let args = vec![
        Payload::Json(json!("avatar.png")),
        Payload::Binary(Bytes::from(vec![7u8; 1024])),
    ];
    Packet::new(PacketKind::Event, "/", Some(event_data("upload", args)))
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    let event = chat_event();
    group.bench_function("event", |b| {
        let mut out = Vec::with_capacity(128);
        b.iter(|| {
            out.clear();
            let (header, _) = black_box(event.clone()).deconstruct();
            encode_message(&header, &mut out);
            black_box(&out);
        })
    });
    let binary = binary_event();
    group.bench_function("binary_event", |b| {
        let mut out = Vec::with_capacity(128);
        b.iter(|| {
            out.clear();
            let (header, buffers) = black_box(binary.clone()).deconstruct();
            encode_message(&header, &mut out);
            black_box((&out, buffers));
        })
    });
    group.bench_function("args_from_serde", |b| {
        let value = json!({"from": "alice", "text": "hello, world", "time": 1732560000});
        b.iter(|| black_box(to_args(&(black_box(&value),)).expect("serializable")))
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    let mut text = Vec::new();
    encode_message(&chat_event().deconstruct().0, &mut text);
    let text = String::from_utf8(text).expect("utf-8");
    group.bench_function("engine_then_event", |b| {
        let config = Default::default();
        b.iter(|| {
            let ferrio_proto::engine::Packet::Message(data) =
                decode_text(black_box(&text)).expect("valid")
            else {
                unreachable!("a message packet")
            };
            black_box(decode_packet(data, &config).expect("valid"))
        })
    });
    let (header, buffers) = binary_event().deconstruct();
    let mut header_text = Vec::new();
    ferrio_proto::socketio::encode_packet(&header, &mut header_text);
    let header_text = String::from_utf8(header_text).expect("utf-8");
    group.bench_function("binary_event_reassembly", |b| {
        let mut decoder = Decoder::default();
        b.iter(|| {
            assert!(
                decoder
                    .feed_text(black_box(&header_text))
                    .expect("valid")
                    .is_none()
            );
            black_box(decoder.feed_binary(buffers[0].clone()).expect("valid"))
        })
    });
    group.finish();
}

/// What `ferrio bench echo` sends (32 bytes of padding), without the Engine.IO `4`.
const ECHO: &str = r#"2417["echo",{"t":1732560000123,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]"#;

/// The server side of one echo: decode the event, split it into its name and
/// arguments, and write the ack with the same arguments into a frame buffer.
fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("echo");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_split", |b| {
        let mut decoder = Decoder::default();
        b.iter(|| {
            let packet = decoder
                .feed_text(black_box(ECHO))
                .expect("valid")
                .expect("complete");
            black_box(split_event(packet.data).expect("an event"))
        })
    });
    let packet = Decoder::default().feed_text(ECHO).unwrap().unwrap();
    let (_, args) = split_event(packet.data).unwrap();
    group.bench_function("ack_encode", |b| {
        b.iter(|| {
            let ack = Packet::new(
                PacketKind::Ack,
                "/",
                Some(args_data(black_box(&args).clone())),
            )
            .with_id(417);
            black_box(encode_ack(ack))
        })
    });
    group.bench_function("round_trip", |b| {
        let mut decoder = Decoder::default();
        b.iter(|| {
            let packet = decoder
                .feed_text(black_box(ECHO))
                .expect("valid")
                .expect("complete");
            let id = packet.id.expect("an ack id");
            let (_, args) = split_event(packet.data).expect("an event");
            let ack = Packet::new(PacketKind::Ack, "/", Some(args_data(args))).with_id(id);
            black_box(encode_ack(ack))
        })
    });
    group.finish();
}

/// The ack's frame text, as the server writes it.
fn encode_ack(ack: Packet<Payload>) -> Vec<u8> {
    let mut out = Vec::new();
    let buffers = ack.write_message(&mut out);
    debug_assert!(buffers.is_empty());
    out
}

/// [`ECHO`] as `socket.io-msgpack-parser` sends it, without the Engine.IO
/// framing: `{type: 2, data: ["echo", {t, p}], nsp: "/", id: 417}`.
const MSGPACK_ECHO: &[u8] = b"\x84\xa4type\x02\xa4data\x92\xa4echo\x82\xa1t\xcf\x00\x00\x01\x93\x6a\x6d\x5c\x7b\xa1p\xd9\x20xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xa3nsp\xa1/\xa2id\xcd\x01\xa1";

/// The server side of one echo with the msgpack parser: decode, split, and
/// write the ack, as [`echo`]'s `round_trip` does with text.
fn msgpack_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("msgpack_echo");
    group.throughput(Throughput::Elements(1));
    let bytes = Bytes::from_static(MSGPACK_ECHO);
    let config = DecoderConfig::default();
    group.bench_function("round_trip", |b| {
        // The server writes into a scratch buffer and copies the packet out.
        let mut scratch = Vec::new();
        b.iter(|| {
            let packet = msgpack::decode_packet(black_box(&bytes), &config).expect("valid");
            let id = packet.id.expect("an ack id");
            let (_, args) = split_event(packet.data).expect("an event");
            let ack = Packet::new(PacketKind::Ack, "/", Some(args_data(args))).with_id(id);
            scratch.clear();
            msgpack::write_packet(&ack, &mut scratch).expect("encodable");
            black_box(Bytes::copy_from_slice(&scratch))
        })
    });
    group.finish();
}

fn payload(c: &mut Criterion) {
    let mut group = c.benchmark_group("polling_payload");
    let packets: Vec<_> = (0..16)
        .map(|i| {
            ferrio_proto::engine::Packet::Message(if i % 2 == 0 {
                "2[\"tick\",1]"
            } else {
                "3[\"ok\"]"
            })
        })
        .collect();
    group.throughput(Throughput::Elements(packets.len() as u64));
    group.bench_function("encode_16", |b| {
        let mut out = Vec::with_capacity(512);
        b.iter(|| {
            out.clear();
            for p in &packets {
                encode_payload_packet(black_box(p), &mut out);
            }
            black_box(&out);
        })
    });
    let mut body = Vec::new();
    for p in &packets {
        encode_payload_packet(p, &mut body);
    }
    group.bench_function("decode_16", |b| {
        b.iter(|| {
            for p in decode_payload(black_box(&body)) {
                black_box(p.expect("valid"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, encode, decode, echo, msgpack_echo, payload);
criterion_main!(benches);
