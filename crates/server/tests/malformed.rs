//! The malformed-input suite: a real server on a loopback port takes garbage,
//! oversized, unfinished and flooding input from raw TCP, HTTP and WebSocket
//! clients. After every case the server still serves: a healthy client that
//! exchanges acknowledged messages all along keeps getting its answers, a new
//! client connects and round-trips, and every session the case opened is gone.
//! Over the whole suite the process's resident memory (server and clients
//! share it) grows by less than [`RSS_GROWTH_LIMIT`].
//!
//! The cases run one after the other in one test, so that the memory measure
//! sees this suite alone. `protocol_errors.rs` checks, rule by rule, that each
//! Socket.IO protocol violation closes the offender ("forced close", as Node).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrio::engine::EngineConfig;
use ferrio::{ServeConfig, SocketIo, SocketIoConfig};
use futures_util::SinkExt;
use http::StatusCode;
use support::{TIMEOUT, TestServer, WsClient, answer_pings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as M;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// The server's payload limit (the default).
const MAX_PAYLOAD: usize = 1_000_000;
/// Short, so that the trickled-headers case takes a second, not thirty.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);
/// Low, so that the handshake flood reaches it.
const MAX_PENDING_HANDSHAKES: usize = 200;
/// Short heartbeats: sessions whose client went silent end within 4 s.
const PING: Duration = Duration::from_secs(2);
/// How much the process's RSS may grow over the suite.
const RSS_GROWTH_LIMIT: u64 = 64 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_malformed_input_with_bounded_memory() {
    let mut suite = Suite::start().await;
    let rss_before = rss();

    suite.garbage_text_frames().await;
    suite.garbage_binary_frames().await;
    suite.invalid_packet_types().await;
    suite.invalid_json().await;
    suite.event_payload_not_an_array().await;
    suite.absurd_attachment_counts().await;
    suite.attachments_never_sent().await;
    suite.json_nested_10_000_deep().await;
    suite.polling_body_of_100_mb().await;
    suite.wrong_content_type().await;
    suite.thousands_of_concurrent_polls_on_one_session().await;
    suite.unknown_sids().await;
    suite.handshake_flood_that_never_comes_back().await;
    suite.trickled_headers().await;
    suite.websocket_frames_over_the_payload_limit().await;

    let rss_after = rss();
    let exchanged = suite.finish().await;
    let growth = rss_after.saturating_sub(rss_before);
    eprintln!(
        "malformed-input suite: RSS {} -> {} KiB (+{} KiB); the healthy client made {exchanged} acked round trips",
        rss_before >> 10,
        rss_after >> 10,
        growth >> 10
    );
    assert!(
        growth < RSS_GROWTH_LIMIT,
        "RSS grew by {} KiB over the suite",
        growth >> 10
    );
}

/// The server, and a healthy client exchanging acked messages in the background.
struct Suite {
    server: TestServer,
    round_trips: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    healthy: Option<tokio::task::JoinHandle<()>>,
}

impl Suite {
    async fn start() -> Self {
        let config = SocketIoConfig::default().with_engine(|e: EngineConfig| {
            e.max_payload(MAX_PAYLOAD)
                .ping_interval(PING)
                .ping_timeout(PING)
                .max_pending_handshakes(MAX_PENDING_HANDSHAKES)
        });
        let io = SocketIo::with_config(config);
        io.on_connection(|socket| async move { answer_pings(&socket) });
        let serve = ServeConfig::default().header_read_timeout(HEADER_READ_TIMEOUT);
        let server = TestServer::start_with(io, serve).await;

        let (mut good, _) = server.connected("/").await;
        let round_trips = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (round_trips.clone(), stop.clone());
        let healthy = tokio::spawn(async move {
            let mut id = 0;
            while !stopped.load(Ordering::Relaxed) {
                id += 1;
                // Panics (ending this task) if the answer does not come in time.
                let skipped = good.round_trip("/", id).await;
                assert!(skipped.is_empty(), "unexpected packets: {skipped:?}");
                count.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            good.close().await;
        });
        Self {
            server,
            round_trips,
            stop,
            healthy: Some(healthy),
        }
    }

    fn engine(&self) -> &ferrio::engine::Engine {
        self.server.io.engine()
    }

    /// Every case ends here: the healthy client still gets answers, a new
    /// client connects and round-trips, and the case left no session behind.
    async fn check(&mut self, case: &str) {
        let before = self.round_trips.load(Ordering::Relaxed);
        let deadline = Instant::now() + TIMEOUT;
        while self.round_trips.load(Ordering::Relaxed) < before + 3 {
            let healthy = self.healthy.as_ref().unwrap();
            if healthy.is_finished() {
                let result = self.healthy.take().unwrap().await;
                panic!("{case}: the healthy client failed: {result:?}");
            }
            assert!(
                Instant::now() < deadline,
                "{case}: the healthy client got no answers"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (mut fresh, _) = self.server.connected("/").await;
        assert!(fresh.round_trip("/", 1).await.is_empty(), "{case}");
        fresh.close().await;
        let engine = self.engine().clone();
        support::eventually(&format!("{case}: only the healthy session is left"), || {
            engine.session_count() == 1 && engine.pending_handshakes() == 0
        })
        .await;
        eprintln!("ok: {case}");
    }

    async fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.healthy
            .take()
            .unwrap()
            .await
            .expect("the healthy client");
        let n = self.round_trips.load(Ordering::Relaxed);
        self.server.shutdown().await;
        n
    }

    /// A new WebSocket session (joined to `/` if `join`) sends `frames`; the
    /// server must close it.
    async fn offend(&self, case: &str, join: bool, frames: Vec<M>) {
        let mut bad = self.server.ws().await;
        if join {
            bad.connect("/").await;
        }
        for frame in frames {
            // The server may close before the last frame: sends may fail.
            if bad.ws.send(frame).await.is_err() {
                break;
            }
        }
        tokio::time::timeout(TIMEOUT, bad.expect_closed())
            .await
            .unwrap_or_else(|_| panic!("{case}: the server did not close the connection"));
    }

    async fn garbage_text_frames(&mut self) {
        for garbage in [
            "",
            "x",
            "hello world",
            "\u{0}\u{1}\u{2}",
            "4garbage",
            "9",
            "4\u{fffd}",
        ] {
            for join in [false, true] {
                self.offend("garbage text", join, vec![M::text(garbage)])
                    .await;
            }
        }
        // Not even UTF-8, in a text frame.
        let not_utf8 = Frame::message(vec![0x34, 0xff, 0xfe, 0xc3], OpCode::Data(Data::Text), true);
        self.offend(
            "text frame of invalid UTF-8",
            true,
            vec![M::Frame(not_utf8)],
        )
        .await;
        self.check("garbage text frames").await;
    }

    async fn garbage_binary_frames(&mut self) {
        let noise: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for join in [false, true] {
            self.offend("binary noise", join, vec![M::binary(noise.clone())])
                .await;
            self.offend("empty binary", join, vec![M::binary(Vec::new())])
                .await;
        }
        self.check("garbage binary frames").await;
    }

    async fn invalid_packet_types(&mut self) {
        // Engine.IO types past 6, Socket.IO types past 6, letters.
        for bad in ["7", "8x", "47", "49[\"a\"]", "4a", "4-1", "2probe"] {
            self.offend(bad, true, vec![M::text(bad)]).await;
        }
        // Open and upgrade packets on an established transport are ignored,
        // as Node ignores them (issue 16, D3): the connection goes on.
        let mut tolerated = self.server.ws().await;
        tolerated.connect("/").await;
        for ignored in ["0{}", "5"] {
            tolerated.ws.send(M::text(ignored)).await.unwrap();
        }
        assert!(
            tolerated.round_trip("/", 7).await.is_empty(),
            "still served"
        );
        self.check("invalid packet types").await;
    }

    async fn invalid_json(&mut self) {
        for bad in [
            r#"42["a",}"#,
            "42[",
            r#"42["a","unterminated]"#,
            r#"42["a",NaN]"#,
            r#"40{"token":"#,
            r#"43["a"#,
        ] {
            self.offend(bad, true, vec![M::text(bad)]).await;
        }
        self.check("invalid JSON").await;
    }

    async fn event_payload_not_an_array(&mut self) {
        for bad in [
            r#"42{"a":1}"#,
            r#"42"x""#,
            "421",
            "42null",
            "42true",
            "42[]",
        ] {
            self.offend(bad, true, vec![M::text(bad)]).await;
        }
        self.check("an EVENT whose payload is not an array").await;
    }

    async fn absurd_attachment_counts(&mut self) {
        let placeholder = r#"["a",{"_placeholder":true,"num":0}]"#;
        for count in [
            "11",
            "1000000",
            "18446744073709551615",
            "99999999999999999999999999",
            "-1",
        ] {
            let bad = format!("45{count}-{placeholder}");
            self.offend(&bad, true, vec![M::text(bad.clone())]).await;
        }
        // A placeholder pointing past the attachments announced.
        let bad = r#"451-["a",{"_placeholder":true,"num":7}]"#;
        self.offend(bad, true, vec![M::text(bad), M::binary(vec![1, 2, 3])])
            .await;
        self.check("absurd attachment counts").await;
    }

    async fn attachments_never_sent(&mut self) {
        let header = r#"452-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        // One of two attachments, then a text packet instead of the second.
        self.offend(
            "a text packet instead of an attachment",
            true,
            vec![M::text(header), M::binary(vec![1]), M::text(r#"42["b"]"#)],
        )
        .await;
        // One of two, then silence and a vanished client: the partial packet
        // goes with its session (checked below: no session left).
        let mut quiet = self.server.ws().await;
        quiet.connect("/").await;
        quiet.send(header).await;
        quiet.send_binary(&[1]).await;
        drop(quiet);
        // The same client, still connected but never sending the rest.
        let mut stuck = self.server.ws().await;
        stuck.connect("/").await;
        stuck.send(header).await;
        stuck.auto_pong = false;
        // Without pongs, the heartbeat ends it (ping interval + timeout).
        tokio::time::timeout(TIMEOUT, stuck.expect_closed())
            .await
            .expect("the heartbeat closes a silent client");
        self.check("attachments never sent").await;
    }

    async fn json_nested_10_000_deep(&mut self) {
        let deep = format!(r#"42["a",{}{}]"#, "[".repeat(10_000), "]".repeat(10_000));
        self.offend(
            "deep JSON over WebSocket",
            true,
            vec![M::text(deep.clone())],
        )
        .await;
        let objects = format!(
            r#"42["a",{}1{}]"#,
            r#"{"a":"#.repeat(10_000),
            "}".repeat(10_000)
        );
        self.offend("deep objects", true, vec![M::text(objects)])
            .await;
        // And over long-polling: the POST is refused, the session closed.
        let client = self.server.polling().await;
        let joined = self.server.post(&client, "40").await;
        assert_eq!(joined.status, StatusCode::OK);
        self.server.post(&client, &format!("4{}", &deep[1..])).await;
        let poll = self.server.poll(&client).await;
        assert_eq!(
            poll.status,
            StatusCode::BAD_REQUEST,
            "closed: {}",
            poll.text()
        );
        self.check("JSON nested 10 000 deep").await;
    }

    async fn polling_body_of_100_mb(&mut self) {
        const BODY: usize = 100 << 20;
        for chunked in [false, true] {
            let client = self.server.polling().await;
            let path = self
                .server
                .path(&format!("transport=polling&sid={}", client.sid));
            let length = if chunked {
                "Transfer-Encoding: chunked".to_owned()
            } else {
                format!("Content-Length: {BODY}")
            };
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\n{length}\r\n\r\n"
            );
            let stream = TcpStream::connect(self.server.addr).await.unwrap();
            let (mut rd, mut wr) = stream.into_split();
            wr.write_all(head.as_bytes()).await.unwrap();
            let sent = Arc::new(AtomicUsize::new(0));
            let counter = sent.clone();
            // Streams the body 64 KiB at a time from one buffer, until the
            // server stops reading or the whole body is out.
            let writer = tokio::spawn(async move {
                let chunk = Bytes::from(vec![b'a'; 64 << 10]);
                let prefix = format!("{:x}\r\n", chunk.len());
                while counter.load(Ordering::Relaxed) < BODY {
                    let written = if chunked {
                        async {
                            wr.write_all(prefix.as_bytes()).await?;
                            wr.write_all(&chunk).await?;
                            wr.write_all(b"\r\n").await
                        }
                        .await
                    } else {
                        wr.write_all(&chunk).await
                    };
                    if written.is_err() {
                        return;
                    }
                    counter.fetch_add(chunk.len(), Ordering::Relaxed);
                }
            });
            let (status, _) = read_response_head(&mut rd).await;
            let sent_when_answered = sent.load(Ordering::Relaxed);
            writer.abort();
            eprintln!(
                "  100 MB body (chunked: {chunked}): answered {status} after {} KiB sent",
                sent_when_answered >> 10
            );
            assert_eq!(status, 413, "a body over max_payload (chunked: {chunked})");
            assert!(
                sent_when_answered < BODY / 2,
                "answered only after {sent_when_answered} bytes"
            );
        }
        self.check("a 100 MB polling body").await;
    }

    async fn wrong_content_type(&mut self) {
        let client = self.server.polling().await;
        let path = self
            .server
            .path(&format!("transport=polling&sid={}", client.sid));
        for content_type in ["application/octet-stream", "application/octet-stream; x=1"] {
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n40"
            );
            let (status, body) = raw_request(self.server.addr, request.as_bytes()).await;
            assert_eq!(status, 400, "{content_type}: {body}");
        }
        self.check("a wrong content type").await;
    }

    async fn thousands_of_concurrent_polls_on_one_session(&mut self) {
        const POLLS: usize = 2000;
        let client = self.server.polling().await;
        let path = Arc::new(
            self.server
                .path(&format!("transport=polling&sid={}", client.sid)),
        );
        let addr = self.server.addr;
        let mut polls = Vec::with_capacity(POLLS);
        for _ in 0..POLLS {
            let path = path.clone();
            polls.push(tokio::spawn(async move {
                let request =
                    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                raw_request(addr, request.as_bytes()).await.0
            }));
        }
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for poll in polls {
            *statuses.entry(poll.await.unwrap()).or_default() += 1;
        }
        // One poll may be parked and answered (the session's close ends it),
        // the overlapping ones are refused; none is left hanging.
        assert_eq!(statuses.values().sum::<usize>(), POLLS);
        assert!(
            statuses.keys().all(|s| *s == 200 || *s == 400),
            "{statuses:?}"
        );
        assert!(
            statuses.get(&400).copied().unwrap_or(0) >= POLLS - 1,
            "{statuses:?}"
        );

        // The same with POSTs: one at a time per session, or the session ends.
        let client = self.server.polling().await;
        let path = Arc::new(
            self.server
                .path(&format!("transport=polling&sid={}", client.sid)),
        );
        let mut posts = Vec::with_capacity(POLLS / 4);
        for i in 0..POLLS / 4 {
            let path = path.clone();
            posts.push(tokio::spawn(async move {
                let body = format!(r#"42["flood",{i}]"#);
                let request = format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                raw_request(addr, request.as_bytes()).await.0
            }));
        }
        for post in posts {
            let status = post.await.unwrap();
            assert!(status == 200 || status == 400, "POST answered {status}");
        }
        self.check("thousands of concurrent polls on one session")
            .await;
    }

    async fn unknown_sids(&mut self) {
        for sid in [
            "AAAAAAAAAAAAAAAAAAAA",
            "not-a-sid",
            "",
            "%00%ff",
            &"x".repeat(5000),
        ] {
            let path = self.server.path(&format!("transport=polling&sid={sid}"));
            for method in ["GET", "POST"] {
                let reply = self.server.http(method, &path, "40").await;
                assert_eq!(
                    reply.status,
                    StatusCode::BAD_REQUEST,
                    "{method} sid={sid:.20}"
                );
                assert!(
                    reply.text().contains("\"code\":1") || reply.text().contains("\"code\":3"),
                    "{method} sid={sid:.20}: {}",
                    reply.text()
                );
            }
            let request = format!(
                "GET {} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                self.server.path(&format!("transport=websocket&sid={sid}"))
            );
            let (status, _) = raw_request(self.server.addr, request.as_bytes()).await;
            assert_eq!(status, 400, "websocket with sid={sid:.20}");
        }
        self.check("unknown sids").await;
    }

    async fn handshake_flood_that_never_comes_back(&mut self) {
        const POLLING: usize = 1000;
        const WEBSOCKET: usize = 300;
        // Polling handshakes whose client never polls: the first
        // MAX_PENDING_HANDSHAKES open a session, the rest are refused with 503.
        let addr = self.server.addr;
        let path = Arc::new(self.server.path("transport=polling"));
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for batch in 0..POLLING / 50 {
            let mut handshakes = Vec::new();
            for _ in 0..50 {
                let path = path.clone();
                handshakes.push(tokio::spawn(async move {
                    let request =
                        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                    raw_request(addr, request.as_bytes()).await
                }));
            }
            for handshake in handshakes {
                let (status, body) = handshake.await.unwrap();
                if status == 503 {
                    assert!(body.contains("Too many handshakes in progress"), "{body}");
                }
                *statuses.entry(status).or_default() += 1;
            }
            assert!(
                self.engine().pending_handshakes() <= MAX_PENDING_HANDSHAKES,
                "batch {batch}"
            );
        }
        // Sessions of the first handshakes may time out (and free their
        // place) before the last ones come: at least the limit is reached.
        assert!(
            statuses.keys().all(|s| *s == 200 || *s == 503),
            "{statuses:?}"
        );
        assert!(
            statuses.get(&200).copied().unwrap_or(0) >= MAX_PENDING_HANDSHAKES
                && statuses.get(&503).copied().unwrap_or(0) >= POLLING / 2,
            "{statuses:?}"
        );
        // WebSocket handshakes whose client then says nothing, not even a pong.
        let mut silent: Vec<WsClient> = Vec::with_capacity(WEBSOCKET);
        for _ in 0..WEBSOCKET {
            let mut ws = self.server.ws().await;
            ws.auto_pong = false;
            silent.push(ws);
        }
        // Raw upgrade requests that never read the answer.
        let mut mute = Vec::new();
        for _ in 0..WEBSOCKET {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let request = format!(
                "GET {} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                self.server.path("transport=websocket")
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            mute.push(stream);
        }
        // The heartbeat ends all of them (check() waits for it).
        self.check("a handshake flood that never comes back").await;
        drop(silent);
        drop(mute);
    }

    async fn trickled_headers(&mut self) {
        const CLIENTS: usize = 20;
        let addr = self.server.addr;
        let mut slow = Vec::new();
        for _ in 0..CLIENTS {
            slow.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let started = Instant::now();
                let head =
                    b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Slow: ";
                let mut bytes = head.iter().chain(std::iter::repeat(&b'a'));
                let mut buf = [0u8; 1024];
                loop {
                    tokio::select! {
                        read = stream.read(&mut buf) => match read {
                            // Closed (perhaps after a 408): the end of the case.
                            Ok(0) | Err(_) => return started.elapsed(),
                            Ok(_) => {}
                        },
                        () = tokio::time::sleep(Duration::from_millis(100)) => {
                            let byte = [*bytes.next().unwrap()];
                            if stream.write_all(&byte).await.is_err() {
                                return started.elapsed();
                            }
                            assert!(started.elapsed() < TIMEOUT, "never closed");
                        }
                    }
                }
            }));
        }
        for client in slow {
            let lived = client.await.unwrap();
            assert!(
                lived >= HEADER_READ_TIMEOUT - Duration::from_millis(100)
                    && lived < HEADER_READ_TIMEOUT * 10,
                "closed after {lived:?}"
            );
        }
        self.check("trickled headers (slowloris)").await;
    }

    async fn websocket_frames_over_the_payload_limit(&mut self) {
        let big = format!(r#"42["a","{}"]"#, "x".repeat(MAX_PAYLOAD));
        self.offend("a text message over the limit", true, vec![M::text(big)])
            .await;
        self.offend(
            "a binary message over the limit",
            true,
            vec![M::binary(vec![7u8; MAX_PAYLOAD + 1])],
        )
        .await;
        // Two fragments, each under the limit, together over it.
        let half = vec![b'x'; MAX_PAYLOAD / 2 + 10];
        let mut first = b"42[\"a\",\"".to_vec();
        first.extend_from_slice(&half);
        self.offend(
            "a fragmented message over the limit",
            true,
            vec![
                M::Frame(Frame::message(first, OpCode::Data(Data::Text), false)),
                M::Frame(Frame::message(half, OpCode::Data(Data::Continue), false)),
                M::Frame(Frame::message(
                    b"\"]".to_vec(),
                    OpCode::Data(Data::Continue),
                    true,
                )),
            ],
        )
        .await;
        // Frames announcing 2^62 bytes that never come.
        let mut stream = self.server.ws().await;
        stream.connect("/").await;
        let tcp = stream.ws.get_mut();
        let mut header = vec![0x81u8, 0xff];
        header.extend_from_slice(&(1u64 << 62).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        tcp.write_all(&header).await.unwrap();
        let mut buf = [0u8; 256];
        loop {
            match tokio::time::timeout(TIMEOUT, tcp.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => break,
                Ok(Ok(_)) => {}
                Err(_) => panic!("a frame header of 2^62 bytes did not close the connection"),
            }
        }
        self.check("WebSocket frames over the payload limit").await;
    }
}

/// Sends `request` on a new connection and reads the answer's status and body
/// (the connection must close after it: send `Connection: close`).
async fn raw_request(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(TIMEOUT, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
            // An answer with Content-Length is complete once that much is in.
            if let Some((status, body)) = parse_complete(&response) {
                return Some((status, body));
            }
        }
        parse_complete(&response)
    })
    .await
    .expect("an answer in time");
    read.unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(&response)))
}

/// The status and body of a complete `Content-Length` response, if `bytes`
/// holds one.
fn parse_complete(bytes: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.get(9..12)?.parse().ok()?;
    if status == 101 {
        return Some((101, String::new()));
    }
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    (body.len() >= length).then(|| (status, body[..length].to_owned()))
}

/// Reads one response head from `rd`: its status and the head's text.
async fn read_response_head(rd: &mut (impl AsyncReadExt + Unpin)) -> (u16, String) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(TIMEOUT, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("a response head in time");
    let text = String::from_utf8_lossy(&head).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no response head: {text:?}"));
    (status, text)
}

/// This process's resident set size, in bytes (`VmRSS` in `/proc/self/status`).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("a VmRSS line")
        << 10
}

/// How long the slow-request tests give the listener's request and write
/// timeouts.
const SLOW_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a fourth client may wait for its handshake while three slow
/// clients hold every connection: the timeouts must have freed one by then.
const FOURTH_CLIENT_WAIT: Duration = Duration::from_secs(3);

/// A server that takes three connections at once and gives requests and
/// writes [`SLOW_REQUEST_TIMEOUT`]; on connection it emits `big` bytes.
async fn three_connection_server(big: usize) -> TestServer {
    let io = SocketIo::new();
    io.on_connection(move |socket| async move {
        if big > 0 {
            let _ = socket.emit("big", &"x".repeat(big));
        }
    });
    let serve = ServeConfig::default()
        .max_connections(3)
        .request_timeout(SLOW_REQUEST_TIMEOUT)
        .write_timeout(SLOW_REQUEST_TIMEOUT);
    TestServer::start_with(io, serve).await
}

/// Sends one request on a kept-alive connection and reads its whole answer.
async fn keep_alive_request(tcp: &mut TcpStream, request: &str) -> (u16, String, String) {
    tcp.write_all(request.as_bytes()).await.unwrap();
    let (status, head) = read_response_head(tcp).await;
    let (head, early) = head.split_once("\r\n\r\n").expect("a head");
    let length = content_length(head);
    let mut body = early.as_bytes().to_vec();
    tokio::time::timeout(TIMEOUT, async {
        let mut buf = vec![0u8; 64 * 1024];
        while body.len() < length {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed mid-body");
            body.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("a body in time");
    (
        status,
        head.to_owned(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// A polling handshake on a kept-alive connection; returns the session id.
async fn keep_alive_handshake(tcp: &mut TcpStream, server: &TestServer) -> String {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\n\r\n",
        server.path("transport=polling")
    );
    let (status, _, body) = keep_alive_request(tcp, &request).await;
    assert_eq!(status, 200, "{body}");
    let open: serde_json::Value = serde_json::from_str(&body[1..]).expect("an open packet");
    open["sid"].as_str().expect("a sid").to_owned()
}

/// A fourth client's handshake must be answered within [`FOURTH_CLIENT_WAIT`].
async fn fourth_client_gets_in(server: &TestServer, case: &str) {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        server.path("transport=polling")
    );
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(
        FOURTH_CLIENT_WAIT,
        raw_request(server.addr, request.as_bytes()),
    )
    .await
    .unwrap_or_else(|_| panic!("{case}: the fourth client got no handshake"));
    assert_eq!(status, 200, "{case}: {body}");
    eprintln!(
        "{case}: the fourth client got in after {:?}",
        started.elapsed()
    );
}

/// Finding 5, slow body: three POSTs that declare 1 000 000 bytes and send one
/// hold every connection; the request timeout frees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_post_bodies_time_out_and_free_their_connections() {
    let server = three_connection_server(0).await;
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        let sid = keep_alive_handshake(&mut tcp, &server).await;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n4",
            server.path(&format!("transport=polling&sid={sid}"))
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        stalled.push(tcp);
    }
    fourth_client_gets_in(&server, "stalled POST bodies").await;
    // The stalled POSTs were answered 408 and their sessions closed.
    for tcp in &mut stalled {
        let (status, _) = read_response_head(tcp).await;
        assert_eq!(status, 408);
    }
    let engine = server.io.engine().clone();
    // Only the fourth client's session is left.
    support::eventually("the stalled sessions are closed", || {
        engine.session_count() == 1
    })
    .await;
    drop(stalled);
    server.shutdown().await;
}

/// Finding 5, slow read: three clients whose poll answers (6 MB each) they
/// never read hold every connection; the write timeout frees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_poll_responses_time_out_and_free_their_connections() {
    const BIG: usize = 6_000_000;
    let server = three_connection_server(BIG).await;
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut tcp = socket.connect(server.addr).await.unwrap();
        let sid = keep_alive_handshake(&mut tcp, &server).await;
        let path = server.path(&format!("transport=polling&sid={sid}"));
        let post = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n40"
        );
        let (status, _, body) = keep_alive_request(&mut tcp, &post).await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        // Poll until the answer is the big one, then stop reading.
        let get = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        loop {
            tcp.write_all(get.as_bytes()).await.unwrap();
            let (status, head) = read_response_head(&mut tcp).await;
            assert_eq!(status, 200);
            let (head, early) = head.split_once("\r\n\r\n").unwrap();
            let length = content_length(head);
            if length > BIG {
                break;
            }
            let mut rest = vec![0u8; length - early.len()];
            tcp.read_exact(&mut rest).await.unwrap();
        }
        stalled.push(tcp);
    }
    fourth_client_gets_in(&server, "unread poll responses").await;
    drop(stalled);
    server.shutdown().await;
}
