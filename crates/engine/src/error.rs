use thiserror::Error;

/// Why a frame could not be queued on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session's outbox holds [`max_buffered_bytes`](crate::EngineConfig::max_buffered_bytes)
    /// already: the peer reads slower than it is written to.
    #[error("the session's outbound queue is full")]
    Full,
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
}
