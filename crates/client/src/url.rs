//! Reading the URL a user gives, and writing query strings.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use http::Uri;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::Error;

/// Where to connect, read from a URL such as `http://host:3000/admin?x=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerUrl {
    /// `https` or `wss`.
    pub secure: bool,
    /// `host[:port]`.
    pub authority: String,
    /// The namespace: the URL's path, `/` when empty.
    pub nsp: String,
    /// The URL's query, as written (without `?`), possibly empty.
    pub query: String,
}

impl ServerUrl {
    /// Reads a `http`, `https`, `ws` or `wss` URL.
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::config(format!("invalid URL {url:?}: {e}")))?;
        let secure = match uri.scheme_str() {
            Some("http" | "ws") => false,
            Some("https" | "wss") => true,
            Some(other) => {
                return Err(Error::config(format!(
                    "unsupported scheme {other:?} in {url:?}: use http, https, ws or wss"
                )));
            }
            None => return Err(Error::config(format!("no scheme in {url:?}"))),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| Error::config(format!("no host in {url:?}")))?
            .to_string();
        let nsp = match uri.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        };
        Ok(Self {
            secure,
            authority,
            nsp,
            query: uri.query().unwrap_or_default().to_owned(),
        })
    }

    /// Identifies the server (scheme, host, port) for the manager cache.
    pub(crate) fn origin(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }
}

/// What JavaScript's `encodeURIComponent` encodes: all but ASCII letters,
/// digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Percent-encodes like JavaScript's `encodeURIComponent`.
pub(crate) fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// Encodes pairs as `k=v&k2=v2`.
pub(crate) fn encode_query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                encode_component(k.as_ref()),
                encode_component(v.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A value that differs between requests, for the `t` cache buster.
pub(crate) fn timestamp() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{millis:x}.{n:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urls() {
        let t = ServerUrl::parse("http://localhost:3000/admin?token=a%20b").unwrap();
        assert_eq!(
            t,
            ServerUrl {
                secure: false,
                authority: "localhost:3000".into(),
                nsp: "/admin".into(),
                query: "token=a%20b".into(),
            }
        );
        assert_eq!(t.origin(), "http://localhost:3000");
        let t = ServerUrl::parse("ws://example.com").unwrap();
        assert!(!t.secure);
        assert_eq!(t.nsp, "/");
        let t = ServerUrl::parse("wss://example.com:8443/admin").unwrap();
        assert!(t.secure);
        assert_eq!(t.origin(), "https://example.com:8443");
        assert!(ServerUrl::parse("ftp://x").unwrap_err().is_config());
        assert!(ServerUrl::parse("/just/a/path").unwrap_err().is_config());
    }

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode_component("Az09-_.!~*'()"), "Az09-_.!~*'()");
        assert_eq!(encode_query(&[("k", "v 1"), ("x", "")]), "k=v%201&x=");
        assert_ne!(timestamp(), timestamp());
    }

    #[test]
    fn encodes_the_edge_cases_as_javascript_does() {
        // `+` is data, not a space; a space is `%20`, never `+`.
        assert_eq!(encode_component("a+b c"), "a%2Bb%20c");
        // A `%`, alone or before hex digits, is itself encoded.
        assert_eq!(encode_component("%"), "%25");
        assert_eq!(encode_component("%2B"), "%252B");
        // Every reserved character of a URL is encoded.
        assert_eq!(
            encode_component(";/?:@&=+$,#"),
            "%3B%2F%3F%3A%40%26%3D%2B%24%2C%23"
        );
        // UTF-8 byte by byte, upper-case hex: two, three and four bytes.
        assert_eq!(encode_component("é€😀"), "%C3%A9%E2%82%AC%F0%9F%98%80");
        assert_eq!(encode_component("\0\u{7f}"), "%00%7F");
        assert_eq!(
            encode_query(&[("a+b", "%"), ("é", "x y")]),
            "a%2Bb=%25&%C3%A9=x%20y"
        );
    }
}
