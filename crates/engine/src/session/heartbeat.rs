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
