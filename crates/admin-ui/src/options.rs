//! What [`instrument`](crate::instrument) takes: Node's `instrument(io, options)`
//! options, with Rust names.

use std::sync::Arc;

use crate::store::{InMemoryStore, SessionStore};

/// How the admin namespace checks who connects (Node's `auth` option, which
/// must be given: `false` or `{type: "basic", username, password}`).
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// Anyone who reaches the server may connect (Node's `auth: false`).
    None,
    /// A username and a bcrypt hash of the password (Node's
    /// `{type: "basic", username, password}`): the dashboard sends
    /// `{username, password}` in its handshake's `auth`, and gets a session
    /// id that lets it reconnect without them.
    Basic {
        /// The username, compared exactly.
        username: String,
        /// The password's bcrypt hash (`$2a$`, `$2b$` or `$2y$`), as
        /// `bcrypt.hashSync(password, 10)` in Node makes it.
        password_hash: String,
    },
}

impl Auth {
    /// [`Auth::Basic`] with a username and the password's bcrypt hash.
    pub fn basic(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password_hash: password_hash.into(),
        }
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// How much the dashboard is told (Node's `mode`, from `NODE_ENV` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Everything: the sockets list on connect, every socket's connection,
    /// disconnection, room changes and events, as they happen.
    #[default]
    Development,
    /// The server stats every 2 s only (less work per event on a busy server).
    Production,
}

/// The options of [`instrument`](crate::instrument).
#[derive(Clone)]
pub struct Options {
    pub(crate) namespace_name: String,
    pub(crate) auth: Auth,
    pub(crate) read_only: bool,
    pub(crate) server_id: Option<String>,
    pub(crate) mode: Mode,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) max_queued_events: usize,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("namespace_name", &self.namespace_name)
            .field("auth", &self.auth)
            .field("read_only", &self.read_only)
            .field("server_id", &self.server_id)
            .field("mode", &self.mode)
            .field("max_queued_events", &self.max_queued_events)
            .finish_non_exhaustive()
    }
}

/// Default of [`Options::max_queued_events`].
pub const DEFAULT_MAX_QUEUED_EVENTS: usize = 4096;

impl Options {
    /// The options with `auth` (which, as in Node, must be chosen) and the
    /// other defaults.
    pub fn new(auth: Auth) -> Self {
        Self {
            namespace_name: "/admin".into(),
            auth,
            read_only: false,
            server_id: None,
            mode: Mode::Development,
            store: Arc::new(InMemoryStore::default()),
            max_queued_events: DEFAULT_MAX_QUEUED_EVENTS,
        }
    }

    /// The namespace the dashboard connects to. Default `"/admin"`.
    pub fn namespace_name(mut self, name: impl Into<String>) -> Self {
        self.namespace_name = name.into();
        self
    }

    /// Whether the dashboard may only look: no `emit`, `join`, `leave` or
    /// `_disconnect` commands. Default `false`.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The id the dashboard shows for this server. Default: the hostname
    /// (Node adds `#pid` in a cluster worker).
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }

    /// How much the dashboard is told. Default [`Mode::Development`] (Node's
    /// default when `NODE_ENV` is unset).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Where the session ids of authenticated dashboards are kept. Default:
    /// an [`InMemoryStore`] (10 000 sessions of 24 h at most).
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = store;
        self
    }

    /// How many dashboard events (socket connected, room joined, event
    /// received, …) may wait to be sent to the admin namespace; past it,
    /// new ones are dropped and counted in a warning. Default 4096.
    pub fn max_queued_events(mut self, max: usize) -> Self {
        self.max_queued_events = max.max(1);
        self
    }
}
