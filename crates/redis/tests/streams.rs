//! The streams adapter (`@socket.io/redis-streams-adapter` 0.3.1) in mixed
//! clusters: Node nodes (`interop/socketio/cluster-server.mjs` with
//! `REDIS_ADAPTER=streams`) and ferrio nodes on one `redis-server`, with the
//! official `socket.io-client` 4.8 (memo §7.2 scenarios 18–22 and 29).
//!
//! Connection state recovery across nodes: a client that lost its transport
//! on one node comes back on another (Node → ferrio, ferrio → Node, ferrio →
//! ferrio) with its id, its rooms, and every event it missed once, in order,
//! before `connect`. The session blob and the stream entries are compared
//! with the bytes Node writes.

mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use ferrio::{RecoveryConfig, SocketIoConfig};
use ferrio_proto::socketio::Payload;
use ferrio_redis::{RedisAdapterConfig, StreamsOptions};
use fred::prelude::*;
use fred::types::{CustomCommand, Value as RValue};
use serde_json::{Value, json};
use support::ferrio::FerrioNode;
use support::node::{NodeNode, OfficialClients};
use support::process::interop_dir;
use support::redis::RedisServer;

const SHORT: Duration = Duration::from_millis(500);

fn recovery(max: Duration) -> SocketIoConfig {
    SocketIoConfig::default().connection_state_recovery(
        RecoveryConfig::default()
            .max_disconnection_duration(max)
            .skip_middlewares(true),
    )
}

async fn ferrio_node(redis: &RedisServer, options: StreamsOptions, max: Duration) -> FerrioNode {
    FerrioNode::start_full(
        &redis.url(),
        RedisAdapterConfig::default().streams(options),
        recovery(max),
    )
    .await
}

async fn ferrio(redis: &RedisServer) -> FerrioNode {
    ferrio_node(redis, StreamsOptions::default(), Duration::from_secs(30)).await
}

async fn node(redis: &RedisServer) -> NodeNode {
    NodeNode::start(
        &redis.url(),
        &[("REDIS_ADAPTER", "streams"), ("RECOVERY", "1")],
    )
    .await
}

/// A plain connection to the test's Redis.
async fn raw(redis: &RedisServer) -> Client {
    let client = Client::new(Config::from_url(&redis.url()).unwrap(), None, None, None);
    client.init().await.unwrap();
    client
}

/// `XRANGE socket.io start end` as `(id, [(field, value)])`.
async fn xrange(client: &Client, start: &str, end: &str) -> Vec<(String, Vec<(String, Bytes)>)> {
    let entries: RValue = client
        .custom(
            CustomCommand::new_static("XRANGE", None::<u16>, false),
            vec!["socket.io", start, end],
        )
        .await
        .unwrap();
    let RValue::Array(entries) = entries else {
        return Vec::new();
    };
    entries
        .into_iter()
        .map(|entry| {
            let RValue::Array(mut parts) = entry else {
                panic!("an entry")
            };
            let RValue::Array(flat) = parts.pop().unwrap() else {
                panic!("fields")
            };
            let id = parts.pop().unwrap().as_string().unwrap();
            let fields = flat
                .chunks(2)
                .map(|kv| {
                    (
                        kv[0].as_string().unwrap(),
                        Bytes::copy_from_slice(kv[1].as_bytes().unwrap()),
                    )
                })
                .collect();
            (id, fields)
        })
        .collect()
}

/// The last entry of the stream.
async fn last_entry(client: &Client) -> (String, Vec<(String, Bytes)>) {
    xrange(client, "-", "+").await.pop().expect("an entry")
}

/// The session keys in Redis, waited for until `n` exist.
async fn session_keys(client: &Client, n: usize) -> Vec<String> {
    for _ in 0..250 {
        let keys: Vec<String> = client
            .custom(
                CustomCommand::new_static("KEYS", None::<u16>, false),
                vec!["sio:session:*"],
            )
            .await
            .unwrap();
        if keys.len() >= n {
            return keys;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{n} sessions were never kept");
}

/// Runs `recovery-client.mjs`: the client drops from `url` and comes back on
/// `back`, recovered, with every missed event once and in order. It comes back
/// once the first node has kept the session in Redis (`--gate`): that write
/// follows the transport's close by some time on Node as on ferrio, and a
/// client quicker than it gets a fresh session from any node.
async fn recovers(redis: &RedisServer, url: &str, back: &str, mode: &str) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut child = tokio::process::Command::new("node")
        .arg(interop_dir().join("socketio/recovery-client.mjs"))
        .args(["--url", url, "--back-url", back, "--mode", mode, "--gate"])
        .current_dir(interop_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = child.stderr.take().expect("stderr");
    let client = raw(redis).await;
    let mut stdout = String::new();
    let run = async {
        while let Some(line) = lines.next_line().await.expect("stdout readable") {
            stdout.push_str(&line);
            stdout.push('\n');
            if line.contains("\"missed-sent\"") {
                session_keys(&client, 1).await;
                stdin.write_all(b"go\n").await.expect("stdin writable");
            }
        }
        child.wait().await.expect("node exits")
    };
    let status = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("in time");
    let mut errors = String::new();
    let _ = stderr.read_to_string(&mut errors).await;
    assert!(
        status.success() && stdout.contains("\"ok\":true"),
        "{url} -> {back} ({mode}):\n{stdout}\n{errors}"
    );
    for step in ["recovered", "state", "live"] {
        assert!(stdout.contains(&format!("\"{step}\"")), "{step}:\n{stdout}");
    }
}

/// Scenario 19: dropped from a Node node, recovered on a ferrio node: F
/// reads the session N kept and N's entries from the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_dropped_by_node_recovers_on_ferrio() {
    let redis = RedisServer::start();
    let n = node(&redis).await;
    let f = ferrio(&redis).await;
    recovers(&redis, &n.url(), &f.url(), "websocket").await;
    f.stop().await;
    n.stop().await;
}

/// Scenario 19, the other way: N reads F's session and F's entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_dropped_by_ferrio_recovers_on_node() {
    let redis = RedisServer::start();
    let n = node(&redis).await;
    let f = ferrio(&redis).await;
    recovers(&redis, &f.url(), &n.url(), "polling").await;
    f.stop().await;
    n.stop().await;
}

/// Two ferrio nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_dropped_by_ferrio_recovers_on_another_ferrio() {
    let redis = RedisServer::start();
    let f1 = ferrio(&redis).await;
    let f2 = ferrio(&redis).await;
    recovers(&redis, &f1.url(), &f2.url(), "upgrade").await;
    f2.stop().await;
    f1.stop().await;
}

/// Runs every row of the cluster contract with client A on the first URL.
async fn contract(urls: &str) {
    let out = tokio::process::Command::new("node")
        .arg(interop_dir().join("socketio/cluster-client.mjs"))
        .args(["--urls", urls, "--servers", "2"])
        .current_dir(interop_dir())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("in time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"ok\":true"),
        "{urls}:\n{stdout}"
    );
    for row in [
        "server-count",
        "fetch-sockets",
        "sockets-join",
        "ask-all",
        "server-side",
        "disconnect-room",
    ] {
        assert!(
            stdout.contains(&format!("\"{row}\"")),
            "row {row}:\n{stdout}"
        );
    }
}

/// Every ClusterAdapter operation over streams with a Node node, from each
/// side (broadcast, rooms, fetchSockets, serverCount, serverSideEmit with
/// ack, socketsJoin/Leave, disconnectSockets, broadcast with acks); binary
/// broadcasts and rooms both ways; events carry the stream id as their
/// offset on both (scenario 18).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cluster_operation_over_streams_with_node() {
    let redis = RedisServer::start();
    let mut n = node(&redis).await;
    let f = ferrio(&redis).await;
    assert_eq!(f.io.sockets().server_count().await.unwrap(), 2);
    assert_eq!(n.call(json!({"cmd": "server-count"})).await, Ok(json!(2)));

    contract(&format!("{},{}", n.url(), f.url())).await;
    contract(&format!("{},{}", f.url(), n.url())).await;

    let mut js = OfficialClients::start().await;
    js.connect("on", &n.url(), "/", None).await;
    js.connect("of", &f.url(), "/", None).await;
    js.emit("of", "join", json!(["r1"])).await;
    js.emit("on", "join", json!(["r1"])).await;
    js.emit_with_ack("of", "echo", json!([0])).await.unwrap();
    js.emit_with_ack("on", "echo", json!([0])).await.unwrap();

    n.call(json!({"cmd": "emit", "event": "bin", "args": [{"$bin": "010203"}]}))
        .await
        .unwrap();
    let on = js.recv("on", "bin").await;
    let of = js.recv("of", "bin").await;
    assert_eq!(on, of, "the same offset on both nodes");
    let offset = of[1].as_str().expect("an offset").to_owned();
    assert!(is_stream_id(&offset), "{offset}");
    assert_eq!(of[0], json!({"$bin": "010203"}));

    f.io.sockets()
        .broadcast()
        .emit_args(
            "bin2",
            vec![
                Payload::Binary(Bytes::from_static(&[4, 5])),
                Payload::Json(json!({"n": 1})),
            ],
        )
        .unwrap();
    let on = js.recv("on", "bin2").await;
    assert_eq!(on, js.recv("of", "bin2").await);
    assert_eq!(
        &on.as_array().unwrap()[..2],
        [json!({"$bin": "0405"}), json!({"n": 1})]
    );
    assert!(is_stream_id(on[2].as_str().unwrap()) && on[2].as_str().unwrap() > offset.as_str());

    n.call(json!({"cmd": "emit", "event": "in-r1", "args": ["from-n"], "rooms": ["r1"]}))
        .await
        .unwrap();
    assert_eq!(js.recv("of", "in-r1").await[0], json!("from-n"));
    assert_eq!(js.recv("on", "in-r1").await[0], json!("from-n"));
    f.io.sockets().to("r1").emit("in-r1", &("from-f",)).unwrap();
    assert_eq!(js.recv("on", "in-r1").await[0], json!("from-f"));
    assert_eq!(js.recv("of", "in-r1").await[0], json!("from-f"));
    assert_eq!(
        js.recv_within("of", "in-r1", SHORT).await,
        None,
        "once each"
    );
    // Volatile and local broadcasts get no offset.
    f.io.sockets()
        .broadcast()
        .volatile()
        .emit("v", &(1,))
        .unwrap();
    assert_eq!(js.recv("on", "v").await, json!([1]));
    assert_eq!(js.recv("of", "v").await, json!([1]));
    js.stop().await;

    f.stop().await;
    let mut count = json!(null);
    for _ in 0..50 {
        count = n.call(json!({"cmd": "server-count"})).await.unwrap();
        if count == json!(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count, json!(1));
    n.stop().await;
}

fn is_stream_id(s: &str) -> bool {
    s.split_once('-').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
    })
}

/// Scenario 22 and Appendix A: the stream entries and the session blob
/// ferrio writes are Node's bytes (ids aside), and each side restores the
/// other's session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_and_session_blobs_are_nodes_bytes() {
    let redis = RedisServer::start();
    let client = raw(&redis).await;
    let mut n = node(&redis).await;
    let f = ferrio(&redis).await;

    // Entries: the same emits from each side.
    let fields = |entry: &(String, Vec<(String, Bytes)>)| -> Vec<(String, Bytes)> {
        entry
            .1
            .iter()
            .map(|(k, v)| (k.clone(), if k == "uid" { Bytes::new() } else { v.clone() }))
            .collect()
    };
    n.call(json!({"cmd": "emit", "event": "init", "args": [1, 2.5, "x", null, {"a": [true]}]}))
        .await
        .unwrap();
    let from_n = {
        let mut last = None;
        for _ in 0..100 {
            if let Some(entry) = xrange(&client, "-", "+").await.pop() {
                last = Some(entry);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        last.expect("N appended")
    };
    assert_eq!(
        &from_n.1[3].1[..],
        br#"{"packet":{"type":2,"data":["init",1,2.5,"x",null,{"a":[true]}]},"opts":{"rooms":[],"except":[],"flags":{}}}"#
    );
    f.io.sockets()
        .emit("init", &(1, 2.5, "x", Value::Null, json!({"a": [true]})))
        .unwrap();
    let from_f = wait_new_entry(&client, &from_n.0).await;
    assert_eq!(fields(&from_f), fields(&from_n));
    assert_eq!(from_f.1[0].1.len(), 16, "a 16-hex-digit uid");

    n.call(json!({"cmd": "emit", "event": "m", "args": [3, {"$bin": "01"}], "rooms": ["r1"]}))
        .await
        .unwrap();
    let from_n = wait_new_entry(&client, &from_f.0).await;
    assert_eq!(
        &from_n.1[3].1[..],
        &b"gqZwYWNrZXSCpHR5cGUCpGRhdGGToW0DxAEBpG9wdHODpXJvb21zkaJyMaZleGNlcHSQpWZsYWdzgA=="[..]
    );
    f.io.sockets()
        .to("r1")
        .emit_args(
            "m",
            vec![
                Payload::Json(json!(3)),
                Payload::Binary(Bytes::from_static(&[1])),
            ],
        )
        .unwrap();
    let from_f = wait_new_entry(&client, &from_n.0).await;
    assert_eq!(fields(&from_f), fields(&from_n));

    // Sessions: a client in r1 on each node loses its transport.
    let mut js = OfficialClients::start().await;
    for (name, url) in [("a", n.url()), ("b", f.url())] {
        js.connect(name, &url, "/", None).await;
        js.emit(name, "join", json!(["r1"])).await;
        js.emit_with_ack(name, "echo", json!([0])).await.unwrap();
        // An offset to come back with.
        js.emit(name, "echo", json!(["offset"])).await;
        js.recv(name, "echo").await;
    }
    let a_id = js_state(&mut js, "a").await["id"].clone();
    let b_id = js_state(&mut js, "b").await["id"].clone();
    js.drop_transport("a").await;
    js.drop_transport("b").await;
    let keys = session_keys(&client, 2).await;
    let mut blobs = Vec::new();
    for key in &keys {
        let blob: String = client
            .custom(
                CustomCommand::new_static("GET", None::<u16>, false),
                vec![key.as_str()],
            )
            .await
            .unwrap();
        let raw = STANDARD.decode(&blob).expect("base64");
        blobs.push(raw);
    }
    // Same layout: {sid, pid, rooms:[own id, "r1"], data:{}}; only the
    // 20-character ids differ.
    let shape = |raw: &[u8]| -> Vec<u8> {
        let mut out = raw.to_vec();
        let mut i = 0;
        while i < out.len() {
            if out[i] == 0xb4 && i + 21 <= out.len() {
                for b in &mut out[i + 1..i + 21] {
                    *b = b'#';
                }
                i += 21;
            } else {
                i += 1;
            }
        }
        out
    };
    assert_eq!(shape(&blobs[0]), shape(&blobs[1]));
    assert_eq!(blobs[0].len(), 88, "{:02x?}", blobs[0]);

    // Each comes back on the other node: N's session read by F, F's by N.
    let (id, recovered) = js.reconnect("a", &f.url()).await.expect("a connects");
    assert_eq!((json!(id), recovered), (a_id, true));
    let (id, recovered) = js.reconnect("b", &n.url()).await.expect("b connects");
    assert_eq!((json!(id), recovered), (b_id, true));
    for name in ["a", "b"] {
        let state = js_state(&mut js, name).await;
        assert_eq!(state["recovered"], json!(true));
        assert!(
            state["rooms"].as_array().unwrap().contains(&json!("r1")),
            "{state}"
        );
    }
    js.stop().await;
    f.stop().await;
    n.stop().await;
}

async fn wait_new_entry(client: &Client, after: &str) -> (String, Vec<(String, Bytes)>) {
    for _ in 0..100 {
        let last = last_entry(client).await;
        if last.0.as_str() != after {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no entry after {after}");
}

async fn js_state(js: &mut OfficialClients, name: &str) -> Value {
    js.emit_with_ack(name, "state", json!([]))
        .await
        .expect("state answered")[0]
        .clone()
}

/// Scenario 21: every refusal gives a fresh session (a new id,
/// `recovered == false`) and keeps what the client sent in its auth: an
/// unknown pid, an offset that is not a stream id (which leaves the session
/// in Redis, as Node does), an offset trimmed from the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_give_a_fresh_session() {
    let redis = RedisServer::start();
    let client = raw(&redis).await;
    let small = StreamsOptions::default().max_len(10);
    let f1 = ferrio_node(&redis, small.clone(), Duration::from_secs(30)).await;
    let f2 = ferrio_node(&redis, small, Duration::from_secs(30)).await;
    let mut js = OfficialClients::start().await;
    let old = js.connect("a", &f1.url(), "/", None).await;
    js.emit("a", "join", json!(["r1"])).await;
    js.emit("a", "echo", json!(["offset"])).await;
    let offset = js.recv("a", "echo").await[1]
        .as_str()
        .expect("an offset")
        .to_owned();
    js.drop_transport("a").await;
    let key = session_keys(&client, 1).await.remove(0);
    let pid = key.trim_start_matches("sio:session:").to_owned();

    let (id, recovered) = js
        .connect_auth(
            "u",
            &f2.url(),
            json!({"pid": "AAAAAAAAAAAAAAAAAAAA", "offset": offset}),
        )
        .await
        .expect("connects");
    assert!(!recovered && id != old);
    let (id, recovered) = js
        .connect_auth(
            "m",
            &f2.url(),
            json!({"pid": pid, "offset": "abc", "token": "t"}),
        )
        .await
        .expect("connects");
    assert!(!recovered && id != old);
    let auth = js.recv("m", "auth").await;
    assert_eq!(auth[0], json!({"pid": pid, "offset": "abc", "token": "t"}));
    let state = js_state(&mut js, "m").await;
    assert_eq!(state["recovered"], json!(false));
    assert_eq!(session_keys(&client, 1).await, [key], "not taken");

    // Trimmed: far more entries than MAXLEN ~ 10 keeps.
    for i in 0..500 {
        f1.io.sockets().to("nobody").emit("fill", &(i,)).unwrap();
    }
    for _ in 0..250 {
        if xrange(&client, &offset, &offset).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        xrange(&client, &offset, &offset).await.is_empty(),
        "trimmed"
    );
    let (id, recovered) = js.reconnect("a", &f2.url()).await.expect("connects");
    assert!(!recovered && id != old, "a fresh session");
    let state = js_state(&mut js, "a").await;
    assert_eq!(state["recovered"], json!(false));
    assert_eq!(state["rooms"], json!([id]));
    js.stop().await;
    f2.stop().await;
    f1.stop().await;
}

/// Scenario 21: a session kept longer than the longest disconnection is gone
/// (the key expires with PX).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_gives_a_fresh_one() {
    let redis = RedisServer::start();
    let client = raw(&redis).await;
    let max = Duration::from_millis(500);
    let f1 = ferrio_node(&redis, StreamsOptions::default(), max).await;
    let f2 = ferrio_node(&redis, StreamsOptions::default(), max).await;
    let mut js = OfficialClients::start().await;
    let old = js.connect("a", &f1.url(), "/", None).await;
    js.emit("a", "echo", json!(["offset"])).await;
    js.recv("a", "echo").await;
    js.drop_transport("a").await;
    session_keys(&client, 1).await;
    tokio::time::sleep(max * 2).await;
    let (id, recovered) = js.reconnect("a", &f2.url()).await.expect("connects");
    assert!(!recovered && id != old);
    js.stop().await;
    f2.stop().await;
    f1.stop().await;
}

/// Scenario 29 and the outage rules: while Redis is away a node's own
/// sockets still get its broadcasts; once Redis is back the reader resumes
/// and broadcasts cross again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_is_survived() {
    let mut redis = RedisServer::start();
    let f1 = ferrio(&redis).await;
    let f2 = ferrio(&redis).await;
    let mut js = OfficialClients::start().await;
    js.connect("a", &f1.url(), "/", None).await;
    js.connect("b", &f2.url(), "/", None).await;
    f1.io.sockets().emit("before", &(1,)).unwrap();
    assert_eq!(js.recv("b", "before").await[0], json!(1));

    redis.kill();
    f1.io.sockets().emit("during", &(2,)).unwrap();
    assert_eq!(
        js.recv("a", "during").await[0],
        json!(2),
        "local delivery goes on"
    );
    redis.restart();
    let mut crossed = false;
    for i in 0..100 {
        f1.io.sockets().emit("after", &(i,)).unwrap();
        if js
            .recv_within("b", "after", Duration::from_millis(200))
            .await
            .is_some()
        {
            crossed = true;
            break;
        }
    }
    assert!(crossed, "broadcasts cross again once Redis is back");
    js.stop().await;
    f2.stop().await;
    f1.stop().await;
}
