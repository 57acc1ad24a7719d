//! The manager's task: open a session, run it, and reconnect with backoff.
//!
//! ```text
//!  ┌─▶ open (reconnect_attempt n) ──ok──▶ session: CONNECT every active socket,
//!  │        │                              dispatch packets to sockets
//!  │      fails: connect_error,                  │ lost: disconnect(reason)
//!  │      reconnect_error                        ▼
//!  └──── wait backoff ◀───────────────── reconnection on? attempts left?
//!                                          no: stop (reconnect_failed)
//! ```
//! A user's close (the `desired` flag going down) ends any step at once.

use std::sync::Arc;

use ferrio_proto::socketio::{Packet, Payload};
use tokio::sync::watch;

use super::reader::PacketReader;
use super::{ManagerInner, Session};
use crate::backoff::Backoff;
use crate::engine::{self, CloseReason, EngineConn, EngineEvent};
use crate::{DisconnectReason, Error};

/// Runs until the manager is closed, gives up, or is told not to reconnect.
pub(super) async fn run(inner: Arc<ManagerInner>) {
    let mut desired = inner.desired.subscribe();
    let config = &inner.config;
    let mut backoff = Backoff::new(
        config.reconnection_delay,
        config.reconnection_delay_max,
        config.randomization_factor,
    );
    loop {
        if !*desired.borrow_and_update() {
            if inner.stop_task() {
                return;
            }
            continue;
        }
        inner.control().reopen = false;
        let attempt = backoff.attempts();
        if attempt > 0 {
            tracing::debug!(attempt, "reconnect attempt");
            inner.notify(|l| &l.reconnect_attempt, attempt);
        }
        let opened = tokio::select! {
            result = tokio::time::timeout(config.timeout, engine::open(inner.engine_config.clone())) => {
                result.unwrap_or_else(|_| Err(Error::timeout()))
            }
            () = closed(&mut desired) => continue,
        };
        match opened {
            Ok(conn) => {
                if attempt > 0 {
                    inner.notify(|l| &l.reconnect, attempt);
                }
                backoff.reset();
                if run_session(&inner, conn, &mut desired).await.is_none() {
                    // Closed by the user: the loop's top stops.
                    continue;
                }
            }
            Err(error) => {
                tracing::debug!(%error, "connection failed");
                inner.notify(|l| &l.error, error.clone());
                for socket in inner.all_sockets() {
                    socket.on_open_failed(&error);
                }
                if attempt > 0 {
                    inner.notify(|l| &l.reconnect_error, error);
                }
            }
        }
        if !config.reconnection {
            if inner.stop_task() {
                return;
            }
            continue;
        }
        if config
            .reconnection_attempts
            .is_some_and(|max| backoff.attempts() >= max)
        {
            tracing::debug!("reconnection failed");
            inner.notify(|l| &l.reconnect_failed, ());
            backoff.reset();
            if inner.stop_task() {
                return;
            }
            continue;
        }
        let delay = backoff.duration();
        tracing::debug!(?delay, "reconnecting after a delay");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = closed(&mut desired) => {}
        }
    }
}

/// Resolves when the manager is asked to close.
async fn closed(desired: &mut watch::Receiver<bool>) {
    // The sender lives in the manager, which this task keeps alive.
    let _ = desired.wait_for(|open| !open).await;
}

/// Runs one session. Returns why it ended, or `None` if the user closed it.
async fn run_session(
    inner: &Arc<ManagerInner>,
    conn: EngineConn,
    desired: &mut watch::Receiver<bool>,
) -> Option<DisconnectReason> {
    let EngineConn {
        handshake,
        transport,
        sender,
        mut events,
    } = conn;
    *inner.session() = Some(Session {
        generation: inner.next_generation(),
        sender: sender.clone(),
        transport,
        sid: handshake.sid,
    });
    inner.control().reopen = false;
    inner.notify(|l| &l.open, ());
    for socket in inner.all_sockets() {
        socket.send_connect();
    }
    let mut reader = PacketReader::new(inner.config.parser, inner.config.decoder);
    let reason = loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = closed(desired) => {
                sender.close();
                break None;
            }
        };
        let packet = match event {
            Some(EngineEvent::Message(text)) => reader.text(&text),
            Some(EngineEvent::Binary(bytes)) => reader.binary(bytes),
            Some(EngineEvent::Upgraded(kind)) => {
                if let Some(session) = inner.session().as_mut() {
                    session.transport = kind;
                }
                inner.notify(|l| &l.upgrade, kind);
                continue;
            }
            Some(EngineEvent::Closed(CloseReason::Forced)) => break None,
            Some(EngineEvent::Closed(reason)) => break Some(reason.into()),
            None => break Some(DisconnectReason::TransportClose),
        };
        match packet {
            Ok(Some(packet)) => dispatch(inner, packet),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(%error, "invalid socket.io packet");
                sender.close();
                break Some(DisconnectReason::ParseError);
            }
        }
    };
    *inner.session() = None;
    let socket_reason = reason.unwrap_or(DisconnectReason::IoClientDisconnect);
    tracing::debug!(reason = %socket_reason, "connection closed");
    for socket in inner.all_sockets() {
        socket.on_engine_closed(socket_reason);
    }
    inner.notify(|l| &l.close, socket_reason);
    reason
}

/// Hands a packet to the socket of its namespace; packets for namespaces
/// without a socket are ignored, as socket.io-client does.
fn dispatch(inner: &ManagerInner, packet: Packet<Payload>) {
    let socket = inner.sockets().get(&*packet.nsp).cloned();
    match socket {
        Some(socket) => socket.on_packet(packet),
        None => tracing::debug!(nsp = %packet.nsp, "packet for an unknown namespace"),
    }
}
