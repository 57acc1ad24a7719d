//! The v4 heartbeat: ping every `ping_interval` from the handshake on, restart
//! the interval after each pong, and close a session whose ping goes unanswered
//! for `ping_timeout`. A v3 session is pinged by its client instead: it
//! always awaits one, and times out `ping_interval + ping_timeout` after the
//! last (or after the handshake).
//!
//! The timing lives in the session's state and is stepped by whichever task
//! owns the transport: a small task of its own while the session is on
//! long-polling, the connection's task once it is on WebSocket, so an idle
//! WebSocket session costs one task, not two.

use std::sync::Arc;

use tokio::time::{Instant, sleep_until};

use super::{OutPacket, Session, State};
use crate::{CloseReason, TransportKind};

/// When the heartbeat acts next.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// When the next ping is due.
    pub ping_due: Instant,
    /// While a ping waits for its pong: when the session times out.
    pub pong_due: Option<Instant>,
}

impl Timing {
    pub(crate) fn new(now: Instant, interval: std::time::Duration) -> Self {
        Self {
            ping_due: now + interval,
            pong_due: None,
        }
    }

    /// The timing of a v3 session, which the client pings: no ping is ever
    /// due from the server (a pong is always awaited), and the session times
    /// out at `now + deadline` unless a ping moves it.
    pub(crate) fn awaiting_ping(now: Instant, deadline: std::time::Duration) -> Self {
        Self {
            ping_due: now + deadline,
            pong_due: Some(now + deadline),
        }
    }

    /// The next instant at which [`Session::heartbeat_step`] has work.
    pub(crate) fn next_wake(&self) -> Instant {
        self.pong_due.unwrap_or(self.ping_due)
    }
}

impl State {
    /// A v3 client pinged: its session lives `deadline` more.
    pub(crate) fn on_client_ping(&mut self, now: Instant, deadline: std::time::Duration) {
        self.heartbeat = Timing::awaiting_ping(now, deadline);
    }

    /// A pong arrived: stop waiting and restart the interval.
    pub(crate) fn on_pong(&mut self, now: Instant, interval: std::time::Duration) -> bool {
        if self.heartbeat.pong_due.take().is_some() {
            self.heartbeat.ping_due = now + interval;
            return true;
        }
        false
    }
}

impl Session {
    /// Does what is due at `now`: sends a ping, or times the session out.
    /// Returns when to call again, or `None` when the caller no longer owns the
    /// heartbeat (the session closed, or moved to another transport).
    pub(crate) fn heartbeat_step(&self, now: Instant, owner: TransportKind) -> Option<Instant> {
        let timeout = self.shared.config.ping_timeout;
        let mut state = self.lock();
        if state.closed.is_some() || state.transport() != owner {
            return None;
        }
        let timing = &mut state.heartbeat;
        if let Some(due) = timing.pong_due {
            if now < due {
                return Some(due);
            }
            drop(state);
            self.close_with(CloseReason::PingTimeout);
            return None;
        }
        if now < timing.ping_due {
            return Some(timing.ping_due);
        }
        timing.pong_due = Some(now + timeout);
        let wake = timing.next_wake();
        let queued = state.push(OutPacket::PING, None).is_ok();
        drop(state);
        if queued {
            self.writer.notify_one();
        }
        Some(wake)
    }
}

/// The heartbeat of a long-polling session, until it closes or upgrades.
pub(super) async fn run_for_polling(session: Arc<Session>) {
    let mut wake = session.lock().heartbeat.next_wake();
    loop {
        let woken = session.heartbeat.notified();
        tokio::select! {
            () = sleep_until(wake) => {}
            // A pong moved the schedule, or the session closed or upgraded.
            () = woken => {}
        }
        match session.heartbeat_step(Instant::now(), TransportKind::Polling) {
            Some(next) => wake = next,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use ferrio_proto::engine::Packet;

    use crate::{
        CloseReason, Connection, Engine, EngineConfig, Handler, Message, OutPacket, Session,
        TransportKind,
    };

    #[derive(Default, Clone)]
    struct Closes(Arc<Mutex<Vec<CloseReason>>>);

    impl Handler for Closes {
        fn on_open(&self, _: &Arc<Session>) -> Arc<dyn Connection> {
            Arc::new(self.clone())
        }
    }

    impl Connection for Closes {
        fn on_message(self: Arc<Self>, _: Message) {}
        fn on_close(&self, reason: CloseReason) {
            self.0.lock().unwrap().push(reason);
        }
    }

    fn open(engine: &Engine) -> Arc<Session> {
        open_at(engine, "/engine.io/")
    }

    fn open_at(engine: &Engine, uri: &str) -> Arc<Session> {
        let info = crate::test_util::connect_info(uri);
        let session = engine
            .shared
            .open_session(crate::Sid::random(), info, TransportKind::Polling)
            .unwrap();
        session.lock().take_outbox();
        session
    }

    fn pings(session: &Session) -> usize {
        let ping = OutPacket::PING;
        session
            .lock()
            .take_outbox()
            .iter()
            .filter(|f| **f == ping)
            .count()
    }

    async fn advance(ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn pings_every_interval_restarts_on_pong_and_times_out() {
        let closes = Closes::default();
        let engine = Engine::new(EngineConfig::default(), closes.clone());
        let session = open(&engine);

        advance(24_900).await;
        assert_eq!(pings(&session), 0, "no ping before the interval");
        advance(200).await;
        assert_eq!(pings(&session), 1, "ping at 25 s");

        // A pong at 30 s restarts the interval: next ping at 55 s.
        advance(4_900).await;
        let connection = session.connection().expect("open");
        session
            .on_packet(&connection, Packet::Pong(""), &Bytes::new())
            .unwrap();
        advance(24_900).await;
        assert_eq!(pings(&session), 0);
        advance(200).await;
        assert_eq!(pings(&session), 1, "ping 25 s after the pong");

        // Unanswered: closed 20 s after the ping, not before.
        advance(19_800).await;
        assert!(!session.is_closed());
        advance(300).await;
        assert!(session.is_closed());
        assert_eq!(*closes.0.lock().unwrap(), [CloseReason::PingTimeout]);
        assert_eq!(engine.session_count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pong_without_a_ping_changes_nothing() {
        let engine = Engine::new(EngineConfig::default(), Closes::default());
        let session = open(&engine);
        advance(10_000).await;
        let connection = session.connection().expect("open");
        session
            .on_packet(&connection, Packet::Pong(""), &Bytes::new())
            .unwrap();
        advance(15_100).await;
        assert_eq!(pings(&session), 1, "the interval runs from the handshake");
    }

    /// v3: the server never pings; a client ping is answered with a pong and
    /// moves the deadline to interval + timeout (45 s) from it.
    #[tokio::test(start_paused = true)]
    async fn a_v3_session_is_pinged_by_its_client_and_times_out_without_pings() {
        let closes = Closes::default();
        let engine = Engine::new(EngineConfig::default().allow_eio3(true), closes.clone());
        let session = open_at(&engine, "/engine.io/?EIO=3&transport=polling");
        assert_eq!(session.protocol(), crate::Protocol::V3);

        advance(30_000).await;
        assert_eq!(pings(&session), 0, "the server does not ping a v3 client");
        let connection = session.connection().expect("open");
        session
            .on_packet(&connection, Packet::Ping(""), &Bytes::new())
            .unwrap();
        let pong = OutPacket::PONG;
        assert_eq!(
            session.lock().take_outbox().iter().collect::<Vec<_>>(),
            [&pong]
        );

        // 45 s after the ping at 30 s: closed at 75 s, not before.
        advance(44_900).await;
        assert!(!session.is_closed());
        advance(200).await;
        assert!(session.is_closed());
        assert_eq!(*closes.0.lock().unwrap(), [CloseReason::PingTimeout]);
    }

    /// Without `allow_eio3`, a session is v4 whatever its query says (the
    /// HTTP front end refuses such handshakes before).
    #[tokio::test(start_paused = true)]
    async fn without_allow_eio3_every_session_is_v4() {
        let engine = Engine::new(EngineConfig::default(), Closes::default());
        let session = open_at(&engine, "/engine.io/?EIO=3&transport=polling");
        assert_eq!(session.protocol(), crate::Protocol::V4);
    }
}
