//! Redis adapters for ferrio, wire-compatible with Node's `@socket.io/redis-adapter`.
