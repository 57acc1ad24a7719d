use std::sync::Arc;

use tokio::time::{Instant, sleep_until};

use super::{Frame, Session};
use crate::CloseReason;

/// The v4 heartbeat: ping every `ping_interval` from the handshake on, and close
/// the session when a ping is not answered within `ping_timeout`.
pub(super) async fn run(session: Arc<Session>) {
    let interval = session.shared.config.ping_interval;
    let timeout = session.shared.config.ping_timeout;
    loop {
        if !wait_until(&session, Instant::now() + interval, |_| false).await {
            return;
        }
        session.lock().awaiting_pong = true;
        session.push_control(Frame::PING);
        let deadline = Instant::now() + timeout;
        if !wait_until(&session, deadline, |s| !s.lock().awaiting_pong).await {
            return;
        }
        if session.lock().awaiting_pong {
            session.close_with(CloseReason::PingTimeout);
            return;
        }
    }
}

/// Sleeps until `deadline` or until `done` holds; `false` once the session closed.
async fn wait_until(session: &Session, deadline: Instant, done: impl Fn(&Session) -> bool) -> bool {
    loop {
        let woken = session.heartbeat.notified();
        if session.is_closed() {
            return false;
        }
        if done(session) {
            return true;
        }
        tokio::select! {
            () = sleep_until(deadline) => return !session.is_closed(),
            () = woken => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;
    use ferrio_proto::engine::Packet;

    use crate::{
        CloseReason, ConnectInfo, Engine, EngineConfig, Frame, Handler, Message, Session,
        TransportKind,
    };

    #[derive(Default, Clone)]
    struct Closes(Arc<Mutex<Vec<CloseReason>>>);

    impl Handler for Closes {
        fn on_open(&self, _: &Arc<Session>) {}
        fn on_message(&self, _: &Arc<Session>, _: Message) {}
        fn on_close(&self, _: &Arc<Session>, reason: CloseReason) {
            self.0.lock().unwrap().push(reason);
        }
    }

    fn open(engine: &Engine) -> Arc<Session> {
        let info = ConnectInfo {
            uri: "/engine.io/".parse().unwrap(),
            headers: Default::default(),
            remote_addr: None,
            issued: SystemTime::now(),
        };
        let session = engine.shared.open_session(info, TransportKind::Polling);
        session.lock().take_outbox();
        session
    }

    fn pings(session: &Session) -> usize {
        let ping = Frame::PING;
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
        session.on_packet(Packet::Pong(""), &Bytes::new()).unwrap();
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
        session.on_packet(Packet::Pong(""), &Bytes::new()).unwrap();
        advance(15_100).await;
        assert_eq!(pings(&session), 1, "the interval runs from the handshake");
    }
}
