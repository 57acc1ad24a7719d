use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use ferrio_engine::ConnectInfo;
use http::HeaderMap;
use serde_json::Value;

/// What a socket's client said when it connected, as `socket.handshake` in Node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Handshake {
    /// Headers of the first HTTP request.
    pub headers: HeaderMap,
    /// When the connection was made.
    pub time: SystemTime,
    /// The client's address, when known.
    pub address: Option<SocketAddr>,
    /// The URL of the first request (path and query).
    pub url: String,
    /// The query parameters of the first request, percent-decoded.
    pub query: HashMap<String, String>,
    /// The auth payload of the client's CONNECT packet (`{}` when none).
    pub auth: Value,
}

impl Handshake {
    pub(crate) fn new(info: &ConnectInfo, auth: Option<Value>) -> Self {
        let query = info
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Self {
            headers: info.headers.clone(),
            time: info.issued,
            address: info.remote_addr,
            url: info
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            query,
            auth: auth.unwrap_or_else(|| Value::Object(Default::default())),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%"), "%");
    }
}
