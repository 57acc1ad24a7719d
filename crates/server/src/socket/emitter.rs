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
    compress: bool,
}

impl<'a> SocketEmitter<'a> {
    pub(crate) fn new(socket: &'a Socket) -> Self {
        Self {
            socket,
            timeout: None,
            volatile: false,
            compress: true,
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

    /// Whether the event may be compressed (default `true`). Over
    /// long-polling, an answer whose packets all said `false` is sent
    /// uncompressed, as in Node.
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Sends the event; see [`Socket::emit`].
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), EmitError> {
        let args = crate::to_args(data)?;
        let packet = self.socket.event_packet(event, args)?;
        self.socket
            .send_event_with(packet, self.volatile, self.compress)
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
        if self
            .socket
            .send_packet_with(packet, self.volatile, self.compress)
            .is_err()
        {
            return Err(AckError::Disconnected);
        }
        let timeout = self.timeout.unwrap_or_else(|| self.socket.ack_timeout());
        match tokio::time::timeout(timeout, rx).await {
            Ok(answer) => answer.map_err(|_| AckError::Disconnected),
            Err(_) => Err(AckError::Timeout),
        }
    }
}
