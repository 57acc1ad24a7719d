//! The handshake as Node's servers send it to each other (`fetchSockets`
//! answers): CLUSTER_AND_RECOVERY.md §2.8.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrio_proto::socketio::RawJson;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::{Handshake, Source, decode_query, js_date};

/// Why a handshake another server sent could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// It is not a JSON object.
    #[error("a handshake is a JSON object")]
    NotAnObject,
}

/// A handshake made on another server: the object it sent, kept as it came
/// (so it is sent on unchanged), with the parts ferrio reads.
#[derive(Debug)]
pub(super) struct RemoteHandshake {
    /// The whole object, `auth` included, in its order.
    json: Map<String, Value>,
    pub headers: HeaderMap,
    pub auth: RawJson,
}

impl RemoteHandshake {
    pub(super) fn issued(&self) -> SystemTime {
        let ms = self.json.get("issued").and_then(Value::as_u64).unwrap_or(0);
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    pub(super) fn issued_ms(&self) -> u64 {
        self.json.get("issued").and_then(Value::as_u64).unwrap_or(0)
    }

    pub(super) fn flag(&self, key: &str) -> bool {
        self.json.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    pub(super) fn address(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self.json.get("address")?.as_str()?.parse().ok()?;
        Some(SocketAddr::new(ip, 0))
    }

    pub(super) fn url(&self) -> &str {
        self.json.get("url").and_then(Value::as_str).unwrap_or("")
    }

    /// The query's pairs; a repeated key (an array) gives one pair per value.
    pub(super) fn query_pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let query = self.json.get("query").and_then(Value::as_object);
        query.into_iter().flatten().flat_map(|(k, v)| {
            let values: Vec<String> = match v {
                Value::Array(items) => items.iter().filter_map(text).collect(),
                other => text(other).into_iter().collect(),
            };
            values.into_iter().map(move |v| (k.clone(), v))
        })
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Headers Node keeps the first of when repeated (`IncomingMessage.headers`).
const SINGLE: &[&str] = &[
    "age",
    "authorization",
    "content-length",
    "content-type",
    "etag",
    "expires",
    "from",
    "host",
    "if-modified-since",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "proxy-authorization",
    "referer",
    "retry-after",
    "server",
    "user-agent",
];

/// Request headers as Node's `req.headers`: lower-case names in the order
/// they came; repeats joined with `, ` (`cookie`: `; `), `set-cookie` an
/// array, and the headers of [`SINGLE`] kept once.
fn node_headers(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        let mut values = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let key = name.as_str();
        let value = if key == "set-cookie" {
            Value::Array(values.map(Value::String).collect())
        } else if SINGLE.contains(&key) {
            Value::String(values.next().unwrap_or_default())
        } else {
            let separator = if key == "cookie" { "; " } else { ", " };
            Value::String(values.collect::<Vec<_>>().join(separator))
        };
        out.insert(key.to_owned(), value);
    }
    out
}

/// A query string parsed as Node's `querystring.parse`: a repeated key
/// becomes an array of its values.
fn node_query(query: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in decode_query(query) {
        match out.get_mut(&k) {
            None => {
                out.insert(k, Value::String(v));
            }
            Some(Value::Array(values)) => values.push(Value::String(v)),
            Some(first) => {
                let first = first.take();
                out.insert(k, Value::Array(vec![first, Value::String(v)]));
            }
        }
    }
    out
}

/// The headers of a handshake another server sent; names or values that are
/// not valid HTTP are left out.
fn header_map(json: &Map<String, Value>) -> HeaderMap {
    let mut map = HeaderMap::new();
    let Some(headers) = json.get("headers").and_then(Value::as_object) else {
        return map;
    };
    for (name, value) in headers {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        let values: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for value in values {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.append(name.clone(), value);
            }
        }
    }
    map
}

impl Handshake {
    /// The handshake as a Node server sends it to the others of its cluster,
    /// with the same keys in the same order:
    /// `{headers, time, address, xdomain, secure, issued, url, query, auth}`.
    ///
    /// `time` is written in UTC; `address` is the client's IP (empty when
    /// unknown). A remote handshake is written back as it came.
    pub fn to_node_json(&self) -> Value {
        let (info, auth) = match &self.0 {
            Source::Remote(remote) => return Value::Object(remote.json.clone()),
            Source::Local { info, auth } => (info, auth),
        };
        let issued = info.issued();
        let ms = info.issued_ms();
        let mut json = Map::new();
        json.insert(
            "headers".into(),
            Value::Object(node_headers(info.headers())),
        );
        json.insert("time".into(), Value::String(js_date::to_js_string(issued)));
        let address = info
            .remote_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        json.insert("address".into(), Value::String(address));
        json.insert(
            "xdomain".into(),
            Value::Bool(info.header("origin").is_some()),
        );
        json.insert("secure".into(), Value::Bool(info.secure()));
        json.insert("issued".into(), Value::from(ms));
        json.insert(
            "url".into(),
            Value::String(info.path_and_query().to_owned()),
        );
        let query = node_query(info.query().unwrap_or(""));
        json.insert("query".into(), Value::Object(query));
        json.insert("auth".into(), auth.to_value());
        Value::Object(json)
    }

    /// A handshake another server sent (Node's shape, see
    /// [`to_node_json`](Self::to_node_json)). Missing or odd fields read as
    /// empty; only a value that is not an object is refused.
    pub fn from_node_json(json: Value) -> Result<Self, HandshakeError> {
        let Value::Object(json) = json else {
            return Err(HandshakeError::NotAnObject);
        };
        let empty = Value::Object(Map::new());
        let auth = RawJson::from_value(json.get("auth").unwrap_or(&empty));
        let headers = header_map(&json);
        Ok(Self(Source::Remote(std::sync::Arc::new(RemoteHandshake {
            json,
            headers,
            auth,
        }))))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Captured from Node (CLUSTER_AND_RECOVERY.md §2.8).
    fn captured() -> Value {
        json!({"headers":{"sec-websocket-version":"13","connection":"Upgrade","upgrade":"websocket","host":"127.0.0.1:40043","set-cookie":["a=1","b=2"]},
               "time":"Wed Dec 02 2026 03:34:49 GMT+0000 (Coordinated Universal Time)",
               "address":"::ffff:127.0.0.1","xdomain":false,"secure":false,"issued":1796182489028u64,
               "url":"/socket.io/?EIO=4&transport=websocket","query":{"EIO":"4","transport":"websocket","k":["1","2"]},
               "auth":{"token":"t"}})
    }

    #[test]
    fn a_remote_handshake_reads_as_a_local_one_and_is_sent_on_unchanged() {
        let handshake = Handshake::from_node_json(captured()).unwrap();
        assert!(handshake.is_remote());
        assert_eq!(handshake.auth(), json!({"token": "t"}));
        assert_eq!(handshake.header("Host"), Some("127.0.0.1:40043"));
        assert_eq!(handshake.headers().get_all("set-cookie").iter().count(), 2);
        assert_eq!(
            handshake.time(),
            UNIX_EPOCH + Duration::from_millis(1_796_182_489_028)
        );
        assert_eq!(
            handshake.remote_addr(),
            Some("[::ffff:127.0.0.1]:0".parse().unwrap())
        );
        assert_eq!(
            handshake.address(),
            Some("::ffff:127.0.0.1".parse().unwrap())
        );
        assert_eq!(handshake.issued(), 1_796_182_489_028);
        assert!(!handshake.xdomain() && !handshake.secure());
        assert_eq!(handshake.url(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(
            handshake.query_param("transport").as_deref(),
            Some("websocket")
        );
        assert_eq!(handshake.query_param("k").as_deref(), Some("1"));
        let back = handshake.to_node_json().to_string();
        assert_eq!(back, captured().to_string(), "same keys, same order");
    }

    #[test]
    fn odd_remote_handshakes_read_as_empty_and_a_non_object_is_refused() {
        let handshake =
            Handshake::from_node_json(json!({"headers": {"bad name": "x", "ok": 3}})).unwrap();
        assert!(handshake.headers().is_empty());
        assert_eq!(handshake.auth(), json!({}));
        assert_eq!(handshake.url(), "");
        assert_eq!(handshake.address(), None);
        assert_eq!(handshake.time(), UNIX_EPOCH);
        assert_eq!(
            Handshake::from_node_json(json!([1])).unwrap_err(),
            HandshakeError::NotAnObject
        );
    }

    #[test]
    fn node_headers_and_query_follow_node_rules() {
        let mut headers = HeaderMap::new();
        headers.append("host", HeaderValue::from_static("a"));
        headers.append("host", HeaderValue::from_static("b"));
        headers.append("accept", HeaderValue::from_static("x"));
        headers.append("accept", HeaderValue::from_static("y"));
        headers.append("cookie", HeaderValue::from_static("c=1"));
        headers.append("cookie", HeaderValue::from_static("d=2"));
        headers.append("set-cookie", HeaderValue::from_static("e=3"));
        assert_eq!(
            Value::Object(node_headers(&headers)).to_string(),
            r#"{"host":"a","accept":"x, y","cookie":"c=1; d=2","set-cookie":["e=3"]}"#
        );
        assert_eq!(
            Value::Object(node_query("EIO=4&a=1&a=2&a=3&b=%20")).to_string(),
            r#"{"EIO":"4","a":["1","2","3"],"b":" "}"#
        );
    }
}
