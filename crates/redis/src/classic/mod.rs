//! The classic adapter (`createAdapter` of `@socket.io/redis-adapter` 8.x).

mod adapter;
mod channels;
mod pending;
pub(crate) mod wire;

pub(crate) use adapter::ClassicAdapter;
pub(crate) use pending::{Pending, Waiter};
