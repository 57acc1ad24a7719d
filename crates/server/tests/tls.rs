//! TLS on the standalone listener: the official socket.io-client (Node) over
//! `https://` long-polling, `wss://` WebSocket and the upgrade between them,
//! against [`SocketIo::serve_tls`] with a self-signed certificate made for the
//! test (rcgen) and loaded from PEM files. Without the certificate in its
//! trust store the client must refuse to connect: the TLS is real.

#![cfg(feature = "tls")]

use ferrio_test_support::node;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ferrio::{SocketIo, TlsConfig};

const NODE_TIMEOUT: Duration = Duration::from_secs(30);

/// A certificate for 127.0.0.1 and localhost, written as PEM files.
fn self_signed(dir: &str) -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    (cert, key)
}

/// A server answering `echo` with an ack of its arguments, over TLS.
async fn start(tls: TlsConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let io = SocketIo::new();
    io.on_connection(|socket| async move {
        socket.on("echo", |_, event| async move {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args().clone().into_vec());
            }
        });
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        io.serve_tls(listener, tls, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (addr, stop)
}

async fn client(args: Vec<String>) -> node::NodeOutput {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        node::run_node("socketio/tls-client.mjs", &args, NODE_TIMEOUT)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_client_connects_over_https_and_wss() {
    node::ensure_npm_deps();
    let (cert, key) = self_signed("tls-interop");
    let tls = TlsConfig::from_pem_files(&cert, &key).expect("the PEM files load");
    let (addr, stop) = start(tls).await;
    let url = format!("https://{addr}");
    let ca = cert.display().to_string();

    for mode in ["polling", "websocket", "upgrade"] {
        let out = client(vec![
            "--url".into(),
            url.clone(),
            "--mode".into(),
            mode.into(),
            "--ca".into(),
            ca.clone(),
        ])
        .await;
        out.assert_ok();
        assert_eq!(out.lines_with_event("ack").len(), 1, "{mode}:\n{out}");
        if mode == "upgrade" {
            assert_eq!(out.lines_with_event("upgraded").len(), 1, "{out}");
        }
    }

    // Not trusting the certificate, the client refuses the server.
    for mode in ["polling", "websocket"] {
        let out = client(vec![
            "--url".into(),
            url.clone(),
            "--mode".into(),
            mode.into(),
            "--expect-failure".into(),
        ])
        .await;
        out.assert_ok();
        assert_eq!(out.lines_with_event("connect_error").len(), 1, "{out}");
    }
    let _ = stop.send(());
}

#[test]
fn bad_pem_files_are_reported_with_their_names() {
    let (cert, key) = self_signed("tls-bad-pem");
    let missing = cert.with_file_name("missing.pem");
    let error = TlsConfig::from_pem_files(&missing, &key).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert!(error.to_string().contains("missing.pem"), "{error}");
    // The key file where the certificate should be, and the other way round.
    let error = TlsConfig::from_pem_files(&key, &key).unwrap_err();
    assert!(error.to_string().contains("no certificate"), "{error}");
    let error = TlsConfig::from_pem_files(&cert, &cert).unwrap_err();
    assert!(error.to_string().contains("private key"), "{error}");
}
