//! Broadcast operators: `io.to("room").except("other").emit(…)`.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use ferrio_proto::socketio::{Packet, PacketKind};
use serde::Serialize;

use crate::adapter::{BroadcastOptions, ServerSideResponses};
use crate::namespace::Namespace;
use crate::outbound::event_data;
use crate::socket::poll_inline;
use crate::{AckResponses, EmitError, IntoRooms, RemoteSocket, Room, SocketId};

/// Which sockets of a namespace an operation targets, and how. Chainable.
#[derive(Debug, Clone)]
#[must_use = "an operator does nothing until emit or another action is called"]
pub struct BroadcastOperator {
    namespace: Namespace,
    opts: BroadcastOptions,
}

impl BroadcastOperator {
    pub(crate) fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            opts: BroadcastOptions::default(),
        }
    }

    /// Adds target rooms (a socket in several of them gets the event once).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// Same as [`to`](Self::to).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in these rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// Only sockets of this server.
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// Drops the event for sockets that are not ready for it.
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// Asks for compression or not (recorded; ferrio does not compress frames).
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags.compress = Some(compress);
        self
    }

    /// The time limit of [`emit_with_ack`](Self::emit_with_ack).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// The options this operator has built.
    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    fn packet<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Packet<crate::Payload>, EmitError> {
        if ferrio_proto::socketio::RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let args = crate::to_args(data)?;
        Ok(Packet::new(
            PacketKind::Event,
            self.namespace.packet_name(),
            Some(event_data(event, args)),
        ))
    }

    /// Sends an event to every targeted socket. The packet is encoded once.
    ///
    /// Delivery to this server's sockets is done when this returns; a cluster
    /// adapter finishes forwarding in the background. (An adapter that needs
    /// the broker's answer first, as the Redis streams adapter needs its
    /// entry id for the offset, delivers after this returns, in emit order.)
    ///
    /// A packet larger than a client's outbox
    /// ([`max_buffered_bytes`](ferrio_engine::EngineConfig::max_buffered_bytes))
    /// is sent to no one: [`EmitError::TooLarge`] (logged instead when the
    /// delivery comes after the return).
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), EmitError> {
        let packet = self.packet(event, data)?;
        self.send(packet)
    }

    /// Sends an event whose arguments are already payloads (binary kept).
    pub fn emit_args(self, event: &str, args: impl Into<crate::Args>) -> Result<(), EmitError> {
        if ferrio_proto::socketio::RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let packet = Packet::new(
            PacketKind::Event,
            self.namespace.packet_name(),
            Some(event_data(event, args.into().into_vec())),
        );
        self.send(packet)
    }

    /// Broadcasts; an error of the adapter's first part (a packet too
    /// large, …) is returned, one after it is logged.
    pub(crate) fn send(self, packet: Packet<crate::Payload>) -> Result<(), EmitError> {
        let adapter = self.namespace.adapter().clone();
        let opts = self.opts;
        let sent = poll_inline(
            Box::pin(async move { adapter.broadcast(packet, opts).await }),
            |sent| {
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "broadcast failed");
                }
            },
        );
        sent.transpose()?;
        Ok(())
    }

    /// Sends an event asking every target for an acknowledgement, and gathers
    /// the answers until all came or the [`timeout`](Self::timeout) passed
    /// (default [`SocketIoConfig::ack_timeout`](crate::SocketIoConfig::ack_timeout), 5 s).
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<AckResponses, EmitError>> + Send + 'static {
        let packet = self
            .packet(event, data)
            .map(|p| p.with_id(self.namespace.next_ack_id()));
        let timeout = self.ack_timeout();
        let adapter = self.namespace.adapter().clone();
        let mut opts = self.opts;
        // On the options too: a cluster adapter publishes it there.
        opts.flags.timeout = Some(timeout);
        async move {
            let packet = packet?;
            Ok(adapter.broadcast_with_ack(packet, opts, timeout).await?)
        }
    }

    /// The [`timeout`](Self::timeout), or the server's default.
    fn ack_timeout(&self) -> Duration {
        self.opts
            .flags
            .timeout
            .unwrap_or_else(|| self.namespace.ack_timeout())
    }

    /// The event name and arguments of a server-side event.
    fn server_side_args<T: Serialize + ?Sized>(
        event: &str,
        data: &T,
    ) -> Result<Vec<crate::Payload>, EmitError> {
        if ferrio_proto::socketio::RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        Ok(crate::to_args(data)?)
    }

    /// Sends an event to the other servers of the cluster (Node's
    /// `serverSideEmit`): see [`Namespace::server_side_emit`]. The rooms and
    /// flags of the operator do not apply.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<(), EmitError>> + Send + 'static + use<T> {
        let args = Self::server_side_args(event, data);
        let event = event.to_owned();
        let adapter = self.namespace.adapter().clone();
        async move { Ok(adapter.server_side_emit(event, args?).await?) }
    }

    /// Sends an event to the other servers of the cluster and gathers one
    /// answer from each, until all answered or the [`timeout`](Self::timeout)
    /// passed (default [`SocketIoConfig::ack_timeout`](crate::SocketIoConfig::ack_timeout),
    /// 5 s): `io.timeout(t).serverSideEmitWithAck(…)` in Node.
    pub fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<ServerSideResponses, EmitError>> + Send + 'static + use<T>
    {
        let args = Self::server_side_args(event, data);
        let event = event.to_owned();
        let timeout = self.ack_timeout();
        let adapter = self.namespace.adapter().clone();
        async move {
            Ok(adapter
                .server_side_emit_with_ack(event, args?, timeout)
                .await?)
        }
    }

    /// The targeted sockets, with their id, handshake, rooms and data.
    pub async fn fetch_sockets(self) -> Result<Vec<RemoteSocket>, EmitError> {
        Ok(self.namespace.adapter().fetch_sockets(self.opts).await?)
    }

    /// The ids of the targeted sockets, on every server of the cluster
    /// (Node's `allSockets()`, deprecated there in favour of
    /// [`fetch_sockets`](Self::fetch_sockets)). Unlike Node's, it honours
    /// [`except`](Self::except) and [`local`](Self::local).
    pub async fn all_sockets(self) -> Result<HashSet<SocketId>, EmitError> {
        Ok(self.namespace.adapter().sockets(self.opts).await?)
    }

    /// Makes every targeted socket join rooms.
    pub async fn sockets_join(self, rooms: impl IntoRooms) -> Result<(), EmitError> {
        let rooms: Vec<Room> = rooms.into_rooms();
        Ok(self
            .namespace
            .adapter()
            .add_sockets(self.opts, rooms)
            .await?)
    }

    /// Makes every targeted socket leave rooms.
    pub async fn sockets_leave(self, rooms: impl IntoRooms) -> Result<(), EmitError> {
        let rooms: Vec<Room> = rooms.into_rooms();
        Ok(self
            .namespace
            .adapter()
            .del_sockets(self.opts, rooms)
            .await?)
    }

    /// Disconnects every targeted socket; with `close`, their whole connections.
    pub async fn disconnect_sockets(self, close: bool) -> Result<(), EmitError> {
        Ok(self
            .namespace
            .adapter()
            .disconnect_sockets(self.opts, close)
            .await?)
    }
}
