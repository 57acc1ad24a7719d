//! Packets from the client to one socket, and the socket's end.

use std::sync::Arc;

use ferrio_proto::socketio::{Packet, PacketKind, Payload};

use super::handlers::EventMiddleware;
use super::{Socket, poll_inline, run_inline};
use crate::adapter::SessionToPersist;
use crate::outbound::{ack_args, split_event};
use crate::{AckSender, DisconnectReason, Event};

/// What the client did wrong, when a packet must close its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtocolError {
    /// A packet Node's parser refuses (`42[]`, …): Node tells each socket
    /// (`error` event), then closes ("forced close").
    Malformed(&'static str),
    /// A packet that makes no sense now (a second CONNECT, a CONNECT_ERROR
    /// from the client): Node closes ("forced close", or "forced server
    /// close" when its close waits for the transport).
    InvalidState,
}

impl Socket {
    /// Handles one packet addressed to this socket's namespace.
    pub(crate) fn on_packet(
        self: &Arc<Self>,
        packet: Packet<Payload>,
    ) -> Result<(), ProtocolError> {
        match packet.kind {
            PacketKind::Event | PacketKind::BinaryEvent => {
                let (name, args) =
                    split_event(packet.data).ok_or(ProtocolError::Malformed("invalid payload"))?;
                self.on_event(name, args, packet.id);
            }
            PacketKind::Ack | PacketKind::BinaryAck => match packet.id {
                Some(id) => self.resolve_ack(id, ack_args(packet.data).into()),
                // Node: "bad ack", ignored.
                None => tracing::debug!(socket = %self.id, "ack without an id: ignored"),
            },
            PacketKind::Disconnect => self.on_close(DisconnectReason::ClientNamespaceDisconnect),
            // A second CONNECT is caught by the client; CONNECT_ERROR only goes
            // from server to client.
            PacketKind::Connect | PacketKind::ConnectError => {
                return Err(ProtocolError::InvalidState);
            }
        }
        Ok(())
    }

    fn on_event(self: &Arc<Self>, name: String, args: Vec<Payload>, id: Option<u64>) {
        let ack = id.map(|id| AckSender::new(self.clone(), id));
        let event = Event::new(name, args.into(), ack);
        let (middleware, errors, any, gated) = self.handlers().pre_event();
        // As Node: catch-all listeners first, so they see the events the
        // per-event middleware then refuses.
        for (_, listener) in &any {
            listener(self, &event);
        }
        // Some middleware is async: the event takes its turn (one branch
        // for the sockets that have none).
        if gated {
            return self.wait_for_middleware(event);
        }
        for mw in &middleware {
            // Without a gate, every middleware is synchronous.
            let EventMiddleware::Sync(mw) = mw else {
                continue;
            };
            if let Err(error) = mw(self, &event) {
                for listener in &errors {
                    listener(self, &error);
                }
                return;
            }
        }
        self.dispatch_event(event);
    }

    /// Runs an event's handlers, in the order they were added.
    pub(super) fn dispatch_event(self: &Arc<Self>, event: Event) {
        let (others, last) = self.handlers().take_event_handlers(event.name());
        // The last handler takes the event itself: no copy in the usual case.
        let Some(last) = last else { return };
        for handler in others {
            run_inline(handler(self.clone(), event.clone()));
        }
        run_inline(last(self.clone(), event));
    }

    /// Tells the socket's error listeners of an error on its connection
    /// (Node's reserved `error` event), as for a packet the parser refused.
    pub(crate) fn on_connection_error(self: &Arc<Self>, message: &str) {
        let errors = self.handlers().errors();
        let error = crate::MiddlewareError::new(message);
        for listener in &errors {
            listener(self, &error);
        }
    }

    /// Leaves the namespace: `disconnecting` listeners (rooms still known,
    /// still connected: a last emit goes out), then the rooms, the registries
    /// and pending acks, then `disconnect` listeners.
    pub(crate) fn on_close(self: &Socket, reason: DisconnectReason) {
        if !self.start_disconnecting() {
            return;
        }
        tracing::debug!(socket = %self.id, nsp = self.namespace.name(), %reason, "socket disconnected");
        let Some(me) = self.namespace.get_socket(self.id) else {
            self.cleanup();
            return;
        };
        let disconnecting = self.handlers().disconnecting();
        for handler in disconnecting {
            run_inline(handler(me.clone(), reason));
        }
        let adapter = self.namespace.adapter();
        // As Node: the session is what the socket was after its
        // `disconnecting` listeners, before it left its rooms. It is kept
        // once the socket is out of the namespace, so that a client coming
        // back at once cannot have its new socket removed by this one's end.
        let session = match self.pid() {
            Some(pid) if reason.is_recoverable() => Some(SessionToPersist::new(
                self.id,
                pid,
                adapter.socket_rooms(self.id),
                self.data_value(),
            )),
            _ => None,
        };
        self.cleanup();
        self.namespace.remove_socket(self.id);
        self.client.remove_socket(self.namespace.name());
        if let Some(session) = session {
            let adapter = adapter.clone();
            poll_inline(
                Box::pin(async move { adapter.persist_session(session).await }),
                drop,
            );
        }
        // Dropping the waiters tells every pending `emit_with_ack` the socket left.
        self.drop_acks();
        let disconnect = self.handlers().take_disconnect();
        for handler in disconnect {
            run_inline(handler(me.clone(), reason));
        }
        // Listeners may hold the socket: drop them so nothing keeps it alive.
        *self.handlers() = Default::default();
    }
}
