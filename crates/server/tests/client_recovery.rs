//! ferrio's own client recovers its session from ferrio twice in a row, over
//! WebSocket and over long-polling: each recovery gives back what was missed
//! since the previous one, and nothing of the one before (the client counts
//! the offsets of replayed events too).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrio::{RecoveryConfig, SocketId, SocketIo, SocketIoConfig};
use ferrio_client::{ManagerConfig, TransportKind};
use support::{TestServer, channel};

#[derive(Debug, PartialEq)]
enum Seen {
    Connect { id: String, recovered: bool },
    Event(String, String),
}

#[tokio::test(flavor = "multi_thread")]
async fn ferrio_client_recovers_twice_in_a_row_without_replaying_the_first_recovery() {
    let io = SocketIo::with_config(
        SocketIoConfig::default().connection_state_recovery(RecoveryConfig::default()),
    );
    // What the server sends a socket once it has lost its connection.
    let next_missed: Arc<Mutex<Option<String>>> = Arc::default();
    let (left_tx, mut left) = channel();
    let missed = next_missed.clone();
    io.on_connection(move |socket| {
        let missed = missed.clone();
        let left_tx = left_tx.clone();
        async move {
            socket.on("echo", |socket, event| async move {
                let _ = socket.emit_args("echo", event.args().clone());
            });
            socket.on_disconnect(move |socket, reason| {
                let value = missed.lock().unwrap().take();
                let left_tx = left_tx.clone();
                async move {
                    if let Some(value) = value {
                        let room = socket.id();
                        socket.namespace().to(room).emit("missed", &value).unwrap();
                    }
                    let _ = left_tx.send(reason);
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let url = format!("http://{}", server.addr);

    for transport in [TransportKind::WebSocket, TransportKind::Polling] {
        let (tx, mut seen) = channel();
        let config = ManagerConfig::default()
            .reconnection_delay(Duration::from_millis(50))
            .reconnection_delay_max(Duration::from_millis(100))
            .transports([transport]);
        let (connect_tx, event_tx) = (tx.clone(), tx.clone());
        let socket = ferrio_client::io(&url)
            .unwrap()
            .config(config)
            .force_new(true)
            .on_connect(move |socket| {
                let _ = connect_tx.send(Seen::Connect {
                    id: socket.id().unwrap_or_default(),
                    recovered: socket.recovered(),
                });
                async {}
            })
            .on_any(move |_, event| {
                let value = event.arg::<String>(0).unwrap_or_default();
                let _ = event_tx.send(Seen::Event(event.name().to_owned(), value));
            })
            .build();
        let Seen::Connect { id, recovered } = seen.next().await else {
            panic!("connect first")
        };
        assert!(!recovered);
        socket.emit("echo", &"one").unwrap();
        assert_eq!(seen.next().await, Seen::Event("echo".into(), "one".into()));

        for value in ["first", "second"] {
            *next_missed.lock().unwrap() = Some(value.to_owned());
            let engine = socket.manager().engine_id().expect("an open connection");
            let session = server
                .io
                .engine()
                .session(SocketId::parse(&engine).unwrap())
                .expect("its session");
            session.close();
            assert_eq!(left.next().await, ferrio::DisconnectReason::ForcedClose);
            assert_eq!(
                seen.next().await,
                Seen::Event("missed".into(), value.into()),
                "{transport:?}: the missed event, before connect"
            );
            assert_eq!(
                seen.next().await,
                Seen::Connect {
                    id: id.clone(),
                    recovered: true
                },
                "{transport:?}"
            );
        }
        // A live round trip, then nothing else: "first" was not replayed.
        socket.emit("echo", &"two").unwrap();
        assert_eq!(seen.next().await, Seen::Event("echo".into(), "two".into()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(seen.try_next(), None, "{transport:?}");
        socket.disconnect();
        assert_eq!(
            left.next().await,
            ferrio::DisconnectReason::ClientNamespaceDisconnect
        );
    }
}
