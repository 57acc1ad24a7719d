//! What happens to a socket: packets from the server for its namespace, and
//! its manager's connection opening, failing and closing.

use ferrio_proto::socketio::{Packet, PacketKind, Payload};
use serde_json::{Map, Value};

use super::{Auth, Outgoing, Socket, State, run_inline};
use crate::payload::{ack_args, split_event};
use crate::{AckSender, ConnectError, DisconnectReason, Error, Event};

impl Socket {
    /// Sends CONNECT on the manager's current connection, unless the socket
    /// is not active, is connected, or has sent it on this connection already.
    pub(crate) fn send_connect(&self) {
        let _guard = self.inner.connect_lock.lock();
        let manager = &self.inner.manager.inner;
        let (pid, offset) = {
            let state = self.state();
            let current = manager.generation();
            if !state.active || state.connected || current.is_none() {
                return;
            }
            if state.connect_sent == current {
                return;
            }
            (state.pid.clone(), state.last_offset.clone())
        };
        // The auth closure runs without the state lock held.
        let auth = self.auth().evaluate();
        let data = connect_data(auth, pid, offset);
        let packet = Packet::new(
            PacketKind::Connect,
            ferrio_proto::socketio::packet_namespace(&self.inner.nsp),
            data.map(Payload::Json),
        );
        if let Some(generation) = manager.send_packet(packet) {
            tracing::debug!(nsp = %self.inner.nsp, "connect sent");
            self.state().connect_sent = Some(generation);
        }
    }

    fn auth(&self) -> Auth {
        self.inner.auth.lock().clone()
    }

    /// Handles a packet addressed to this socket's namespace.
    pub(crate) fn on_packet(&self, packet: Packet<Payload>) {
        match packet.kind {
            PacketKind::Connect => self.handle_connect(packet.data),
            PacketKind::ConnectError => self.handle_connect_error(packet.data),
            PacketKind::Event | PacketKind::BinaryEvent => {
                if let Some((name, args)) = split_event(packet.data) {
                    self.on_event(name, args, packet.id);
                }
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                if let Some(id) = packet.id {
                    self.on_ack(id, ack_args(packet.data));
                }
            }
            PacketKind::Disconnect => self.on_server_disconnect(),
        }
    }

    fn handle_connect(&self, data: Option<Payload>) {
        let Some(Payload::Json(Value::Object(data))) = data else {
            self.fail_connect(ConnectError::from_server(
                "the server's CONNECT reply has no sid (a Socket.IO v2 server?)".into(),
                None,
            ));
            return;
        };
        let sid = data.get("sid").and_then(Value::as_str).map(str::to_owned);
        let pid = data.get("pid").and_then(Value::as_str).map(str::to_owned);
        let (sent, received) = {
            let mut state = self.state();
            if !state.active || state.connected {
                return;
            }
            state.recovered = pid.is_some() && state.pid == pid;
            state.pid = pid;
            state.id = sid;
            self.set_connected(&mut state, true);
            tracing::debug!(nsp = %self.inner.nsp, id = ?state.id, "socket connected");
            let sent = self.flush_send_buffer(&mut state);
            let received = std::mem::take(&mut state.receive_buffer);
            // Events that came before the CONNECT reply are the missed ones
            // of a recovery: their offsets count as those of any event, or
            // the next recovery would replay them again.
            for (_, args, _) in &received {
                note_offset(&mut state, args);
            }
            (sent, received)
        };
        for (name, args, id) in received {
            self.dispatch_event(name, args, id);
        }
        self.notify_outgoing(&sent);
        let handlers: Vec<_> = self
            .handlers()
            .connect
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        for handler in handlers {
            run_inline(handler(self.clone()));
        }
    }

    /// Sends the buffered emits, in order, while the connection takes them.
    /// Returns those sent, for the outgoing listeners.
    fn flush_send_buffer(&self, state: &mut State) -> Vec<Outgoing> {
        let mut sent = Vec::new();
        while let Some(out) = state.send_buffer.pop_front() {
            if !self.write(&out) {
                state.send_buffer.push_front(out);
                break;
            }
            if self.has_outgoing_listeners() {
                sent.push(out);
            }
        }
        sent
    }

    fn handle_connect_error(&self, data: Option<Payload>) {
        let data = match data {
            Some(Payload::Json(v)) => v,
            _ => Value::Null,
        };
        let (message, extra) = match data {
            Value::Object(mut map) => {
                let message = match map.remove("message") {
                    Some(Value::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                (message, map.remove("data"))
            }
            Value::String(s) => (s, None),
            other => (other.to_string(), None),
        };
        self.fail_connect(ConnectError::from_server(message, extra));
    }

    /// The server refused: the socket stops trying, `connect_error` fires, and
    /// the manager closes if no socket is left active.
    fn fail_connect(&self, error: ConnectError) {
        {
            let mut state = self.state();
            state.active = false;
            state.connect_sent = None;
        }
        tracing::debug!(nsp = %self.inner.nsp, error = %error, "connection refused");
        // As socket.io-client: the manager may close first, so a handler that
        // connects again reopens it.
        self.inner.manager.inner.maybe_close();
        self.emit_connect_error(error);
    }

    fn emit_connect_error(&self, error: ConnectError) {
        let handlers: Vec<_> = self
            .handlers()
            .connect_error
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        for handler in handlers {
            run_inline(handler(self.clone(), error.clone()));
        }
    }

    fn on_event(&self, name: String, args: Vec<Payload>, id: Option<u64>) {
        {
            let mut state = self.state();
            if !state.connected {
                state.receive_buffer.push((name, args, id));
                return;
            }
            note_offset(&mut state, &args);
        }
        self.dispatch_event(name, args, id);
    }

    fn dispatch_event(&self, name: String, args: Vec<Payload>, id: Option<u64>) {
        tracing::trace!(nsp = %self.inner.nsp, event = %name, "event");
        let ack = id.map(|id| AckSender::new(self.clone(), id));
        let event = Event::new(name, args.into(), ack);
        let (any, mut handlers) = {
            let mut h = self.handlers();
            let any: Vec<_> = h.any.iter().map(|(_, f)| f.clone()).collect();
            (any, h.take_event_handlers(event.name()))
        };
        for listener in &any {
            listener(self, &event);
        }
        // The last handler takes the event itself.
        let Some(last) = handlers.pop() else { return };
        for handler in handlers {
            run_inline(handler(self.clone(), event.clone()));
        }
        run_inline(last(self.clone(), event));
    }

    fn on_ack(&self, id: u64, args: Vec<Payload>) {
        let waiter = self.state().acks.remove(&id);
        if let Some(waiter) = waiter {
            let _ = waiter.send(args);
        }
    }

    fn on_server_disconnect(&self) {
        let was_connected = {
            let mut state = self.state();
            state.active = false;
            let was = state.connected;
            self.close_state(&mut state);
            was
        };
        self.inner.manager.inner.maybe_close();
        self.after_close(DisconnectReason::IoServerDisconnect, was_connected);
    }

    /// The manager's connection closed.
    pub(crate) fn on_engine_closed(&self, reason: DisconnectReason) {
        let was_connected = {
            let mut state = self.state();
            let was = state.connected;
            self.close_state(&mut state);
            was
        };
        self.after_close(reason, was_connected);
    }

    /// The manager could not open its connection: an active socket that is
    /// not connected gets `connect_error`.
    pub(crate) fn on_open_failed(&self, error: &Error) {
        let waiting = {
            let state = self.state();
            state.active && !state.connected
        };
        if waiting {
            self.emit_connect_error(ConnectError::from_connection(error));
        }
    }

    /// The manager was closed by the user: stop (re)joining.
    pub(crate) fn deactivate(&self) {
        self.state().active = false;
    }

    /// Forgets the connection: not connected, no id, CONNECT to be sent again.
    /// Acknowledgements of events already sent fail; those of buffered events
    /// wait for the next connection, as in socket.io-client.
    pub(super) fn close_state(&self, state: &mut State) {
        // First: the `retries` queue must see the socket down before its
        // acknowledgement fails.
        self.set_connected(state, false);
        state.connect_sent = None;
        state.id = None;
        let buffered: Vec<u64> = state.send_buffer.iter().filter_map(|o| o.ack).collect();
        state.acks.retain(|id, _| buffered.contains(id));
    }

    /// Fires `disconnect` if the socket was connected.
    pub(super) fn after_close(&self, reason: DisconnectReason, was_connected: bool) {
        if !was_connected {
            return;
        }
        tracing::debug!(nsp = %self.inner.nsp, %reason, "socket disconnected");
        let handlers: Vec<_> = self
            .handlers()
            .disconnect
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        for handler in handlers {
            run_inline(handler(self.clone(), reason));
        }
    }
}

/// The CONNECT payload: the auth object, with the recovery fields in front
/// when there is a session to recover.
fn connect_data(auth: Option<Value>, pid: Option<String>, offset: Option<String>) -> Option<Value> {
    let Some(pid) = pid else { return auth };
    let mut map = Map::new();
    map.insert("pid".into(), Value::String(pid));
    if let Some(offset) = offset {
        map.insert("offset".into(), Value::String(offset));
    }
    if let Some(Value::Object(auth)) = auth {
        map.extend(auth);
    }
    Some(Value::Object(map))
}

/// Connection state recovery: the server appends an event's offset as its
/// last argument; remember it for the next CONNECT (as the JS client, only
/// once the server gave a session id to recover).
fn note_offset(state: &mut State, args: &[Payload]) {
    if state.pid.is_none() {
        return;
    }
    let offset = match args.last() {
        Some(Payload::Json(Value::String(offset))) => Some(offset.clone()),
        Some(Payload::Raw(raw)) => raw.as_string().map(|s| s.into_owned()),
        _ => None,
    };
    if offset.is_some() {
        state.last_offset = offset;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn connect_data_adds_recovery_fields() {
        assert_eq!(connect_data(None, None, None), None);
        assert_eq!(
            connect_data(Some(json!({"t": 1})), None, None),
            Some(json!({"t": 1}))
        );
        assert_eq!(
            connect_data(Some(json!({"t": 1})), Some("p".into()), Some("o".into())),
            Some(json!({"pid": "p", "offset": "o", "t": 1}))
        );
    }
}
