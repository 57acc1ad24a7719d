//! TLS (`https`, `wss`) and the `retries` option, against the official
//! Node.js `socket.io` 4.8 server (interop/socketio/extras-server.mjs).
//!
//! The TLS server's certificate is self-signed, made here with rcgen for
//! `127.0.0.1` and `localhost`; the client trusts it through
//! `ManagerConfig::tls_root_certificates`.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::node_server::node;
use common::{Mode, Recorder, WAIT};
use ferrio_client::{
    AckError, Certificate, ManagerConfig, Payload, Socket, SocketBuilder, TransportKind, io,
};
use serde_json::{Value, json};

const SCRIPT: &str = "socketio/extras-server.mjs";

/// A running extras-server.mjs, killed on drop (with its certificate files).
struct Server {
    process: node::NodeProcess,
    port: u16,
    /// The folder of the certificate and key, and the certificate's PEM.
    tls: Option<(PathBuf, String)>,
}

impl Server {
    async fn plain() -> Self {
        Self::start(false).await
    }

    /// Serves HTTPS with a self-signed certificate made now.
    async fn tls() -> Self {
        Self::start(true).await
    }

    async fn start(tls: bool) -> Self {
        tokio::task::spawn_blocking(move || {
            node::ensure_npm_deps();
            let tls = tls.then(self_signed);
            let mut args = vec!["--port".to_owned(), "0".to_owned()];
            if let Some((dir, _)) = &tls {
                let cert = dir.join("cert.pem").display().to_string();
                let key = dir.join("key.pem").display().to_string();
                args.extend(["--tls-cert".to_owned(), cert, "--tls-key".to_owned(), key]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut process = node::spawn_node(SCRIPT, &args);
            let port = process.wait_for_port(Duration::from_secs(30));
            Self { process, port, tls }
        })
        .await
        .expect("starting node")
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The server's certificate, to trust.
    fn certificate(&self) -> Certificate {
        let (_, pem) = self.tls.as_ref().expect("a TLS server");
        Certificate::from_pem(pem.as_bytes()).expect("a valid certificate")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.kill();
        if let Some((dir, _)) = &self.tls {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes a self-signed certificate for 127.0.0.1 and localhost, and its
/// key, into a new temporary folder; returns the folder and the PEM.
fn self_signed() -> (PathBuf, String) {
    static N: AtomicU32 = AtomicU32::new(0);
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("rcgen");
    let dir = std::env::temp_dir().join(format!(
        "ferrio-client-tls-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pem = cert.cert.pem();
    std::fs::write(dir.join("cert.pem"), &pem).expect("write cert");
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).expect("write key");
    (dir, pem)
}

fn client(url: &str, config: ManagerConfig) -> SocketBuilder {
    io(url).expect("valid URL").config(config).force_new(true)
}

async fn ack(
    socket: &Socket,
    event: &str,
    data: &(impl serde::Serialize + ?Sized),
) -> Vec<Payload> {
    socket
        .timeout(WAIT)
        .emit_with_ack(event, data)
        .await
        .unwrap_or_else(|e| panic!("{event} not acknowledged: {e}"))
        .into_vec()
}

// ---- TLS ----

/// `https` in every transport mode, and `wss` (WebSocket only): the session
/// runs over TLS, JSON and binary both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_over_tls_in_every_mode() {
    let server = Server::tls().await;
    let cases = [
        ("https", Mode::WebSocket, "websocket"),
        ("https", Mode::Polling, "polling"),
        ("https", Mode::Upgrade, "websocket"),
        ("wss", Mode::WebSocket, "websocket"),
    ];
    for (scheme, mode, transport) in cases {
        let mut rec = Recorder::default();
        let config = mode.config().tls_root_certificates([server.certificate()]);
        let socket = rec.watch(client(&server.url(scheme), config)).build();
        rec.connected("/").await;
        let answer = &ack(&socket, "whoami", &()).await[0];
        let who: Value = answer
            .to_value()
            .unwrap_or_else(|| panic!("whoami answered {answer:?}"));
        assert_eq!(who["secure"], json!(true), "{scheme} {mode:?}");
        assert_eq!(who["id"], json!(socket.id().unwrap()));
        if mode == Mode::Upgrade {
            // The upgrade may still be under way: wait for it.
            let deadline = Instant::now() + WAIT;
            while socket.manager().transport() != Some(TransportKind::WebSocket) {
                assert!(Instant::now() < deadline, "no upgrade over TLS");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        } else {
            assert_eq!(who["transport"], json!(transport), "{scheme} {mode:?}");
        }
        let echoed = ack(
            &socket,
            "echo-ack",
            &("über", Bytes::from_static(&[0, 255])),
        )
        .await;
        assert_eq!(
            echoed,
            [
                json!("über").into(),
                Payload::Binary(Bytes::from_static(&[0, 255]))
            ],
            "{scheme} {mode:?}"
        );
        let binary = ack(&socket, "binary", &()).await;
        assert_eq!(binary, [Payload::Binary(Bytes::from_static(&[1, 2, 3]))]);
        socket.disconnect();
    }
}

/// A certificate nobody vouches for is refused, on both transports: the
/// socket gets `connect_error` with rustls's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_an_untrusted_certificate() {
    let server = Server::tls().await;
    for mode in [Mode::WebSocket, Mode::Polling] {
        let mut rec = Recorder::default();
        let config = mode.config().reconnection(false);
        let socket = rec.watch(client(&server.url("https"), config)).build();
        let error = rec.connect_error("/").await;
        assert!(!error.is_from_server());
        assert!(
            error.message().contains("invalid peer certificate"),
            "{mode:?}: {}",
            error.message()
        );
        assert!(!socket.connected());
        socket.disconnect();
    }
}

/// A plain server behind an `https` URL fails cleanly, and a bad PEM is a
/// configuration error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_plain_server_fails() {
    let server = Server::plain().await;
    let mut rec = Recorder::default();
    let config = Mode::WebSocket.config().reconnection(false);
    let socket = rec.watch(client(&server.url("wss"), config)).build();
    let error = rec.connect_error("/").await;
    assert!(!error.is_from_server(), "{error:?}");
    socket.disconnect();
    assert!(
        Certificate::from_pem(b"not a certificate")
            .unwrap_err()
            .is_config()
    );
}

// ---- retries ----

/// The server's log of what it received: `(name, first argument)`.
async fn server_log(socket: &Socket) -> Vec<(String, Value)> {
    let log: Vec<Value> = socket
        .timeout(WAIT)
        .emit_with_ack("log", &())
        .await
        .expect("log answered")
        .get(0)
        .expect("a list");
    log.into_iter()
        .map(|entry| {
            (
                entry["name"].as_str().unwrap_or_default().to_owned(),
                entry["args"][0].clone(),
            )
        })
        .collect()
}

/// Events whose acknowledgement does not come in time are sent again, one
/// event at a time and in order; plain emits are queued and acknowledged too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_until_acknowledged_in_order() {
    let server = Server::plain().await;
    for mode in [Mode::WebSocket, Mode::Polling] {
        let rec = Recorder::default();
        let socket = rec
            .watch(
                client(&server.url("http"), mode.config())
                    .ack_timeout(Duration::from_millis(400))
                    .retries(3),
            )
            .build();
        // Queued before the connection is up.
        let tag = format!("{mode:?}");
        let a = socket.emit_with_ack("flaky", &json!({"id": format!("a-{tag}"), "drop": 2}));
        let b = socket.emit_with_ack("flaky", &json!({"id": format!("b-{tag}")}));
        socket.emit("record", &format!("c-{tag}")).unwrap();
        let (a, b) = tokio::join!(a, b);
        assert_eq!(
            a.unwrap().get::<Value>(0).unwrap(),
            json!({"id": format!("a-{tag}"), "tries": 3})
        );
        assert_eq!(
            b.unwrap().get::<Value>(0).unwrap(),
            json!({"id": format!("b-{tag}"), "tries": 1})
        );
        let log: Vec<_> = server_log(&socket)
            .await
            .into_iter()
            .filter(|(_, arg)| arg.to_string().contains(&tag))
            .collect();
        let a_spec = json!({"id": format!("a-{tag}"), "drop": 2});
        assert_eq!(
            log,
            [
                ("flaky".to_owned(), a_spec.clone()),
                ("flaky".to_owned(), a_spec.clone()),
                ("flaky".to_owned(), a_spec),
                ("flaky".to_owned(), json!({"id": format!("b-{tag}")})),
                ("record".to_owned(), json!(format!("c-{tag}"))),
            ],
            "{mode:?}"
        );
        socket.disconnect();
    }
}

/// After `1 + retries` tries the event is given up: its `emit_with_ack`
/// fails with the timeout, and the queue goes on with the next one. A
/// volatile emit does not wait in the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_the_last_retry() {
    let server = Server::plain().await;
    let mut rec = Recorder::default();
    let socket = rec
        .watch(
            client(&server.url("http"), Mode::WebSocket.config())
                .ack_timeout(Duration::from_secs(10))
                .retries(1),
        )
        .build();
    rec.connected("/").await;
    let started = Instant::now();
    let lost = socket
        .timeout(Duration::from_millis(300))
        .emit_with_ack("flaky", &json!({"id": "x", "drop": 5}));
    let next = socket.emit_with_ack("flaky", &json!({"id": "y"}));
    assert!(matches!(lost.await, Err(AckError::Timeout)));
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "two tries of 300 ms"
    );
    assert_eq!(
        next.await.unwrap().get::<Value>(0).unwrap(),
        json!({"id": "y", "tries": 1})
    );
    socket.volatile().emit("record", &"volatile").unwrap();
    let log = server_log(&socket).await;
    let names: Vec<String> = log
        .iter()
        .map(|(_, arg)| {
            arg["id"]
                .as_str()
                .map_or_else(|| arg.to_string(), str::to_owned)
        })
        .collect();
    assert_eq!(names, ["x", "x", "y", "\"volatile\""]);
    socket.disconnect();
}

/// Without an ack timeout, an event whose connection drops before the
/// acknowledgement is sent again after the reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resends_after_a_lost_connection() {
    let server = Server::plain().await;
    for mode in [Mode::WebSocket, Mode::Polling] {
        let mut rec = Recorder::default();
        let socket = rec
            .watch(client(&server.url("http"), mode.config()).retries(0))
            .build();
        rec.connected("/").await;
        let id = format!("d-{mode:?}");
        let answer = socket
            .emit_with_ack("flaky", &json!({"id": id, "drop": 1, "close": true}))
            .await
            .expect("acknowledged after the reconnection");
        assert_eq!(
            answer.get::<Value>(0).unwrap(),
            json!({"id": id, "tries": 2})
        );
        rec.disconnected("/").await;
        rec.connected("/").await;
        socket.disconnect();
    }
}
