//! What decoding a packet and reading its arguments costs in heap, measured with a
//! counting global allocator: at most 4× the packet's size on the wire plus a small
//! constant, whatever the packet (security review, findings 1 and 4).
//!
//! The allocator ([`cap`] around [`peak_alloc`]) refuses to go past [`CAP`], so
//! code that would expand a packet without bound aborts this test binary instead
//! of eating the machine.
//!
//! Run with `--nocapture` to see the figures.

use std::sync::Mutex;

use bytes::Bytes;
use cap::Cap;
use ferrio_proto::socketio::{Decoder, Packet, Payload, read_arg, read_args, split_event};
use peak_alloc::PeakAlloc;
use serde_json::Value;

/// No test here may hold more than this at once.
const CAP: usize = 1536 << 20;

/// What decoding and a read may cost on top of 4× the wire size: 512 bytes per
/// JSON value the decoder lets through (`DecoderConfig::max_json_values`, 10 000
/// by default). The worst shape measured, objects of one key written with spaces
/// (so kept parsed) and read as `serde_json::Value`, holds two trees of about
/// 235 bytes per value.
const CONSTANT: usize = 512 * 10_000;

#[global_allocator]
static ALLOCATOR: Cap<PeakAlloc> = Cap::new(PeakAlloc, CAP);

/// One measurement at a time: the counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

/// Held by each test from its first line, while it builds its input too: the
/// counters see every thread's allocations, so another test building a
/// megabyte of text meanwhile would count in this one's peak.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f`; returns its result, the peak heap above the start, and what it left
/// allocated (the result included).
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, isize) {
    let start = PeakAlloc.current_usage();
    PeakAlloc.reset_peak_usage();
    let result = f();
    let peak = PeakAlloc.peak_usage() - start;
    let retained = PeakAlloc.current_usage() as isize - start as isize;
    (result, peak, retained)
}

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / f64::from(1 << 20))
}

/// The review's packet: an event whose one argument is an array of `refs`
/// placeholders that all name the same 1 MB attachment.
fn reused_placeholders(refs: usize) -> (String, Bytes) {
    let placeholders = vec![r#"{"_placeholder":true,"num":0}"#; refs].join(",");
    (
        format!(r#"51-["typing",[{placeholders}]]"#),
        Bytes::from(vec![7u8; 1_000_000]),
    )
}

fn decode(text: &str, attachment: &Bytes) -> Packet<Payload> {
    let mut decoder = Decoder::default();
    assert!(decoder.feed_text(text).unwrap().is_none());
    decoder.feed_binary(attachment.clone()).unwrap().unwrap()
}

fn reused_placeholders_cost_at_most_four_times_the_wire(refs: usize) {
    let (text, attachment) = reused_placeholders(refs);
    let wire = text.len() + attachment.len();
    let budget = 4 * wire + CONSTANT;

    let ((name, args), peak, _) = measure(|| split_event(decode(&text, &attachment).data).unwrap());
    assert_eq!(name, "typing");
    println!("K={refs} wire {}: decode peak {}", mib(wire), mib(peak));
    assert!(peak <= budget, "decoding K={refs} took {}", mib(peak));

    let (bool_arg, peak, _) = measure(|| read_arg::<bool>(&args, 0));
    println!("K={refs}: read_arg::<bool>(0) peak {}", mib(peak));
    assert!(bool_arg.is_err());
    assert!(peak <= budget, "read_arg::<bool> took {}", mib(peak));

    let (tuple, peak, _) = measure(|| read_args::<(bool,)>(&args));
    println!("K={refs}: read_args::<(bool,)> peak {}", mib(peak));
    assert!(tuple.is_err());
    assert!(peak <= budget, "read_args::<(bool,)> took {}", mib(peak));

    let (value, peak, _) = measure(|| read_arg::<Value>(&args, 0));
    println!("K={refs}: read_arg::<Value>(0) peak {}", mib(peak));
    assert!(value.is_err(), "binary must not read as JSON");
    assert!(peak <= budget, "read_arg::<Value> took {}", mib(peak));

    let (buffers, peak, _) = measure(|| read_arg::<Vec<Bytes>>(&args, 0));
    println!("K={refs}: read_arg::<Vec<Bytes>>(0) peak {}", mib(peak));
    let buffers = buffers.expect("binary reads as Bytes");
    assert_eq!(buffers.len(), refs);
    assert!(
        buffers.iter().all(|b| b.as_ptr() == attachment.as_ptr()),
        "every placeholder shares the one attachment"
    );
    assert!(peak <= budget, "read_arg::<Vec<Bytes>> took {}", mib(peak));
}

#[test]
fn twenty_reused_placeholders_stay_within_budget() {
    let _serial = serial();
    reused_placeholders_cost_at_most_four_times_the_wire(20);
}

#[test]
fn a_thousand_reused_placeholders_stay_within_budget() {
    let _serial = serial();
    reused_placeholders_cost_at_most_four_times_the_wire(1000);
}

/// 976 KiB of `0,0,0,…`.
fn zeros() -> String {
    vec!["0"; 500_000].join(",")
}

/// Decodes one text packet; returns whether it was accepted, its peak and what
/// the decoded packet keeps.
fn decode_text_cost(text: &str) -> (bool, usize, isize) {
    let (decoded, peak, retained) = measure(|| Decoder::default().feed_text(text));
    let accepted = decoded.is_ok();
    drop(decoded);
    (accepted, peak, retained)
}

fn large_trees_stay_within_budget(what: &str, text: &str) {
    let (accepted, peak, retained) = decode_text_cost(text);
    println!(
        "{what} ({}): accepted {accepted}, peak {}, retained {}",
        mib(text.len()),
        mib(peak),
        mib(retained.max(0) as usize)
    );
    let budget = 4 * text.len() + CONSTANT;
    assert!(peak <= budget, "{what}: peak {}", mib(peak));
    assert!(
        retained <= budget as isize,
        "{what}: retained {}",
        mib(retained as usize)
    );
}

#[test]
fn a_large_connect_payload_stays_within_budget() {
    let _serial = serial();
    large_trees_stay_within_budget("connect", &format!(r#"0{{"a":[{}]}}"#, zeros()));
}

#[test]
fn a_large_canonical_event_stays_within_budget() {
    let _serial = serial();
    large_trees_stay_within_budget("event", &format!(r#"2["e",{}]"#, zeros()));
}

#[test]
fn a_large_event_with_spaces_stays_within_budget() {
    let _serial = serial();
    let spaced = vec!["0"; 500_000].join(", ");
    large_trees_stay_within_budget("event with spaces", &format!(r#"2["e", {spaced}]"#));
}

/// Packets just under the value limit, in the shapes that cost the most per byte,
/// decoded and read as `serde_json::Value`: the limit is the constant.
#[test]
fn the_most_values_allowed_stay_within_budget() {
    let _serial = serial();
    let n = ferrio_proto::socketio::DecoderConfig::default().max_json_values - 4;
    let shapes = [
        (
            "[] items",
            format!(r#"2["e",{}]"#, vec!["[]"; n / 2].join(",")),
        ),
        (
            "{} items",
            format!(r#"2["e",{}]"#, vec!["{}"; n / 2].join(",")),
        ),
        ("zeros", format!(r#"2["e",[{}]]"#, vec!["0"; n].join(","))),
        (
            "objects",
            format!(r#"2["e",[{}]]"#, vec![r#"{"a":0}"#; n / 2].join(",")),
        ),
        (
            "spaced objects",
            format!(r#"2["e", [{}]]"#, vec![r#"{"a": 0}"#; n / 2].join(", ")),
        ),
    ];
    for (what, text) in shapes {
        let budget = 4 * text.len() + CONSTANT;
        let ((args, first), peak, _) = measure(|| {
            let packet = Decoder::default().feed_text(&text).unwrap().unwrap();
            let (_, args) = split_event(packet.data).unwrap();
            let first = read_arg::<Value>(&args, 0).unwrap();
            (args, first)
        });
        println!(
            "{what} ({}): decode + read_arg peak {}",
            mib(text.len()),
            mib(peak)
        );
        assert!(!first.is_null());
        assert!(peak <= budget, "{what}: {}", mib(peak));
        drop(first);
        let (all, peak, _) = measure(|| read_args::<Vec<Value>>(&args).unwrap());
        println!("{what}: read_args peak {}", mib(peak));
        assert!(!all.is_empty());
        assert!(peak <= budget, "{what}: {}", mib(peak));
    }
}
