//! Waiting for acknowledgements from clients.

use std::sync::{Arc, Weak};
use std::time::Duration;

use ferrio_proto::socketio::Args;
use tokio::sync::{mpsc, oneshot};

/// Who waits for an acknowledgement a socket was asked for.
pub(crate) enum AckWaiter {
    /// `emit_with_ack` on one socket.
    One(oneshot::Sender<Args>),
    /// A broadcast with acks: every target answers into one channel.
    Many(mpsc::UnboundedSender<Args>),
}

impl AckWaiter {
    pub(crate) fn resolve(self, args: Args) {
        match self {
            Self::One(tx) => {
                let _ = tx.send(args);
            }
            Self::Many(tx) => {
                let _ = tx.send(args);
            }
        }
    }
}

/// Forgets an acknowledgement id on sockets when dropped: the waiter of a
/// broadcast with acks, once it stops waiting, leaves nothing behind on the
/// sockets that did not answer.
pub(crate) struct ForgetAck {
    id: u64,
    sockets: Vec<Weak<crate::Socket>>,
}

impl ForgetAck {
    pub(crate) fn new(id: u64, sockets: &[Arc<crate::Socket>]) -> Self {
        Self {
            id,
            sockets: sockets.iter().map(Arc::downgrade).collect(),
        }
    }
}

impl Drop for ForgetAck {
    fn drop(&mut self) {
        for socket in self.sockets.iter().filter_map(Weak::upgrade) {
            socket.forget_ack(self.id);
        }
    }
}

/// Why an acknowledgement did not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The timeout passed first.
    #[error("no acknowledgement within the timeout")]
    Timeout,
    /// The socket disconnected first.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
}

/// The answers to a broadcast with acknowledgements.
///
/// An answer from a socket on another node of a cluster holds only its first
/// argument: Node's adapters send no more.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AckResponses {
    /// Each answer's arguments, in the order they arrived.
    pub responses: Vec<Args>,
    /// How many sockets were asked (on the nodes that reported their count).
    pub expected: usize,
    /// Servers of the cluster that had not said how many sockets they asked
    /// when the wait ended (0 on a single node).
    pub servers_missing: usize,
}

impl AckResponses {
    /// `responses` out of `expected`, every server accounted for.
    pub fn new(responses: Vec<Args>, expected: usize) -> Self {
        Self {
            responses,
            expected,
            servers_missing: 0,
        }
    }

    /// Whether some sockets (or servers) did not answer in time.
    pub fn timed_out(&self) -> bool {
        self.responses.len() < self.expected || self.servers_missing > 0
    }

    /// Gathers up to `expected` answers from `rx`, for at most `timeout`.
    pub async fn collect(
        mut rx: mpsc::UnboundedReceiver<Args>,
        expected: usize,
        timeout: Duration,
    ) -> Result<Self, crate::adapter::AdapterError> {
        let mut responses = Vec::with_capacity(expected);
        let deadline = tokio::time::Instant::now() + timeout;
        while responses.len() < expected {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(args)) => responses.push(args),
                // Every waiting socket went away, or time is up.
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Self::new(responses, expected))
    }
}
