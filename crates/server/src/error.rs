use serde_json::Value;

/// Why an emit did not go out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The arguments could not be serialized.
    #[error(transparent)]
    Args(#[from] crate::ArgsError),
    /// The client's outbound queue is full: it reads slower than it is sent to.
    #[error("the client's outbound queue is full")]
    QueueFull,
    /// The socket is disconnected.
    #[error("the socket is disconnected")]
    Disconnected,
    /// The event name is reserved (`connect`, `disconnect`, …).
    #[error("`{0}` is a reserved event name")]
    Reserved(String),
    /// This event was acknowledged already.
    #[error("the event was acknowledged already")]
    AlreadyAcknowledged,
    /// The packet is larger than a client's outbox can ever hold
    /// ([`max_buffered_bytes`](ferrio_engine::EngineConfig::max_buffered_bytes)):
    /// it was sent to no one, and no recipient is disconnected for it.
    #[error("a packet of {size} bytes is larger than a client's outbox ({limit} bytes)")]
    TooLarge {
        /// The packet's size, text and attachments.
        size: usize,
        /// The outbox limit.
        limit: usize,
    },
    /// The adapter failed to carry a broadcast.
    #[error(transparent)]
    Adapter(crate::adapter::AdapterError),
}

impl From<crate::adapter::AdapterError> for EmitError {
    fn from(e: crate::adapter::AdapterError) -> Self {
        match e {
            crate::adapter::AdapterError::TooLarge { size, limit } => {
                Self::TooLarge { size, limit }
            }
            other => Self::Adapter(other),
        }
    }
}

impl From<ferrio_engine::SendError> for EmitError {
    fn from(e: ferrio_engine::SendError) -> Self {
        match e {
            ferrio_engine::SendError::Full => Self::QueueFull,
            _ => Self::Disconnected,
        }
    }
}

/// A refusal by connection middleware, sent to the client as CONNECT_ERROR
/// `{"message": …, "data": …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message the client sees as `err.message`.
    pub message: String,
    /// Extra data the client sees as `err.data`.
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// The same refusal with data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("message".into(), Value::String(self.message.clone()));
        if let Some(data) = &self.data {
            map.insert("data".into(), data.clone());
        }
        Value::Object(map)
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}
