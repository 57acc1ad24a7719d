//! Reading the arguments of decoded packets: `read_arg` and `read_args` over
//! every payload form (raw text, parsed JSON, binary leaves in arrays and
//! objects, placeholders that share one attachment).
//!
//! The first byte sets `max_json_values` (1 to 256, or the default when 0);
//! the rest is frames as in `socketio_binary`: one byte of header (low bit:
//! text 0 or binary 1, the other seven: the body's length), then the body.
//!
//! Invariants: no read panics; binary data never reads as a `serde_json::Value`
//! (or a `bool`, or a `String`); `Bytes` and `Vec<Bytes>` get the attachments
//! themselves, shared; and a text packet is accepted by the `Decoder` (raw text
//! kept) exactly when `decode_packet` (always parsed) accepts it, so both meet
//! the same value limit.
#![no_main]

use bytes::Bytes;
use ferrio_proto::socketio::{
    Decoder, DecoderConfig, Payload, decode_packet, read_arg, read_args, split_event,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Shaped {
    text: Option<String>,
    blob: Option<Vec<u8>>,
    list: Option<Vec<Value>>,
}

fn read_everything(args: &[Payload]) {
    for index in 0..args.len().min(4) {
        let arg = &args[index];
        let value = read_arg::<Value>(args, index);
        if matches!(arg, Payload::Binary(_)) {
            assert!(value.is_err(), "binary read as JSON");
            assert!(read_arg::<bool>(args, index).is_err());
            assert!(read_arg::<String>(args, index).is_err());
            let shared = read_arg::<Bytes>(args, index).expect("binary reads as Bytes");
            assert!(matches!(arg, Payload::Binary(b) if b.as_ptr() == shared.as_ptr()));
            assert!(read_arg::<Vec<u8>>(args, index).is_ok());
        }
        if let Payload::Array(items) = arg {
            if items.iter().all(|i| matches!(i, Payload::Binary(_))) {
                let shared = read_arg::<Vec<Bytes>>(args, index).expect("binaries read as Bytes");
                assert_eq!(shared.len(), items.len());
            }
        }
        let _ = read_arg::<Vec<u8>>(args, index);
        let _ = read_arg::<Vec<Vec<u8>>>(args, index);
        let _ = read_arg::<Option<Shaped>>(args, index);
        let _ = read_arg::<(u8, String)>(args, index);
    }
    let _ = read_args::<Vec<Value>>(args);
    let _ = read_args::<(String, Vec<u8>)>(args);
    let _ = read_args::<(Option<Shaped>, Vec<Bytes>)>(args);
}

fuzz_target!(|data: &[u8]| {
    let Some((&limit, mut rest)) = data.split_first() else {
        return;
    };
    let mut config = DecoderConfig::default();
    if limit != 0 {
        config = config.max_json_values(usize::from(limit));
    }
    let mut decoder = Decoder::new(config);
    while let Some((&head, tail)) = rest.split_first() {
        let len = usize::from(head >> 1).min(tail.len());
        let (body, tail) = tail.split_at(len);
        rest = tail;
        let result = if head & 1 == 0 {
            let text = String::from_utf8_lossy(body);
            let awaiting = decoder.awaiting() > 0;
            let result = decoder.feed_text(&text);
            if !awaiting {
                assert_eq!(
                    result.is_ok(),
                    decode_packet(&text, &config).is_ok(),
                    "the raw and the parsed paths disagree on {text:?}"
                );
            }
            result
        } else {
            decoder.feed_binary(Bytes::copy_from_slice(body))
        };
        if let Ok(Some(packet)) = result {
            if let Some((_name, args)) = split_event(packet.data.clone()) {
                read_everything(&args);
            }
            if let Some(data) = packet.data {
                read_everything(std::slice::from_ref(&data));
            }
        }
    }
});
