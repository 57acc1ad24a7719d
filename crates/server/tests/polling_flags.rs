//! The emit flags over long-polling, as Node applies them: `volatile` (D18)
//! drops a packet when no GET is parked, outgoing listeners hearing of it
//! first; `compress(false)` keeps a poll's answer plain.

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

/// A GET with `Accept-Encoding: gzip`: whether the answer was gzipped.
async fn gzipped_poll(server: &TestServer, sid: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let path = server.path(&format!("transport=polling&sid={sid}"));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let head = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    head.contains("content-encoding: gzip")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compress_false_keeps_a_polling_answer_plain() {
    let io = SocketIo::new();
    io.on_connection(|socket| async move {
        socket.on("plain", |socket, _| async move {
            socket
                .compress(false)
                .emit("big", &"x".repeat(4096))
                .unwrap();
        });
        socket.on("packed", |socket, _| async move {
            socket.emit("big", &"x".repeat(4096)).unwrap();
        });
    });
    let server = TestServer::start(io).await;
    let client = server.polling().await;
    server.post(&client, "40").await;
    server.poll_packets(&client, 1).await;
    server.post(&client, r#"42["plain"]"#).await;
    assert!(!gzipped_poll(&server, &client.sid).await);
    server.post(&client, r#"42["packed"]"#).await;
    assert!(gzipped_poll(&server, &client.sid).await);
}
