//! Test infrastructure for cluster tests: a `redis-server` per test, Node
//! cluster nodes, official clients, and ferrio nodes.

#![allow(dead_code)]

pub mod ferrio;
pub mod node;
pub mod process;
pub mod redis;
