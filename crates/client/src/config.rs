//! Options of a manager (one connection), with socket.io-client's defaults.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use ferrio_proto::socketio::{DecoderConfig, Parser};
use ferrio_proto::websocket::deflate::DeflateConfig;

use crate::Certificate;

/// The transports Engine.IO can run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// HTTP long-polling: a pending GET receives, POSTs send.
    Polling,
    /// One WebSocket connection.
    WebSocket,
}

impl TransportKind {
    /// The name used on the wire (`transport=polling`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }
}

/// Options of a [`Manager`](crate::Manager): how to reach the server, and how
/// to reconnect. Every default is socket.io-client 4.8's.
///
/// ```
/// use std::time::Duration;
/// use ferrio_client::{ManagerConfig, TransportKind};
///
/// let config = ManagerConfig::default()
///     .transports([TransportKind::WebSocket])
///     .reconnection_delay(Duration::from_millis(200))
///     .query([("token", "abc")]);
/// assert_eq!(config.reconnection_delay_max, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManagerConfig {
    /// The Engine.IO path on the server. Default `/socket.io` (a trailing `/`
    /// is added, as the reference client's `addTrailingSlash`).
    pub path: String,
    /// Query parameters added to every request, after those of the URL.
    /// Default none.
    pub query: Vec<(String, String)>,
    /// Headers added to every HTTP request and to the WebSocket handshake
    /// (`extraHeaders`). Default none.
    pub extra_headers: HeaderMap,
    /// Transports in order of preference: the session opens on the first; when
    /// it is polling and WebSocket is listed too, it upgrades. Default
    /// `[Polling, WebSocket]`.
    pub transports: Vec<TransportKind>,
    /// Whether a polling session upgrades to WebSocket. Default `true`.
    pub upgrade: bool,
    /// Whether to reconnect after a lost connection. Default `true`.
    pub reconnection: bool,
    /// How many attempts in a row before giving up (`reconnect_failed`).
    /// Default `None`: never give up.
    pub reconnection_attempts: Option<u32>,
    /// The delay before the first attempt, doubled on each next one. Default 1 s.
    pub reconnection_delay: Duration,
    /// The longest delay between attempts. Default 5 s.
    pub reconnection_delay_max: Duration,
    /// Jitter: each delay is moved by up to this fraction of itself, up or down.
    /// Default 0.5.
    pub randomization_factor: f64,
    /// How long opening a connection may take before it counts as failed.
    /// Default 20 s.
    pub timeout: Duration,
    /// Whether sockets connect as soon as they are built. Default `true`.
    pub auto_connect: bool,
    /// The largest WebSocket message or polling response accepted from the
    /// server, in bytes. Default 64 MiB.
    pub max_message_size: usize,
    /// permessage-deflate offered on WebSockets (as Node's client, over `ws`,
    /// offers it): when the server agrees, its compressed messages are
    /// inflated, within `max_message_size`. The client sends its own
    /// uncompressed. Default `None` (not offered).
    pub per_message_deflate: Option<DeflateConfig>,
    /// Limits on the Socket.IO packets the server sends: attachments per
    /// packet, JSON nesting depth, and JSON values per packet
    /// ([`max_json_values`](DecoderConfig::max_json_values), default 10 000,
    /// which bounds the memory one packet's arguments can take). Default
    /// [`DecoderConfig::default`].
    pub decoder: DecoderConfig,
    /// The packet format, as socket.io-client's `parser` option:
    /// [`Parser::Default`] (`socket.io-parser`) or [`Parser::MsgPack`]
    /// (`socket.io-msgpack-parser`); the server must use the same one.
    /// [`decoder`](Self::decoder)'s depth and value limits apply to both.
    /// Default [`Parser::Default`].
    pub parser: Parser,
    /// Certificates trusted as roots for `https`/`wss`, besides the
    /// platform's (Node's `ca` option): a private CA, or a server's
    /// self-signed certificate. Default none.
    pub tls_root_certificates: Vec<Certificate>,
    /// Whether `https`/`wss` trust the platform's root certificates (read
    /// once per process). Default `true`.
    pub tls_built_in_roots: bool,
    /// A rustls configuration of one's own (client certificates, another
    /// verifier, ...), used as is for `https`/`wss` (its ALPN list is
    /// cleared): the two options above are then ignored. Default none.
    pub tls_config: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            path: "/socket.io".into(),
            query: Vec::new(),
            extra_headers: HeaderMap::new(),
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            upgrade: true,
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            timeout: Duration::from_millis(20_000),
            auto_connect: true,
            max_message_size: 64 << 20,
            per_message_deflate: None,
            decoder: DecoderConfig::default(),
            parser: Parser::Default,
            tls_root_certificates: Vec::new(),
            tls_built_in_roots: true,
            tls_config: None,
        }
    }
}

impl ManagerConfig {
    /// Sets [`path`](Self::path).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets [`query`](Self::query).
    pub fn query<K: Into<String>, V: Into<String>>(
        mut self,
        query: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.query = query
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sets [`extra_headers`](Self::extra_headers).
    pub fn extra_headers(mut self, headers: HeaderMap) -> Self {
        self.extra_headers = headers;
        self
    }

    /// Sets [`transports`](Self::transports).
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        self.transports = transports.into_iter().collect();
        self
    }

    /// Sets [`upgrade`](Self::upgrade).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.upgrade = upgrade;
        self
    }

    /// Sets [`reconnection`](Self::reconnection).
    pub fn reconnection(mut self, reconnection: bool) -> Self {
        self.reconnection = reconnection;
        self
    }

    /// Sets [`reconnection_attempts`](Self::reconnection_attempts).
    pub fn reconnection_attempts(mut self, attempts: Option<u32>) -> Self {
        self.reconnection_attempts = attempts;
        self
    }

    /// Sets [`reconnection_delay`](Self::reconnection_delay).
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.reconnection_delay = delay;
        self
    }

    /// Sets [`reconnection_delay_max`](Self::reconnection_delay_max).
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.reconnection_delay_max = delay;
        self
    }

    /// Sets [`randomization_factor`](Self::randomization_factor).
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.randomization_factor = factor;
        self
    }

    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`auto_connect`](Self::auto_connect).
    pub fn auto_connect(mut self, auto_connect: bool) -> Self {
        self.auto_connect = auto_connect;
        self
    }

    /// Sets [`decoder`](Self::decoder), the Socket.IO decoder's limits.
    pub fn decoder(mut self, decoder: DecoderConfig) -> Self {
        self.decoder = decoder;
        self
    }

    /// Sets [`parser`](Self::parser) (default [`Parser::Default`]).
    pub fn parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }

    /// Sets [`max_message_size`](Self::max_message_size).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`per_message_deflate`](Self::per_message_deflate) (default
    /// `None`: not offered).
    pub fn per_message_deflate(mut self, deflate: Option<DeflateConfig>) -> Self {
        self.per_message_deflate = deflate;
        self
    }

    /// Sets [`tls_root_certificates`](Self::tls_root_certificates).
    pub fn tls_root_certificates(mut self, certs: impl IntoIterator<Item = Certificate>) -> Self {
        self.tls_root_certificates = certs.into_iter().collect();
        self
    }

    /// Sets [`tls_built_in_roots`](Self::tls_built_in_roots).
    pub fn tls_built_in_roots(mut self, enabled: bool) -> Self {
        self.tls_built_in_roots = enabled;
        self
    }

    /// Sets [`tls_config`](Self::tls_config).
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }
}
