//! An event received from the server, its acknowledgement, and the answer to
//! an event the client sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use ferrio_proto::socketio::Args;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ArgError, EmitError, Socket};

/// One event from the server: its name, every argument, and the
/// acknowledgement the server asked for, if any.
///
/// The arguments are an [`Args`]; [`arg`](Self::arg), [`args_as`](Self::args_as)
/// and [`binary`](Self::binary) are shorthands for its accessors.
#[derive(Debug, Clone)]
pub struct Event {
    name: String,
    args: Args,
    ack: Option<AckSender>,
}

impl Event {
    pub(crate) fn new(name: String, args: Args, ack: Option<AckSender>) -> Self {
        Self { name, args, ack }
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every argument, as sent (binary data in place).
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// Argument `index` deserialized into `T`: [`Args::get`].
    pub fn arg<T: DeserializeOwned + 'static>(&self, index: usize) -> Result<T, ArgError> {
        self.args.get(index)
    }

    /// All arguments deserialized at once, usually into a tuple:
    /// `let (text, count): (String, u32) = event.args_as()?;`; [`Args::as_tuple`].
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, ArgError> {
        self.args.as_tuple()
    }

    /// Argument `index` if it is binary data: [`Args::binary`].
    pub fn binary(&self, index: usize) -> Option<&Bytes> {
        self.args.binary(index)
    }

    /// Takes the arguments out of the event (no copy), to pass them on.
    pub fn into_args(self) -> Args {
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
        self.send_args(Args::from(crate::to_args(data)?))
    }

    /// Sends the acknowledgement with arguments already in payload form: an
    /// [`Args`] received (moved, not copied) or a `Vec<Payload>`.
    ///
    /// A second call fails with [`EmitError::AlreadyAcknowledged`]; with no
    /// connection it fails with [`EmitError::Disconnected`] (an answer is never
    /// buffered: the server forgot the question when the connection dropped).
    pub fn send_args(&self, args: impl Into<Args>) -> Result<(), EmitError> {
        if self.sent.swap(true, Ordering::AcqRel) {
            return Err(EmitError::AlreadyAcknowledged);
        }
        self.socket.send_ack(self.id, args.into().into_vec())
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
/// [`emit_with_ack`](crate::Socket::emit_with_ack): its arguments, read with
/// [`Args::get`], [`Args::as_tuple`] and [`Args::binary`].
pub type AckResponse = Args;
