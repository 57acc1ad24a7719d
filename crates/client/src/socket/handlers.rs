//! The listeners registered on a socket, and how they run.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use ferrio_proto::socketio::Args;

use crate::{ConnectError, DisconnectReason, Event, Socket};

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An event handler.
pub(crate) type EventHandler = Arc<dyn Fn(Socket, Event) -> BoxFuture + Send + Sync>;
/// A `connect` handler.
pub(crate) type ConnectHandler = Arc<dyn Fn(Socket) -> BoxFuture + Send + Sync>;
/// A `connect_error` handler.
pub(crate) type ConnectErrorHandler = Arc<dyn Fn(Socket, ConnectError) -> BoxFuture + Send + Sync>;
/// A `disconnect` handler.
pub(crate) type DisconnectHandler =
    Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture + Send + Sync>;
/// A catch-all listener of incoming events.
pub(crate) type AnyHandler = Arc<dyn Fn(&Socket, &Event) + Send + Sync>;
/// A catch-all listener of outgoing events.
pub(crate) type AnyOutgoingHandler = Arc<dyn Fn(&Socket, &str, &Args) + Send + Sync>;

/// Identifies one registered listener, to remove it with
/// [`Socket::off_listener`](crate::Socket::off_listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

pub(crate) struct Registered<T> {
    pub id: ListenerId,
    pub once: bool,
    pub f: T,
}

/// Everything listening on one socket. Listeners are cloned out of the lock
/// before they run, so a listener may add or remove listeners.
#[derive(Default)]
pub(crate) struct Handlers {
    next_id: u64,
    pub events: HashMap<String, Vec<Registered<EventHandler>>>,
    pub any: Vec<(ListenerId, AnyHandler)>,
    pub any_outgoing: Vec<(ListenerId, AnyOutgoingHandler)>,
    pub connect: Vec<(ListenerId, ConnectHandler)>,
    pub connect_error: Vec<(ListenerId, ConnectErrorHandler)>,
    pub disconnect: Vec<(ListenerId, DisconnectHandler)>,
}

impl Handlers {
    pub(super) fn next_id(&mut self) -> ListenerId {
        self.next_id += 1;
        ListenerId(self.next_id)
    }

    /// The handlers of an event, in order; `once` handlers are removed.
    pub(super) fn take_event_handlers(&mut self, name: &str) -> Vec<EventHandler> {
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

    /// Removes one listener of any kind; `true` if it was there.
    pub(super) fn remove(&mut self, id: ListenerId) -> bool {
        let mut found = false;
        self.events.retain(|_, list| {
            let before = list.len();
            list.retain(|r| r.id != id);
            found |= list.len() != before;
            !list.is_empty()
        });
        found |= remove_from(&mut self.any, id);
        found |= remove_from(&mut self.any_outgoing, id);
        found |= remove_from(&mut self.connect, id);
        found |= remove_from(&mut self.connect_error, id);
        found |= remove_from(&mut self.disconnect, id);
        found
    }
}

fn remove_from<T>(list: &mut Vec<(ListenerId, T)>, id: ListenerId) -> bool {
    let before = list.len();
    list.retain(|(i, _)| *i != id);
    list.len() != before
}

/// Runs a handler's future here until its first pending `.await`, then hands
/// the rest to a task.
///
/// This is how a JavaScript listener runs: synchronously up to its first
/// `await`. Handlers start in the order their packets arrived, listeners they
/// register are in place before the next packet, and emits they make before
/// awaiting go out in order; long work after an `.await` does not hold up the
/// connection.
pub(crate) fn run_inline(mut future: BoxFuture) {
    let mut cx = Context::from_waker(Waker::noop());
    if future.as_mut().poll(&mut cx).is_pending() {
        // A future registers its waker again on every poll: the task's first
        // poll replaces the no-op one.
        tokio::spawn(future);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn inline_runs_until_the_first_await_then_in_a_task() {
        let steps = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let s = steps.clone();
        run_inline(Box::pin(async move {
            s.fetch_add(1, Ordering::SeqCst);
            let _ = rx.await;
            s.fetch_add(1, Ordering::SeqCst);
            let _ = done_tx.send(());
        }));
        assert_eq!(steps.load(Ordering::SeqCst), 1, "ran up to the await");
        tx.send(()).unwrap();
        done_rx.await.unwrap();
        assert_eq!(steps.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn once_handlers_run_once_and_remove_works() {
        let mut h = Handlers::default();
        let f: EventHandler = Arc::new(|_, _| Box::pin(async {}));
        let a = h.next_id();
        h.events.entry("e".into()).or_default().push(Registered {
            id: a,
            once: true,
            f: f.clone(),
        });
        let b = h.next_id();
        h.events.entry("e".into()).or_default().push(Registered {
            id: b,
            once: false,
            f,
        });
        assert_eq!(h.take_event_handlers("e").len(), 2);
        assert_eq!(h.take_event_handlers("e").len(), 1);
        assert!(h.remove(b));
        assert!(!h.remove(b));
        assert!(h.take_event_handlers("e").is_empty());
    }
}
