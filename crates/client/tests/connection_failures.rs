//! Connections that cannot be made: refused, timing out, and giving up after
//! the configured number of attempts.

mod common;

use std::time::Duration;

use common::{Mode, Recorder, Seen};
use ferrio_client::{Manager, io};
use tokio::net::TcpListener;

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_the_reconnection_attempts() {
    for mode in [Mode::WebSocket, Mode::Polling] {
        let url = format!("http://127.0.0.1:{}", closed_port().await);
        let config = mode
            .config()
            .reconnection_delay(Duration::from_millis(10))
            .reconnection_delay_max(Duration::from_millis(20))
            .reconnection_attempts(Some(2));
        let manager = Manager::new(&url, config).unwrap();
        let mut rec = Recorder::default();
        rec.watch_manager(&manager);
        let socket = rec.watch(manager.socket("/")).build();
        let error = rec.connect_error("/").await;
        assert!(!error.is_from_server());
        rec.wait("attempt 1", |s| matches!(s, Seen::ReconnectAttempt(1)))
            .await;
        rec.wait("attempt 2", |s| matches!(s, Seen::ReconnectAttempt(2)))
            .await;
        rec.wait("reconnect_failed", |s| matches!(s, Seen::ReconnectFailed))
            .await;
        let rest = rec.drain(Duration::from_millis(200)).await;
        let errors = rest
            .iter()
            .filter(|s| matches!(s, Seen::ConnectError { .. }))
            .count();
        assert_eq!(errors, 2, "one connect_error per attempt: {rest:?}");
        assert_eq!(
            rest.iter()
                .filter(|s| matches!(s, Seen::ReconnectError))
                .count(),
            2,
            "{rest:?}"
        );
        assert!(
            !rest.iter().any(|s| matches!(s, Seen::ReconnectAttempt(_))),
            "no attempt after giving up: {rest:?}"
        );
        assert!(!socket.connected());
        assert!(!manager.is_open());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections and never says anything.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    for mode in [Mode::WebSocket, Mode::Polling] {
        let mut rec = Recorder::default();
        let config = mode
            .config()
            .timeout(Duration::from_millis(200))
            .reconnection(false);
        let socket = rec
            .watch(io(&url).unwrap().config(config).force_new(true))
            .build();
        let error = rec.connect_error("/").await;
        assert_eq!(error.message(), "timeout", "{mode:?}");
        assert!(!error.is_from_server());
        assert!(!socket.connected());
    }
}

#[test]
fn urls_are_checked() {
    assert!(io("ftp://localhost").unwrap_err().is_config());
    assert!(io("localhost:3000").unwrap_err().is_config());
    assert!(io("https://localhost").is_ok());
    assert!(Manager::new("wss://localhost", Default::default()).is_ok());
    assert!(io("http://localhost:3000/admin?x=1").is_ok());
}
