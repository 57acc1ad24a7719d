//! The listeners registered on a socket, and how they are run.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use ferrio_proto::socketio::Payload;

use super::Socket;
use crate::{DisconnectReason, Event};

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An event handler: called with the socket and the event.
pub(crate) type EventHandler = Arc<dyn Fn(Arc<Socket>, Event) -> BoxFuture + Send + Sync>;
/// A disconnect or disconnecting handler.
pub(crate) type CloseHandler =
    Arc<dyn Fn(Arc<Socket>, DisconnectReason) -> BoxFuture + Send + Sync>;
/// A catch-all listener of incoming events.
pub(crate) type AnyHandler = Arc<dyn Fn(&Arc<Socket>, &Event) + Send + Sync>;
/// A catch-all listener of outgoing events.
pub(crate) type AnyOutgoingHandler = Arc<dyn Fn(&Arc<Socket>, &str, &[Payload]) + Send + Sync>;
/// Per-event middleware: an `Err` stops the event and goes to the error handlers.
pub(crate) type EventMiddleware =
    Arc<dyn Fn(&Arc<Socket>, &Event) -> Result<(), crate::MiddlewareError> + Send + Sync>;
/// A listener of per-event middleware errors.
pub(crate) type ErrorHandler = Arc<dyn Fn(&Arc<Socket>, &crate::MiddlewareError) + Send + Sync>;

/// Identifies one registered listener, to remove it with `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub(crate) u64);

pub(crate) struct Registered<T> {
    pub id: ListenerId,
    pub once: bool,
    pub f: T,
}

/// Everything listening on one socket. Cloned out of its lock before any call,
/// so a listener may register or remove listeners.
#[derive(Default)]
pub(crate) struct Handlers {
    next_id: u64,
    pub events: HashMap<String, Vec<Registered<EventHandler>>>,
    pub any: Vec<(ListenerId, AnyHandler)>,
    pub any_outgoing: Vec<(ListenerId, AnyOutgoingHandler)>,
    pub middleware: Vec<EventMiddleware>,
    pub errors: Vec<ErrorHandler>,
    pub disconnecting: Vec<CloseHandler>,
    pub disconnect: Vec<CloseHandler>,
}

impl Handlers {
    pub fn next_id(&mut self) -> ListenerId {
        self.next_id += 1;
        ListenerId(self.next_id)
    }

    /// The handlers of an event, dropping the `once` ones from the registry.
    pub fn take_event_handlers(&mut self, name: &str) -> Vec<EventHandler> {
        let Some(list) = self.events.get_mut(name) else {
            return Vec::new();
        };
        let handlers = list.iter().map(|r| r.f.clone()).collect();
        list.retain(|r| !r.once);
        if list.is_empty() {
            self.events.remove(name);
        }
        handlers
    }

    pub fn remove(&mut self, id: ListenerId) -> bool {
        let mut found = false;
        for list in self.events.values_mut() {
            let before = list.len();
            list.retain(|r| r.id != id);
            found |= list.len() != before;
        }
        self.events.retain(|_, list| !list.is_empty());
        let before = self.any.len() + self.any_outgoing.len();
        self.any.retain(|(i, _)| *i != id);
        self.any_outgoing.retain(|(i, _)| *i != id);
        found || before != self.any.len() + self.any_outgoing.len()
    }
}

/// Runs a handler's future until its first pending `.await` right here, then
/// hands the rest to a task.
///
/// This is how Node runs a listener: synchronously up to its first `await`. So
/// handlers start in the order their packets arrived, listeners they register are
/// in place before the next packet is dispatched, and emits they make before
/// awaiting anything go out in order. Long work after an `.await` runs on its own
/// and does not stall the socket.
///
/// A handler that panics in this first part is caught and logged, as tokio
/// does for the part that runs in a task: the connection goes on.
pub(crate) fn run_inline(mut future: BoxFuture) {
    let mut cx = Context::from_waker(Waker::noop());
    let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
    match polled {
        // A future registers its waker again on every poll, so the task's first
        // poll replaces the no-op one.
        Ok(Poll::Pending) => drop(tokio::spawn(future)),
        Ok(Poll::Ready(())) => {}
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%message, "a handler panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn inline_runs_until_the_first_await_then_finishes_in_a_task() {
        let steps = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = steps.clone();
        run_inline(Box::pin(async move {
            s.fetch_add(1, Ordering::SeqCst);
            let _ = rx.await;
            s.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(
            steps.load(Ordering::SeqCst),
            1,
            "ran up to the await at once"
        );
        tx.send(()).unwrap();
        for _ in 0..100 {
            if steps.load(Ordering::SeqCst) == 2 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the rest never ran");
    }

    #[tokio::test]
    async fn a_panicking_handler_does_not_unwind_into_the_caller() {
        run_inline(Box::pin(async { panic!("handler bug") }));
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        run_inline(Box::pin(async move {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the next handler still runs");
    }
}
