//! The acknowledgements of this node's sockets to one broadcast, as they come.

use ferrio_proto::socketio::Args;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::AckResponses;
use crate::ack::ForgetAck;

/// The answers of this node's sockets to a broadcast with acks, yielded as
/// they come, until every socket answered or the deadline passed.
///
/// Made by [`MemoryAdapter::broadcast_local_acks`](super::MemoryAdapter::broadcast_local_acks).
/// A cluster adapter relaying another node's broadcast forwards each answer
/// (its first argument) as it comes; dropped, the sockets that did not answer
/// forget the ack id.
pub struct LocalAcks {
    rx: mpsc::UnboundedReceiver<Args>,
    expected: usize,
    received: usize,
    done: bool,
    deadline: Instant,
    _forget: Option<ForgetAck>,
}

impl LocalAcks {
    pub(crate) fn new(
        rx: mpsc::UnboundedReceiver<Args>,
        expected: usize,
        deadline: Instant,
        forget: Option<ForgetAck>,
    ) -> Self {
        Self {
            rx,
            expected,
            received: 0,
            done: false,
            deadline,
            _forget: forget,
        }
    }

    /// How many sockets were sent the packet and may answer (Node's
    /// `clientCount`).
    pub fn expected(&self) -> usize {
        self.expected
    }

    /// When the wait ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The next answer; `None` once every socket answered, the deadline
    /// passed, or the sockets that did not answer are gone.
    pub async fn next(&mut self) -> Option<Args> {
        if self.done || self.received >= self.expected {
            return None;
        }
        match tokio::time::timeout_at(self.deadline, self.rx.recv()).await {
            Ok(Some(args)) => {
                self.received += 1;
                Some(args)
            }
            Ok(None) | Err(_) => {
                // Nothing more will come: stop here on later calls too.
                self.done = true;
                None
            }
        }
    }

    /// Every answer that comes, as [`AckResponses`].
    pub async fn collect(mut self) -> AckResponses {
        let expected = self.expected;
        let mut responses = Vec::with_capacity(expected);
        while let Some(args) = self.next().await {
            responses.push(args);
        }
        AckResponses::new(responses, expected)
    }
}

impl std::fmt::Debug for LocalAcks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAcks")
            .field("expected", &self.expected)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}
