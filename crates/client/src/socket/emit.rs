//! Sending events, with or without acknowledgement, and answering the
//! server's.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ferrio_proto::socketio::{Args, Packet, PacketKind, Payload, RESERVED_EVENTS};
use serde::Serialize;
use tokio::sync::oneshot;

use super::queue::Queued;
use super::{Outgoing, Socket};
use crate::payload::{args_data, event_data};
use crate::{AckError, AckResponse, EmitError, to_args};

/// An emit with flags: a time limit on the acknowledgement, or volatile.
///
/// Made by [`Socket::timeout`] and [`Socket::volatile`]; the flags apply to
/// one emit.
#[derive(Debug, Clone, Copy)]
#[must_use = "an emitter does nothing until one of its emit methods is called"]
pub struct Emitter<'a> {
    socket: &'a Socket,
    timeout: Option<Duration>,
    volatile: bool,
    /// A try of the `retries` queue: sent as is, not queued again.
    from_queue: bool,
}

impl<'a> Emitter<'a> {
    fn new(socket: &'a Socket) -> Self {
        Self {
            socket,
            timeout: None,
            volatile: false,
            from_queue: false,
        }
    }

    /// One try of a queued event.
    pub(super) fn from_queue(socket: &'a Socket, timeout: Option<Duration>) -> Self {
        Self {
            socket,
            timeout,
            volatile: false,
            from_queue: true,
        }
    }

    /// Waits at most `timeout` for the acknowledgement (overrides the
    /// socket's `ack_timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Drops the event instead of buffering it when the socket is not
    /// connected.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sends an event; see [`Socket::emit`].
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emit_args(event, to_args(data)?)
    }

    /// Sends an event whose arguments are payloads already (binary kept).
    pub fn emit_args(self, event: &str, args: impl Into<Args>) -> Result<(), EmitError> {
        self.send(event, args.into(), false).map(drop)
    }

    /// Sends an event asking for an acknowledgement; see
    /// [`Socket::emit_with_ack`].
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<AckResponse, AckError>> + Send + 'static {
        let args = to_args(data).map_err(EmitError::from);
        let prepared = args.and_then(|args| self.send(event, args.into(), true));
        self.wait(prepared)
    }

    /// Sends an event with payload arguments, asking for an acknowledgement.
    pub fn emit_args_with_ack(
        self,
        event: &str,
        args: impl Into<Args>,
    ) -> impl Future<Output = Result<AckResponse, AckError>> + Send + 'static {
        let prepared = self.send(event, args.into(), true);
        self.wait(prepared)
    }

    /// Sends now (or buffers, or drops if volatile, or queues with
    /// `retries`); registers the ack first.
    fn send(self, event: &str, args: Args, want_ack: bool) -> Result<Sent, EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let socket = self.socket;
        if let Some(queue) = socket
            .inner
            .queue
            .as_ref()
            .filter(|_| !self.from_queue && !self.volatile)
        {
            let (reply, outcome) = if want_ack {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            } else {
                (None, None)
            };
            let queued = Queued {
                name: event.to_owned(),
                args,
                timeout: self.timeout,
                reply,
            };
            // The queue's task lives as long as the socket.
            let _ = queue.send(queued);
            return Ok(Sent::Queued(outcome));
        }
        let mut sent = None;
        let ack = {
            let mut state = socket.state();
            let ack = want_ack.then(|| {
                let id = state.next_ack_id;
                state.next_ack_id += 1;
                let (tx, rx) = oneshot::channel();
                state.acks.insert(id, tx);
                AckWait { id, rx }
            });
            let out = Outgoing {
                name: event.to_owned(),
                args,
                ack: ack.as_ref().map(|a| a.id),
            };
            // Buffered emits go first: a new one waits behind them.
            if state.connected && state.send_buffer.is_empty() && socket.write(&out) {
                if socket.has_outgoing_listeners() {
                    sent = Some(out);
                }
            } else if self.volatile {
                if let Some(a) = &ack {
                    // Dropping the waiter tells `emit_with_ack` at once.
                    state.acks.remove(&a.id);
                }
            } else {
                state.send_buffer.push_back(out);
            }
            ack
        };
        if let Some(out) = sent {
            socket.notify_outgoing(std::slice::from_ref(&out));
        }
        Ok(Sent::Direct(ack))
    }

    fn wait(
        self,
        prepared: Result<Sent, EmitError>,
    ) -> impl Future<Output = Result<AckResponse, AckError>> + Send + 'static {
        let timeout = self.timeout.or(self.socket.inner.ack_timeout);
        let socket = self.socket.clone();
        async move {
            let ack = match prepared? {
                Sent::Direct(ack) => ack,
                Sent::Queued(outcome) => {
                    return match outcome {
                        Some(outcome) => outcome.await.unwrap_or(Err(AckError::Disconnected)),
                        None => Err(AckError::Disconnected),
                    };
                }
            };
            let AckWait { id, rx } = ack.ok_or(AckError::Disconnected)?;
            let mut guard = ForgetAck {
                socket: Some(socket),
                id,
                drop_buffered: false,
            };
            let answer = match timeout {
                Some(limit) => match tokio::time::timeout(limit, rx).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        // As socket.io-client: a timed-out event still in the
                        // send buffer is not sent any more.
                        guard.drop_buffered = true;
                        return Err(AckError::Timeout);
                    }
                },
                None => rx.await,
            };
            guard.socket = None;
            answer
                .map(AckResponse::from)
                .map_err(|_| AckError::Disconnected)
        }
    }
}

/// What became of an emit.
enum Sent {
    /// Sent or buffered (or dropped, if volatile), with the acknowledgement
    /// to wait for if one was asked and the event was not dropped.
    Direct(Option<AckWait>),
    /// Queued for the `retries` task, with its outcome if one was asked.
    Queued(Option<oneshot::Receiver<Result<AckResponse, AckError>>>),
}

/// An acknowledgement being waited for.
struct AckWait {
    id: u64,
    rx: oneshot::Receiver<Vec<Payload>>,
}

/// Forgets an acknowledgement nobody waits for any more (timed out, or the
/// future was dropped).
struct ForgetAck {
    socket: Option<Socket>,
    id: u64,
    drop_buffered: bool,
}

impl Drop for ForgetAck {
    fn drop(&mut self) {
        let Some(socket) = self.socket.take() else {
            return;
        };
        let mut state = socket.state();
        state.acks.remove(&self.id);
        if self.drop_buffered {
            state.send_buffer.retain(|o| o.ack != Some(self.id));
        }
    }
}

impl Socket {
    /// Sends an event. `data` is the arguments: a tuple for several
    /// (`("a", 1)`), `()` for none, any other value for one; `Bytes` (and
    /// anything serialized as bytes) travel as binary attachments.
    ///
    /// While the socket is not connected the event is buffered and sent on
    /// (re)connection, in order. With [`retries`](crate::SocketBuilder::retries)
    /// it goes into the socket's queue and is sent until acknowledged.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        Emitter::new(self).emit(event, data)
    }

    /// Sends an event whose arguments are payloads already (binary kept), as
    /// when passing on the [`Args`] of an event received (moved, not copied).
    pub fn emit_args(&self, event: &str, args: impl Into<Args>) -> Result<(), EmitError> {
        Emitter::new(self).emit_args(event, args)
    }

    /// Sends an event and waits for the server's acknowledgement, for at most
    /// the socket's `ack_timeout` if it has one.
    ///
    /// The event is sent (or buffered) when this is called, not when the
    /// future is first polled. It fails with [`AckError::Disconnected`] if the
    /// connection drops after the event went out, and with
    /// [`AckError::Timeout`] when the time is up. With
    /// [`retries`](crate::SocketBuilder::retries), those are the errors of the
    /// last try, the timeout applies to each try, and the event is queued
    /// behind the socket's earlier ones.
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<AckResponse, AckError>> + Send + 'static {
        Emitter::new(self).emit_with_ack(event, data)
    }

    /// Sends an event with payload arguments and waits for the server's
    /// acknowledgement; see [`emit_with_ack`](Self::emit_with_ack).
    pub fn emit_args_with_ack(
        &self,
        event: &str,
        args: impl Into<Args>,
    ) -> impl Future<Output = Result<AckResponse, AckError>> + Send + 'static {
        Emitter::new(self).emit_args_with_ack(event, args)
    }

    /// An emit whose acknowledgement is awaited at most `timeout`.
    pub fn timeout(&self, timeout: Duration) -> Emitter<'_> {
        Emitter::new(self).timeout(timeout)
    }

    /// An emit dropped rather than buffered when the socket is not connected.
    pub fn volatile(&self) -> Emitter<'_> {
        Emitter::new(self).volatile()
    }

    /// Sends the acknowledgement `id` with `args`; only while connected.
    pub(crate) fn send_ack(&self, id: u64, args: Vec<Payload>) -> Result<(), EmitError> {
        let packet = Packet::new(
            PacketKind::Ack,
            ferrio_proto::socketio::packet_namespace(&self.inner.nsp),
            Some(args_data(args)),
        )
        .with_id(id);
        // Under the state lock, ordered with this socket's emits.
        let state = self.state();
        if !state.connected {
            return Err(EmitError::Disconnected);
        }
        match self.inner.manager.inner.send_packet(packet) {
            Some(_) => Ok(()),
            None => Err(EmitError::Disconnected),
        }
    }

    /// Writes an event to the manager's connection; `false` if there is none.
    pub(super) fn write(&self, out: &Outgoing) -> bool {
        let data = event_data(&out.name, out.args.clone().into_vec());
        let mut packet = Packet::new(
            PacketKind::Event,
            ferrio_proto::socketio::packet_namespace(&self.inner.nsp),
            Some(data),
        );
        packet.id = out.ack;
        tracing::trace!(nsp = %self.inner.nsp, event = %out.name, "emit");
        self.inner.manager.inner.send_packet(packet).is_some()
    }

    pub(super) fn has_outgoing_listeners(&self) -> bool {
        self.inner.has_outgoing.load(Ordering::Acquire)
    }

    /// Tells the outgoing catch-all listeners about events sent.
    pub(super) fn notify_outgoing(&self, sent: &[Outgoing]) {
        if sent.is_empty() {
            return;
        }
        let listeners: Vec<_> = self
            .handlers()
            .any_outgoing
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for out in sent {
            for listener in &listeners {
                listener(self, &out.name, &out.args);
            }
        }
    }
}
