//! An event received from a client, and the way to acknowledge it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use ferrio_proto::socketio::Args;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ArgError, EmitError, Socket};

/// One event from a client: its name, every argument it carried, and the
/// acknowledgement it asks for, if any.
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

    /// The event with other arguments, as async per-event middleware may
    /// hand it on ([`Socket::use_async_middleware`](crate::Socket::use_async_middleware));
    /// its name and acknowledgement stay.
    pub fn with_args(mut self, args: impl Into<Args>) -> Self {
        self.args = args.into();
        self
    }

    /// Whether the client asked for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// The acknowledgement the client asked for, if it did.
    pub fn ack(&self) -> Option<&AckSender> {
        self.ack.as_ref()
    }

    /// Acknowledges the event with `data` (a tuple for several arguments), if the
    /// client asked; otherwise does nothing.
    pub fn reply<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        match &self.ack {
            Some(ack) => ack.send(data),
            None => Ok(()),
        }
    }
}

/// Sends the acknowledgement of one event; only the first send goes out.
#[derive(Clone)]
pub struct AckSender {
    socket: Arc<Socket>,
    id: u64,
    sent: Arc<AtomicBool>,
}

impl AckSender {
    pub(crate) fn new(socket: Arc<Socket>, id: u64) -> Self {
        Self {
            socket,
            id,
            sent: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Sends the acknowledgement with `data` as its arguments (a tuple for
    /// several). A second call fails with [`EmitError::AlreadyAcknowledged`].
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        let args = crate::to_args(data)?;
        self.send_args(Args::from(args))
    }

    /// Sends the acknowledgement with arguments already in payload form: an
    /// [`Args`] received (moved, not copied) or a `Vec<Payload>`.
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
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
