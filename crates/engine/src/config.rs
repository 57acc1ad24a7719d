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
    /// Cross-origin requests; off unless set. Default `None`.
    pub cors: Option<Cors>,
    /// A cookie naming the session, for load-balancer stickiness. Default `None`.
    pub cookie: Option<Cookie>,
    /// Polling responses at least this large are compressed when the client
    /// accepts gzip or deflate; `None` turns compression off. Default 1024 bytes.
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
            cors: None,
            cookie: None,
            http_compression_threshold: Some(1024),
            allow_request: None,
            max_buffered_bytes: 8 << 20,
            max_total_buffered_bytes: 1 << 30,
            max_sessions: 100_000,
            max_pending_handshakes: 10_000,
        }
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
    /// Sets [`http_compression_threshold`](Self::http_compression_threshold).
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

    pub(crate) fn allows(&self, transport: TransportKind) -> bool {
        self.transports.contains(&transport)
    }
}

/// Which origins may make cross-origin requests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origins {
    /// Any origin (`Access-Control-Allow-Origin: *`, or the request's origin when
    /// credentials are allowed, as browsers require).
    Any,
    /// Only these exact origins, e.g. `https://example.com`.
    List(Vec<String>),
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
    /// The `SameSite` attribute. Default `Lax`.
    pub same_site: String,
}

impl Default for Cookie {
    fn default() -> Self {
        Self {
            name: "io".into(),
            path: "/".into(),
            http_only: true,
            same_site: "Lax".into(),
        }
    }
}

impl Cookie {
    /// Sets [`name`](Self::name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub(crate) fn header_value(&self, sid: &str) -> String {
        let mut v = format!("{}={}; Path={}", self.name, sid, self.path);
        if self.http_only {
            v.push_str("; HttpOnly");
        }
        v.push_str("; SameSite=");
        v.push_str(&self.same_site);
        v
    }
}
