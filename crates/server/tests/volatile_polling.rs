//! `volatile` over long-polling, as Node decides it (D18): a volatile packet
//! is dropped when no GET is parked, and outgoing listeners hear of it first.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrio::SocketIo;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_over_polling_needs_a_parked_poll() {
    let io = SocketIo::new();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        async move {
            socket.on_any_outgoing(move |_, event, _| log.lock().unwrap().push(event.to_owned()));
            socket.on("now", |socket, _| async move {
                socket.volatile().emit("dropped", &()).unwrap();
                socket.emit("kept", &()).unwrap();
            });
            socket.on("later", |socket, _| async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                socket.volatile().emit("delivered", &()).unwrap();
            });
        }
    });
    let server = TestServer::start(io).await;
    let client = server.polling().await;
    server.post(&client, "40").await;
    let connect = server.poll_packets(&client, 1).await;
    assert!(connect[0].starts_with("40{"), "{connect:?}");
    // No GET parked while the handler runs: the volatile packet is dropped.
    server.post(&client, r#"42["now"]"#).await;
    let packets = server.poll_packets(&client, 1).await;
    assert_eq!(packets, [r#"42["kept"]"#]);
    // A GET parked: the volatile packet goes out.
    server.post(&client, r#"42["later"]"#).await;
    let packets = server.poll_packets(&client, 1).await;
    assert_eq!(packets, [r#"42["delivered"]"#]);
    // The outgoing listener heard of all three, the dropped one included.
    assert_eq!(*heard.lock().unwrap(), ["dropped", "kept", "delivered"]);
}
