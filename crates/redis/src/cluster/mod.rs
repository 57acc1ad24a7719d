//! Node's `ClusterAdapter` family: the message format and the machinery
//! that the sharded and streams adapters share.

pub(crate) mod core;
pub(crate) mod wire;

pub(crate) use self::core::{Bus, Cluster};
