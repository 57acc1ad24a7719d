//! A `redis-server` of the test's own: a free loopback port, no persistence,
//! killed on drop, restartable on the same port (for fault tests). Needs
//! `redis-server` on the `PATH` (Debian's `redis-server` package).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) `redis-server` owned by one test.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits until it accepts
    /// connections.
    pub fn start() -> Self {
        for _ in 0..20 {
            let mut server = Self {
                port: free_port(),
                child: None,
            };
            if server.try_spawn(Duration::from_secs(3)) {
                return server;
            }
            // Another server took the port between `free_port` and ours
            // (a parallel test's): pick another.
        }
        panic!("redis-server did not start on any of 20 free ports");
    }

    /// Starts one on `port`; `None` when it does not come up there as itself
    /// (the port is held by another server, which is then not mistaken for
    /// it).
    pub fn start_on(port: u16) -> Option<Self> {
        let mut server = Self { port, child: None };
        server.try_spawn(Duration::from_secs(3)).then_some(server)
    }

    /// The port it listens on (kept across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Starts it on its port, retrying while the port is still held (by the
    /// killed process of a restart).
    fn spawn(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.try_spawn(Duration::from_secs(3)) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Spawns `redis-server` on the port; true once *it* answers there. A
    /// connection alone would not tell: when the port is taken, our server
    /// exits and whatever holds the port answers (say, a parallel test's
    /// `redis-server`, which that test kills when it ends).
    fn try_spawn(&mut self, within: Duration) -> bool {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        let pid = child.id();
        self.child = Some(child);
        if wait_listening(self.port, within) && serves_pid(self.port, pid) {
            return true;
        }
        self.kill();
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_listening(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Whether the Redis on `port` is process `pid` (`INFO server`'s `process_id`).
fn serves_pid(port: u16, pid: u32) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"INFO server\r\n").is_err() {
        return false;
    }
    let wanted = format!("process_id:{pid}\r\n");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while seen.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&seen);
        if text.contains(&wanted) {
            return true;
        }
        if text.contains("process_id:") && text.contains("\r\n\r\n") {
            break;
        }
    }
    false
}

/// A port that was free a moment ago (bound, then released). Port 0 would
/// disable TCP in Redis, so the port is chosen here.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
