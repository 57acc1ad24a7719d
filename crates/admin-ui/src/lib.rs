//! The server side of the [Socket.IO Admin UI](https://admin.socket.io) for
//! ferrio: [`instrument`] does what `instrument(io, options)` of
//! `@socket.io/admin-ui` 0.5.1 does for a Node server, so the official
//! dashboard (hosted, or served from `@socket.io/admin-ui/ui/dist`) shows a
//! ferrio server unchanged.
//!
//! ```no_run
//! use ferrio::SocketIo;
//! use ferrio_admin_ui::{Auth, Options, instrument};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let io = SocketIo::new();
//! // bcrypt hash of "changeit" (bcryptjs's `hashSync("changeit", 10)`)
//! let hash = "$2a$10$8NQtXMSmBuqi4XvauZttw.q333f/ix0ubhBperzVveRCcnp2vFFeu";
//! instrument(&io, Options::new(Auth::basic("admin", hash)))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! io.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! # The wire protocol (read from `@socket.io/admin-ui` 0.5.1's `dist/index.js`)
//!
//! The dashboard is a socket.io-client connected to the admin namespace
//! (`/admin` by default), with `withCredentials`, over polling then
//! WebSocket (or WebSocket only), the default or msgpack parser.
//!
//! **Auth.** With basic auth, the handshake's `auth` is
//! `{username, password}` or, on a reconnect, `{sessionId}`. A session id in
//! the store is enough; otherwise the username must match exactly and the
//! password the bcrypt hash. Then a new session id (8 random bytes, hex) is
//! saved and sent as `session(sessionId)`. Anything else: `CONNECT_ERROR`
//! `{"message":"invalid credentials"}`. (Node emits `session` from the
//! middleware, before `CONNECT`, and the client holds it until connected;
//! ferrio sends it first thing after `CONNECT`: the client sees the same.)
//!
//! **On connecting**, the admin socket is sent `config({supportedFeatures})`:
//! `EMIT, JOIN, LEAVE, DISCONNECT, MJOIN, MLEAVE, MDISCONNECT` unless
//! read-only, then `AGGREGATED_EVENTS`, and `ALL_EVENTS` in development mode;
//! then, in development mode only, `all_sockets([socket…])` with every
//! socket of every namespace (`fetchSockets`, so cluster-wide).
//!
//! **A socket** is `{id, clientId, transport, nsp, data, handshake, rooms}`:
//! `clientId` is the first 12 characters of the Engine.IO session id and
//! `transport` its transport when the socket connected, both kept in the
//! socket's data under `_admin` (which `data` leaves out);
//! `handshake` is `{address, headers, query, issued, secure, time, url,
//! xdomain}` (`address` from `cf-connecting-ip`, else `x-forwarded-for`,
//! else the peer; no `auth`).
//!
//! **Every 2 s** (the first at `instrument`), to the admin namespace:
//! `server_stats({serverId, hostname, pid, uptime, clientsCount,
//! pollingClientsCount, aggregatedEvents, namespaces})`; `namespaces` is
//! `[{name, socketsCount}]`; `aggregatedEvents` is
//! `[{timestamp, type, subType?, count}]` counted per second since the last
//! stats: `rawConnection`, `rawDisconnection` (subType: the reason),
//! `packetsIn`/`bytesIn` and `packetsOut`/`bytesOut` (Engine.IO messages
//! with data and their bytes; Node also counts its open packet and an
//! upgrade's probe, ferrio only messages). ferrio counts messages and bytes
//! in atomics and stamps them with the second of the `server_stats` that
//! carries them (the dashboard charts them in 10 s buckets).
//!
//! **In development mode**, as they happen, to the admin namespace (dates
//! are JSON dates, `toISOString()`):
//! `socket_connected(socket, date)`; `socket_updated({id, nsp, transport})`
//! on an upgrade; `socket_updated({id, nsp, data})` when the data changes
//! (and, before `socket_connected`, once per key that connection middleware
//! stored, with the data so far, as Node's `Proxy` does); `socket_disconnected(nsp, id, reason, date)`;
//! `room_joined(nsp, room, id, date)` and `room_left(nsp, room, id, date)`
//! (a socket's own room included); and, for the sockets of other namespaces,
//! `event_received(nsp, id, [event, ...args], date)` and
//! `event_sent(nsp, id, [event, ...args], date)`.
//!
//! **Commands** the dashboard sends (when not read-only):
//! `emit(nsp, filter, event, ...args)`, `join(nsp, room, filter)`,
//! `leave(nsp, room, filter)`, `_disconnect(nsp, close, filter)`; `filter`
//! is a room, or absent for the whole namespace. Read-only, they are not
//! listened to (and not offered in `config`).
//!
//! # Differences from Node
//!
//! - `socket_updated` with `data` is sent after each
//!   [`Socket::set_data`](ferrio::Socket::set_data) that changed the data
//!   (Node's `Proxy` sends one per property set, nested objects replaced
//!   whole included).
//! - `uptime` is the time since [`instrument`], not since the process
//!   started.
//! - With the msgpack parser, Node's dates go as MessagePack timestamps;
//!   ferrio's stay ISO strings, as over JSON (what the dashboard reads with
//!   the default parser). Not tested with the msgpack parser.
//! - A command for a namespace that does not exist does nothing (Node's
//!   `io.of(name)` would make it).
//! - Sessions are kept 24 h and 10 000 at most (Node's in-memory store keeps
//!   every one forever); password checks run two at a time, and past 32
//!   waiting a login is refused at once.
//! - Events for the dashboards wait in a bounded queue
//!   ([`Options::max_queued_events`]); past it they are dropped, with a
//!   warning.

#![warn(unreachable_pub, missing_debug_implementations)]

mod auth;
mod commands;
mod date;
mod namespaces;
mod options;
mod outbox;
mod serialize;
mod stats;
mod store;
mod verbose;

use std::sync::Arc;
use std::time::Instant;

use ferrio::{Namespace, SocketIo};
use serde_json::{Value, json};

pub use auth::{MAX_CONCURRENT_PASSWORD_CHECKS, MAX_WAITING_PASSWORD_CHECKS};
pub use options::{Auth, DEFAULT_MAX_QUEUED_EVENTS, Mode, Options};
pub use stats::{MAX_AGGREGATED_KEYS, STATS_INTERVAL};
pub use store::{
    DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_DURATION, InMemoryStore, SessionStore, StoreFuture,
};

use namespaces::Namespaces;
use outbox::Outbox;

/// Why [`instrument`] refused its options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstrumentError {
    /// The basic auth's password is not a bcrypt hash (Node: "the `password`
    /// field must be a valid bcrypt hash").
    #[error("the `password` field must be a valid bcrypt hash")]
    InvalidPasswordHash,
    /// The namespace name is not one (it must start with `/`).
    #[error("the admin namespace name must start with `/`")]
    InvalidNamespaceName,
}

/// Adds the admin namespace to `io` and streams the server's state to the
/// dashboards that connect to it (Node's `instrument(io, options)`). Call it
/// before the application's own connection handlers (so that the dashboard
/// sees a socket connect before what its handlers do).
///
/// # Panics
///
/// Outside a Tokio runtime: it starts the tasks that send the stats and the
/// events.
pub fn instrument(io: &SocketIo, options: Options) -> Result<(), InstrumentError> {
    if !options.namespace_name.starts_with('/') {
        return Err(InstrumentError::InvalidNamespaceName);
    }
    if let Auth::Basic { password_hash, .. } = &options.auth {
        if !auth::is_bcrypt_hash(password_hash) {
            return Err(InstrumentError::InvalidPasswordHash);
        }
    }
    let admin = io.of(&options.namespace_name);
    match &options.auth {
        Auth::None => {
            tracing::warn!("admin UI authentication is disabled, please use with caution")
        }
        Auth::Basic {
            username,
            password_hash,
        } => auth::require_login(
            &admin,
            username.clone(),
            password_hash.clone(),
            options.store.clone(),
        ),
    }

    let namespaces = Arc::new(Namespaces::default());
    let outbox = Arc::new(Outbox::start(options.max_queued_events, admin.downgrade()));
    let development = options.mode == Mode::Development;
    let features = supported_features(options.read_only, development);

    // Development mode tells of the admin namespace's own sockets too, before
    // the admin connection handler runs (Node prepends that listener).
    let admin_name = options.namespace_name.clone();
    let watch = {
        let namespaces = namespaces.clone();
        let outbox = outbox.clone();
        move |nsp: &Namespace| {
            let added = namespaces.add(nsp);
            if development && added.namespace {
                verbose::observe_rooms(nsp, &outbox);
            }
            if development && added.handlers {
                verbose::observe_sockets(nsp, &admin_name, &outbox);
            }
        }
    };
    watch(&admin);
    for nsp in io.namespaces() {
        watch(&nsp);
    }
    io.on_new_namespace(watch);

    let commands_on = !options.read_only;
    let found = namespaces.clone();
    admin.on_connection(move |socket| {
        let namespaces = found.clone();
        let features = features.clone();
        async move {
            let session = socket.extensions().remove::<auth::NewSession>();
            if let Some(auth::NewSession(id)) = session {
                let _ = socket.emit("session", &id);
            }
            if commands_on {
                commands::register(&socket, &namespaces);
            }
            let _ = socket.emit("config", &json!({ "supportedFeatures": features }));
            if development {
                let _ = socket.emit("all_sockets", &all_sockets(&namespaces).await);
            }
        }
    });

    let engine = Arc::new(stats::EngineStats::default());
    io.observe_engine(engine.clone());
    let hostname = gethostname::gethostname().to_string_lossy().into_owned();
    let base = stats::BaseStats {
        server_id: options
            .server_id
            .clone()
            .unwrap_or_else(|| hostname.clone()),
        hostname,
        pid: std::process::id(),
        started: Instant::now(),
    };
    // The engine, not the server: the task holds no `SocketIo`, so it ends
    // with the admin namespace when the server is dropped.
    tokio::spawn(stats::emit_stats(
        admin.downgrade(),
        io.engine().clone(),
        base,
        engine,
        namespaces,
        outbox,
    ));
    Ok(())
}

/// What `config` offers (Node's `detectSupportedFeatures` on a v4 server).
fn supported_features(read_only: bool, development: bool) -> Vec<&'static str> {
    let mut features = Vec::new();
    if !read_only {
        features.extend([
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]);
    }
    features.push("AGGREGATED_EVENTS");
    if development {
        features.push("ALL_EVENTS");
    }
    features
}

/// Every socket of every namespace, cluster-wide.
async fn all_sockets(namespaces: &Namespaces) -> Vec<Value> {
    let mut all = Vec::new();
    for nsp in namespaces.all() {
        match nsp.fetch_sockets().await {
            Ok(sockets) => all.extend(
                sockets
                    .iter()
                    .map(|socket| serialize::serialize(socket, nsp.name())),
            ),
            Err(error) => tracing::debug!(nsp = nsp.name(), %error, "fetch_sockets failed"),
        }
    }
    all
}
