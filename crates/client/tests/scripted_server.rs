//! The client against a scripted Engine.IO server over WebSocket: the
//! heartbeat (it answers every ping, and takes a server that stops pinging as
//! gone) and what it does with frames that make no sense.

mod common;

use std::time::Duration;

use common::{Mode, Recorder};
use ferrio_client::DisconnectReason;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// How the scripted server behaves after accepting the namespace.
#[derive(Clone, Copy)]
enum Script {
    /// Never pings.
    Silent,
    /// Pings this many times, 50 ms apart, then stays silent.
    Ping(usize),
    /// Sends this frame after accepting the namespace.
    Send(&'static str),
}

/// A one-connection Engine.IO server over WebSocket: handshake with
/// `pingInterval` 200 ms and `pingTimeout` 800 ms, accepts CONNECT to `/`,
/// then follows its script. Reports every text frame it receives.
async fn scripted_server(script: Script) -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        ws.send(Message::text(
            r#"0{"sid":"scripted","upgrades":[],"pingInterval":200,"pingTimeout":800,"maxPayload":1000000}"#,
        ))
        .await
        .unwrap();
        let mut pings_left = match script {
            Script::Ping(n) => n,
            Script::Silent | Script::Send(_) => 0,
        };
        let mut ticker = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        if text.as_str() == "40" {
                            ws.send(Message::text(r#"40{"sid":"s1"}"#)).await.unwrap();
                            if let Script::Send(frame) = script {
                                ws.send(Message::text(frame)).await.unwrap();
                            }
                        }
                        let _ = tx.send(text.as_str().to_owned());
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                },
                _ = ticker.tick(), if pings_left > 0 => {
                    pings_left -= 1;
                    if ws.send(Message::text("2")).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    (url, rx)
}

fn config() -> ferrio_client::ManagerConfig {
    Mode::WebSocket.config().reconnection(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_pinging_is_gone() {
    let (url, _frames) = scripted_server(Script::Silent).await;
    let mut rec = Recorder::default();
    let socket = rec
        .watch(
            ferrio_client::io(&url)
                .unwrap()
                .config(config())
                .force_new(true),
        )
        .build();
    rec.connected("/").await;
    assert_eq!(rec.disconnected("/").await, DisconnectReason::PingTimeout);
    assert!(!socket.connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ping_gets_a_pong_and_keeps_the_session() {
    let (url, mut frames) = scripted_server(Script::Ping(6)).await;
    let mut rec = Recorder::default();
    let socket = rec
        .watch(
            ferrio_client::io(&url)
                .unwrap()
                .config(config())
                .force_new(true),
        )
        .build();
    rec.connected("/").await;
    let mut received = Vec::new();
    while received.iter().filter(|f| *f == "3").count() < 6 {
        let frame = tokio::time::timeout(common::WAIT, frames.recv())
            .await
            .expect("a frame")
            .expect("server running");
        received.push(frame);
    }
    assert!(received.iter().any(|f| f == "40"), "{received:?}");
    // Six pings 50 ms apart: no timeout while they came...
    assert!(socket.connected());
    // ...and once they stop, the session ends within interval + timeout.
    assert_eq!(rec.disconnected("/").await, DisconnectReason::PingTimeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_that_make_no_sense_are_a_parse_error() {
    // An unknown Engine.IO packet type, then a Socket.IO packet that is not JSON.
    for frame in ["9", r#"42["unfinished"#] {
        let (url, _frames) = scripted_server(Script::Send(frame)).await;
        let mut rec = Recorder::default();
        let socket = rec
            .watch(
                ferrio_client::io(&url)
                    .unwrap()
                    .config(config())
                    .force_new(true),
            )
            .build();
        rec.connected("/").await;
        assert_eq!(
            rec.disconnected("/").await,
            DisconnectReason::ParseError,
            "{frame}"
        );
        assert!(!socket.connected());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_decoder_limits_are_the_configured_ones() {
    // Eight JSON values: within the default limit, over a limit of 4.
    let frame = r#"42["many",1,2,3,4,5,6]"#;
    for (limit, refused) in [(None, false), (Some(4), true)] {
        let (url, _frames) = scripted_server(Script::Send(frame)).await;
        let mut config = config();
        if let Some(limit) = limit {
            config = config.decoder(ferrio_client::DecoderConfig::default().max_json_values(limit));
        }
        let mut rec = Recorder::default();
        let _socket = rec
            .watch(
                ferrio_client::io(&url)
                    .unwrap()
                    .config(config)
                    .force_new(true),
            )
            .build();
        rec.connected("/").await;
        if refused {
            assert_eq!(rec.disconnected("/").await, DisconnectReason::ParseError);
        } else {
            assert_eq!(
                rec.event("/", "many").await,
                (1..=6)
                    .map(|n| serde_json::json!(n).into())
                    .collect::<Vec<_>>()
            );
        }
    }
}
