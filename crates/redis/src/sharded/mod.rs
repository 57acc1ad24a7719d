//! The sharded adapter (`createShardedAdapter` of `@socket.io/redis-adapter`
//! 8.x, Redis ≥ 7).

mod adapter;

pub(crate) use adapter::ShardedAdapter;
