//! permessage-deflate: ferrio-client offering it (`per_message_deflate`)
//! against the official Node.js socket.io 4.8 server with `perMessageDeflate`
//! on (interop/socketio/server.mjs) and against ferrio's server with it on.
//! A large, compressible acknowledgement comes back whole, and a proxy
//! between them counts the server's bytes: compressed with the option, not
//! without it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::node_server::NodeServer;
use common::{Mode, Recorder, TestServer};
use ferrio_client::{DeflateConfig, io};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy to `target` on a port of its own, counting the bytes the
/// server sends.
async fn counting_proxy(target: u16) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counted = Arc::new(AtomicUsize::new(0));
    let count = counted.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                continue;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
            });
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n) = server_read.read(&mut buf).await {
                    if n == 0 || client_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    count.fetch_add(n, Ordering::Relaxed);
                }
            });
        }
    });
    (port, counted)
}

/// Echoes a 150 KB text through `echo-ack` over WebSocket, offering
/// permessage-deflate or not; the bytes the server sent for it.
async fn echo_through(port: u16, offer: Option<DeflateConfig>) -> usize {
    let (proxy, counted) = counting_proxy(port).await;
    let mut rec = Recorder::default();
    let config = Mode::WebSocket.config().per_message_deflate(offer);
    let socket = rec
        .watch(
            io(&format!("http://127.0.0.1:{proxy}/"))
                .unwrap()
                .config(config)
                .force_new(true),
        )
        .build();
    rec.connected("/").await;
    let big: String = (0..40_000).map(|i| format!("w{} ", i % 50)).collect();
    let before = counted.load(Ordering::Relaxed);
    let answer = socket
        .timeout(Duration::from_secs(10))
        .emit_with_ack("echo-ack", &(big.as_str(), 1))
        .await
        .unwrap();
    let sent = counted.load(Ordering::Relaxed) - before;
    assert_eq!(answer, [json!(big).into(), json!(1).into()]);
    socket.disconnect();
    eprintln!("{} bytes echoed in {sent} bytes", big.len());
    assert!(big.len() > 100_000);
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inflates_what_nodes_server_compresses() {
    let server = NodeServer::spawn_with(&["--per-message-deflate"]).await;
    let port = port_of(&server);
    let compressed = echo_through(port, Some(DeflateConfig::default())).await;
    assert!(compressed < 20_000, "{compressed} bytes: not compressed");
    let plain = echo_through(port, None).await;
    assert!(plain > 100_000, "{plain} bytes without the offer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inflates_what_ferrios_server_compresses() {
    let config = ferrio::SocketIoConfig::default()
        .with_engine(|e| e.per_message_deflate(Some(ferrio::engine::DeflateConfig::default())));
    let io = ferrio::SocketIo::with_config(config);
    io.on_connection(|socket: Arc<ferrio::Socket>| {
        socket.on("echo-ack", |_socket, event| async move {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args().clone());
            }
        });
        async {}
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = io.serve(listener, std::future::pending()).await;
    });
    let compressed = echo_through(port, Some(DeflateConfig::default())).await;
    assert!(compressed < 20_000, "{compressed} bytes: not compressed");
    let plain = echo_through(port, None).await;
    assert!(plain > 100_000, "{plain} bytes without the offer");
}

fn port_of(server: &NodeServer) -> u16 {
    let url = server.url();
    url.rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap()
}
