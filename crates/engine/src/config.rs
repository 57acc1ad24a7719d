use std::sync::Arc;
use std::time::Duration;

pub use ferrio_proto::websocket::deflate::DeflateConfig;

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

use crate::Message;
use crate::hooks::{CheckFuture, ConnectionErrorHook, HeadersHook, IdGenerator, RequestCheck};

/// Engine.IO server options. Defaults are the reference server's.
#[derive(Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Path the server answers on, with a trailing slash. Default `/engine.io/`.
    pub path: String,
    /// Whether only requests under `path` with its trailing slash are
    /// answered, as Node's `addTrailingSlash`: when `true`, a request path
    /// must start with `/engine.io/` (`/engine.io?EIO=4` is not the engine's);
    /// when `false`, with `/engine.io`, so `/engine.io?EIO=4`, `/engine.io/`
    /// and `/engine.iofoo` are all answered (Node's prefix test). Other
    /// paths get 404 (or go to the next service, under a layer). Default
    /// `true`.
    pub add_trailing_slash: bool,
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
    /// A message every new session is sent right after its open packet, over
    /// either transport, before the handler hears of the session, as Node's
    /// `initialPacket`. Default `None`.
    pub initial_packet: Option<Message>,
    /// Polling responses at least this large are compressed when the client
    /// accepts gzip or deflate; `None` turns compression off. Bodies above
    /// 64 KiB are compressed on tokio's blocking pool, not on the async
    /// worker. Over TLS, compressing answers that mix a secret with data an
    /// attacker can reflect into them is a BREACH-style oracle (Node behaves
    /// the same): turn compression off for such apps. Default 1024 bytes.
    pub http_compression_threshold: Option<usize>,
    /// permessage-deflate (RFC 7692) on WebSocket connections, when the client
    /// offers it: messages of at least its threshold are compressed, and the
    /// client's compressed messages are inflated within
    /// [`max_payload`](Self::max_payload). Each connection that compresses
    /// with context takeover holds a zlib state (about 370 KiB to compress,
    /// 50 KiB to inflate), made at its first compressed message. Default
    /// `None` (off), as in Node.
    pub per_message_deflate: Option<DeflateConfig>,
    /// A check on every request that opens a session (one without a `sid`;
    /// the requests of an open session, its upgrade included, are not
    /// checked, as in Node). Default none.
    pub allow_request: Option<RequestCheck>,
    /// Makes the id of each new session from its handshake request, as Node's
    /// `generateId`. An id must be 20 characters of `A-Z a-z 0-9 - _` (the
    /// shape of ferrio's own) and not be in use: a handshake whose id is not
    /// is refused with 400 `{"code":3,"message":"Bad request"}`. Default
    /// none: 15 random bytes in URL-safe base64.
    pub generate_id: Option<IdGenerator>,
    /// Called with the headers of the response to each handshake (the first
    /// poll's answer, or the WebSocket's `101`), before they are sent, as
    /// Node's `initial_headers` event. Default none.
    pub initial_headers: Option<HeadersHook>,
    /// Called with the headers of every response the engine gives a request
    /// it served (not the refusals), after
    /// [`initial_headers`](Self::initial_headers), as Node's `headers`
    /// event. Default none.
    pub headers: Option<HeadersHook>,
    /// Told of every refused request with its code, message and context, as
    /// Node's `connection_error` event. Default none.
    pub connection_error: Option<ConnectionErrorHook>,
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
    /// WebSockets that may hold a permessage-deflate context at once (one
    /// that agreed on context takeover in either direction keeps up to about
    /// 420 KiB of zlib state for its life). A WebSocket opened beyond it gets
    /// its offer declined and runs uncompressed, with a warning in the log;
    /// offers without context takeover cost no memory per connection and are
    /// not counted. Node has no such limit. Default 2 500 (about 1 GiB, the
    /// order of [`max_total_buffered_bytes`](Self::max_total_buffered_bytes)).
    pub max_deflate_sessions: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            path: "/engine.io/".into(),
            add_trailing_slash: true,
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            allow_upgrades: true,
            allow_eio3: false,
            cors: None,
            cookie: None,
            initial_packet: None,
            http_compression_threshold: Some(1024),
            per_message_deflate: None,
            allow_request: None,
            generate_id: None,
            initial_headers: None,
            headers: None,
            connection_error: None,
            max_buffered_bytes: 8 << 20,
            max_total_buffered_bytes: 1 << 30,
            max_sessions: 100_000,
            max_pending_handshakes: 10_000,
            max_sessions_per_address: None,
            max_deflate_sessions: 2_500,
            max_pending_handshakes_per_address: None,
        }
    }
}

/// Every option; the request check shows only whether one is set.
impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("add_trailing_slash", &self.add_trailing_slash)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_payload", &self.max_payload)
            .field("transports", &self.transports)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("allow_eio3", &self.allow_eio3)
            .field("cors", &self.cors)
            .field("cookie", &self.cookie)
            .field("initial_packet", &self.initial_packet)
            .field(
                "http_compression_threshold",
                &self.http_compression_threshold,
            )
            .field("per_message_deflate", &self.per_message_deflate)
            .field(
                "allow_request",
                &self.allow_request.as_ref().map(|_| "<check>"),
            )
            .field("generate_id", &self.generate_id.as_ref().map(|_| "<fn>"))
            .field(
                "initial_headers",
                &self.initial_headers.as_ref().map(|_| "<fn>"),
            )
            .field("headers", &self.headers.as_ref().map(|_| "<fn>"))
            .field(
                "connection_error",
                &self.connection_error.as_ref().map(|_| "<fn>"),
            )
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("max_total_buffered_bytes", &self.max_total_buffered_bytes)
            .field("max_sessions", &self.max_sessions)
            .field("max_pending_handshakes", &self.max_pending_handshakes)
            .field("max_sessions_per_address", &self.max_sessions_per_address)
            .field("max_deflate_sessions", &self.max_deflate_sessions)
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
    /// Sets [`add_trailing_slash`](Self::add_trailing_slash) (default `true`).
    pub fn add_trailing_slash(mut self, add: bool) -> Self {
        self.add_trailing_slash = add;
        self
    }
    /// Whether a request for `path` (the URI's path, without its query) is
    /// the engine's: under [`path`](Self::path), with or without its
    /// trailing slash as [`add_trailing_slash`](Self::add_trailing_slash)
    /// says.
    pub fn handles_path(&self, path: &str) -> bool {
        // Node: `(options.path).replace(/\/$/, "")`, plus "/" unless
        // `addTrailingSlash` is false, then a prefix test.
        let base = self.path.strip_suffix('/').unwrap_or(&self.path);
        match (path.strip_prefix(base), self.add_trailing_slash) {
            (Some(rest), true) => rest.starts_with('/'),
            (Some(_), false) => true,
            (None, _) => false,
        }
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
    /// Sets [`initial_packet`](Self::initial_packet): text
    /// (`Message::Text("hello".into())`) or binary (default `None`).
    pub fn initial_packet(mut self, message: Message) -> Self {
        self.initial_packet = Some(message);
        self
    }
    /// Sets [`http_compression_threshold`](Self::http_compression_threshold)
    /// (default `Some(1024)`; `None` turns compression off).
    pub fn http_compression_threshold(mut self, threshold: Option<usize>) -> Self {
        self.http_compression_threshold = threshold;
        self
    }
    /// Sets [`per_message_deflate`](Self::per_message_deflate) (default
    /// `None`: off; `Some(DeflateConfig::default())` is Node's
    /// `perMessageDeflate: true`, threshold 1024 bytes).
    pub fn per_message_deflate(mut self, deflate: Option<DeflateConfig>) -> Self {
        self.per_message_deflate = deflate;
        self
    }
    /// Sets [`allow_request`](Self::allow_request) (default none) to a
    /// check that answers at once.
    pub fn allow_request(
        mut self,
        check: impl Fn(&http::request::Parts) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.allow_request = Some(Arc::new(move |parts| -> CheckFuture {
            Box::pin(std::future::ready(check(parts)))
        }));
        self
    }
    /// Sets [`allow_request`](Self::allow_request) (default none) to a check
    /// that may wait: it reads what it needs of the request, then returns a
    /// future.
    ///
    /// ```
    /// # use ferrio_engine::EngineConfig;
    /// let config = EngineConfig::default().allow_request_async(|req| {
    ///     let token = req.headers.get("x-token").cloned();
    ///     async move {
    ///         // A database lookup would go here.
    ///         match token {
    ///             Some(_) => Ok(()),
    ///             None => Err("no token".to_owned()),
    ///         }
    ///     }
    /// });
    /// ```
    pub fn allow_request_async<F>(
        mut self,
        check: impl Fn(&http::request::Parts) -> F + Send + Sync + 'static,
    ) -> Self
    where
        F: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        self.allow_request = Some(Arc::new(move |parts| -> CheckFuture {
            Box::pin(check(parts))
        }));
        self
    }
    /// Sets [`generate_id`](Self::generate_id) (default none: random ids).
    pub fn generate_id(
        mut self,
        generate: impl Fn(&http::request::Parts) -> String + Send + Sync + 'static,
    ) -> Self {
        self.generate_id = Some(Arc::new(generate));
        self
    }
    /// Sets [`initial_headers`](Self::initial_headers) (default none).
    pub fn initial_headers(
        mut self,
        hook: impl Fn(&mut http::HeaderMap, &http::request::Parts) + Send + Sync + 'static,
    ) -> Self {
        self.initial_headers = Some(Arc::new(hook));
        self
    }
    /// Sets [`headers`](Self::headers) (default none).
    pub fn headers(
        mut self,
        hook: impl Fn(&mut http::HeaderMap, &http::request::Parts) + Send + Sync + 'static,
    ) -> Self {
        self.headers = Some(Arc::new(hook));
        self
    }
    /// Sets [`connection_error`](Self::connection_error) (default none).
    pub fn connection_error(
        mut self,
        hook: impl Fn(&crate::ConnectionError<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.connection_error = Some(Arc::new(hook));
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
    /// Sets [`max_deflate_sessions`](Self::max_deflate_sessions) (default 2 500).
    pub fn max_deflate_sessions(mut self, max: usize) -> Self {
        self.max_deflate_sessions = max;
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
/// Only [`List`](Self::List) and [`Predicate`](Self::Predicate) refuse
/// anything: a request whose `Origin` header names another origin gets `403`
/// and `{"code":4,"message":"Origin not allowed"}`, on the handshake, on
/// every polling request and on the WebSocket upgrade (which browsers do not
/// submit to CORS, so this is what stops cross-site WebSocket hijacking).
/// Requests without an `Origin` header (non-browser clients, same-origin
/// GETs) are served. Without [`EngineConfig::cors`] no origin is checked: set
/// a `List`, or check `Origin` in [`allow_request`](EngineConfig::allow_request),
/// when sessions are authenticated with cookies.
#[derive(Clone)]
#[non_exhaustive]
pub enum Origins {
    /// Any origin may read responses: `Access-Control-Allow-Origin: *`. With
    /// [`Cors::credentials`] set, `Access-Control-Allow-Credentials: true` is
    /// sent too, as Node's `cors` sends it; browsers refuse a credentialed
    /// answer with `*`, so no site can read one. Use [`List`](Self::List),
    /// or [`Mirror`](Self::Mirror) knowingly, for credentialed requests.
    Any,
    /// Only these exact origins, e.g. `https://example.com`; the request's
    /// origin is echoed when listed, and a request from any other origin is
    /// refused with 403 (see [`Origins`]).
    List(Vec<String>),
    /// The origins this function accepts (a regular expression's
    /// `is_match`, say), as Node's `cors` with a `RegExp` or function
    /// `origin`: the request's origin is echoed when accepted, and a request
    /// from any other origin is refused with 403 (see [`Origins`]).
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    /// Echoes whatever origin the request names, with
    /// `Access-Control-Allow-Credentials: true` when [`Cors::credentials`] is
    /// set (Node's `cors` with `origin: true`). Every site on the web can then
    /// make credentialed requests and read their answers: only for servers
    /// that authenticate with something other than cookies.
    Mirror,
}

impl Origins {
    /// Origins accepted by a function (see [`Predicate`](Self::Predicate)).
    pub fn predicate(accepts: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self::Predicate(Arc::new(accepts))
    }
}

impl std::fmt::Debug for Origins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("Any"),
            Self::List(list) => f.debug_tuple("List").field(list).finish(),
            Self::Predicate(_) => f.write_str("Predicate(<fn>)"),
            Self::Mirror => f.write_str("Mirror"),
        }
    }
}

/// Equal when of the same kind with the same list; two predicates are equal
/// when they are the same function.
impl PartialEq for Origins {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Any, Self::Any) | (Self::Mirror, Self::Mirror) => true,
            (Self::List(a), Self::List(b)) => a == b,
            (Self::Predicate(a), Self::Predicate(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Origins {}

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
    /// Headers allowed in a preflight answer (`allowedHeaders`). Default
    /// `None`: the request's `Access-Control-Request-Headers` are echoed.
    pub allowed_headers: Option<String>,
    /// `Access-Control-Expose-Headers` (`exposedHeaders`). Default `None`.
    pub exposed_headers: Option<String>,
    /// `Access-Control-Max-Age` of a preflight answer, in seconds
    /// (`maxAge`). Default `None`.
    pub max_age: Option<u64>,
    /// The status of a preflight answer (`optionsSuccessStatus`). Default 204.
    pub options_success_status: u16,
}

impl Default for Cors {
    fn default() -> Self {
        Self {
            origins: Origins::Any,
            credentials: false,
            methods: "GET,HEAD,PUT,PATCH,POST,DELETE".into(),
            allowed_headers: None,
            exposed_headers: None,
            max_age: None,
            options_success_status: 204,
        }
    }
}

impl Cors {
    /// Sets [`origins`](Self::origins) (default [`Origins::Any`]).
    pub fn origins(mut self, origins: Origins) -> Self {
        self.origins = origins;
        self
    }
    /// Sets [`credentials`](Self::credentials) (default `false`).
    pub fn credentials(mut self, credentials: bool) -> Self {
        self.credentials = credentials;
        self
    }
    /// Sets [`methods`](Self::methods) (default `GET,HEAD,PUT,PATCH,POST,DELETE`).
    pub fn methods(mut self, methods: impl Into<String>) -> Self {
        self.methods = methods.into();
        self
    }
    /// Sets [`allowed_headers`](Self::allowed_headers) (default none: echoed).
    pub fn allowed_headers(mut self, headers: impl Into<String>) -> Self {
        self.allowed_headers = Some(headers.into());
        self
    }
    /// Sets [`exposed_headers`](Self::exposed_headers) (default none).
    pub fn exposed_headers(mut self, headers: impl Into<String>) -> Self {
        self.exposed_headers = Some(headers.into());
        self
    }
    /// Sets [`max_age`](Self::max_age) in seconds (default none).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }
    /// Sets [`options_success_status`](Self::options_success_status) (default 204).
    pub fn options_success_status(mut self, status: u16) -> Self {
        self.options_success_status = status;
        self
    }
}

/// The session cookie set on the handshake response, written as Node's
/// `cookie.serialize` writes it (the same attributes, in the same order).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Cookie {
    /// Cookie name. Default `io`.
    pub name: String,
    /// Cookie path. Default `/`.
    pub path: String,
    /// Whether the cookie is `HttpOnly`. Default `true`.
    pub http_only: bool,
    /// The `SameSite` attribute, `Strict`, `Lax` or `None` in any case
    /// (browsers only accept `None` with [`secure`](Self::secure)); any
    /// other value leaves the attribute out. Default `Lax`.
    pub same_site: String,
    /// Whether the cookie is `Secure`: browsers then send it over HTTPS only,
    /// so the session id never travels in clear. Default `false`, as in Node
    /// (a plain-HTTP deployment would otherwise lose the cookie); set it when
    /// serving over TLS.
    pub secure: bool,
    /// The `Domain` attribute. Default `None`.
    pub domain: Option<String>,
    /// The `Max-Age` attribute, in seconds. Default `None` (a session cookie).
    pub max_age: Option<i64>,
    /// The `Expires` attribute. Default `None`.
    pub expires: Option<std::time::SystemTime>,
    /// Whether the cookie is `Partitioned` (CHIPS). Default `false`.
    pub partitioned: bool,
    /// The `Priority` attribute, `Low`, `Medium` or `High` in any case; any
    /// other value leaves it out. Default `None`.
    pub priority: Option<String>,
}

impl Default for Cookie {
    fn default() -> Self {
        Self {
            name: "io".into(),
            path: "/".into(),
            http_only: true,
            same_site: "Lax".into(),
            secure: false,
            domain: None,
            max_age: None,
            expires: None,
            partitioned: false,
            priority: None,
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
    /// Sets [`domain`](Self::domain) (default none).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }
    /// Sets [`max_age`](Self::max_age) in seconds (default none).
    pub fn max_age(mut self, seconds: i64) -> Self {
        self.max_age = Some(seconds);
        self
    }
    /// Sets [`expires`](Self::expires) (default none).
    pub fn expires(mut self, at: std::time::SystemTime) -> Self {
        self.expires = Some(at);
        self
    }
    /// Sets [`partitioned`](Self::partitioned) (default `false`).
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.partitioned = partitioned;
        self
    }
    /// Sets [`priority`](Self::priority) (default none).
    pub fn priority(mut self, priority: impl Into<String>) -> Self {
        self.priority = Some(priority.into());
        self
    }

    pub(crate) fn header_value(&self, sid: &str) -> String {
        use std::fmt::Write;
        let mut v = format!("{}={}", self.name, sid);
        if let Some(max_age) = self.max_age {
            let _ = write!(v, "; Max-Age={max_age}");
        }
        if let Some(domain) = &self.domain {
            let _ = write!(v, "; Domain={domain}");
        }
        if !self.path.is_empty() {
            let _ = write!(v, "; Path={}", self.path);
        }
        if let Some(expires) = self.expires {
            let _ = write!(v, "; Expires={}", httpdate::fmt_http_date(expires));
        }
        if self.http_only {
            v.push_str("; HttpOnly");
        }
        if self.secure {
            v.push_str("; Secure");
        }
        if self.partitioned {
            v.push_str("; Partitioned");
        }
        let priority = self.priority.as_deref().map(str::to_ascii_lowercase);
        match priority.as_deref() {
            Some("low") => v.push_str("; Priority=Low"),
            Some("medium") => v.push_str("; Priority=Medium"),
            Some("high") => v.push_str("; Priority=High"),
            _ => {}
        }
        match self.same_site.to_ascii_lowercase().as_str() {
            "lax" => v.push_str("; SameSite=Lax"),
            "strict" => v.push_str("; SameSite=Strict"),
            "none" => v.push_str("; SameSite=None"),
            _ => {}
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node's `_computePath` and prefix check, for both settings and for a
    /// path set without its slash or as `/`.
    #[test]
    fn handled_paths_follow_add_trailing_slash() {
        let strict = EngineConfig::default().path("/socket.io");
        assert!(strict.handles_path("/socket.io/"));
        assert!(strict.handles_path("/socket.io/anything"));
        assert!(!strict.handles_path("/socket.io"));
        assert!(!strict.handles_path("/socket.iofoo"));
        let lax = strict.clone().add_trailing_slash(false);
        assert!(lax.handles_path("/socket.io"));
        assert!(lax.handles_path("/socket.iofoo"));
        assert!(lax.handles_path("/socket.io/"));
        assert!(!lax.handles_path("/socket.i"));
        let bare = EngineConfig {
            path: "/io".into(),
            ..EngineConfig::default()
        };
        assert!(bare.handles_path("/io/") && !bare.handles_path("/io"));
        let root = EngineConfig::default().path("/");
        assert!(root.handles_path("/") && root.handles_path("/x"));
    }

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

    /// What Node's `cookie.serialize` (0.7) writes for the same options:
    /// `serialize("io", "abc", {maxAge: 3600, domain: "example.com", path:
    /// "/", expires: new Date(1796182489000), httpOnly: true, secure: true,
    /// partitioned: true, priority: "high", sameSite: "strict"})`.
    #[test]
    fn every_cookie_option_in_nodes_order() {
        let at = std::time::UNIX_EPOCH + Duration::from_millis(1_796_182_489_000);
        let cookie = Cookie::default()
            .max_age(3600)
            .domain("example.com")
            .expires(at)
            .secure(true)
            .partitioned(true)
            .priority("high")
            .same_site("strict");
        assert_eq!(
            cookie.header_value("abc"),
            "io=abc; Max-Age=3600; Domain=example.com; Path=/; \
             Expires=Wed, 02 Dec 2026 03:34:49 GMT; HttpOnly; Secure; Partitioned; \
             Priority=High; SameSite=Strict"
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
