//! Transports that carry a session. Long-polling is plain HTTP (`crate::http`);
//! WebSocket connections live here.

pub(crate) mod websocket;
