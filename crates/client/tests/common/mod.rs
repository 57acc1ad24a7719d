//! Support for the end-to-end tests: a recorder of everything a client sees,
//! the transport modes, and the servers the same suite runs against.

#![allow(dead_code)] // each test binary uses a different subset

pub mod ferrio_server;
pub mod node_server;
pub mod suite;

use std::collections::VecDeque;
use std::time::Duration;

use ferrio_client::{
    ConnectError, DisconnectReason, Manager, ManagerConfig, Payload, SocketBuilder, TransportKind,
};
use tokio::sync::mpsc;

/// How long any awaited happening may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Which transports a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// WebSocket only.
    WebSocket,
    /// Long-polling only.
    Polling,
    /// Long-polling first, then the upgrade to WebSocket (the default).
    Upgrade,
}

impl Mode {
    /// Manager options for the mode, with short reconnection delays.
    pub fn config(self) -> ManagerConfig {
        let config = ManagerConfig::default()
            .reconnection_delay(Duration::from_millis(100))
            .reconnection_delay_max(Duration::from_millis(500))
            .timeout(Duration::from_secs(10));
        match self {
            Self::WebSocket => config.transports([TransportKind::WebSocket]),
            Self::Polling => config.transports([TransportKind::Polling]),
            Self::Upgrade => config,
        }
    }
}

/// One thing a client saw.
#[derive(Debug, Clone)]
pub enum Seen {
    Connect {
        nsp: String,
    },
    ConnectError {
        nsp: String,
        error: ConnectError,
    },
    Disconnect {
        nsp: String,
        reason: DisconnectReason,
    },
    Event {
        nsp: String,
        name: String,
        args: Vec<Payload>,
    },
    Outgoing {
        nsp: String,
        name: String,
    },
    ReconnectAttempt(u32),
    Reconnect(u32),
    ReconnectError,
    ReconnectFailed,
    Upgrade(TransportKind),
}

/// Collects what sockets and managers report, and waits for it.
///
/// Waiting is order-insensitive: [`Recorder::wait`] takes the first recorded
/// item that matches, whenever it arrived, and leaves the others for later
/// waits. Tests therefore never depend on timing between unrelated events.
pub struct Recorder {
    tx: mpsc::UnboundedSender<Seen>,
    rx: mpsc::UnboundedReceiver<Seen>,
    pending: VecDeque<Seen>,
}

impl Default for Recorder {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx,
            pending: VecDeque::new(),
        }
    }
}

impl Recorder {
    /// Adds listeners recording the socket's lifecycle and every event in
    /// and out.
    pub fn watch(&self, builder: SocketBuilder) -> SocketBuilder {
        let (t1, t2, t3, t4, t5) = (
            self.tx.clone(),
            self.tx.clone(),
            self.tx.clone(),
            self.tx.clone(),
            self.tx.clone(),
        );
        builder
            .on_connect(move |s| {
                let _ = t1.send(Seen::Connect {
                    nsp: s.namespace().to_owned(),
                });
                async {}
            })
            .on_connect_error(move |s, error| {
                let _ = t2.send(Seen::ConnectError {
                    nsp: s.namespace().to_owned(),
                    error,
                });
                async {}
            })
            .on_disconnect(move |s, reason| {
                let _ = t3.send(Seen::Disconnect {
                    nsp: s.namespace().to_owned(),
                    reason,
                });
                async {}
            })
            .on_any(move |s, event| {
                let _ = t4.send(Seen::Event {
                    nsp: s.namespace().to_owned(),
                    name: event.name().to_owned(),
                    args: event.args().clone().into_vec(),
                });
            })
            .on_any_outgoing(move |s, name, _args| {
                let _ = t5.send(Seen::Outgoing {
                    nsp: s.namespace().to_owned(),
                    name: name.to_owned(),
                });
            })
    }

    /// Adds listeners recording the manager's reconnection and upgrade.
    pub fn watch_manager(&self, manager: &Manager) {
        let tx = self.tx.clone();
        manager.on_reconnect_attempt(move |n| {
            let _ = tx.send(Seen::ReconnectAttempt(n));
        });
        let tx = self.tx.clone();
        manager.on_reconnect(move |n| {
            let _ = tx.send(Seen::Reconnect(n));
        });
        let tx = self.tx.clone();
        manager.on_reconnect_error(move |_| {
            let _ = tx.send(Seen::ReconnectError);
        });
        let tx = self.tx.clone();
        manager.on_reconnect_failed(move || {
            let _ = tx.send(Seen::ReconnectFailed);
        });
        let tx = self.tx.clone();
        manager.on_upgrade(move |kind| {
            let _ = tx.send(Seen::Upgrade(kind));
        });
    }

    /// Takes the first recorded item matching `pred`, waiting up to [`WAIT`].
    pub async fn wait(&mut self, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
        if let Some(i) = self.pending.iter().position(&pred) {
            return self.pending.remove(i).expect("index in range");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(seen)) if pred(&seen) => return seen,
                Ok(Some(seen)) => self.pending.push_back(seen),
                Ok(None) => unreachable!("the recorder holds a sender"),
                Err(_) => panic!(
                    "no {what} within {WAIT:?}; seen and not taken: {:#?}",
                    self.pending
                ),
            }
        }
    }

    /// Waits for `connect` on `nsp`.
    pub async fn connected(&mut self, nsp: &str) {
        self.wait(
            &format!("connect on {nsp}"),
            |s| matches!(s, Seen::Connect { nsp: n } if n == nsp),
        )
        .await;
    }

    /// Waits for `disconnect` on `nsp` and returns the reason.
    pub async fn disconnected(&mut self, nsp: &str) -> DisconnectReason {
        match self
            .wait(
                &format!("disconnect on {nsp}"),
                |s| matches!(s, Seen::Disconnect { nsp: n, .. } if n == nsp),
            )
            .await
        {
            Seen::Disconnect { reason, .. } => reason,
            _ => unreachable!(),
        }
    }

    /// Waits for `connect_error` on `nsp` and returns the error.
    pub async fn connect_error(&mut self, nsp: &str) -> ConnectError {
        match self
            .wait(
                &format!("connect_error on {nsp}"),
                |s| matches!(s, Seen::ConnectError { nsp: n, .. } if n == nsp),
            )
            .await
        {
            Seen::ConnectError { error, .. } => error,
            _ => unreachable!(),
        }
    }

    /// Waits for event `name` on `nsp` and returns its arguments.
    pub async fn event(&mut self, nsp: &str, name: &str) -> Vec<Payload> {
        match self
            .wait(
                &format!("event {name:?} on {nsp}"),
                |s| matches!(s, Seen::Event { nsp: n, name: e, .. } if n == nsp && e == name),
            )
            .await
        {
            Seen::Event { args, .. } => args,
            _ => unreachable!(),
        }
    }

    /// Everything recorded and not taken yet, after letting `settle` pass.
    pub async fn drain(&mut self, settle: Duration) -> Vec<Seen> {
        tokio::time::sleep(settle).await;
        while let Ok(seen) = self.rx.try_recv() {
            self.pending.push_back(seen);
        }
        self.pending.drain(..).collect()
    }
}

/// A server the suite can connect to, stop, and start again on the same port.
#[allow(async_fn_in_trait)]
pub trait TestServer {
    /// `http://127.0.0.1:<port>`.
    fn url(&self) -> String;
    /// Stops the server; its clients lose their connection.
    async fn stop(&mut self);
    /// Starts it again on the same port.
    async fn start(&mut self);
    /// The parser it speaks, which the clients then use.
    fn parser(&self) -> ferrio_client::Parser {
        ferrio_client::Parser::Default
    }
}
