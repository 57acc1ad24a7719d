//! permessage-deflate on a server WebSocket: the answer to the client's offer,
//! and what a connection keeps to compress the messages it sends.
//!
//! A message is compressed as it is sent, under the session's lock, so that
//! messages go through the connection's compression context in the order
//! they reach the wire; the compressed frame then waits in the outbox like
//! any other ([`OutPacket::Deflated`]). Only connections that agreed on the
//! extension carry any of this: others hold one empty pointer.

use bytes::Bytes;
use ferrio_proto::websocket::deflate::{DeflateConfig, DeflateParams, Deflater, accept_offer};
use http::HeaderMap;
use http::header::{HeaderValue, SEC_WEBSOCKET_EXTENSIONS};

use crate::OutPacket;
use crate::session::Deflated;

/// The extension agreed on for one WebSocket (not part of the API: for the
/// Autobahn echo), from the client's offers in
/// `headers`, and the `Sec-WebSocket-Extensions` answer; `None` when
/// compression is off or every offer is declined.
pub fn negotiate(
    config: Option<&DeflateConfig>,
    headers: &HeaderMap,
) -> Option<(DeflateParams, HeaderValue)> {
    let config = config?;
    let mut offers = String::new();
    for value in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
        let value = value.to_str().ok()?;
        if !offers.is_empty() {
            offers.push_str(", ");
        }
        offers.push_str(value);
    }
    if offers.is_empty() {
        return None;
    }
    let (params, answer) = accept_offer(config, &offers)?;
    let answer = HeaderValue::from_str(&answer).ok()?;
    Some((params, answer))
}

/// A connection's compression of the messages it sends.
#[derive(Debug)]
pub(crate) struct Compressor {
    deflater: Deflater,
    threshold: usize,
}

impl Compressor {
    /// The compression `params` agreed on, with `config`'s level and
    /// threshold.
    pub(crate) fn new(params: &DeflateParams, config: &DeflateConfig) -> Self {
        Self {
            deflater: Deflater::new(
                config.level,
                params.server_max_window_bits,
                !params.server_no_context_takeover,
            ),
            threshold: config.threshold,
        }
    }

    /// `frame` as it goes to the wire: compressed when it is a message of at
    /// least the threshold and `compress` allows it, else as it is.
    pub(crate) fn prepare(&mut self, frame: OutPacket, compress: bool) -> OutPacket {
        if !compress || frame.len() < self.threshold {
            return frame;
        }
        let (payload, text) = match &frame {
            OutPacket::Text(text) => (text.as_bytes(), true),
            OutPacket::Binary(bytes) => (&bytes[..], false),
            OutPacket::Deflated(_) => return frame,
        };
        let mut out = Vec::new();
        if !self.deflater.compress(payload, &mut out) {
            tracing::debug!("zlib refused a message: sent uncompressed");
            return frame;
        }
        OutPacket::Deflated(Deflated {
            bytes: Bytes::from(out),
            text,
        })
    }

    /// Whether it holds a compression context (memory) now.
    #[cfg(test)]
    pub(crate) fn holds_context(&self) -> bool {
        self.deflater.holds_context()
    }
}

/// A `Text` frame of `s`, for tests.
#[cfg(test)]
pub(crate) fn text(s: &str) -> OutPacket {
    OutPacket::Text(crate::Text::from(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrio_proto::websocket::deflate::Inflater;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn negotiates_only_when_on_and_offered() {
        let on = DeflateConfig::default();
        assert!(negotiate(None, &headers(&["permessage-deflate"])).is_none());
        assert!(negotiate(Some(&on), &headers(&[])).is_none());
        let (_, answer) = negotiate(
            Some(&on),
            &headers(&["foo", "permessage-deflate; client_max_window_bits"]),
        )
        .unwrap();
        assert_eq!(answer, "permessage-deflate");
    }

    #[test]
    fn compresses_messages_over_the_threshold_unless_told_not_to() {
        let config = DeflateConfig::default().threshold(10);
        let (params, _) = negotiate(Some(&config), &headers(&["permessage-deflate"])).unwrap();
        let mut compressor = Compressor::new(&params, &config);
        assert!(!compressor.holds_context(), "made at the first message");
        let small = text("4short");
        assert_eq!(compressor.prepare(small.clone(), true), small);
        let big = text(&format!("4{}", "abc".repeat(100)));
        assert_eq!(
            compressor.prepare(big.clone(), false),
            big,
            "compress(false)"
        );
        let OutPacket::Deflated(deflated) = compressor.prepare(big, true) else {
            panic!("not compressed");
        };
        assert!(deflated.text);
        assert!(compressor.holds_context());
        let back = Inflater::new(true).inflate(&deflated.bytes, 1000).unwrap();
        assert_eq!(back, format!("4{}", "abc".repeat(100)).as_bytes());
    }
}
