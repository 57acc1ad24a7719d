//! What a connection does with each Engine.IO message from the server,
//! whatever the transport: answer pings, and count the stamped deliveries,
//! reading no more of a message than it must (its type bytes and its `"t"`
//! stamp; with `--binary`, the size of the attachment that completes it).
//!
//! ```text
//!  text  2…                     → Pong
//!  text  1 / 41                 → Closed
//!  text  42… / 43…              → a delivery, at its stamp
//!  text  45<n>-… / 46<n>-…      → waits for its attachment: the next binary message
//!  binary (default parser)      → the attachment: a delivery if it has --binary bytes, else a mismatch
//!  binary (msgpack parser)      → type 2/3/5/6: a delivery (its bin argument checked), type 1: Closed
//! ```

use super::mode::Codec;
use super::msgpack_scan;
use super::stats::Stats;
use super::wire;

/// What the connection must do after a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Handled {
    /// Nothing more.
    Open,
    /// Answer the ping: `3` and the ping's data (the text after its `2`).
    Pong,
    /// The server closed the session or the namespace.
    Closed,
}

/// One connection's reading state.
#[derive(Debug)]
pub(crate) struct Receiver {
    codec: Codec,
    /// The attachment size every message carries (0: none).
    binary: usize,
    /// The stamp of a packet whose attachments are still to come, and how many.
    awaiting: Option<(Option<u64>, usize)>,
}

impl Receiver {
    /// A receiver for messages of `codec` carrying `binary` bytes each.
    pub(crate) fn new(codec: Codec, binary: usize) -> Self {
        Self {
            codec,
            binary,
            awaiting: None,
        }
    }

    /// Handles one Engine.IO text message (its bytes, type first).
    pub(crate) fn on_text(&mut self, text: &[u8], now: u64, stats: &Stats) -> Handled {
        match text {
            [b'2', ..] => {
                stats.pings.set(stats.pings.get() + 1);
                Handled::Pong
            }
            [b'4', b'1', ..] | [b'1', ..] => Handled::Closed,
            [b'4', b'2' | b'3', rest @ ..] => {
                self.deliver(stamp(rest), None, now, stats);
                Handled::Open
            }
            [b'4', b'5' | b'6', rest @ ..] => {
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                let count = std::str::from_utf8(rest.get(..digits).unwrap_or_default())
                    .ok()
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
                if count == 0 {
                    self.deliver(stamp(rest), None, now, stats);
                } else {
                    if self.awaiting.is_some() {
                        // The last packet's attachments never came.
                        bump(&stats.binary_mismatch);
                    }
                    self.awaiting = Some((stamp(rest), count));
                }
                Handled::Open
            }
            _ => Handled::Open,
        }
    }

    /// Handles one Engine.IO binary message.
    pub(crate) fn on_binary(&mut self, data: &[u8], now: u64, stats: &Stats) -> Handled {
        match self.codec {
            Codec::Default => {
                match self.awaiting.take() {
                    Some((t, 1)) => self.deliver(t, Some(data.len()), now, stats),
                    Some((t, more)) => {
                        // Only the first attachment is the generator's.
                        self.awaiting = Some((t, more - 1));
                    }
                    None => bump(&stats.binary_mismatch),
                }
                Handled::Open
            }
            Codec::Msgpack => match msgpack_scan::scan(data) {
                Some(seen) => match seen.kind {
                    Some(1) => Handled::Closed,
                    Some(2 | 3 | 5 | 6) => {
                        self.deliver(seen.stamp, seen.binary, now, stats);
                        Handled::Open
                    }
                    _ => Handled::Open,
                },
                None => {
                    bump(&stats.malformed);
                    Handled::Open
                }
            },
        }
    }

    /// Counts a delivery stamped `t` whose binary argument had `size` bytes:
    /// it must have exactly `--binary` bytes, or none when none were sent.
    fn deliver(&self, t: Option<u64>, size: Option<usize>, now: u64, stats: &Stats) {
        let Some(t) = t else { return };
        let expected = (self.binary > 0).then_some(self.binary);
        if size == expected {
            stats.on_delivery_at(t, now);
        } else {
            bump(&stats.binary_mismatch);
        }
    }
}

fn bump(cell: &std::cell::Cell<u64>) {
    cell.set(cell.get() + 1);
}

/// The schedule stamp `t` in an ack's or an event's arguments: the number
/// after the first `"t":` (the generator's padding is `x`s, and servers keep
/// the key as it is, whatever order they write the keys in).
pub(crate) fn stamp(packet: &[u8]) -> Option<u64> {
    let at = wire::find(packet, b"\"t\":")? + 4;
    let digits = packet.get(at..)?;
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(digits.get(..end)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::mode::{Mode, Outgoing, Transport};

    #[test]
    fn finds_stamps_in_acks_and_events() {
        assert_eq!(stamp(br#"7[{"t":5,"p":"x"}]"#), Some(5));
        assert_eq!(stamp(br#"["room",{"t":9}]"#), Some(9));
        // serde_json without preserve_order writes keys sorted.
        assert_eq!(
            stamp(br#"["broadcast",{"p":"xx","t":1234567}]"#),
            Some(1234567)
        );
        assert_eq!(stamp(br#"{"sid":"a"}"#), None);
        assert_eq!(stamp(br#"["t",{"t":}]"#), None);
    }

    fn window() -> Stats {
        let stats = Stats::new();
        stats.set_window(0, u64::MAX);
        stats
    }

    #[test]
    fn answers_pings_and_counts_deliveries() {
        let stats = window();
        let mut r = Receiver::new(Codec::Default, 0);
        assert_eq!(r.on_text(b"2", 1, &stats), Handled::Pong);
        assert_eq!(
            r.on_text(br#"42["broadcast",{"t":1}]"#, 2, &stats),
            Handled::Open
        );
        assert_eq!(r.on_text(br#"4312[{"t":1}]"#, 2, &stats), Handled::Open);
        assert_eq!(stats.delivered.get(), 2);
        assert_eq!(r.on_text(b"41", 3, &stats), Handled::Closed);
        assert_eq!(r.on_text(b"1", 3, &stats), Handled::Closed);
        assert_eq!(r.on_text(b"40{}", 3, &stats), Handled::Open);
        assert_eq!(stats.pings.get(), 1);
    }

    #[test]
    fn a_binary_ack_counts_once_its_attachment_has_the_size_sent() {
        let stats = window();
        let mut r = Receiver::new(Codec::Default, 4);
        r.on_text(
            br#"461-7[{"t":5},{"_placeholder":true,"num":0}]"#,
            9,
            &stats,
        );
        assert_eq!(stats.delivered.get(), 0, "not before its attachment");
        r.on_binary(b"xxxx", 9, &stats);
        assert_eq!(stats.delivered.get(), 1);
        r.on_text(
            br#"461-8[{"t":6},{"_placeholder":true,"num":0}]"#,
            9,
            &stats,
        );
        r.on_binary(b"xxx", 9, &stats);
        assert_eq!(
            stats.delivered.get(),
            1,
            "a short attachment is no delivery"
        );
        assert_eq!(stats.binary_mismatch.get(), 1);
        // An ack without the attachment (a server that turned it into JSON).
        r.on_text(br#"437[{"t":5},[120,120,120,120]]"#, 9, &stats);
        assert_eq!(stats.binary_mismatch.get(), 2);
    }

    #[test]
    fn msgpack_deliveries_are_read_from_binary_messages() {
        let stats = window();
        let mode = Mode {
            transport: Transport::Websocket,
            codec: Codec::Msgpack,
            binary: 3,
            deflate: false,
        };
        // A client's event has the shape of a server's: type 2, data, nsp.
        let mut out = Outgoing::new(mode, 2);
        out.event("broadcast", None, None, 77, "xx");
        let mut r = Receiver::new(Codec::Msgpack, 3);
        assert_eq!(r.on_binary(&out.head, 80, &stats), Handled::Open);
        assert_eq!(stats.delivered.get(), 1);
        assert_eq!(
            r.on_binary(&[0x81, 0xa4, b't', b'y', b'p', b'e', 1], 80, &stats),
            Handled::Closed
        );
        r.on_binary(&[0xc1], 80, &stats);
        assert_eq!(stats.malformed.get(), 1);
        let mut short = Outgoing::new(Mode { binary: 2, ..mode }, 2);
        short.event("broadcast", None, None, 78, "xx");
        r.on_binary(&short.head, 80, &stats);
        assert_eq!((stats.delivered.get(), stats.binary_mismatch.get()), (1, 1));
    }
}
