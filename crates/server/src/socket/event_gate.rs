//! Events passing a socket's async per-event middleware: one at a time, in
//! the order they came, so that a socket's handlers still start in arrival
//! order (DESIGN.md, decision 4) when middleware awaits.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use ferrio_engine::CloseReason;
use futures_util::FutureExt;

use super::Socket;
use super::handlers::{ErrorHandler, EventMiddleware, run_inline};
use crate::{Event, MiddlewareError};

/// The events of one socket waiting for its middleware. Made when the first
/// async middleware is added; the socket's end drops it with its listeners.
#[derive(Default)]
pub(crate) struct EventGate {
    /// Whether an event is in the middleware now.
    busy: bool,
    /// The events that came meanwhile, oldest first.
    waiting: VecDeque<Event>,
}

impl EventGate {
    /// The next waiting event; with none, the gate opens.
    fn next(&mut self) -> Option<Event> {
        let next = self.waiting.pop_front();
        self.busy = next.is_some();
        next
    }
}

impl Socket {
    /// Passes the event through the middleware now if none is in it, else
    /// queues it behind the others.
    pub(super) fn wait_for_middleware(self: &Arc<Self>, event: Event) {
        let limit = self.client.max_pending_packets();
        let event = {
            let mut handlers = self.handlers();
            // The listeners are gone: the socket left.
            let Some(gate) = handlers.gate_mut() else {
                return;
            };
            if !gate.busy {
                gate.busy = true;
                event
            } else if gate.waiting.len() < limit {
                gate.waiting.push_back(event);
                return;
            } else {
                drop(handlers);
                tracing::debug!(socket = %self.id, limit, "too many events waiting for middleware; closing");
                return self.client.close_deferred(CloseReason::ForcedClose);
            }
        };
        let socket = self.clone();
        // Inline until the first middleware that awaits, as a handler runs.
        run_inline(Box::pin(socket.pass_middleware(event)));
    }

    /// Takes events through the middleware until none waits: each to its
    /// listeners (if the socket is still connected) or to the error
    /// listeners, before the next one enters.
    async fn pass_middleware(self: Arc<Self>, first: Event) {
        let mut event = first;
        loop {
            let (middleware, errors) = self.handlers().middleware();
            let passed = AssertUnwindSafe(run_chain(&self, event, &middleware))
                .catch_unwind()
                .await;
            match passed {
                Ok(Ok(event)) if self.connected() => self.dispatch_event(event),
                Ok(Ok(_)) => {
                    tracing::debug!(socket = %self.id, "event after the socket left: dropped")
                }
                Ok(Err(error)) => tell(&self, &errors, &error),
                Err(_) => {
                    tracing::error!(socket = %self.id, "per-event middleware panicked; event dropped")
                }
            }
            let next = self.handlers().gate_mut().and_then(EventGate::next);
            match next {
                Some(next) => event = next,
                None => return,
            }
        }
    }
}

/// Runs the middleware in order; the event as the last one handed it on.
async fn run_chain(
    socket: &Arc<Socket>,
    mut event: Event,
    middleware: &[EventMiddleware],
) -> Result<Event, MiddlewareError> {
    for mw in middleware {
        event = match mw {
            EventMiddleware::Sync(mw) => {
                mw(socket, &event)?;
                event
            }
            EventMiddleware::Async(mw) => mw(socket.clone(), event).await?,
        };
    }
    Ok(event)
}

fn tell(socket: &Arc<Socket>, listeners: &[ErrorHandler], error: &MiddlewareError) {
    for listener in listeners {
        listener(socket, error);
    }
}
