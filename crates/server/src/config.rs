use std::path::PathBuf;
use std::time::Duration;

use ferrio_engine::EngineConfig;
use ferrio_proto::socketio::{DecoderConfig, Parser};

use crate::RecoveryConfig;

/// Socket.IO server options. Defaults are the reference server's.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SocketIoConfig {
    /// The Engine.IO options; the path defaults to `/socket.io/` here.
    pub engine: EngineConfig,
    /// Time a connection has to join a namespace before it is closed. Default 45 s.
    pub connect_timeout: Duration,
    /// Limits on incoming packets (attachments, JSON depth). Default: 10
    /// attachments, depth 64.
    pub decoder: DecoderConfig,
    /// A folder holding the official browser client's bundles
    /// (`node_modules/socket.io-client/dist`), served at `<path>socket.io.js`,
    /// `socket.io.min.js`, `socket.io.esm.min.js`, `socket.io.msgpack.min.js`
    /// and their `.map` files, as the reference server's `serveClient`.
    /// Default `None`: ferrio does not ship the bundle.
    pub serve_client: Option<PathBuf>,
    /// Packets a client may send to a namespace while its connection
    /// middleware (or the first part of its connection handlers) still runs;
    /// they wait and are handled in order once the socket is connected. One
    /// more closes the connection ("forced close"). Together with the payload
    /// limit this bounds what such a client makes the server buffer. Default 64.
    pub max_pending_packets: usize,
    /// Bytes (on the wire, binary attachments included) a client may have
    /// waiting for namespaces still connecting, every namespace together; a
    /// packet past it closes the connection ("forced close"), as one past
    /// [`max_pending_packets`](Self::max_pending_packets) does. The first
    /// packet waiting is always accepted: its size is bounded by the payload
    /// and attachment limits already. Default 1 MiB (1 048 576), about the
    /// default `max_payload`: a client's first emits rarely come close.
    pub max_pending_bytes: usize,
    /// Time a binary packet may take to receive all its attachments, counted
    /// from its text header. Past it the connection is closed with "parse
    /// error" and what was received of the packet is dropped (the reference
    /// server has no such limit; socketioxide's default is the same).
    /// Default 60 s.
    pub packet_completion_timeout: Duration,
    /// Time an `emit_with_ack` waits for its acknowledgement when no
    /// `timeout(…)` is given, on one socket or in a broadcast; past it the
    /// waiter is forgotten and the emit fails with
    /// [`AckError::Timeout`](crate::AckError::Timeout). The reference server
    /// waits forever; socketioxide's default is the same. Default 5 s.
    pub ack_timeout: Duration,
    /// Whether a dynamic namespace's child (made by `of_pattern` or `of_fn`)
    /// is removed once its last socket is gone, as the reference server's
    /// `cleanupEmptyChildNamespaces`. Default `false`, as there: each child
    /// name a client connects to then stays for the server's life.
    pub cleanup_empty_child_namespaces: bool,
    /// The longest namespace name (bytes) a CONNECT may create a dynamic child
    /// for; a longer one matches no dynamic namespace and gets CONNECT_ERROR
    /// "Invalid namespace", as any unknown name. Static namespaces are found
    /// whatever their length. Default 256.
    pub max_namespace_len: usize,
    /// The namespaces one client may be in (or connecting to) at once: a
    /// CONNECT beyond it gets CONNECT_ERROR "Too many namespaces" and the
    /// connection goes on. Node has no such limit; without one, a single
    /// connection could hold a socket (and a dynamic child namespace) per
    /// CONNECT it sends, past `max_sessions`. Default 100.
    pub max_namespaces_per_client: usize,
    /// Connection state recovery: a client that lost its connection for a
    /// while gets back its id, rooms and data, and every packet it missed
    /// (Node's `connectionStateRecovery`). Default `None`: off, and then it
    /// costs nothing.
    pub connection_state_recovery: Option<RecoveryConfig>,
    /// The packet format, as the reference server's `parser` option:
    /// [`Parser::Default`] (`socket.io-parser`) or [`Parser::MsgPack`]
    /// (`socket.io-msgpack-parser`, each packet one binary MessagePack
    /// message). Every client must use the same one; one with the other
    /// parser has its connection closed at its first packet, as in Node.
    /// [`decoder`](Self::decoder)'s depth and value limits apply to both.
    /// Default [`Parser::Default`].
    pub parser: Parser,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default().path("/socket.io/"),
            connect_timeout: Duration::from_millis(45_000),
            decoder: DecoderConfig::default(),
            serve_client: None,
            max_pending_packets: 64,
            max_pending_bytes: 1 << 20,
            packet_completion_timeout: Duration::from_secs(60),
            ack_timeout: Duration::from_secs(5),
            cleanup_empty_child_namespaces: false,
            max_namespace_len: 256,
            max_namespaces_per_client: 100,
            connection_state_recovery: None,
            parser: Parser::Default,
        }
    }
}

impl SocketIoConfig {
    /// Sets [`engine`](Self::engine).
    pub fn engine(mut self, engine: EngineConfig) -> Self {
        self.engine = engine;
        self
    }
    /// Changes the Engine.IO options in place.
    pub fn with_engine(mut self, f: impl FnOnce(EngineConfig) -> EngineConfig) -> Self {
        self.engine = f(self.engine);
        self
    }
    /// Lets Socket.IO v2 clients (Engine.IO v3) connect: sets the engine's
    /// [`allow_eio3`](EngineConfig::allow_eio3). Default `false`, as in
    /// Node; the README lists what of v2 is supported.
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.engine.allow_eio3 = allow;
        self
    }
    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sets [`decoder`](Self::decoder).
    pub fn decoder(mut self, decoder: DecoderConfig) -> Self {
        self.decoder = decoder;
        self
    }
    /// Sets [`max_pending_packets`](Self::max_pending_packets).
    pub fn max_pending_packets(mut self, max: usize) -> Self {
        self.max_pending_packets = max;
        self
    }
    /// Sets [`max_pending_bytes`](Self::max_pending_bytes) (default 1 MiB).
    pub fn max_pending_bytes(mut self, bytes: usize) -> Self {
        self.max_pending_bytes = bytes;
        self
    }
    /// Sets [`packet_completion_timeout`](Self::packet_completion_timeout)
    /// (default 60 s).
    pub fn packet_completion_timeout(mut self, timeout: Duration) -> Self {
        self.packet_completion_timeout = timeout;
        self
    }
    /// Sets [`ack_timeout`](Self::ack_timeout) (default 5 s).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }
    /// Sets [`cleanup_empty_child_namespaces`](Self::cleanup_empty_child_namespaces)
    /// (default `false`).
    pub fn cleanup_empty_child_namespaces(mut self, cleanup: bool) -> Self {
        self.cleanup_empty_child_namespaces = cleanup;
        self
    }
    /// Sets [`max_namespace_len`](Self::max_namespace_len) (default 256).
    pub fn max_namespace_len(mut self, bytes: usize) -> Self {
        self.max_namespace_len = bytes;
        self
    }
    /// Sets [`max_namespaces_per_client`](Self::max_namespaces_per_client)
    /// (default 100).
    pub fn max_namespaces_per_client(mut self, max: usize) -> Self {
        self.max_namespaces_per_client = max;
        self
    }
    /// Turns [`connection_state_recovery`](Self::connection_state_recovery)
    /// on with these settings (default off).
    pub fn connection_state_recovery(mut self, recovery: RecoveryConfig) -> Self {
        self.connection_state_recovery = Some(recovery);
        self
    }
    /// Sets [`parser`](Self::parser) (default [`Parser::Default`]).
    pub fn parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }
    /// Sets [`serve_client`](Self::serve_client): serve the browser client
    /// from this `dist/` folder.
    pub fn serve_client(mut self, dir: impl Into<PathBuf>) -> Self {
        self.serve_client = Some(dir.into());
        self
    }
}
