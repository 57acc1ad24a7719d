use std::sync::Arc;
use std::time::Duration;

/// The two transports a session can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling: GET to receive, POST to send.
    Polling,
    /// One WebSocket connection.
    WebSocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "polling" => Some(Self::Polling),
            "websocket" => Some(Self::WebSocket),
            _ => None,
        }
    }
}

/// A check run on every handshake and upgrade request; `Err(message)` refuses it
/// with HTTP 403 and `{"code":4,"message":message}`.
pub type RequestCheck = Arc<dyn Fn(&http::request::Parts) -> Result<(), String> + Send + Sync>;

/// Engine.IO server options. Defaults are the reference server's.
#[derive(Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Path the server answers on, with a trailing slash. Default `/engine.io/`.
    pub path: String,
    /// Time between two server pings. Default 25 s.
    pub ping_interval: Duration,
    /// Time the client has to answer a ping. Default 20 s.
    pub ping_timeout: Duration,
    /// Time allowed for an upgrade to finish once its WebSocket is open. Default 10 s.
    pub upgrade_timeout: Duration,
    /// Largest request body or WebSocket message, in bytes. Default 1 000 000.
    pub max_payload: usize,
    /// Transports accepted. Default both.
    pub transports: Vec<TransportKind>,
    /// Whether a polling session may upgrade to WebSocket. Default `true`.
    pub allow_upgrades: bool,
    /// Whether Engine.IO v3 clients (`EIO=3`: engine.io-client 3.x, the
    /// Socket.IO v2 clients) may open sessions; when off they are refused
    /// with 400 and code 5, as Node does. Default `false`.
    pub allow_eio3: bool,
    /// Cross-origin requests; off unless set. Default `None`.
    pub cors: Option<Cors>,
    /// A cookie naming the session, for load-balancer stickiness. Default `None`.
    pub cookie: Option<Cookie>,
    /// Polling responses at least this large are compressed when the client
    /// accepts gzip or deflate; `None` turns compression off. Bodies above
    /// 64 KiB are compressed on tokio's blocking pool, not on the async
    /// worker. Over TLS, compressing answers that mix a secret with data an
    /// attacker can reflect into them is a BREACH-style oracle (Node behaves
    /// the same): turn compression off for such apps. Default 1024 bytes.
    pub http_compression_threshold: Option<usize>,
    /// A check on every handshake and upgrade request. Default none.
    pub allow_request: Option<RequestCheck>,
    /// Bytes that may wait in one session's outbox before a send fails with
    /// [`SendError::Full`](crate::SendError::Full). Default 8 MiB.
    pub max_buffered_bytes: usize,
    /// Bytes that may wait in all sessions' outboxes together, counted per
    /// session (a broadcast frame waiting for ten clients counts ten times,
    /// though its bytes are held once, so the memory they take is at most
    /// this). When a send takes the total over it, the sessions holding the
    /// most are closed first ("transport error"), their queues dropped, until
    /// the total is back under it. Default 1 GiB: 128 sessions full to the
    /// default [`max_buffered_bytes`](Self::max_buffered_bytes), far more than
    /// healthy clients ever leave waiting, and little enough that clients
    /// that stop reading cannot make a server of a few GiB swap or be killed.
    pub max_total_buffered_bytes: usize,
    /// Sessions open at once, over both transports. A handshake beyond it is
    /// refused with HTTP 503 and `{"code":4,"message":"Too many sessions"}`.
    /// Default 100 000.
    pub max_sessions: usize,
    /// Long-polling handshakes in progress: sessions opened over polling whose
    /// client has not made a second request yet. A polling handshake beyond it
    /// is refused with HTTP 503 and
    /// `{"code":4,"message":"Too many handshakes in progress"}`, so a flood of
    /// handshakes that never come back cannot take every session; each such
    /// session ends after `ping_interval + ping_timeout`. (WebSocket handshakes
    /// open their session at once; an upgrade in progress is one per session,
    /// bounded by [`upgrade_timeout`](Self::upgrade_timeout).) Default 10 000.
    pub max_pending_handshakes: usize,
    /// Sessions open at once from one client address (IPv6 counted by /64),
    /// slots for handshakes being answered included: a handshake beyond it is
    /// refused with HTTP 503 and
    /// `{"code":4,"message":"Too many sessions from this address"}`, so one
    /// host cannot take every place of [`max_sessions`](Self::max_sessions).
    /// The address is the TCP peer's ([`ConnectInfo::remote_addr`](crate::ConnectInfo::remote_addr));
    /// requests whose address is unknown are not counted. Default `None`
    /// (off), as in Node: behind a reverse proxy or a large NAT every client
    /// has the same address, and a default would cap the whole server. Under
    /// a proxy you trust, put the client's address (from `X-Forwarded-For`)
    /// in the request's extensions as a `SocketAddr` before the engine.
    pub max_sessions_per_address: Option<usize>,
    /// Polling handshakes in progress (see
    /// [`max_pending_handshakes`](Self::max_pending_handshakes)) from one
    /// client address (IPv6 counted by /64): one beyond it is refused with
    /// HTTP 503 and
    /// `{"code":4,"message":"Too many handshakes in progress from this address"}`.
    /// Default `None` (off), for the reasons given at
    /// [`max_sessions_per_address`](Self::max_sessions_per_address).
    pub max_pending_handshakes_per_address: Option<usize>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            path: "/engine.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            allow_upgrades: true,
            allow_eio3: false,
            cors: None,
            cookie: None,
            http_compression_threshold: Some(1024),
            allow_request: None,
            max_buffered_bytes: 8 << 20,
            max_total_buffered_bytes: 1 << 30,
            max_sessions: 100_000,
            max_pending_handshakes: 10_000,
            max_sessions_per_address: None,
            max_pending_handshakes_per_address: None,
        }
    }
}

/// Every option; the request check shows only whether one is set.
impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_payload", &self.max_payload)
            .field("transports", &self.transports)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("allow_eio3", &self.allow_eio3)
            .field("cors", &self.cors)
            .field("cookie", &self.cookie)
            .field(
                "http_compression_threshold",
                &self.http_compression_threshold,
            )
            .field(
                "allow_request",
                &self.allow_request.as_ref().map(|_| "<check>"),
            )
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("max_total_buffered_bytes", &self.max_total_buffered_bytes)
            .field("max_sessions", &self.max_sessions)
            .field("max_pending_handshakes", &self.max_pending_handshakes)
            .field("max_sessions_per_address", &self.max_sessions_per_address)
            .field(
                "max_pending_handshakes_per_address",
                &self.max_pending_handshakes_per_address,
            )
            .finish()
    }
}

impl EngineConfig {
    /// Sets [`path`](Self::path); a trailing slash is added when missing.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.ends_with('/') {
            path.push('/');
        }
        self.path = path;
        self
    }
    /// Sets [`ping_interval`](Self::ping_interval).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.ping_interval = d;
        self
    }
    /// Sets [`ping_timeout`](Self::ping_timeout).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.ping_timeout = d;
        self
    }
    /// Sets [`upgrade_timeout`](Self::upgrade_timeout).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.upgrade_timeout = d;
        self
    }
    /// Sets [`max_payload`](Self::max_payload).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }
    /// Sets [`transports`](Self::transports).
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        self.transports = transports.into_iter().collect();
        self
    }
    /// Sets [`allow_upgrades`](Self::allow_upgrades).
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.allow_upgrades = allow;
        self
    }
    /// Sets [`allow_eio3`](Self::allow_eio3): whether Engine.IO v3 clients
    /// may connect. Default `false`.
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.allow_eio3 = allow;
        self
    }
    /// Sets [`cors`](Self::cors).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }
    /// Sets [`cookie`](Self::cookie).
    pub fn cookie(mut self, cookie: Cookie) -> Self {
        self.cookie = Some(cookie);
        self
    }
    /// Sets [`http_compression_threshold`](Self::http_compression_threshold)
    /// (default `Some(1024)`; `None` turns compression off).
    pub fn http_compression_threshold(mut self, threshold: Option<usize>) -> Self {
        self.http_compression_threshold = threshold;
        self
    }
    /// Sets [`allow_request`](Self::allow_request).
    pub fn allow_request(
        mut self,
        check: impl Fn(&http::request::Parts) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.allow_request = Some(Arc::new(check));
        self
    }
    /// Sets [`max_buffered_bytes`](Self::max_buffered_bytes).
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_bytes = bytes;
        self
    }
    /// Sets [`max_total_buffered_bytes`](Self::max_total_buffered_bytes).
    pub fn max_total_buffered_bytes(mut self, bytes: usize) -> Self {
        self.max_total_buffered_bytes = bytes;
        self
    }
    /// Sets [`max_sessions`](Self::max_sessions).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }
    /// Sets [`max_pending_handshakes`](Self::max_pending_handshakes).
    pub fn max_pending_handshakes(mut self, max: usize) -> Self {
        self.max_pending_handshakes = max;
        self
    }

    /// Sets [`max_sessions_per_address`](Self::max_sessions_per_address)
    /// (default `None`, no per-address limit).
    pub fn max_sessions_per_address(mut self, max: Option<usize>) -> Self {
        self.max_sessions_per_address = max;
        self
    }
    /// Sets [`max_pending_handshakes_per_address`](Self::max_pending_handshakes_per_address)
    /// (default `None`, no per-address limit).
    pub fn max_pending_handshakes_per_address(mut self, max: Option<usize>) -> Self {
        self.max_pending_handshakes_per_address = max;
        self
    }

    /// How long a v3 session lives without a ping from its client: the
    /// interval plus the timeout, as in Node.
    pub(crate) fn v3_ping_deadline(&self) -> Duration {
        self.ping_interval.saturating_add(self.ping_timeout)
    }

    pub(crate) fn allows(&self, transport: TransportKind) -> bool {
        self.transports.contains(&transport)
    }
}

/// Which origins may make cross-origin requests.
///
/// Only [`List`](Self::List) refuses anything: a request whose `Origin`
/// header names another origin gets `403` and
/// `{"code":4,"message":"Origin not allowed"}`, on the handshake, on every
/// polling request and on the WebSocket upgrade (which browsers do not submit
/// to CORS, so this is what stops cross-site WebSocket hijacking). Requests
/// without an `Origin` header (non-browser clients, same-origin GETs) are
/// served. Without [`EngineConfig::cors`] no origin is checked: set a `List`,
/// or check `Origin` in [`allow_request`](EngineConfig::allow_request), when
/// sessions are authenticated with cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origins {
    /// Any origin may read responses that carry no credentials:
    /// `Access-Control-Allow-Origin: *`. With [`Cors::credentials`] set,
    /// `Access-Control-Allow-Credentials` is still not sent (a credentialed
    /// request then fails in the browser, as it does with Node's `cors` and
    /// `origin: "*"`): an arbitrary site must not read credentialed answers.
    /// Use [`List`](Self::List), or [`Mirror`](Self::Mirror) knowingly.
    Any,
    /// Only these exact origins, e.g. `https://example.com`; the request's
    /// origin is echoed when listed, and a request from any other origin is
    /// refused with 403 (see [`Origins`]).
    List(Vec<String>),
    /// Echoes whatever origin the request names, with
    /// `Access-Control-Allow-Credentials: true` when [`Cors::credentials`] is
    /// set (Node's `cors` with `origin: true`). Every site on the web can then
    /// make credentialed requests and read their answers: only for servers
    /// that authenticate with something other than cookies.
    Mirror,
}

/// Cross-origin resource sharing, as the `cors` options of the reference server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Cors {
    /// Allowed origins. Default [`Origins::Any`].
    pub origins: Origins,
    /// Whether cookies and credentials may be sent. Default `false`.
    pub credentials: bool,
    /// Methods allowed in a preflight answer. Default `GET,HEAD,PUT,PATCH,POST,DELETE`.
    pub methods: String,
}

impl Default for Cors {
    fn default() -> Self {
        Self {
            origins: Origins::Any,
            credentials: false,
            methods: "GET,HEAD,PUT,PATCH,POST,DELETE".into(),
        }
    }
}

impl Cors {
    /// Sets [`origins`](Self::origins).
    pub fn origins(mut self, origins: Origins) -> Self {
        self.origins = origins;
        self
    }
    /// Sets [`credentials`](Self::credentials).
    pub fn credentials(mut self, credentials: bool) -> Self {
        self.credentials = credentials;
        self
    }
    /// Sets [`methods`](Self::methods).
    pub fn methods(mut self, methods: impl Into<String>) -> Self {
        self.methods = methods.into();
        self
    }
}

/// The session cookie set on the handshake response.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Cookie {
    /// Cookie name. Default `io`.
    pub name: String,
    /// Cookie path. Default `/`.
    pub path: String,
    /// Whether the cookie is `HttpOnly`. Default `true`.
    pub http_only: bool,
    /// The `SameSite` attribute (`Strict`, `Lax` or `None`; browsers only
    /// accept `None` with [`secure`](Self::secure)). Default `Lax`.
    pub same_site: String,
    /// Whether the cookie is `Secure`: browsers then send it over HTTPS only,
    /// so the session id never travels in clear. Default `false`, as in Node
    /// (a plain-HTTP deployment would otherwise lose the cookie); set it when
    /// serving over TLS.
    pub secure: bool,
}

impl Default for Cookie {
    fn default() -> Self {
        Self {
            name: "io".into(),
            path: "/".into(),
            http_only: true,
            same_site: "Lax".into(),
            secure: false,
        }
    }
}

impl Cookie {
    /// Sets [`name`](Self::name) (default `io`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// Sets [`path`](Self::path) (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    /// Sets [`http_only`](Self::http_only) (default `true`).
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }
    /// Sets [`same_site`](Self::same_site) (default `Lax`).
    pub fn same_site(mut self, same_site: impl Into<String>) -> Self {
        self.same_site = same_site.into();
        self
    }
    /// Sets [`secure`](Self::secure) (default `false`).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    pub(crate) fn header_value(&self, sid: &str) -> String {
        let mut v = format!("{}={}; Path={}", self.name, sid, self.path);
        if self.http_only {
            v.push_str("; HttpOnly");
        }
        if self.secure {
            v.push_str("; Secure");
        }
        v.push_str("; SameSite=");
        v.push_str(&self.same_site);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        assert_eq!(
            Cookie::default().header_value("abc"),
            "io=abc; Path=/; HttpOnly; SameSite=Lax"
        );
        let cookie = Cookie::default()
            .name("sticky")
            .path("/app")
            .http_only(false)
            .secure(true)
            .same_site("None");
        assert_eq!(
            cookie.header_value("abc"),
            "sticky=abc; Path=/app; Secure; SameSite=None"
        );
    }
    #[test]
    fn debug_shows_the_options_and_whether_a_check_is_set() {
        let config = EngineConfig::default()
            .path("/io")
            .allow_request(|_| Ok(()));
        let shown = format!("{config:?}");
        assert!(shown.contains(r#"path: "/io/""#), "{shown}");
        assert!(
            shown.contains(r#"allow_request: Some("<check>")"#),
            "{shown}"
        );
        let shown = format!("{:?}", EngineConfig::default());
        assert!(shown.contains("allow_request: None"), "{shown}");
    }
}
