//! Errors of the Redis adapter.

/// Why the Redis adapter could not start or reach Redis.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The Redis URL is not valid.
    #[error("invalid Redis URL: {0}")]
    Url(String),
    /// Redis refused a command or could not be reached.
    #[error("Redis: {0}")]
    Redis(String),
}
