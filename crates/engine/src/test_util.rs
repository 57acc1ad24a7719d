//! What the engine's unit tests share: a handler whose connections ignore
//! everything, and the request details of a session made by hand.

use std::sync::Arc;

use crate::{CloseReason, ConnectInfo, Connection, Handler, Message, Session};

/// A handler whose connections ignore every message and their close.
pub(crate) struct Ignore;

impl Handler for Ignore {
    fn on_open(&self, _: &Arc<Session>) -> Arc<dyn Connection> {
        Arc::new(Ignore)
    }
}

impl Connection for Ignore {
    fn on_message(self: Arc<Self>, _: Message) {}
    fn on_close(&self, _: CloseReason) {}
}

/// The request details of a session opened at `uri`, nothing else known.
pub(crate) fn connect_info(uri: &str) -> ConnectInfo {
    ConnectInfo {
        uri: uri.parse().expect("a test URI"),
        headers: Default::default(),
        remote_addr: None,
        issued: 0,
        extensions: Default::default(),
        secure: false,
    }
}
