use std::time::Duration;

use ferrio_proto::socketio::Args;
use serde::Serialize;
use tokio::sync::oneshot;

use super::Socket;
use crate::ack::AckWaiter;
use crate::{AckError, EmitError};

/// Forgets an awaited acknowledgement on drop.
struct Forget<'a> {
    socket: &'a Socket,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.socket.forget_ack(self.id);
    }
}

/// Emits to one socket with flags: `socket.timeout(d)`, `socket.volatile()`.
#[derive(Debug, Clone, Copy)]
pub struct SocketEmitter<'a> {
    socket: &'a Socket,
    timeout: Option<Duration>,
    volatile: bool,
}

impl<'a> SocketEmitter<'a> {
    pub(crate) fn new(socket: &'a Socket) -> Self {
        Self {
            socket,
            timeout: None,
            volatile: false,
        }
    }

    /// Fails an acknowledgement that takes longer than `timeout` (default
    /// [`SocketIoConfig::ack_timeout`](crate::SocketIoConfig::ack_timeout), 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Drops the event if the client is not ready for it (its queue is not empty).
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Asks for compression. ferrio does not compress WebSocket frames, so this
    /// only documents intent.
    pub fn compress(self, _compress: bool) -> Self {
        self
    }

    /// Sends the event; see [`Socket::emit`].
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), EmitError> {
        let args = crate::to_args(data)?;
        let packet = self.socket.event_packet(event, args)?;
        self.socket.send_event(packet, self.volatile)
    }

    /// Sends the event asking for an acknowledgement, and waits for it.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
    ) -> Result<Args, AckError> {
        let args = crate::to_args(data).map_err(|_| AckError::Disconnected)?;
        let id = self.socket.namespace().next_ack_id();
        let packet = self
            .socket
            .event_packet(event, args)
            .map_err(|_| AckError::Disconnected)?
            .with_id(id);
        let (tx, rx) = oneshot::channel();
        self.socket.expect_ack(id, AckWaiter::One(tx));
        // Forgets the waiter however this ends: error, timeout, or the
        // future dropped by the caller.
        let _forget = Forget {
            socket: self.socket,
            id,
        };
        if self.socket.send_packet(packet, self.volatile).is_err() {
            return Err(AckError::Disconnected);
        }
        let timeout = self.timeout.unwrap_or_else(|| self.socket.ack_timeout());
        match tokio::time::timeout(timeout, rx).await {
            Ok(answer) => answer.map_err(|_| AckError::Disconnected),
            Err(_) => Err(AckError::Timeout),
        }
    }
}
