use std::net::SocketAddr;
use std::time::SystemTime;

use http::{HeaderMap, Uri};

/// What the handshake request told about the client.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectInfo {
    /// The request's URI, with its query.
    pub uri: Uri,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The peer's address, when the server knows it: the standalone listener
    /// always does; under another server, put a `SocketAddr` in the request's
    /// extensions.
    pub remote_addr: Option<SocketAddr>,
    /// When the handshake was received.
    pub issued: SystemTime,
}

impl ConnectInfo {
    /// The value of one query parameter, percent-decoding left to the caller.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        query_param(self.uri.query().unwrap_or(""), name)
    }
}

pub(crate) fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}
