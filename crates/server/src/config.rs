use std::path::PathBuf;
use std::time::Duration;

use ferrio_engine::EngineConfig;
use ferrio_proto::socketio::DecoderConfig;

/// Socket.IO server options. Defaults are the reference server's.
#[derive(Clone)]
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
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default().path("/socket.io/"),
            connect_timeout: Duration::from_millis(45_000),
            decoder: DecoderConfig::default(),
            serve_client: None,
            max_pending_packets: 64,
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
    /// Sets [`serve_client`](Self::serve_client): serve the browser client
    /// from this `dist/` folder.
    pub fn serve_client(mut self, dir: impl Into<PathBuf>) -> Self {
        self.serve_client = Some(dir.into());
        self
    }
}
