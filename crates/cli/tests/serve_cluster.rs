//! `ferrio serve --redis`: two chat processes on one Redis (a `redis-server`
//! of the test's own, on a free port, without persistence) share channels:
//! a message sent on one reaches the members on the other, with the join
//! notice; the `online` list stays per server (it is never sent across).
//!
//! Needs `redis-server` (`apt-get install redis-server`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrio_test_support::redis::RedisServer;
use parking_lot::Mutex;
use serde_json::{Value, json};

/// A running `ferrio serve --port 0 --redis URL …` and its URL (printed once
/// it has joined the cluster).
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrio"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the ferrio binary");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read ferrio's stdout");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in ferrio's first line: {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        Self { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chat client whose every event is recorded as `(name, first argument)`.
struct User {
    socket: ferrio_client::Socket,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl User {
    async fn join(url: &str, nickname: &str) -> (Self, Value) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let socket = ferrio_client::io(url)
            .unwrap()
            .force_new(true)
            .on_any(move |_, event| {
                let first = event.arg::<Value>(0).unwrap_or(Value::Null);
                log.lock().push((event.name().to_owned(), first));
            })
            .build();
        let ack = socket
            .timeout(Duration::from_secs(10))
            .emit_with_ack("join", &json!({ "nickname": nickname, "room": "general" }))
            .await
            .expect("a join ack");
        (Self { socket, seen }, ack.get::<Value>(0).unwrap())
    }

    /// Waits for the first event named `name` whose argument passes `pred`;
    /// returns the events seen before it.
    async fn wait_for(&self, name: &str, pred: impl Fn(&Value) -> bool) -> Vec<(String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let seen = self.seen.lock();
                if let Some(i) = seen.iter().position(|(n, v)| n == name && pred(v)) {
                    return seen[..i].to_vec();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {name} event; seen {:?}",
                self.seen.lock()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn nicknames(online: &Value) -> Vec<&str> {
    online["users"]
        .as_array()
        .or(online.as_array())
        .unwrap()
        .iter()
        .map(|u| u["nickname"].as_str().unwrap())
        .collect()
}

async fn two_servers_share_a_channel(extra: &[&str]) {
    let redis = RedisServer::start();
    let url = redis.url();
    let mut args = vec!["--redis", url.as_str()];
    args.extend_from_slice(extra);
    let one = Serve::start(&args);
    let two = Serve::start(&args);

    let (ada, ack) = User::join(&one.url, "ada").await;
    assert_eq!(nicknames(&ack["online"]), ["ada"]);
    let (bob, ack) = User::join(&two.url, "bob").await;
    // Each server lists its own users.
    assert_eq!(nicknames(&ack["online"]), ["bob"]);

    let sent = bob
        .socket
        .timeout(Duration::from_secs(10))
        .emit_with_ack("chat message", &"hello from server two")
        .await
        .expect("a message ack")
        .get::<Value>(0)
        .unwrap();
    assert_eq!(sent["ok"], true, "{sent}");

    // Ada, on server one, gets Bob's join notice and his message…
    let before = ada
        .wait_for("chat message", |m| m["text"] == "hello from server two")
        .await;
    assert!(
        before
            .iter()
            .any(|(n, v)| n == "notice" && v["text"] == "bob joined #general"),
        "no join notice before the message: {before:?}"
    );
    // …but no `online` list from server two (it would show Bob alone).
    assert!(
        !before
            .iter()
            .any(|(n, v)| n == "online" && nicknames(v).contains(&"bob")),
        "server two's online list reached server one: {before:?}"
    );
    let message = &ada
        .seen
        .lock()
        .iter()
        .rev()
        .find(|(n, _)| n == "chat message")
        .unwrap()
        .1
        .clone();
    assert_eq!(message["from"], "bob");
    assert_eq!(message["room"], "general");

    // And the other way round.
    let _ = ada.socket.emit("chat message", &"and back from one");
    bob.wait_for("chat message", |m| {
        m["text"] == "and back from one" && m["from"] == "ada"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_across_two_processes_with_the_classic_adapter() {
    two_servers_share_a_channel(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_across_two_processes_with_the_sharded_adapter() {
    two_servers_share_a_channel(&["--adapter", "sharded", "--redis-key", "chat"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_across_two_processes_with_the_streams_adapter() {
    two_servers_share_a_channel(&["--adapter", "streams", "--redis-key", "chat"]).await;
}
