//! Building a socket: where it connects, how it authenticates, and the
//! handlers in place before it connects.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferrio_proto::socketio::Args;
use serde_json::Value;

use super::{Auth, Socket, SocketOptions};
use crate::url::ServerUrl;
use crate::{ConnectError, DisconnectReason, Error, Event, Manager, ManagerConfig};

type Setup = Box<dyn FnOnce(&Socket) + Send>;

/// Builds a [`Socket`]: from a URL with [`io`](crate::io) (sharing a cached
/// [`Manager`] per server unless `force_new`), or on a given manager with
/// [`Manager::socket`].
///
/// Handlers given here are in place before the socket connects, so none of
/// its first events is missed.
///
/// ```no_run
/// # async fn f() -> Result<(), ferrio_client::Error> {
/// use serde_json::json;
///
/// let socket = ferrio_client::io("http://localhost:3000/admin")?
///     .auth_fn(|| json!({ "token": "fresh token" }))
///     .on("news", |_socket, event| async move {
///         println!("news: {:?}", event.args());
///     })
///     .build();
/// # Ok(()) }
/// ```
#[must_use = "a socket builder does nothing until `build` is called"]
pub struct SocketBuilder {
    origin: Origin,
    nsp: String,
    options: SocketOptions,
    setup: Vec<Setup>,
}

enum Origin {
    Manager(Manager),
    Url(Box<UrlOrigin>),
}

/// A manager to find or make from a URL.
struct UrlOrigin {
    target: ServerUrl,
    config: ManagerConfig,
    force_new: bool,
    multiplex: bool,
}

impl SocketBuilder {
    /// A builder for the namespace in the URL's path (`/` if none) on the
    /// server the URL names; the URL's query goes with every request.
    pub fn new(url: &str) -> Result<Self, Error> {
        let target = ServerUrl::parse(url)?;
        Ok(Self {
            nsp: target.nsp.clone(),
            origin: Origin::Url(Box::new(UrlOrigin {
                target,
                config: ManagerConfig::default(),
                force_new: false,
                multiplex: true,
            })),
            options: SocketOptions::default(),
            setup: Vec::new(),
        })
    }

    pub(crate) fn for_manager(manager: Manager, nsp: &str) -> Self {
        Self {
            origin: Origin::Manager(manager),
            nsp: normalize_nsp(nsp),
            options: SocketOptions::default(),
            setup: Vec::new(),
        }
    }

    /// The options of the manager, if this builder creates one (from a URL,
    /// when no cached manager is reused). Default [`ManagerConfig::default`].
    pub fn config(mut self, config: ManagerConfig) -> Self {
        if let Origin::Url(url) = &mut self.origin {
            url.config = config;
        }
        self
    }

    /// Always creates a new manager (its own connection) instead of reusing
    /// the cached one for this server. Default `false`. Only for builders
    /// made from a URL.
    pub fn force_new(mut self, force_new: bool) -> Self {
        if let Origin::Url(url) = &mut self.origin {
            url.force_new = force_new;
        }
        self
    }

    /// Whether to share the cached manager of this server (one connection for
    /// several namespaces). Default `true`; `false` is the same as
    /// [`force_new`](Self::force_new).
    pub fn multiplex(mut self, multiplex: bool) -> Self {
        if let Origin::Url(url) = &mut self.origin {
            url.multiplex = multiplex;
        }
        self
    }

    /// The authentication object sent with each CONNECT (the server reads it
    /// as `socket.handshake.auth`). It must be a JSON object. Default none.
    pub fn auth(mut self, auth: Value) -> Self {
        self.options.auth = Auth::Value(auth);
        self
    }

    /// Computes the authentication object anew for each connection attempt,
    /// reconnections included (socket.io-client's `auth` callback).
    pub fn auth_fn(mut self, auth: impl Fn() -> Value + Send + Sync + 'static) -> Self {
        self.options.auth = Auth::Fn(Arc::new(auth));
        self
    }

    /// The time limit of every acknowledgement this socket waits for, unless
    /// an emit sets its own. Default none: wait until the answer or a
    /// disconnection.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.options.ack_timeout = Some(timeout);
        self
    }

    /// At-least-once delivery (socket.io-client's `retries`): every emit
    /// (volatile ones aside) is queued, asks for an acknowledgement, and is
    /// sent again until the server acknowledges it, up to `retries` more
    /// times; one event at a time, in order. Default off.
    ///
    /// A try fails when the acknowledgement does not come within the ack
    /// timeout ([`ack_timeout`](Self::ack_timeout), or the emit's own
    /// [`timeout`](Socket::timeout)), or when the connection drops first.
    /// Without any ack timeout only a lost connection makes the event go
    /// again, after the reconnection, as often as that happens. The server
    /// may therefore see an event more than once.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// let socket = ferrio_client::io("http://localhost:3000")?
    ///     .ack_timeout(Duration::from_secs(2))
    ///     .retries(3)
    ///     .build();
    /// // Sent up to 4 times, until the server acknowledges it.
    /// socket.emit("order", &42)?;
    /// let receipt = socket.emit_with_ack("pay", &42).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// [`build`](Self::build) then starts the queue's task: it must be called
    /// inside a tokio runtime.
    pub fn retries(mut self, retries: u32) -> Self {
        self.options.retries = Some(retries);
        self
    }

    /// Adds an event handler; see [`Socket::on`].
    pub fn on<F, Fut>(self, event: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let event = event.into();
        self.with(move |s| {
            s.on(event, handler);
        })
    }

    /// Adds a handler for the next such event; see [`Socket::once`].
    pub fn once<F, Fut>(self, event: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let event = event.into();
        self.with(move |s| {
            s.once(event, handler);
        })
    }

    /// Adds a catch-all listener; see [`Socket::on_any`].
    pub fn on_any(self, listener: impl Fn(&Socket, &Event) + Send + Sync + 'static) -> Self {
        self.with(move |s| {
            s.on_any(listener);
        })
    }

    /// Adds an outgoing catch-all listener; see [`Socket::on_any_outgoing`].
    pub fn on_any_outgoing(
        self,
        listener: impl Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    ) -> Self {
        self.with(move |s| {
            s.on_any_outgoing(listener);
        })
    }

    /// Adds a `connect` handler; see [`Socket::on_connect`].
    pub fn on_connect<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.with(move |s| {
            s.on_connect(handler);
        })
    }

    /// Adds a `connect_error` handler; see [`Socket::on_connect_error`].
    pub fn on_connect_error<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Socket, ConnectError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.with(move |s| {
            s.on_connect_error(handler);
        })
    }

    /// Adds a `disconnect` handler; see [`Socket::on_disconnect`].
    pub fn on_disconnect<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.with(move |s| {
            s.on_disconnect(handler);
        })
    }

    fn with(mut self, setup: impl FnOnce(&Socket) + Send + 'static) -> Self {
        self.setup.push(Box::new(setup));
        self
    }

    /// Makes the socket, registers the handlers, and connects it if the
    /// manager's `auto_connect` is on (the default).
    ///
    /// If the manager has a socket for this namespace already, that socket is
    /// returned, with the handlers added (its auth, ack timeout and retries
    /// stay).
    ///
    /// # Panics
    ///
    /// Connecting spawns a task, and so does the `retries` queue: with
    /// `auto_connect` or `retries` this must be called inside a tokio
    /// runtime.
    pub fn build(self) -> Socket {
        let manager = match self.origin {
            Origin::Manager(manager) => manager,
            Origin::Url(url) => {
                let UrlOrigin {
                    target,
                    config,
                    force_new,
                    multiplex,
                } = *url;
                crate::manager::lookup(&target, config, force_new || !multiplex, &self.nsp)
            }
        };
        let socket = manager.inner.socket(&manager, &self.nsp, self.options);
        for setup in self.setup {
            setup(&socket);
        }
        if manager.config().auto_connect {
            socket.connect();
        }
        socket
    }
}

impl std::fmt::Debug for SocketBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketBuilder")
            .field("nsp", &self.nsp)
            .field("handlers", &self.setup.len())
            .finish_non_exhaustive()
    }
}

/// `admin` and `/admin` name the same namespace; `` is `/`.
fn normalize_nsp(nsp: &str) -> String {
    if nsp.starts_with('/') {
        nsp.to_owned()
    } else {
        format!("/{nsp}")
    }
}
