//! The official Node.js socket.io 4.8 server (interop/socketio/server.mjs).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use super::TestServer;

pub use ferrio_test_support::node;

const SCRIPT: &str = "socketio/server.mjs";

/// A running `server.mjs`, killed on drop.
pub struct NodeServer {
    process: Option<node::NodeProcess>,
    port: u16,
    args: Vec<String>,
    parser: ferrio_client::Parser,
}

impl NodeServer {
    /// Starts the server on a free port.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts the server with socket.io-msgpack-parser on a free port.
    pub async fn spawn_msgpack() -> Self {
        Self::spawn_with(&["--parser", "msgpack"]).await
    }

    /// Starts the server on a free port with more options
    /// (`--ping-interval MS`, `--ping-timeout MS`, `--parser msgpack`).
    pub async fn spawn_with(args: &[&str]) -> Self {
        let parser = match args.windows(2).any(|w| w == ["--parser", "msgpack"]) {
            true => ferrio_client::Parser::MsgPack,
            false => ferrio_client::Parser::Default,
        };
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let for_start = args.clone();
        let (process, port) = tokio::task::spawn_blocking(move || {
            node::ensure_npm_deps();
            start_on(0, &for_start)
        })
        .await
        .expect("starting node");
        Self {
            process: Some(process),
            port,
            args,
            parser,
        }
    }

    /// Stdout lines so far (JSON objects).
    pub fn lines(&mut self) -> Vec<String> {
        self.process
            .as_mut()
            .map(|p| p.lines().to_vec())
            .unwrap_or_default()
    }
}

/// Starts the script on `port`, retrying while the port is not free yet.
fn start_on(port: u16, args: &[String]) -> (node::NodeProcess, u16) {
    let port_text = port.to_string();
    let mut all = vec!["--port", port_text.as_str()];
    all.extend(args.iter().map(String::as_str));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started = catch_unwind(AssertUnwindSafe(|| {
            let mut process = node::spawn_node(SCRIPT, &all);
            let port = process.wait_for_port(Duration::from_secs(30));
            (process, port)
        }));
        match started {
            Ok(started) => return started,
            Err(_) if attempt < 20 && port != 0 => std::thread::sleep(Duration::from_millis(250)),
            Err(panic) => resume_unwind(panic),
        }
    }
}

impl TestServer for NodeServer {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn parser(&self) -> ferrio_client::Parser {
        self.parser
    }

    async fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            tokio::task::spawn_blocking(move || process.kill())
                .await
                .expect("killing node");
        }
    }

    async fn start(&mut self) {
        let port = self.port;
        let args = self.args.clone();
        let (process, _) = tokio::task::spawn_blocking(move || start_on(port, &args))
            .await
            .expect("starting node");
        self.process = Some(process);
    }
}
