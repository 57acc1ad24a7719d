use bytes::Bytes;

use crate::Text;

/// One Engine.IO packet as it is queued for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete text packet, type character included (`4hello`, `2`, `6`).
    Text(Text),
    /// A binary message: its raw bytes.
    Binary(Bytes),
}

impl Frame {
    pub(crate) const PING: Frame = Frame::Text(Text::from_static("2"));
    pub(crate) const NOOP: Frame = Frame::Text(Text::from_static("6"));

    /// A text message packet: `4` followed by `data`.
    pub fn message(data: &str) -> Self {
        let mut s = String::with_capacity(1 + data.len());
        s.push('4');
        s.push_str(data);
        Frame::Text(s.into())
    }

    /// Bytes the frame counts for in the outbox limit.
    pub(crate) fn len(&self) -> usize {
        match self {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => b.len(),
        }
    }
}
