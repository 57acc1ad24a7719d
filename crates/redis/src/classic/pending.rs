//! Requests this node sent and whose responses it awaits, by request id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferrio::RemoteAck;
use tokio::sync::mpsc;

use super::wire::Response;

/// Where the responses to one request go.
pub(crate) enum Waiter {
    /// Responses as they come (fetch, all rooms, server-side acks).
    Responses(mpsc::UnboundedSender<Response>),
    /// Client counts and answers of a broadcast with acks.
    Acks(mpsc::UnboundedSender<RemoteAck>),
}

/// The table of pending requests of one namespace adapter.
#[derive(Default, Clone)]
pub(crate) struct Pending(Arc<Mutex<HashMap<String, Waiter>>>);

/// Removes its request from the table when dropped (done, timed out or
/// cancelled).
pub(crate) struct Registration {
    table: Pending,
    id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.table.lock().remove(&self.id);
    }
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiter>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a request (before it is published).
    pub(crate) fn register(&self, id: &str, waiter: Waiter) -> Registration {
        self.lock().insert(id.to_owned(), waiter);
        Registration {
            table: self.clone(),
            id: id.to_owned(),
        }
    }

    /// Hands a response to its request's waiter; unknown ids are ignored.
    pub(crate) fn deliver(&self, id: &str, response: Response) {
        let table = self.lock();
        match table.get(id) {
            Some(Waiter::Responses(tx)) => {
                let _ = tx.send(response);
            }
            Some(Waiter::Acks(tx)) => {
                let ack = match response {
                    Response::ClientCount(n) => RemoteAck::ClientCount(n),
                    Response::Ack(first) => RemoteAck::Answer(first),
                    _ => return,
                };
                let _ = tx.send(ack);
            }
            None => {}
        }
    }
}
