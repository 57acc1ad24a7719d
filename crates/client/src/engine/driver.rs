//! The task that runs one Engine.IO session.
//!
//! It owns the active transport and everything that can happen to it, in one
//! `select!` loop: frames to send, packets received (from the GET loop or the
//! WebSocket reader, both feeding one internal channel), the heartbeat
//! deadline, and the upgrade from polling to WebSocket:
//!
//! ```text
//!  Probing ── 3probe ──▶ Pausing (GET loop stops after its last poll,
//!     │                  writes wait, the pending POST finishes)
//!     │                        │
//!  probe fails: stay       ── 5 over WebSocket ──▶ Done: WebSocket is active,
//!  on polling                                      the waiting writes go out
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferrio_proto::engine::Handshake;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

use super::packet::{InPacket, encode_frame, encoded_len};
use super::polling::{Polling, poll_loop};
use super::websocket::{WsStream, probe, read_loop, to_message};
use super::{
    CloseReason, EngineCmd, EngineConfig, EngineEvent, OutPacket, Source, TransportEvent,
    heartbeat_deadline,
};
use crate::TransportKind;

/// How long a client-side close may take to flush and say goodbye.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Room in the internal channel between transport tasks and the driver.
const INTERNAL_QUEUE: usize = 16;

/// The transport frames are written to.
enum Active {
    Polling {
        polling: Arc<Polling>,
        /// Set to stop the GET loop for the upgrade.
        pause: Arc<AtomicBool>,
        /// Whether a POST is in flight (only one at a time).
        posting: bool,
    },
    WebSocket(SplitSink<WsStream, Message>),
}

/// Where the upgrade to WebSocket stands.
enum Upgrade {
    /// None is in progress (not offered, not wanted, failed, or done).
    Idle,
    /// The probe WebSocket is being opened and asked `2probe`.
    Probing,
    /// The probe succeeded; polling is being paused.
    Pausing {
        ws: Box<WsStream>,
        poll_stopped: bool,
    },
}

/// One session's driver; see the module docs.
pub(crate) struct Driver {
    config: Arc<EngineConfig>,
    max_payload: usize,
    heartbeat: Duration,
    deadline: Instant,
    active: Active,
    upgrade: Upgrade,
    /// Frames waiting for the transport (a POST slot, or the upgrade's end).
    buffer: Vec<OutPacket>,
    /// Packets that came with the handshake, handled first.
    initial: Vec<InPacket>,
    internal_tx: mpsc::Sender<TransportEvent>,
    internal_rx: mpsc::Receiver<TransportEvent>,
    commands: mpsc::UnboundedReceiver<EngineCmd>,
    events: mpsc::Sender<EngineEvent>,
    /// The GET loop, the WebSocket reader, the probe and POSTs; aborted when
    /// the driver ends.
    tasks: JoinSet<()>,
}

impl Driver {
    fn new(
        config: Arc<EngineConfig>,
        handshake: &Handshake,
        active: Active,
        commands: mpsc::UnboundedReceiver<EngineCmd>,
        events: mpsc::Sender<EngineEvent>,
    ) -> Self {
        let (internal_tx, internal_rx) = mpsc::channel(INTERNAL_QUEUE);
        let heartbeat = heartbeat_deadline(handshake);
        Self {
            config,
            max_payload: usize::try_from(handshake.max_payload).unwrap_or(usize::MAX),
            heartbeat,
            deadline: Instant::now() + heartbeat,
            active,
            upgrade: Upgrade::Idle,
            buffer: Vec::new(),
            initial: Vec::new(),
            internal_tx,
            internal_rx,
            commands,
            events,
            tasks: JoinSet::new(),
        }
    }

    /// A driver for a session opened over polling; starts the GET loop and,
    /// when the server offers it and the configuration allows, the upgrade probe.
    pub(crate) fn polling(
        config: Arc<EngineConfig>,
        handshake: &Handshake,
        polling: Arc<Polling>,
        initial: Vec<InPacket>,
        commands: mpsc::UnboundedReceiver<EngineCmd>,
        events: mpsc::Sender<EngineEvent>,
    ) -> Self {
        let pause = Arc::new(AtomicBool::new(false));
        let active = Active::Polling {
            polling: polling.clone(),
            pause: pause.clone(),
            posting: false,
        };
        let mut driver = Self::new(config, handshake, active, commands, events);
        driver.initial = initial;
        driver
            .tasks
            .spawn(poll_loop(polling, driver.internal_tx.clone(), pause));
        let offered = handshake.upgrades.iter().any(|u| u == "websocket");
        let wanted =
            driver.config.upgrade && driver.config.transports.contains(&TransportKind::WebSocket);
        if offered && wanted {
            let config = driver.config.clone();
            let sid = handshake.sid.clone();
            let tx = driver.internal_tx.clone();
            driver.tasks.spawn(async move {
                let result = probe(&config, &sid).await.map(Box::new);
                let _ = tx.send(TransportEvent::ProbeDone(result)).await;
            });
            driver.upgrade = Upgrade::Probing;
        }
        driver
    }

    /// A driver for a session opened over WebSocket.
    pub(crate) fn websocket(
        config: Arc<EngineConfig>,
        handshake: &Handshake,
        ws: WsStream,
        commands: mpsc::UnboundedReceiver<EngineCmd>,
        events: mpsc::Sender<EngineEvent>,
    ) -> Self {
        let (sink, stream) = ws.split();
        let mut driver = Self::new(config, handshake, Active::WebSocket(sink), commands, events);
        driver
            .tasks
            .spawn(read_loop(stream, driver.internal_tx.clone()));
        driver
    }

    /// Runs the session to its end, then reports why.
    pub(crate) async fn run(mut self) {
        let reason = self.run_until_closed().await;
        if reason == CloseReason::Forced {
            let _ = timeout(CLOSE_TIMEOUT, self.close()).await;
        }
        tracing::debug!(?reason, "engine.io session closed");
        self.tasks.abort_all();
        let _ = self.events.send(EngineEvent::Closed(reason)).await;
    }

    async fn run_until_closed(&mut self) -> CloseReason {
        for packet in std::mem::take(&mut self.initial) {
            if let Err(reason) = self.on_packet(packet).await {
                return reason;
            }
        }
        loop {
            let result = tokio::select! {
                command = self.commands.recv() => match command {
                    Some(EngineCmd::Send(frames)) => {
                        self.buffer.extend(frames);
                        self.flush().await
                    }
                    Some(EngineCmd::Close) | None => Err(CloseReason::Forced),
                },
                Some(event) = self.internal_rx.recv() => self.on_transport_event(event).await,
                () = tokio::time::sleep_until(self.deadline) => Err(CloseReason::PingTimeout),
            };
            if let Err(reason) = result {
                return reason;
            }
        }
    }

    async fn on_transport_event(&mut self, event: TransportEvent) -> Result<(), CloseReason> {
        match event {
            TransportEvent::Packets(source, packets) if self.is_active(source) => {
                for packet in packets {
                    self.on_packet(packet).await?;
                }
                Ok(())
            }
            TransportEvent::Closed(source, reason) if self.is_active(source) => Err(reason),
            TransportEvent::Packets(..) | TransportEvent::Closed(..) => Ok(()),
            TransportEvent::PollPaused => {
                if let Upgrade::Pausing { poll_stopped, .. } = &mut self.upgrade {
                    *poll_stopped = true;
                }
                self.try_finish_upgrade().await
            }
            TransportEvent::PostDone(result) => {
                let Active::Polling { posting, .. } = &mut self.active else {
                    return Ok(());
                };
                *posting = false;
                if let Err(e) = result {
                    tracing::debug!(error = %e, "post failed");
                    return Err(CloseReason::TransportError);
                }
                self.try_finish_upgrade().await
            }
            TransportEvent::ProbeDone(Ok(ws)) => {
                let Active::Polling { pause, .. } = &self.active else {
                    return Ok(());
                };
                tracing::debug!("upgrade probe succeeded; pausing polling");
                pause.store(true, Ordering::Release);
                self.upgrade = Upgrade::Pausing {
                    ws,
                    poll_stopped: false,
                };
                self.try_finish_upgrade().await
            }
            TransportEvent::ProbeDone(Err(e)) => {
                tracing::debug!(error = %e, "upgrade probe failed; staying on polling");
                self.upgrade = Upgrade::Idle;
                Ok(())
            }
        }
    }

    fn is_active(&self, source: Source) -> bool {
        matches!(
            (&self.active, source),
            (Active::Polling { .. }, Source::Polling) | (Active::WebSocket(_), Source::WebSocket)
        )
    }

    async fn on_packet(&mut self, packet: InPacket) -> Result<(), CloseReason> {
        match packet {
            InPacket::Ping(_) => {
                tracing::trace!("ping");
                self.deadline = Instant::now() + self.heartbeat;
                self.buffer.push(OutPacket::Text("3".into()));
                self.flush().await
            }
            InPacket::Message(text) => self.deliver(EngineEvent::Message(text)).await,
            InPacket::Binary(bytes) => self.deliver(EngineEvent::Binary(bytes)).await,
            InPacket::Close => Err(CloseReason::TransportClose),
            InPacket::Open(_) | InPacket::Pong(_) | InPacket::Upgrade | InPacket::Noop => Ok(()),
        }
    }

    async fn deliver(&mut self, event: EngineEvent) -> Result<(), CloseReason> {
        self.events
            .send(event)
            .await
            .map_err(|_| CloseReason::Forced)
    }

    /// Completes the upgrade once the probe succeeded, the GET loop stopped and
    /// no POST is in flight; otherwise writes what can be written.
    async fn try_finish_upgrade(&mut self) -> Result<(), CloseReason> {
        let posting = matches!(self.active, Active::Polling { posting: true, .. });
        let ready = matches!(
            self.upgrade,
            Upgrade::Pausing {
                poll_stopped: true,
                ..
            }
        ) && !posting;
        if !ready {
            return self.flush().await;
        }
        let Upgrade::Pausing { ws, .. } = std::mem::replace(&mut self.upgrade, Upgrade::Idle)
        else {
            return Ok(());
        };
        let (mut sink, stream) = (*ws).split();
        if let Err(e) = sink.send(Message::text("5")).await {
            tracing::debug!(error = %e, "upgrade failed");
            return Err(CloseReason::TransportError);
        }
        self.tasks
            .spawn(read_loop(stream, self.internal_tx.clone()));
        self.active = Active::WebSocket(sink);
        tracing::debug!("upgraded to websocket");
        self.deliver(EngineEvent::Upgraded(TransportKind::WebSocket))
            .await?;
        self.flush().await
    }

    /// Writes buffered frames: all of them over WebSocket, or one payload of
    /// at most the server's `maxPayload` in a POST when none is in flight and
    /// polling is not being paused.
    async fn flush(&mut self) -> Result<(), CloseReason> {
        while self.tasks.try_join_next().is_some() {}
        if self.buffer.is_empty() {
            return Ok(());
        }
        match &mut self.active {
            Active::WebSocket(sink) => {
                for frame in self.buffer.drain(..) {
                    sink.feed(to_message(frame))
                        .await
                        .map_err(|_| CloseReason::TransportError)?;
                }
                sink.flush().await.map_err(|_| CloseReason::TransportError)
            }
            Active::Polling {
                polling, posting, ..
            } => {
                if *posting || matches!(self.upgrade, Upgrade::Pausing { .. }) {
                    return Ok(());
                }
                let body = take_payload(&mut self.buffer, self.max_payload);
                *posting = true;
                let polling = polling.clone();
                let tx = self.internal_tx.clone();
                self.tasks.spawn(async move {
                    let result = polling.post(body).await;
                    let _ = tx.send(TransportEvent::PostDone(result)).await;
                });
                Ok(())
            }
        }
    }

    /// Says goodbye: over WebSocket a close frame after the buffered frames;
    /// over polling, once the POST in flight is done, a last POST with the
    /// buffered frames and a close packet.
    async fn close(&mut self) {
        if let Active::WebSocket(sink) = &mut self.active {
            for frame in self.buffer.drain(..) {
                let _ = sink.feed(to_message(frame)).await;
            }
            let _ = sink.close().await;
            return;
        }
        while matches!(self.active, Active::Polling { posting: true, .. }) {
            match self.internal_rx.recv().await {
                Some(TransportEvent::PostDone(_)) | None => break,
                Some(_) => {}
            }
        }
        if let Active::Polling { polling, .. } = &self.active {
            self.buffer.push(OutPacket::Text("1".into()));
            let mut body = Vec::new();
            for frame in self.buffer.drain(..) {
                encode_frame(&frame, &mut body);
            }
            let _ = polling.post(body).await;
        }
    }
}

/// Takes frames from the front of `buffer` into one payload of at most
/// `max` bytes (at least one frame, whatever its size).
fn take_payload(buffer: &mut Vec<OutPacket>, max: usize) -> Vec<u8> {
    let mut size = 0;
    let count = buffer
        .iter()
        .take_while(|frame| {
            size += encoded_len(frame);
            size <= max.saturating_add(1)
        })
        .count()
        .max(1);
    let mut body = Vec::with_capacity(size);
    for frame in buffer.drain(..count) {
        encode_frame(&frame, &mut body);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_stay_under_max_payload() {
        let mut buffer = vec![
            OutPacket::Text("4aaaa".into()),
            OutPacket::Text("4bbbb".into()),
            OutPacket::Text("4cccc".into()),
        ];
        // "4aaaa\x1e4bbbb" is 11 bytes.
        assert_eq!(take_payload(&mut buffer, 11), b"4aaaa\x1e4bbbb");
        assert_eq!(buffer.len(), 1);
        // A frame larger than the limit still goes, alone.
        assert_eq!(take_payload(&mut buffer, 2), b"4cccc");
        assert!(buffer.is_empty());
    }
}
