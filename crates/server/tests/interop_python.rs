//! python-socketio's client (PyPI, its sync `socketio.Client`) against ferrio,
//! over WebSocket only and over long-polling only: auth, events with several
//! arguments, acks both ways, binary both ways, rooms and broadcast, rejection
//! by namespace middleware, dynamic namespaces and a server-side disconnect.
//!
//! The client is `interop/python/client.py`, run in the virtualenv
//! `interop/python/.venv` (installed from `interop/python/requirements.txt` by
//! `scripts/test`, or here on first use). The server is built in-process with
//! the conformance server's handlers. Each transport runs with the default
//! parser and with the msgpack one (python-socketio's `serializer='msgpack'`
//! against `Parser::MsgPack`).

use ferrio_test_support::python;

#[path = "../examples/conformance/handlers.rs"]
mod handlers;

use std::time::{Duration, Instant};

use ferrio::engine::{Cors, EngineConfig};
use ferrio::{Parser, SocketIo, SocketIoConfig};

/// Every scenario of `client.py`, run one after the other on one server.
const SCENARIOS: [&str; 9] = [
    "auth",
    "events",
    "ack",
    "server-ack",
    "binary",
    "rooms",
    "private",
    "dynamic",
    "server-disconnect",
];

/// Kill a client still running after this long. Each scenario takes well under
/// a second; `client.py` gives up on its own after 45 s.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

async fn run_transport(transport: &'static str, parser: Parser) {
    tokio::task::spawn_blocking(python::ensure_venv)
        .await
        .unwrap();
    // The conformance timings, with a roomier ping timeout: the tests share the
    // machine with the build, and a missed pong would be the machine's fault.
    let io = SocketIo::with_config(
        SocketIoConfig::default()
            .engine(
                EngineConfig::default()
                    .path("/socket.io/")
                    .ping_interval(Duration::from_millis(300))
                    .ping_timeout(Duration::from_millis(1000))
                    .cors(Cors::default()),
            )
            .connect_timeout(Duration::from_millis(1000))
            .parser(parser),
    );
    handlers::install(&io);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        let io = io.clone();
        async move {
            io.serve(listener, async {
                let _ = stopped.await;
            })
            .await
        }
    });

    for scenario in SCENARIOS {
        let args = [
            "--url",
            url.as_str(),
            "--transport",
            transport,
            "--scenario",
            scenario,
            "--timeout",
            "45",
            "--serializer",
            parser.name(),
        ]
        .map(String::from);
        let output = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            python::run_python("client.py", &args, CLIENT_TIMEOUT)
        })
        .await
        .unwrap();
        output.assert_ok();
        // Every client of the scenario has gone (client.py disconnects them all
        // before it exits): the server must not keep their sessions. A client
        // refused every namespace (the dynamic scenario's `c`) can end with no
        // close the server sees; the server closes it at the connect timeout
        // (1 s here), and over polling, with no GET parked, that close waits
        // for a next poll that never comes, 30 s at most (Node's
        // closeTimeout, README): hence 35 s.
        let deadline = Instant::now() + Duration::from_secs(35);
        while io.engine().session_count() > 0 {
            assert!(
                Instant::now() < deadline,
                "{transport}/{scenario}: {} Engine.IO session(s) still open 35 s after \
                 the client exited\n{output}",
                io.engine().session_count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops within 10 s")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_client_over_websocket() {
    run_transport("websocket", Parser::Default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_client_over_polling() {
    run_transport("polling", Parser::Default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_msgpack_client_over_websocket() {
    run_transport("websocket", Parser::MsgPack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_msgpack_client_over_polling() {
    run_transport("polling", Parser::MsgPack).await;
}
