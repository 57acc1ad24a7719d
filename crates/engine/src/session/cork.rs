//! Corking: while a connection's task handles the messages of one read, what
//! they send to a socket that could take it at once waits in the session's
//! outbox instead, and each such socket gets its frames in one vectored write
//! when the read is handled. That is Node's cork/uncork per tick, in ferrio's
//! terms: an ack per message of a read goes out as one write, and a read that
//! holds several broadcasts sends each recipient all of them at once.
//!
//! ```text
//!  read: [msg][msg][msg]  ── Cork::begin ──▶ handlers send ──▶ outbox (no write, no wake-up)
//!                          ── Cork dropped ──▶ each corked session: one writev of its outbox
//! ```
//!
//! A read that holds a single message is not corked: an isolated message is
//! written at once by its sender, as before. The outbox limits hold while
//! corked (frames are queued and counted as any other), and what a socket
//! does not take at the uncork is left to its connection's task.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;

use super::Session;

thread_local! {
    /// The sessions holding corked frames, while a cork is on; the list's
    /// memory is kept from one cork to the next.
    static CORKED: RefCell<(bool, Vec<Arc<Session>>)> = const { RefCell::new((false, Vec::new())) };
}

/// While it lives, writes that would go to a socket at once gather in their
/// sessions' outboxes; dropped, each of those sessions is written in one go.
/// Bound to its thread.
#[derive(Debug)]
pub(crate) struct Cork {
    _thread: PhantomData<*const ()>,
}

impl Cork {
    /// Corks this thread's writes, unless a cork is on already (whose end
    /// writes them).
    pub(crate) fn begin() -> Option<Self> {
        CORKED.with_borrow_mut(|(on, _)| {
            (!*on).then(|| {
                *on = true;
                Self {
                    _thread: PhantomData,
                }
            })
        })
    }
}

/// Whether writes on this thread are corked now.
pub(crate) fn is_on() -> bool {
    CORKED.with_borrow(|(on, _)| *on)
}

/// Remembers a session that just corked a frame, to write it at the end.
pub(crate) fn hold(session: Arc<Session>) {
    CORKED.with_borrow_mut(|(on, held)| {
        if *on {
            held.push(session);
        }
    });
    // Not on (it cannot be: the session corked under it): nothing holds the
    // session, whose next send finds it corked and queues behind.
}

impl Drop for Cork {
    fn drop(&mut self) {
        let mut held = CORKED.with_borrow_mut(|(on, held)| {
            *on = false;
            std::mem::take(held)
        });
        for session in held.drain(..) {
            session.uncork();
        }
        // Keep the list's memory for the next cork, unless one began meanwhile.
        CORKED.with_borrow_mut(|(_, list)| {
            if list.is_empty() {
                *list = held;
            }
        });
    }
}
