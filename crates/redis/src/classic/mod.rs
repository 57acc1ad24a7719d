//! The classic adapter (`createAdapter` of `@socket.io/redis-adapter` 8.x).

mod channels;
pub(crate) mod wire;
