//! Events between the servers of a cluster (`serverSideEmit` in Node).

use std::sync::Arc;

use parking_lot::Mutex;

use ferrio_proto::socketio::{ArgsError, Payload};
use serde::Serialize;

type Answer = Box<dyn FnOnce(Payload) + Send>;

/// How a server answers a server-side event another server sent with
/// [`server_side_emit_with_ack`](crate::Namespace::server_side_emit_with_ack).
///
/// The answer is one value, as Node's callback sends only its first
/// argument. Clones share the answer: the first `send` is the one sent, the
/// others do nothing.
#[derive(Clone)]
pub struct ServerSideAck(Arc<Mutex<Option<Answer>>>);

impl ServerSideAck {
    /// An ack that calls `answer` with the value (what an adapter builds, to
    /// publish the answer to the server that asked).
    pub fn new(answer: impl FnOnce(Payload) + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Some(Box::new(answer)))))
    }

    /// Answers with a value; `Ok(false)` if an answer was sent already.
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<bool, ArgsError> {
        Ok(self.send_payload(ferrio_proto::socketio::to_payload(value)?))
    }

    /// Answers with a payload (binary kept); `false` if an answer was sent already.
    pub fn send_payload(&self, value: Payload) -> bool {
        let answer = self.0.lock().take();
        match answer {
            Some(answer) => {
                answer(value);
                true
            }
            None => false,
        }
    }
}

impl std::fmt::Debug for ServerSideAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSideAck").finish_non_exhaustive()
    }
}

/// The answers of the other servers to a server-side event.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ServerSideResponses {
    /// One value per server that answered, in the order they came.
    pub responses: Vec<Payload>,
    /// How many servers were asked (the cluster's server count, less this one).
    pub expected: usize,
}

impl ServerSideResponses {
    /// Answers gathered from `expected` servers.
    pub fn new(responses: Vec<Payload>, expected: usize) -> Self {
        Self {
            responses,
            expected,
        }
    }

    /// Whether some servers did not answer in time (Node's error "timeout
    /// reached: only N responses received out of M").
    pub fn timed_out(&self) -> bool {
        self.responses.len() < self.expected
    }
}
