mod js_date;
mod node;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use ferrio_engine::ConnectInfo;
use ferrio_proto::socketio::RawJson;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use node::HandshakeError;
use node::RemoteHandshake;

/// What a socket's client said when it connected, as `socket.handshake` in Node.
///
/// For a socket of this server, the request part is shared with the
/// connection (and every socket on it), so a socket costs no copy of the
/// headers. The auth payload is kept as its JSON text, a few bytes more than
/// it took on the wire, and parsed when read: a tree of it would take up to 36
/// times as much for the socket's life.
///
/// A socket of another server of a cluster has the handshake that server sent
/// ([`from_node_json`](Self::from_node_json)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Handshake(Source);

#[derive(Debug, Clone)]
enum Source {
    /// A connection to this server.
    Local {
        info: Arc<ConnectInfo>,
        /// The auth payload of the client's CONNECT packet, as
        /// `JSON.stringify` writes it (`{}` when none).
        auth: RawJson,
    },
    /// A connection to another server, as it described it.
    Remote(Arc<RemoteHandshake>),
}

impl Handshake {
    pub(crate) fn new(info: &Arc<ConnectInfo>, auth: Option<&Value>) -> Self {
        let empty = Value::Object(Default::default());
        Self(Source::Local {
            info: info.clone(),
            auth: RawJson::from_value(auth.unwrap_or(&empty)),
        })
    }

    fn auth_raw(&self) -> &RawJson {
        match &self.0 {
            Source::Local { auth, .. } => auth,
            Source::Remote(remote) => &remote.auth,
        }
    }

    /// The auth payload of the client's CONNECT packet (`{}` when none), as
    /// `socket.handshake.auth` in Node. Parsed on each call: keep the result,
    /// or read it typed with [`auth_as`](Self::auth_as).
    pub fn auth(&self) -> Value {
        self.auth_raw().to_value()
    }

    /// The auth payload deserialized into `T`, straight from its text.
    ///
    /// ```no_run
    /// # fn f(handshake: &ferrio::Handshake) -> Result<(), serde_json::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Auth {
    ///     token: String,
    /// }
    /// let auth: Auth = handshake.auth_as()?;
    /// # Ok(()) }
    /// ```
    pub fn auth_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.auth_raw().deserialize()
    }

    /// The auth payload as JSON text, as `JSON.stringify` writes it.
    pub fn auth_json(&self) -> &str {
        self.auth_raw().as_str()
    }

    /// Headers of the first HTTP request. The map is built on the first call
    /// (the connection keeps the raw headers only); to read one header,
    /// [`header`](Self::header) does without it.
    pub fn headers(&self) -> &HeaderMap {
        match &self.0 {
            Source::Local { info, .. } => info.headers(),
            Source::Remote(remote) => &remote.headers,
        }
    }

    /// The first value of a header of the first HTTP request, by name
    /// (case-insensitive), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        match &self.0 {
            Source::Local { info, .. } => std::str::from_utf8(info.header(name)?).ok(),
            Source::Remote(remote) => remote.headers.get(name)?.to_str().ok(),
        }
    }

    /// When the connection was made.
    pub fn time(&self) -> SystemTime {
        match &self.0 {
            Source::Local { info, .. } => info.issued(),
            Source::Remote(remote) => remote.issued(),
        }
    }

    /// The client's IP address, when known, as Node's `handshake.address`
    /// (which has no port; [`remote_addr`](Self::remote_addr) has it). Known
    /// on the standalone listener, under axum served with
    /// `into_make_service_with_connect_info::<SocketAddr>()` (this crate's
    /// `axum` feature), and when a `SocketAddr` is in the request's
    /// extensions.
    pub fn address(&self) -> Option<IpAddr> {
        self.remote_addr().map(|addr| addr.ip())
    }

    /// The client's address and port, when known. Another server reports
    /// only the IP (the port here is then 0); its text is in
    /// [`to_node_json`](Self::to_node_json).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        match &self.0 {
            Source::Local { info, .. } => info.remote_addr(),
            Source::Remote(remote) => remote.address(),
        }
    }

    /// When the connection was made, in milliseconds since the Unix epoch
    /// (Node's `handshake.issued`).
    pub fn issued(&self) -> u64 {
        match &self.0 {
            Source::Local { info, .. } => info.issued_ms(),
            Source::Remote(remote) => remote.issued_ms(),
        }
    }

    /// Whether the first request was cross-origin: it had an `Origin` header
    /// (Node's `handshake.xdomain`).
    pub fn xdomain(&self) -> bool {
        match &self.0 {
            Source::Local { info, .. } => info.header("origin").is_some(),
            Source::Remote(remote) => remote.flag("xdomain"),
        }
    }

    /// Whether the connection used TLS (Node's `handshake.secure`): on the
    /// standalone listener with TLS, or when a layer marked the request with
    /// [`ferrio_engine::Secure`].
    pub fn secure(&self) -> bool {
        match &self.0 {
            Source::Local { info, .. } => info.secure(),
            Source::Remote(remote) => remote.flag("secure"),
        }
    }

    /// The extensions of the first HTTP request as the layers before the
    /// engine left them, as Node's `socket.request`: a tower auth layer's
    /// identity, say. Empty for a handshake made on another server.
    pub fn extensions(&self) -> &http::Extensions {
        static NONE: std::sync::OnceLock<http::Extensions> = std::sync::OnceLock::new();
        match &self.0 {
            Source::Local { info, .. } => info.extensions(),
            Source::Remote(_) => NONE.get_or_init(http::Extensions::new),
        }
    }

    /// The URL of the first request (path and query).
    pub fn url(&self) -> String {
        match &self.0 {
            Source::Local { info, .. } => info.path_and_query().to_owned(),
            Source::Remote(remote) => remote.url().to_owned(),
        }
    }

    /// Whether this handshake was made on another server of the cluster.
    pub fn is_remote(&self) -> bool {
        matches!(self.0, Source::Remote(_))
    }

    /// One query parameter of the first request, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The query parameters of the first request, percent-decoded.
    pub fn query(&self) -> HashMap<String, String> {
        self.query_pairs().collect()
    }

    fn query_pairs(&self) -> Box<dyn Iterator<Item = (String, String)> + '_> {
        match &self.0 {
            Source::Local { info, .. } => Box::new(decode_query(info.query().unwrap_or(""))),
            Source::Remote(remote) => Box::new(remote.query_pairs()),
        }
    }
}

/// The pairs of a query string, percent-decoded as a form (`+` is a space),
/// as Node's `querystring.parse` reads them.
fn decode_query(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(query: &str) -> Vec<(String, String)> {
        decode_query(query).collect()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(decoded("k=a%20b+c%2"), [pair("k", "a b c%2")]);
        assert_eq!(decoded("k=%C3%A9"), [pair("k", "é")]);
        assert_eq!(decoded("k=%"), [pair("k", "%")]);
    }

    #[test]
    fn decodes_the_edge_cases_as_node_does() {
        // `+` is a space, `%2B` a plus, in names and values alike.
        assert_eq!(decoded("a+b=c+d"), [pair("a b", "c d")]);
        assert_eq!(decoded("a%2Bb=c%2B%2b"), [pair("a+b", "c++")]);
        // A malformed escape stays as it was written.
        assert_eq!(
            decoded("a=%&b=%2&c=%zz&d=%%41"),
            [
                pair("a", "%"),
                pair("b", "%2"),
                pair("c", "%zz"),
                pair("d", "%A")
            ]
        );
        // UTF-8 over several escapes; bytes that are not UTF-8 become U+FFFD.
        assert_eq!(decoded("k=%E2%82%AC%F0%9F%98%80"), [pair("k", "€😀")]);
        assert_eq!(decoded("k=%FF"), [pair("k", "\u{fffd}")]);
        // Empty pieces are skipped; a name without `=` has an empty value;
        // only the first `=` splits.
        assert_eq!(
            decoded("&a&&b=&c=d=e&"),
            [pair("a", ""), pair("b", ""), pair("c", "d=e")]
        );
    }
}
