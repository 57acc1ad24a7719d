//! The `retries` option: at-least-once delivery, in order.
//!
//! With `retries` set, every emit of the socket (volatile ones aside) goes
//! into a queue that one task works through, as socket.io-client's
//! `_addToQueue` / `_drainQueue` do:
//!
//! ```text
//!  emit ──▶ queue ──▶ task: wait until connected ─▶ send with an ack id ─▶ ack? ──yes──▶ next
//!                              ▲                                          │ no: timeout, or
//!                              └────────── tries left ◀───────────────────┘ connection lost
//! ```
//!
//! One event is in flight at a time, and the next is sent only once the
//! previous one is acknowledged (or given up): the server sees them in order,
//! possibly more than once each. Every queued event asks for an
//! acknowledgement, even one sent with [`Socket::emit`]: the server must
//! answer it.
//!
//! A try fails when its acknowledgement does not come within the ack timeout
//! (the emit's, else the socket's), or when the connection drops before it
//! does; after `1 + retries` failed tries the event is dropped and its
//! `emit_with_ack` fails with the last error. Without any ack timeout, as in
//! socket.io-client, the only failure is a lost connection, and the event is
//! sent again after the reconnection however many times that happens.

use std::sync::Weak;
use std::time::Duration;

use ferrio_proto::socketio::Args;
use tokio::sync::{mpsc, oneshot, watch};

use super::emit::Emitter;
use super::{Socket, SocketInner};
use crate::{AckError, AckResponse};

/// Where a socket's queued emits go.
pub(super) type QueueSender = mpsc::UnboundedSender<Queued>;

/// An event waiting in the queue (or in flight).
#[derive(Debug)]
pub(super) struct Queued {
    pub name: String,
    pub args: Args,
    /// The emit's own ack timeout; `None` leaves the socket's.
    pub timeout: Option<Duration>,
    /// Who waits for the outcome (`emit_with_ack`), if anyone.
    pub reply: Option<oneshot::Sender<Result<AckResponse, AckError>>>,
}

/// Starts the task that works through the queue of a socket; it ends when
/// the socket is gone.
///
/// # Panics
///
/// Outside a tokio runtime.
pub(super) fn start(
    socket: Weak<SocketInner>,
    connected: watch::Receiver<bool>,
    retries: u32,
) -> QueueSender {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(socket, connected, rx, retries));
    tx
}

async fn run(
    socket: Weak<SocketInner>,
    mut connected: watch::Receiver<bool>,
    mut queue: mpsc::UnboundedReceiver<Queued>,
    retries: u32,
) {
    while let Some(item) = queue.recv().await {
        let Some(outcome) = deliver(&socket, &mut connected, &item, retries).await else {
            return;
        };
        if let Some(reply) = item.reply {
            let _ = reply.send(outcome);
        }
    }
}

/// Sends one event until it is acknowledged or out of tries; `None` if the
/// socket went away meanwhile.
async fn deliver(
    socket: &Weak<SocketInner>,
    connected: &mut watch::Receiver<bool>,
    item: &Queued,
    retries: u32,
) -> Option<Result<AckResponse, AckError>> {
    let mut tries: u32 = 0;
    loop {
        // The socket's lifetime ends the wait: its sender drops with it.
        connected.wait_for(|up| *up).await.ok()?;
        let socket = Socket {
            inner: socket.upgrade()?,
        };
        let limited = item.timeout.or(socket.inner.ack_timeout).is_some();
        tries = tries.saturating_add(1);
        tracing::trace!(nsp = %socket.inner.nsp, event = %item.name, tries, "queued emit");
        let answer = Emitter::from_queue(&socket, item.timeout)
            .emit_args_with_ack(&item.name, item.args.clone());
        drop(socket);
        match answer.await {
            Ok(answer) => return Some(Ok(answer)),
            Err(AckError::Timeout) if tries <= retries => {}
            Err(AckError::Disconnected) if !limited || tries <= retries => {}
            Err(error) => {
                tracing::debug!(event = %item.name, tries, %error, "queued emit given up");
                return Some(Err(error));
            }
        }
    }
}
