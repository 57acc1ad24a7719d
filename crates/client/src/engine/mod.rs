//! The Engine.IO v4 client: one session over long-polling and/or WebSocket.
//!
//! [`open`] performs the handshake on the first configured transport and hands
//! the session to a driver task. The driver owns the transport: it answers
//! pings, watches for a server that stops pinging, probes and performs the
//! upgrade from polling to WebSocket, and moves frames both ways:
//!
//! ```text
//!  EngineSender ──EngineCmd──▶ driver ──▶ polling POSTs / WebSocket frames
//!  events ◀──EngineEvent───── driver ◀── polling GETs / WebSocket frames
//! ```
//!
//! The Socket.IO layer above sees only text and binary messages and, at the
//! end, one [`EngineEvent::Closed`] with the reason.

mod deflate;
mod driver;
mod packet;
mod polling;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio_proto::engine::Handshake;
use http::HeaderMap;
use tokio::sync::mpsc;

use packet::InPacket;
use websocket::WsStream;

use crate::{Error, TransportKind};

/// How many engine events may wait for the Socket.IO layer before the driver
/// stops reading from the transport.
const EVENT_QUEUE: usize = 64;

/// What the driver needs to know to open and run a session.
#[derive(Debug, Clone)]
pub(crate) struct EngineConfig {
    /// `true` for `https`/`wss`.
    pub secure: bool,
    /// `host:port`.
    pub authority: String,
    /// The Engine.IO path, with its trailing slash (`/socket.io/`).
    pub path: String,
    /// Extra query, already encoded (`a=1&b=2`), possibly empty.
    pub query: String,
    /// Headers added to every HTTP request and to the WebSocket handshake.
    pub headers: HeaderMap,
    /// Transports in the order they are tried; the first opens the session.
    pub transports: Vec<TransportKind>,
    /// Whether a polling session upgrades to WebSocket.
    pub upgrade: bool,
    /// The largest message or polling response accepted from the server.
    pub max_message_size: usize,
    /// For `https`/`wss`: the rustls configuration, or why it could not be
    /// made (reported when connecting). `None` for `http`/`ws`.
    pub tls: Option<Result<Arc<rustls::ClientConfig>, Error>>,
    /// permessage-deflate offered on WebSockets, if any.
    pub per_message_deflate: Option<ferrio_proto::websocket::deflate::DeflateConfig>,
}

impl EngineConfig {
    /// The rustls configuration of a secure connection; `None` for `http`/`ws`.
    pub(crate) fn tls(&self) -> Result<Option<Arc<rustls::ClientConfig>>, Error> {
        self.tls.clone().transpose()
    }

    /// The URL of an Engine.IO request on `transport`, for session `sid`.
    pub(crate) fn url(&self, transport: TransportKind, sid: Option<&str>) -> String {
        let scheme = match (transport, self.secure) {
            (TransportKind::Polling, false) => "http",
            (TransportKind::Polling, true) => "https",
            (TransportKind::WebSocket, false) => "ws",
            (TransportKind::WebSocket, true) => "wss",
        };
        let mut url = format!(
            "{scheme}://{}{}?EIO=4&transport={}",
            self.authority,
            self.path,
            transport.as_str()
        );
        if let Some(sid) = sid {
            url.push_str("&sid=");
            url.push_str(&crate::url::encode_component(sid));
        }
        if transport == TransportKind::Polling {
            // A cache buster, as engine.io-client's `timestampRequests`.
            url.push_str("&t=");
            url.push_str(&crate::url::timestamp());
        }
        if !self.query.is_empty() {
            url.push('&');
            url.push_str(&self.query);
        }
        url
    }
}

/// One frame of an Engine.IO packet, ready for any transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutPacket {
    /// A text packet: its type character, then its data (`4…`, `3`, `1`).
    Text(String),
    /// A binary message: only its bytes.
    Binary(Bytes),
}

/// What the Socket.IO layer asks of the driver.
#[derive(Debug)]
pub(crate) enum EngineCmd {
    /// Send these frames, in order, together when the transport allows.
    Send(Vec<OutPacket>),
    /// Close the session (after what was queued before).
    Close,
}

/// What the driver reports to the Socket.IO layer.
#[derive(Debug)]
pub(crate) enum EngineEvent {
    /// A text message (the data after the `4`).
    Message(String),
    /// A binary message.
    Binary(Bytes),
    /// The session moved to another transport.
    Upgraded(TransportKind),
    /// The session ended; nothing follows.
    Closed(CloseReason),
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// No ping within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The server closed the connection (or sent a close packet).
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The server sent something that is not Engine.IO (or Socket.IO).
    ParseError,
    /// The client closed the session.
    Forced,
}

/// Which transport a report comes from (kept here, beside the driver and the
/// transports, so neither imports the other for it); reports of a transport that is no
/// longer active are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Polling,
    WebSocket,
}

/// What the transport tasks report to the driver.
#[derive(Debug)]
pub(crate) enum TransportEvent {
    /// Packets received, in order.
    Packets(Source, Vec<InPacket>),
    /// The transport ended.
    Closed(Source, CloseReason),
    /// The GET loop stopped after its last poll, as asked for the upgrade.
    PollPaused,
    /// A POST finished.
    PostDone(Result<(), Error>),
    /// The upgrade probe finished.
    ProbeDone(Result<Box<WsStream>, Error>),
}

/// Sends commands to a session's driver; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct EngineSender(mpsc::UnboundedSender<EngineCmd>);

impl EngineSender {
    /// Queues frames; `false` if the session is gone.
    pub(crate) fn send(&self, frames: Vec<OutPacket>) -> bool {
        self.0.send(EngineCmd::Send(frames)).is_ok()
    }

    /// Asks the driver to close the session.
    pub(crate) fn close(&self) {
        let _ = self.0.send(EngineCmd::Close);
    }
}

/// An open session.
#[derive(Debug)]
pub(crate) struct EngineConn {
    /// The server's handshake.
    pub handshake: Handshake,
    /// The transport the session opened on.
    pub transport: TransportKind,
    /// Where to send frames.
    pub sender: EngineSender,
    /// What the session receives, then how it ended.
    pub events: mpsc::Receiver<EngineEvent>,
}

/// Opens a session on the first configured transport.
///
/// Fails if the server cannot be reached or its handshake is not valid. On
/// success the driver task runs until the session ends.
pub(crate) async fn open(config: Arc<EngineConfig>) -> Result<EngineConn, Error> {
    let first = *config
        .transports
        .first()
        .ok_or_else(|| Error::config("no transport configured"))?;
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE);
    let (handshake, driver) = match first {
        TransportKind::Polling => {
            let (polling, handshake, rest) = polling::Polling::open(config.clone()).await?;
            let driver =
                driver::Driver::polling(config, &handshake, polling, rest, cmd_rx, event_tx);
            (handshake, driver)
        }
        TransportKind::WebSocket => {
            let (ws, handshake) = websocket::open(&config).await?;
            let driver = driver::Driver::websocket(config, &handshake, ws, cmd_rx, event_tx);
            (handshake, driver)
        }
    };
    tracing::debug!(sid = %handshake.sid, transport = first.as_str(), "engine.io session open");
    tokio::spawn(driver.run());
    Ok(EngineConn {
        handshake,
        transport: first,
        sender: EngineSender(cmd_tx),
        events: event_rx,
    })
}

/// The time after the last ping at which the server is taken as gone.
pub(crate) fn heartbeat_deadline(handshake: &Handshake) -> Duration {
    Duration::from_millis(
        handshake
            .ping_interval
            .saturating_add(handshake.ping_timeout),
    )
}
