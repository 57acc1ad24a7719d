//! The listeners registered on a socket, and how they are run.

use std::borrow::Cow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use ferrio_proto::socketio::Args;

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
pub(crate) type AnyOutgoingHandler = Arc<dyn Fn(&Arc<Socket>, &str, &Args) + Send + Sync>;
/// Synchronous per-event middleware: an `Err` stops the event and goes to
/// the error handlers.
pub(crate) type SyncEventMiddleware =
    Arc<dyn Fn(&Arc<Socket>, &Event) -> Result<(), crate::MiddlewareError> + Send + Sync>;
/// What async per-event middleware returns: the event to go on with, or the
/// error that stops it.
pub(crate) type MiddlewareFuture =
    Pin<Box<dyn Future<Output = Result<Event, crate::MiddlewareError>> + Send + 'static>>;
/// Async per-event middleware (Node's `socket.use` calling `next` later).
pub(crate) type AsyncEventMiddleware =
    Arc<dyn Fn(Arc<Socket>, Event) -> MiddlewareFuture + Send + Sync>;

/// One per-event middleware, in the order it was added.
#[derive(Clone)]
pub(crate) enum EventMiddleware {
    /// Runs on the receiving stack, with the event borrowed.
    Sync(SyncEventMiddleware),
    /// May finish later; events then pass it one at a time
    /// ([`EventGate`](super::event_gate::EventGate)).
    Async(AsyncEventMiddleware),
}
/// A listener of per-event middleware errors.
pub(crate) type ErrorHandler = Arc<dyn Fn(&Arc<Socket>, &crate::MiddlewareError) + Send + Sync>;

/// A listener of the connection's upgrade to WebSocket.
pub(crate) type UpgradeHandler = Arc<dyn Fn(&Arc<Socket>) + Send + Sync>;

/// A listener of the socket's data being set.
pub(crate) type DataHandler = Arc<dyn Fn(&Socket) + Send + Sync>;

/// Identifies one registered listener, to remove it with `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub(crate) u64);

/// One event handler and the event it handles.
struct EventEntry {
    /// The event's name; a `&'static str` name is kept without a copy.
    name: Cow<'static, str>,
    id: ListenerId,
    once: bool,
    f: EventHandler,
}

/// Everything listening on one socket. Cloned out of its lock before any call,
/// so a listener may register or remove listeners.
///
/// Sized for the idle socket: event handlers sit in one flat list (a socket has
/// a handful of events, and comparing a few names beats hashing one), and the
/// listeners most sockets never have are allocated on first use.
#[derive(Default)]
pub(crate) struct Handlers {
    next_id: u64,
    /// Event handlers in the order they were added.
    events: Vec<EventEntry>,
    others: Option<Box<RareListeners>>,
}

/// The listeners other than event handlers.
#[derive(Default)]
pub(crate) struct RareListeners {
    pub any: Vec<(ListenerId, AnyHandler)>,
    pub any_outgoing: Vec<(ListenerId, AnyOutgoingHandler)>,
    pub middleware: Vec<EventMiddleware>,
    /// Events waiting for async middleware; there from the first async
    /// middleware on, so a socket without one never queues.
    pub gate: Option<Box<super::event_gate::EventGate>>,
    pub errors: Vec<ErrorHandler>,
    pub disconnecting: Vec<CloseHandler>,
    pub disconnect: Vec<CloseHandler>,
    pub upgrade: Vec<UpgradeHandler>,
    pub data_set: Vec<DataHandler>,
}

/// What runs before an event's handlers: per-event middleware, its error
/// listeners, the catch-all listeners, and whether some middleware is async
/// (the event then waits its turn in the socket's gate).
pub(crate) type PreEvent = (
    Vec<EventMiddleware>,
    Vec<ErrorHandler>,
    Vec<(ListenerId, AnyHandler)>,
    bool,
);

impl Handlers {
    pub(crate) fn next_id(&mut self) -> ListenerId {
        self.next_id += 1;
        ListenerId(self.next_id)
    }

    /// Adds an event handler after the others.
    pub(crate) fn add_event(
        &mut self,
        name: Cow<'static, str>,
        once: bool,
        f: EventHandler,
    ) -> ListenerId {
        let id = self.next_id();
        self.events.push(EventEntry { name, id, once, f });
        id
    }

    /// Removes every handler of an event.
    pub(crate) fn remove_event(&mut self, name: &str) {
        self.events.retain(|e| e.name != name);
    }

    /// The ids of an event's handlers, in the order they run.
    pub(crate) fn event_listeners(&self, name: &str) -> Vec<ListenerId> {
        self.events
            .iter()
            .filter(|e| e.name == name)
            .map(|e| e.id)
            .collect()
    }

    /// The events that have handlers, each once, in the order of their
    /// first handler.
    pub(crate) fn event_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for e in &self.events {
            if !names.iter().any(|n| *n == e.name) {
                names.push(e.name.to_string());
            }
        }
        names
    }

    /// Removes the event handlers and the `error`, `disconnecting` and
    /// `disconnect` listeners (Node's `removeAllListeners()`); catch-all
    /// listeners, per-event middleware and upgrade listeners (the
    /// connection's in Node) stay.
    pub(crate) fn remove_all(&mut self) {
        self.events = Vec::new();
        if let Some(o) = self.others.as_deref_mut() {
            o.errors = Vec::new();
            o.disconnecting = Vec::new();
            o.disconnect = Vec::new();
        }
    }

    /// The listeners other than event handlers, allocated on first use.
    pub(crate) fn others_mut(&mut self) -> &mut RareListeners {
        self.others.get_or_insert_with(Default::default)
    }

    /// The listeners other than event handlers, to change, if any was ever added.
    pub(crate) fn others_if_any_mut(&mut self) -> Option<&mut RareListeners> {
        self.others.as_deref_mut()
    }

    /// The listeners other than event handlers, if any was ever added.
    pub(crate) fn others(&self) -> Option<&RareListeners> {
        self.others.as_deref()
    }

    /// Copies of what runs before an event's handlers.
    pub(crate) fn pre_event(&self) -> PreEvent {
        match self.others() {
            Some(o) => (
                o.middleware.clone(),
                o.errors.clone(),
                o.any.clone(),
                o.gate.is_some(),
            ),
            None => Default::default(),
        }
    }

    /// Copies of the per-event middleware and error listeners.
    pub(crate) fn middleware(&self) -> (Vec<EventMiddleware>, Vec<ErrorHandler>) {
        self.others()
            .map(|o| (o.middleware.clone(), o.errors.clone()))
            .unwrap_or_default()
    }

    /// The gate of events waiting for async middleware, if there is one.
    pub(crate) fn gate_mut(&mut self) -> Option<&mut super::event_gate::EventGate> {
        self.others.as_deref_mut()?.gate.as_deref_mut()
    }

    /// Copies of the error listeners.
    pub(crate) fn errors(&self) -> Vec<ErrorHandler> {
        self.others().map(|o| o.errors.clone()).unwrap_or_default()
    }

    /// Copies of the `disconnecting` handlers.
    pub(crate) fn disconnecting(&self) -> Vec<CloseHandler> {
        self.others()
            .map(|o| o.disconnecting.clone())
            .unwrap_or_default()
    }

    /// Takes the `disconnect` handlers out.
    pub(crate) fn take_disconnect(&mut self) -> Vec<CloseHandler> {
        self.others
            .as_mut()
            .map(|o| std::mem::take(&mut o.disconnect))
            .unwrap_or_default()
    }

    /// Copies of the data listeners.
    pub(crate) fn data_set(&self) -> Vec<DataHandler> {
        self.others()
            .map(|o| o.data_set.clone())
            .unwrap_or_default()
    }

    /// Copies of the upgrade listeners.
    pub(crate) fn upgrade(&self) -> Vec<UpgradeHandler> {
        self.others().map(|o| o.upgrade.clone()).unwrap_or_default()
    }

    /// Whether an outgoing-event listener is registered.
    pub(crate) fn has_outgoing(&self) -> bool {
        self.others().is_some_and(|o| !o.any_outgoing.is_empty())
    }

    /// The handlers of an event, in order, dropping the `once` ones from the
    /// registry.
    ///
    /// Returned as all but the last, then the last: the usual single handler
    /// needs no vector.
    pub(crate) fn take_event_handlers(
        &mut self,
        name: &str,
    ) -> (Vec<EventHandler>, Option<EventHandler>) {
        let (mut others, mut last, mut once) = (Vec::new(), None, false);
        for e in self.events.iter().filter(|e| e.name == name) {
            once |= e.once;
            others.extend(last.replace(e.f.clone()));
        }
        if once {
            self.events.retain(|e| !(e.once && e.name == name));
        }
        (others, last)
    }

    /// Removes one listener; whether it was there.
    pub(crate) fn remove(&mut self, id: ListenerId) -> bool {
        let before = self.events.len();
        self.events.retain(|e| e.id != id);
        let mut found = self.events.len() != before;
        if let Some(o) = self.others.as_deref_mut() {
            let before = o.any.len() + o.any_outgoing.len();
            o.any.retain(|(i, _)| *i != id);
            o.any_outgoing.retain(|(i, _)| *i != id);
            found |= before != o.any.len() + o.any_outgoing.len();
        }
        found
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
pub(crate) fn run_inline(future: BoxFuture) {
    poll_inline(future, drop);
}

/// [`run_inline`] for a future with an output: the output if the future
/// finished in its first part; `None` if it panicked, or goes on in a task,
/// which hands the output to `detached`.
pub(crate) fn poll_inline<F>(mut future: Pin<Box<F>>, detached: fn(F::Output)) -> Option<F::Output>
where
    F: Future + Send + ?Sized + 'static,
    F::Output: Send + 'static,
{
    let mut cx = Context::from_waker(Waker::noop());
    let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
    match polled {
        // A future registers its waker again on every poll, so the task's first
        // poll replaces the no-op one.
        Ok(Poll::Pending) => {
            drop(tokio::spawn(async move { detached(future.await) }));
            None
        }
        Ok(Poll::Ready(output)) => Some(output),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%message, "a handler panicked");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn handler() -> EventHandler {
        Arc::new(|_, _| Box::pin(async {}))
    }

    /// Every handler taken, in order.
    fn all((mut others, last): (Vec<EventHandler>, Option<EventHandler>)) -> Vec<EventHandler> {
        others.extend(last);
        others
    }

    fn same(got: &[EventHandler], want: &[&EventHandler]) -> bool {
        got.len() == want.len() && got.iter().zip(want).all(|(a, b)| Arc::ptr_eq(a, b))
    }

    #[test]
    fn handlers_of_interleaved_events_keep_their_order_and_once_goes() {
        let mut h = Handlers::default();
        let (a1, b1, a2, a3) = (handler(), handler(), handler(), handler());
        h.add_event("a".into(), false, a1.clone());
        h.add_event(String::from("b").into(), false, b1.clone());
        h.add_event("a".into(), true, a2.clone());
        h.add_event("a".into(), false, a3.clone());
        assert!(same(&all(h.take_event_handlers("a")), &[&a1, &a2, &a3]));
        assert!(
            same(&all(h.take_event_handlers("a")), &[&a1, &a3]),
            "once ran once"
        );
        assert!(same(&all(h.take_event_handlers("b")), &[&b1]));
        assert!(all(h.take_event_handlers("c")).is_empty());
        let (others, _) = h.take_event_handlers("b");
        assert_eq!(others.capacity(), 0, "one handler needs no vector");
    }

    #[test]
    fn removing_by_id_or_by_event_leaves_the_others() {
        let mut h = Handlers::default();
        let (a1, a2, b1) = (handler(), handler(), handler());
        let id = h.add_event("a".into(), false, a1);
        h.add_event("a".into(), false, a2.clone());
        h.add_event("b".into(), false, b1.clone());
        let any = h.next_id();
        h.others_mut().any.push((any, Arc::new(|_, _| {})));
        assert!(h.remove(id));
        assert!(!h.remove(id), "already gone");
        assert!(same(&all(h.take_event_handlers("a")), &[&a2]));
        assert!(h.remove(any));
        assert!(h.pre_event().2.is_empty());
        h.remove_event("a");
        assert!(all(h.take_event_handlers("a")).is_empty());
        assert!(same(&all(h.take_event_handlers("b")), &[&b1]));
    }

    #[test]
    fn an_idle_socket_has_no_other_listeners_allocated() {
        let h = Handlers::default();
        assert!(h.others().is_none());
        assert!(!h.has_outgoing());
        assert!(h.disconnecting().is_empty());
    }

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
