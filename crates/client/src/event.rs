//! An event received from the server, its acknowledgement, and the answer to
//! an event the client sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use ferrio_proto::socketio::Payload;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ArgError, EmitError, Socket, payload};

/// One event from the server: its name, every argument, and the
/// acknowledgement the server asked for, if any.
#[derive(Debug, Clone)]
pub struct Event {
    name: String,
    args: Vec<Payload>,
    ack: Option<AckSender>,
}

impl Event {
    pub(crate) fn new(name: String, args: Vec<Payload>, ack: Option<AckSender>) -> Self {
        Self { name, args, ack }
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every argument, as sent (binary data in place).
    pub fn args(&self) -> &[Payload] {
        &self.args
    }

    /// Argument `index` deserialized into `T`.
    ///
    /// Binary data reads as bytes: `Bytes` and `Vec<Bytes>` get the buffers
    /// themselves (shared, never copied), `Vec<u8>` or `serde_bytes` fields a copy.
    /// Read as anything else (a `bool`, a `String`, a `serde_json::Value`) it is an
    /// error, never an array of numbers.
    pub fn arg<T: DeserializeOwned + 'static>(&self, index: usize) -> Result<T, ArgError> {
        payload::arg(&self.args, index)
    }

    /// All arguments deserialized at once, usually into a tuple:
    /// `let (text, count): (String, u32) = event.args_as()?;`.
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, ArgError> {
        payload::args_as(&self.args)
    }

    /// Argument `index` if it is binary data.
    pub fn binary(&self, index: usize) -> Option<&Bytes> {
        payload::binary(&self.args, index)
    }

    /// Takes the arguments out of the event.
    pub fn into_args(self) -> Vec<Payload> {
        self.args
    }

    /// The acknowledgement the server asked for, if it did.
    pub fn ack(&self) -> Option<&AckSender> {
        self.ack.as_ref()
    }

    /// Acknowledges the event with `data` (a tuple for several arguments) if
    /// the server asked for it; otherwise does nothing.
    pub fn reply<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        match &self.ack {
            Some(ack) => ack.send(data),
            None => Ok(()),
        }
    }
}

/// Answers one event the server sent with an ack id; only the first answer
/// goes out. Clones share that rule.
#[derive(Clone)]
pub struct AckSender {
    socket: Socket,
    id: u64,
    sent: Arc<AtomicBool>,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: u64) -> Self {
        Self {
            socket,
            id,
            sent: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The ack id the server gave.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends the acknowledgement with `data` as its arguments (a tuple for
    /// several, `()` for none; `Bytes` go as binary).
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.send_args(crate::to_args(data)?)
    }

    /// Sends the acknowledgement with arguments already in payload form.
    ///
    /// A second call fails with [`EmitError::AlreadyAcknowledged`]; with no
    /// connection it fails with [`EmitError::Disconnected`] (an answer is never
    /// buffered: the server forgot the question when the connection dropped).
    pub fn send_args(&self, args: Vec<Payload>) -> Result<(), EmitError> {
        if self.sent.swap(true, Ordering::AcqRel) {
            return Err(EmitError::AlreadyAcknowledged);
        }
        self.socket.send_ack(self.id, args)
    }
}

impl std::fmt::Debug for AckSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckSender")
            .field("nsp", &self.socket.namespace())
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The server's answer to an event sent with
/// [`emit_with_ack`](crate::Socket::emit_with_ack): its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct AckResponse {
    args: Vec<Payload>,
}

impl AckResponse {
    pub(crate) fn new(args: Vec<Payload>) -> Self {
        Self { args }
    }

    /// Every argument, as sent (binary data in place).
    pub fn args(&self) -> &[Payload] {
        &self.args
    }

    /// Argument `index` deserialized into `T`; binary data reads as in
    /// [`Event::arg`].
    pub fn arg<T: DeserializeOwned + 'static>(&self, index: usize) -> Result<T, ArgError> {
        payload::arg(&self.args, index)
    }

    /// All arguments deserialized at once, usually into a tuple.
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, ArgError> {
        payload::args_as(&self.args)
    }

    /// Argument `index` if it is binary data.
    pub fn binary(&self, index: usize) -> Option<&Bytes> {
        payload::binary(&self.args, index)
    }

    /// Takes the arguments out.
    pub fn into_args(self) -> Vec<Payload> {
        self.args
    }
}
