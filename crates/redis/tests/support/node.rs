//! Node peers: a Node cluster node (`interop/socketio/cluster-server.mjs`) and
//! official `socket.io-client` sockets (`interop/socketio/cluster-driver.mjs`).

#![allow(dead_code)]

use serde_json::{Value, json};

use super::process::JsonProcess;

/// A Node socket.io 4.8 server with `@socket.io/redis-adapter`.
pub struct NodeNode {
    proc: JsonProcess,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
    next_id: u64,
}

impl NodeNode {
    /// Starts one on `redis_url` with the classic adapter and key `socket.io`;
    /// `env` adds or overrides variables (`REDIS_KEY`, `REDIS_ADAPTER`, …).
    pub async fn start(redis_url: &str, env: &[(&str, &str)]) -> Self {
        let mut vars = vec![("REDIS_URL", redis_url.to_owned())];
        vars.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let mut proc = JsonProcess::node("socketio/cluster-server.mjs", &vars);
        let listening = proc.wait_for(|v| v["event"] == "listening").await;
        let port = listening["port"].as_u64().expect("port") as u16;
        let mut node = Self {
            proc,
            port,
            next_id: 0,
        };
        // The adapter subscribes in the background: wait until Redis counts
        // this node (its own server count includes itself).
        for _ in 0..250 {
            if node
                .call(json!({"cmd": "server-count"}))
                .await
                .is_ok_and(|n| n.as_u64() >= Some(1))
            {
                return node;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the Node node never counted itself (not subscribed)");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs a stdin command (`{"cmd": …}`) and returns its result.
    pub async fn call(&mut self, mut command: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        command["id"] = json!(id);
        self.proc.send(command).await;
        let result = self
            .proc
            .wait_for(|v| v["event"] == "result" && v["id"] == json!(id))
            .await;
        match result.get("error") {
            Some(Value::String(e)) => Err(e.clone()),
            _ => Ok(result["value"].clone()),
        }
    }

    /// The next output line that matches.
    pub async fn wait_for(&mut self, matches: impl FnMut(&Value) -> bool) -> Value {
        self.proc.wait_for(matches).await
    }

    /// The process, for finer waits.
    pub fn process(&mut self) -> &mut JsonProcess {
        &mut self.proc
    }

    /// Stops it (closes the Redis connections with it).
    pub async fn stop(self) {
        self.proc.stop().await;
    }
}

/// A set of official `socket.io-client` sockets in one Node process.
pub struct OfficialClients {
    proc: JsonProcess,
    next_id: u64,
}

impl OfficialClients {
    /// Starts the driver.
    pub async fn start() -> Self {
        let mut proc = JsonProcess::node("socketio/cluster-driver.mjs", &[]);
        proc.wait_for(|v| v["event"] == "ready").await;
        Self { proc, next_id: 0 }
    }

    /// Connects socket `name` to `url` (`http://…`) and namespace `nsp`, and
    /// returns its id. `answer`: what it acks `question` with (None: never).
    pub async fn connect(
        &mut self,
        name: &str,
        url: &str,
        nsp: &str,
        answer: Option<Value>,
    ) -> String {
        let mut cmd = json!({"cmd": "connect", "name": name, "url": url, "nsp": nsp});
        if let Some(answer) = answer {
            cmd["answer"] = answer;
        }
        self.proc.send(cmd).await;
        let connected = self
            .proc
            .wait_for(|v| {
                v["name"] == name && (v["event"] == "connect" || v["event"] == "connect_error")
            })
            .await;
        assert_eq!(
            connected["event"], "connect",
            "{name} connects: {connected}"
        );
        connected["id"].as_str().expect("id").to_owned()
    }

    /// Connects socket `name` to `url`'s namespace `/` with `auth`; returns
    /// its id and whether it recovered a session (`None`: refused with
    /// `connect_error`).
    pub async fn connect_auth(
        &mut self,
        name: &str,
        url: &str,
        auth: Value,
    ) -> Option<(String, bool)> {
        self.proc
            .send(json!({"cmd": "connect", "name": name, "url": url, "nsp": "/", "auth": auth}))
            .await;
        self.connected(name).await
    }

    async fn connected(&mut self, name: &str) -> Option<(String, bool)> {
        let connected = self
            .proc
            .wait_for(|v| {
                v["name"] == name && (v["event"] == "connect" || v["event"] == "connect_error")
            })
            .await;
        (connected["event"] == "connect").then(|| {
            (
                connected["id"].as_str().unwrap_or_default().to_owned(),
                connected["recovered"] == json!(true),
            )
        })
    }

    /// Closes socket `name`'s transport (a recoverable loss) and waits for
    /// its `disconnect`.
    pub async fn drop_transport(&mut self, name: &str) -> String {
        self.proc.send(json!({"cmd": "drop", "name": name})).await;
        self.disconnected(name).await
    }

    /// Connects socket `name` again (to `url`: another node), offering its
    /// session; returns its id and whether it recovered.
    pub async fn reconnect(&mut self, name: &str, url: &str) -> Option<(String, bool)> {
        self.proc
            .send(json!({"cmd": "reconnect", "name": name, "url": url}))
            .await;
        self.connected(name).await
    }

    /// Emits without an ack.
    pub async fn emit(&mut self, name: &str, event: &str, args: Value) {
        self.proc
            .send(json!({"cmd": "emit", "name": name, "event": event, "args": args}))
            .await;
    }

    /// Emits with an ack and returns the ack's arguments.
    pub async fn emit_with_ack(
        &mut self,
        name: &str,
        event: &str,
        args: Value,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        self.proc
            .send(json!({"cmd": "emit", "name": name, "event": event, "args": args, "id": id}))
            .await;
        let ack = self
            .proc
            .wait_for(|v| v["event"] == "ack" && v["id"] == json!(id))
            .await;
        match ack.get("error") {
            Some(Value::String(e)) => Err(e.clone()),
            _ => Ok(ack["args"].clone()),
        }
    }

    /// The arguments of the next event `ev` socket `name` receives.
    pub async fn recv(&mut self, name: &str, ev: &str) -> Value {
        let got = self
            .proc
            .wait_for(|v| v["event"] == "recv" && v["name"] == name && v["ev"] == ev)
            .await;
        got["args"].clone()
    }

    /// Whether socket `name` receives `ev` within `within`.
    pub async fn recv_within(
        &mut self,
        name: &str,
        ev: &str,
        within: std::time::Duration,
    ) -> Option<Value> {
        self.proc
            .arrives_within(within, |v| {
                v["event"] == "recv" && v["name"] == name && v["ev"] == ev
            })
            .await
            .map(|v| v["args"].clone())
    }

    /// Waits until socket `name` is disconnected and returns the reason.
    pub async fn disconnected(&mut self, name: &str) -> String {
        let d = self
            .proc
            .wait_for(|v| v["event"] == "disconnect" && v["name"] == name)
            .await;
        d["reason"].as_str().unwrap_or_default().to_owned()
    }

    /// Closes the driver and its sockets.
    pub async fn stop(self) {
        self.proc.stop().await;
    }
}
