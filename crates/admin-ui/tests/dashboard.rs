//! What the Admin UI dashboard receives from ferrio's `instrument()` and from
//! Node's (`@socket.io/admin-ui` 0.5.1 on socket.io 4.8), compared: the same
//! application runs on both, `interop/admin-ui/dashboard.mjs` logs in as the
//! dashboard does (socket.io-client, basic auth) while application clients
//! connect, join rooms, emit and leave, and the dashboard's commands act; it
//! prints what the dashboard got, ids replaced by labels and timestamps
//! checked then left out.

use std::net::SocketAddr;
use std::time::Duration;

use ferrio::SocketIo;
use ferrio_admin_ui::{Auth, InstrumentError, Mode, Options, instrument};
use ferrio_test_support::node;
use serde_json::Value;

/// bcrypt of "secret", cost 4, made by bcryptjs (what Node users pass).
const HASH: &str = "$2a$04$1sKkx5IJoyA/gIu7WSzobeVRTxFqiC/B9ILIHZXoRJN/kfFNYhj52";

/// The application of `node-server.mjs`, instrumented the same way.
async fn ferrio_server(read_only: bool, mode: Mode) -> (SocketIo, SocketAddr) {
    let io = SocketIo::new();
    let options = Options::new(Auth::basic("admin", HASH))
        .read_only(read_only)
        .mode(mode)
        .server_id("test-server");
    instrument(&io, options).expect("valid options");
    io.of("/chat").use_middleware(|socket| async move {
        let _ = socket.set_data(&serde_json::json!({"user": "d"}));
        Ok(())
    });
    let dynamic = io.of_pattern(r"^/dyn-\d+$").expect("a valid pattern");
    for nsp in [io.of("/"), io.of("/chat"), dynamic] {
        nsp.on_connection(|socket| async move {
            socket.on("join-room", |socket, event| async move {
                if let Ok(room) = event.arg::<String>(0) {
                    socket.join(room);
                }
                let _ = event.reply(&());
            });
            socket.on("set-score", |socket, event| async move {
                let mut data = socket.data_value();
                if let (Some(data), Ok(score)) = (data.as_object_mut(), event.arg::<Value>(0)) {
                    data.insert("score".into(), score);
                }
                let _ = socket.set_data(&data);
                let _ = event.reply(&());
            });
            socket.on("hello", |socket, event| async move {
                let _ = socket.emit_args("hi", event.args().clone());
                let _ = event.reply(&());
            });
        });
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = io.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    (io, addr)
}

/// Which scenario of `dashboard.mjs` runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scenario {
    Full,
    ReadOnly,
    Production,
}

/// Runs the dashboard script against `port`; its summary.
async fn dashboard(port: u16, scenario: Scenario) -> Value {
    let url = format!("http://127.0.0.1:{port}");
    let out = tokio::task::spawn_blocking(move || {
        let mut args = vec!["--url", url.as_str()];
        match scenario {
            Scenario::Full => {}
            Scenario::ReadOnly => args.push("--readonly"),
            Scenario::Production => args.push("--production"),
        }
        node::run_node("admin-ui/dashboard.mjs", &args, Duration::from_secs(60))
    })
    .await
    .expect("node ran");
    let line = out
        .lines_with_event("result")
        .first()
        .map(|l| l.to_string())
        .unwrap_or_else(|| panic!("no result from the dashboard: {out:?}"));
    serde_json::from_str(&line).expect("a JSON line")
}

/// The summary against Node's `instrument()`.
async fn node_summary(scenario: Scenario) -> Value {
    let mut args = vec!["--hash", HASH];
    match scenario {
        Scenario::Full => {}
        Scenario::ReadOnly => args.push("--readonly"),
        Scenario::Production => args.extend(["--mode", "production"]),
    }
    let mut server = node::spawn_node("admin-ui/node-server.mjs", &args);
    let port = server.wait_for_port(Duration::from_secs(20));
    let summary = dashboard(port, scenario).await;
    server.kill();
    summary
}

/// Keeps only which aggregated event types were seen (their counts depend
/// on timing).
fn aggregated_types(summary: &mut Value) {
    if let Some(Value::Object(aggregated)) = summary.get_mut("aggregated") {
        for count in aggregated.values_mut() {
            *count = Value::Bool(count.as_u64().is_some_and(|n| n > 0));
        }
    }
}

fn assert_same(mut ferrio: Value, mut node: Value) {
    aggregated_types(&mut ferrio);
    aggregated_types(&mut node);
    let (Value::Object(ferrio), Value::Object(node)) = (ferrio, node) else {
        panic!("summaries are objects")
    };
    for (key, expected) in &node {
        assert_eq!(
            ferrio.get(key),
            Some(expected),
            "`{key}` differs\n ferrio: {}\n   node: {}",
            serde_json::to_string_pretty(&ferrio.get(key)).unwrap_or_default(),
            serde_json::to_string_pretty(expected).unwrap_or_default(),
        );
    }
    assert_eq!(ferrio.len(), node.len(), "the same fields");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_sees_the_same_from_ferrio_as_from_node() {
    node::ensure_npm_deps();
    let node = node_summary(Scenario::Full).await;
    let (_io, addr) = ferrio_server(false, Mode::Development).await;
    let ferrio = dashboard(addr.port(), Scenario::Full).await;
    // What the scenario checks by itself, on both.
    assert_eq!(ferrio["wrongPassword"], "invalid credentials");
    assert_eq!(ferrio["noCredentials"], "invalid credentials");
    assert_eq!(ferrio["bogusSession"], "invalid credentials");
    assert_eq!(ferrio["sessionReconnect"], "connected");
    assert_eq!(ferrio["cDisconnect"], "io server disconnect");
    assert_same(ferrio, node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_the_commands_as_node_does() {
    node::ensure_npm_deps();
    let node = node_summary(Scenario::ReadOnly).await;
    let (_io, addr) = ferrio_server(true, Mode::Development).await;
    let ferrio = dashboard(addr.port(), Scenario::ReadOnly).await;
    assert_eq!(ferrio["disconnected"], false);
    assert_eq!(ferrio["noticeReceived"], false);
    assert_eq!(ferrio["joinedR9"], false);
    assert_same(ferrio, node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_sends_only_config_and_stats_as_node_does() {
    node::ensure_npm_deps();
    let node = node_summary(Scenario::Production).await;
    let (_io, addr) = ferrio_server(false, Mode::Production).await;
    let ferrio = dashboard(addr.port(), Scenario::Production).await;
    assert_eq!(
        ferrio["kinds"],
        serde_json::json!(["config", "server_stats", "session"])
    );
    assert_same(ferrio, node);
}

#[tokio::test]
async fn options_node_refuses_are_refused() {
    let io = SocketIo::new();
    let refused = instrument(&io, Options::new(Auth::basic("admin", "not a hash")));
    assert_eq!(refused, Err(InstrumentError::InvalidPasswordHash));
    let refused = instrument(&io, Options::new(Auth::None).namespace_name("admin"));
    assert_eq!(refused, Err(InstrumentError::InvalidNamespaceName));
}
