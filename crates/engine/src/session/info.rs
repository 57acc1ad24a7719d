use std::fmt;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::SystemTime;

use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};

/// What the handshake request told about the client.
///
/// It lives as long as the connection, so it is kept small: the request target
/// is one allocation, the headers another (their raw bytes, one after the
/// other), and a [`HeaderMap`] is only built when [`headers`](Self::headers) is
/// first called. At most 16 KiB of headers are kept (see [`headers`](Self::headers)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectInfo {
    pub(crate) uri: PathAndQuery,
    pub(crate) headers: Headers,
    pub(crate) remote_addr: Option<SocketAddr>,
    /// Milliseconds since the Unix epoch (Node's `issued`).
    pub(crate) issued: u64,
    /// The request's extensions, less what the engine reads itself (the
    /// address, the TLS mark, hyper's upgrade handle): empty, and no
    /// allocation, unless a layer before the engine added something.
    pub(crate) extensions: http::Extensions,
    pub(crate) secure: bool,
}

/// Marks a request that came over TLS, for
/// [`ConnectInfo::secure`]: the standalone listener adds it to the requests
/// of its TLS connections; under another server, a layer that knows the
/// connection is encrypted may add it to the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Secure;

impl ConnectInfo {
    /// The request's path and query, as `/socket.io/?EIO=4&transport=polling`.
    pub fn path_and_query(&self) -> &str {
        &self.uri.0
    }

    /// The request's path.
    pub fn path(&self) -> &str {
        self.path_and_query()
            .split_once('?')
            .map_or(self.path_and_query(), |(path, _)| path)
    }

    /// The request's query, without its `?`.
    pub fn query(&self) -> Option<&str> {
        self.path_and_query().split_once('?').map(|(_, q)| q)
    }

    /// The request's URI (path and query), built on each call.
    pub fn uri(&self) -> Uri {
        Uri::try_from(self.path_and_query()).unwrap_or_default()
    }

    /// The value of one query parameter, percent-decoding left to the caller.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        query_param(self.query().unwrap_or(""), name)
    }

    /// The request's headers. The map is built on the first call and kept; to
    /// read one header without it, see [`header`](Self::header).
    ///
    /// Headers are kept, in request order, while they fit in 16 KiB (name
    /// and value lengths, plus 2 per header);
    /// one that does not fit any more is left out. The standalone listener
    /// never lets a larger head in; under another server (hyper and axum allow
    /// about 400 KiB) this keeps a session from holding more for its life.
    pub fn headers(&self) -> &HeaderMap {
        self.headers.map()
    }

    /// The first value of a header, by name (case-insensitive), read from the
    /// request's raw headers.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .pairs()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The peer's address, when the server knows it: the standalone listener
    /// always does; under axum, when the app is served with
    /// `into_make_service_with_connect_info::<SocketAddr>()` (with this
    /// crate's `axum` feature); under another server, put a `SocketAddr` in
    /// the request's extensions.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// When the handshake was received (to the millisecond).
    pub fn issued(&self) -> SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.issued)
    }

    /// When the handshake was received, in milliseconds since the Unix
    /// epoch (Node's `handshake.issued`).
    pub fn issued_ms(&self) -> u64 {
        self.issued
    }

    /// Whether the handshake came over TLS (Node's `handshake.secure`): on
    /// the standalone listener with TLS, or when a layer before the engine
    /// marked the request with [`Secure`].
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The extensions of the handshake request, as layers before the engine
    /// left them (a tower auth layer's identity, say), less the ones the
    /// engine reads itself: the peer's address, the [`Secure`] mark and
    /// hyper's upgrade handle. Node's `socket.request` gives the same reach.
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }
}

/// What a session keeps of its handshake request.
///
/// The URI and headers are copied into allocations of their own: hyper's
/// values are slices of the connection's read buffer, and keeping one would
/// keep that whole buffer (8 KiB or more) alive for the session's lifetime.
/// Each is one allocation (see [`ConnectInfo`]): the info lives as long as
/// the session.
pub(crate) fn connect_info(req: &Parts) -> ConnectInfo {
    let path_and_query = req.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut extensions = req.extensions.clone();
    let remote_addr = extensions.remove::<SocketAddr>();
    // axum's `into_make_service_with_connect_info::<SocketAddr>()`.
    #[cfg(feature = "axum")]
    let remote_addr = {
        use axum::extract::ConnectInfo as Axum;
        let axum = extensions.remove::<Axum<SocketAddr>>();
        remote_addr.or(axum.map(|Axum(addr)| addr))
    };
    let secure = extensions.remove::<Secure>().is_some();
    extensions.remove::<hyper::upgrade::OnUpgrade>();
    if extensions.is_empty() {
        // No allocation kept for a map that the removals emptied.
        extensions = http::Extensions::new();
    }
    ConnectInfo {
        uri: path_and_query.into(),
        headers: (&req.headers).into(),
        remote_addr,
        issued: now_ms(),
        extensions,
        secure,
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The most header bytes a [`ConnectInfo`] keeps: 16 KiB, Node's largest
/// request head and the standalone listener's default
/// ([`ServeConfig::max_header_bytes`](crate::ServeConfig::max_header_bytes)),
/// so every header of a request Node would accept is kept.
pub(crate) const MAX_KEPT_HEADER_BYTES: usize = 16 * 1024;

pub(crate) fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

/// A request's path and query, in one allocation.
#[derive(Debug, Clone)]
pub(crate) struct PathAndQuery(Box<str>);

impl From<&str> for PathAndQuery {
    fn from(path_and_query: &str) -> Self {
        Self(path_and_query.into())
    }
}

impl std::str::FromStr for PathAndQuery {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(s))
    }
}

/// A request's headers as `name:value\n` lines in one allocation (a name
/// never holds `:` and a value never holds `\n`), and the [`HeaderMap`] made
/// from them once asked for.
#[derive(Clone, Default)]
pub(crate) struct Headers {
    raw: Box<[u8]>,
    map: OnceLock<Box<HeaderMap>>,
}

impl Headers {
    /// The (name, value) pairs, in the order of the request.
    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.raw
            .split(|b| *b == b'\n')
            .filter_map(|line| {
                line.iter()
                    .position(|b| *b == b':')
                    .map(|i| line.split_at(i))
            })
            .map(|(name, value)| (name, &value[1..]))
    }

    fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| {
            let mut map = HeaderMap::new();
            for (name, value) in self.pairs() {
                // Both were valid in the request they were copied from.
                if let (Ok(name), Ok(value)) =
                    (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
                {
                    map.append(name, value);
                }
            }
            Box::new(map)
        })
    }
}

impl From<&HeaderMap> for Headers {
    /// Copies the headers. A value with a line feed, which only a `HeaderValue`
    /// made with `unsafe` can hold, is left out.
    fn from(headers: &HeaderMap) -> Self {
        let size = |(n, v): (&HeaderName, &HeaderValue)| n.as_str().len() + v.len() + 2;
        let kept = || {
            let mut budget = MAX_KEPT_HEADER_BYTES;
            headers
                .iter()
                .filter(|(_, v)| !v.as_bytes().contains(&b'\n'))
                .filter(move |&header| {
                    let fits = size(header) <= budget;
                    if fits {
                        budget -= size(header);
                    }
                    fits
                })
        };
        let len: usize = kept().map(size).sum();
        if len < headers.iter().map(size).sum::<usize>() {
            tracing::debug!(kept = len, "handshake headers over the limit left out");
        }
        let mut raw = Vec::with_capacity(len);
        for (name, value) in kept() {
            raw.extend_from_slice(name.as_str().as_bytes());
            raw.push(b':');
            raw.extend_from_slice(value.as_bytes());
            raw.push(b'\n');
        }
        Self {
            raw: raw.into_boxed_slice(),
            map: OnceLock::new(),
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.pairs()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(target: &str, headers: &[(&str, &str)]) -> ConnectInfo {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        ConnectInfo {
            uri: target.into(),
            headers: (&map).into(),
            remote_addr: None,
            issued: now_ms(),
            extensions: Default::default(),
            secure: false,
        }
    }

    #[test]
    fn headers_read_back_as_they_came_in_one_allocation() {
        let info = info(
            "/",
            &[
                ("Host", "example.com"),
                ("x-multi", "a"),
                ("cookie", "k=v; w=x:y"),
                ("x-multi", "b"),
                ("x-empty", ""),
            ],
        );
        assert!(info.headers.map.get().is_none(), "no map until asked");
        assert_eq!(info.header("HOST"), Some(&b"example.com"[..]));
        assert_eq!(info.header("cookie"), Some(&b"k=v; w=x:y"[..]));
        assert_eq!(info.header("x-multi"), Some(&b"a"[..]));
        assert_eq!(info.header("x-empty"), Some(&b""[..]));
        assert_eq!(info.header("x-none"), None);
        assert!(info.headers.map.get().is_none());

        let map = info.headers();
        assert_eq!(map.len(), 5);
        assert_eq!(map["host"], "example.com");
        let multi: Vec<_> = map.get_all("x-multi").iter().collect();
        assert_eq!(multi, ["a", "b"]);
        assert!(std::ptr::eq(map, info.headers()), "built once");
        assert!(format!("{info:?}").contains("example.com"));
    }

    #[test]
    fn at_most_16_kib_of_headers_are_kept() {
        let big = "x".repeat(8 * 1024);
        let mut headers = vec![("host", "example.com")];
        headers.extend(std::iter::repeat_n(("x-big", big.as_str()), 50));
        headers.push(("cookie", "k=v"));
        let info = info("/", &headers);
        assert!(info.headers.raw.len() <= MAX_KEPT_HEADER_BYTES);
        assert_eq!(info.header("host"), Some(&b"example.com"[..]));
        assert_eq!(info.header("x-big").map(<[u8]>::len), Some(big.len()));
        // One that fits after others were left out is still kept.
        assert_eq!(info.header("cookie"), Some(&b"k=v"[..]));
        assert_eq!(info.headers().get_all("x-big").iter().count(), 1);
    }

    /// Every session keeps one, behind an `Arc`: with the `Arc`'s counts it
    /// must stay in the allocator's 128-byte class (it was 96 bytes before
    /// the extensions and the TLS mark; `issued` went from a `SystemTime`
    /// to milliseconds to make room).
    #[test]
    fn connect_info_stays_small() {
        let size = std::mem::size_of::<ConnectInfo>();
        eprintln!("size_of::<ConnectInfo>() = {size}");
        assert!(size + 16 <= 120, "ConnectInfo is {size} bytes");
    }

    #[test]
    fn engine_marks_are_not_kept_in_the_extensions() {
        let mut req = http::Request::new(());
        req.extensions_mut()
            .insert(SocketAddr::from(([127, 0, 0, 1], 9)));
        req.extensions_mut().insert(Secure);
        let (parts, ()) = req.into_parts();
        let info = connect_info(&parts);
        assert!(info.secure());
        assert_eq!(info.remote_addr().map(|a| a.port()), Some(9));
        assert!(info.extensions().is_empty());
        assert!(info.issued_ms() > 0);
    }

    #[test]
    fn path_and_query_split() {
        let info = info("/socket.io/?EIO=4&transport=websocket&t", &[]);
        assert_eq!(info.path(), "/socket.io/");
        assert_eq!(info.query(), Some("EIO=4&transport=websocket&t"));
        assert_eq!(info.query_param("transport"), Some("websocket"));
        assert_eq!(info.query_param("t"), Some(""));
        assert_eq!(info.query_param("sid"), None);
        assert_eq!(info.uri().path(), "/socket.io/");
        let bare = super::tests::info("/engine.io/", &[]);
        assert_eq!(bare.path(), "/engine.io/");
        assert_eq!(bare.query(), None);
        assert_eq!(bare.query_param("EIO"), None);
    }
}
