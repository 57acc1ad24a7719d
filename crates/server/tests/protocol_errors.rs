//! Every decoder and protocol rule of §6.1–6.3: a violation closes that one
//! client's connection, and nothing else; another client keeps exchanging
//! messages. Its sockets leave with "forced close", as in Node, where a packet
//! the Socket.IO parser refuses, or one that makes no sense in the client's
//! state, closes the connection that way ("parse error" is for Engine.IO-level
//! garbage).

mod support;

use ferrio::{DisconnectReason, SocketIo, SocketIoConfig};
use support::{Rx, TestServer, WsClient, answer_pings, channel};

/// What a misbehaving client sends.
enum Out {
    Text(String),
    Binary(Vec<u8>),
}

fn text(s: &str) -> Out {
    Out::Text(s.to_owned())
}

struct Setup {
    server: TestServer,
    reasons: Rx<(String, String, DisconnectReason)>,
    good: WsClient,
    round: u64,
}

/// A server with `/` and `/admin`, and a well-behaved client on both.
async fn setup() -> Setup {
    let io = SocketIo::with_config(SocketIoConfig::default());
    let (tx, reasons) = channel();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                answer_pings(&socket);
                socket.on_disconnect(move |socket, reason| {
                    let tx = tx.clone();
                    async move {
                        let nsp = socket.namespace().name().to_owned();
                        let _ = tx.send((socket.id().to_string(), nsp, reason));
                    }
                });
            }
        });
    }
    let server = TestServer::start(io).await;
    let mut good = server.ws().await;
    good.connect("/").await;
    good.connect("/admin").await;
    Setup {
        server,
        reasons,
        good,
        round: 0,
    }
}

impl Setup {
    /// A new client joins `join`, sends `frames`, and must be disconnected with
    /// no answer; its sockets leave with "forced close"; the good client is
    /// unaffected.
    async fn offend(&mut self, case: &str, join: &[&str], frames: Vec<Out>) {
        let mut bad = self.server.ws().await;
        let mut sockets = Vec::new();
        for nsp in join {
            sockets.push((bad.connect(nsp).await, nsp.to_string()));
        }
        for frame in frames {
            match frame {
                Out::Text(t) => bad.send(&t).await,
                Out::Binary(b) => bad.send_binary(&b).await,
            }
        }
        let answer = bad.next_frame().await;
        assert_eq!(answer, None, "{case}: closed without an answer");

        let mut left = Vec::new();
        for _ in &sockets {
            let (id, nsp, reason) = self.reasons.next().await;
            assert_eq!(reason, DisconnectReason::ForcedClose, "{case}");
            left.push((id, nsp));
        }
        left.sort();
        sockets.sort();
        assert_eq!(left, sockets, "{case}: each socket of the offender left");

        for nsp in ["/", "/admin"] {
            self.round += 1;
            let skipped = self.good.round_trip(nsp, self.round).await;
            assert!(skipped.is_empty(), "{case}: {skipped:?}");
        }
        assert!(
            self.reasons.try_next().is_none(),
            "{case}: nobody else left"
        );
        assert_eq!(self.server.io.engine().session_count(), 1, "{case}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_packet_type_closes_the_connection() {
    let mut s = setup().await;
    for bad in ["47[\"x\"]", "49", "4a", "4", "4-"] {
        s.offend(bad, &["/"], vec![text(bad)]).await;
    }
    // Before joining any namespace too.
    s.offend("type 7 first", &[], vec![text("47")]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_whose_payload_is_not_an_array_closes_the_connection() {
    let mut s = setup().await;
    for bad in [
        r#"42{"a":1}"#,
        r#"42"hello""#,
        "421",
        "42",
        "42null",
        r#"42/admin,{"a":1}"#,
    ] {
        s.offend(bad, &["/", "/admin"], vec![text(bad)]).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_with_an_empty_array_or_a_bad_name_closes_the_connection() {
    let mut s = setup().await;
    for bad in [
        "42[]",
        "425[]",
        "42[null]",
        r#"42[{"a":1}]"#,
        "42[[\"x\"]]",
        "42[true]",
    ] {
        s.offend(bad, &["/"], vec![text(bad)]).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reserved_event_name_closes_the_connection() {
    let mut s = setup().await;
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        let bad = format!(r#"42["{name}","x"]"#);
        s.offend(&bad, &["/"], vec![text(&bad)]).await;
        let bad = format!(r#"42/admin,3["{name}"]"#);
        s.offend(&bad, &["/admin"], vec![text(&bad)]).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ack_without_an_array_closes_the_connection() {
    let mut s = setup().await;
    for bad in [r#"431{"a":1}"#, r#"431"x""#, "4312", "431", "431null"] {
        s.offend(bad, &["/"], vec![text(bad)]).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_json_closes_the_connection() {
    let mut s = setup().await;
    for bad in [
        r#"42["a","#,
        "42[\"a\"]]",
        "42['a']",
        r#"42["a",undefined]"#,
        r#"42["a",{"b":}]"#,
        r#"40/admin,{"token":}"#,
    ] {
        s.offend(bad, &["/"], vec![text(bad)]).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_connect_and_disconnect_payloads_close_the_connection() {
    let mut s = setup().await;
    // CONNECT data is an object or nothing; DISCONNECT has none.
    s.offend("connect array", &["/"], vec![text("40/admin,[1]")])
        .await;
    s.offend("connect string", &[], vec![text(r#"40"x""#)])
        .await;
    s.offend("disconnect data", &["/"], vec![text(r#"41{"a":1}"#)])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn more_attachments_than_the_limit_close_the_connection() {
    let mut s = setup().await;
    let placeholders = |n: usize| {
        (0..n)
            .map(|i| format!(r#"{{"_placeholder":true,"num":{i}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let bad = format!(r#"4511-["a",{}]"#, placeholders(11));
    s.offend("11 attachments", &["/"], vec![text(&bad)]).await;
    s.offend(
        "huge count",
        &["/"],
        vec![text(r#"4599999999999999999999-["a"]"#)],
    )
    .await;
    s.offend("zero attachments", &["/"], vec![text(r#"450-["a"]"#)])
        .await;
    s.offend("no count", &["/"], vec![text(r#"45["a"]"#)]).await;
    // A placeholder pointing past the attachments.
    s.offend(
        "placeholder out of range",
        &["/"],
        vec![
            text(r#"451-["a",{"_placeholder":true,"num":1}]"#),
            Out::Binary(vec![1]),
        ],
    )
    .await;

    // Ten is fine.
    let ok = format!(r#"4510-7["ping",{}]"#, placeholders(10));
    s.good.send(&ok).await;
    for i in 0..10u8 {
        s.good.send_binary(&[i]).await;
    }
    assert_eq!(s.good.recv_text().await, "437[]");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_text_message_while_attachments_are_awaited_closes_the_connection() {
    let mut s = setup().await;
    s.offend(
        "text instead of the only attachment",
        &["/"],
        vec![
            text(r#"451-["a",{"_placeholder":true,"num":0}]"#),
            text(r#"42["b"]"#),
        ],
    )
    .await;
    s.offend(
        "text between two attachments",
        &["/"],
        vec![
            text(r#"452-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
            Out::Binary(vec![1]),
            text(r#"42["b"]"#),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_binary_message_nobody_awaits_closes_the_connection() {
    let mut s = setup().await;
    s.offend("stray binary", &["/"], vec![Out::Binary(vec![1, 2, 3])])
        .await;
    s.offend(
        "one attachment too many",
        &["/"],
        vec![
            text(r#"451-["ping",{"_placeholder":true,"num":0}]"#),
            Out::Binary(vec![1]),
            Out::Binary(vec![2]),
        ],
    )
    .await;
    s.offend("binary first", &[], vec![Out::Binary(vec![0])])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_nested_too_deep_closes_the_connection() {
    let mut s = setup().await;
    let deep = |n: usize| format!(r#"42["a",{}{}]"#, "[".repeat(n), "]".repeat(n));
    s.offend("arrays 100 deep", &["/"], vec![text(&deep(100))])
        .await;
    let objects = format!(r#"42["a",{}1{}]"#, r#"{"k":"#.repeat(100), "}".repeat(100));
    s.offend("objects 100 deep", &["/"], vec![text(&objects)])
        .await;
    // An unterminated hostile prefix is refused too, without a stack overflow.
    let hostile = format!("42{}", "[".repeat(200_000));
    s.offend("hostile prefix", &["/"], vec![text(&hostile)])
        .await;

    // Within the default limit (64) is accepted.
    s.good.send(&format!("429{}", deep_ok())).await;
    assert_eq!(s.good.recv_text().await, "439[]");
}

fn deep_ok() -> String {
    format!(r#"["ping",{}{}]"#, "[".repeat(30), "]".repeat(30))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_connect_to_a_joined_namespace_closes_the_connection() {
    let mut s = setup().await;
    s.offend("second 40", &["/"], vec![text("40")]).await;
    s.offend(
        "second 40/admin",
        &["/", "/admin"],
        vec![text(r#"40/admin,{"again":true}"#)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_packet_for_a_namespace_not_joined_closes_the_connection() {
    let mut s = setup().await;
    // An existing namespace the client did not join.
    s.offend("event", &["/"], vec![text(r#"42/admin,["ping"]"#)])
        .await;
    s.offend("ack", &["/"], vec![text(r#"43/admin,1[]"#)]).await;
    s.offend("disconnect", &["/"], vec![text("41/admin,")])
        .await;
    // A namespace that does not exist.
    s.offend("unknown", &["/admin"], vec![text(r#"42/nope,["x"]"#)])
        .await;
    // `/` itself, when only `/admin` was joined.
    s.offend("main", &["/admin"], vec![text(r#"42["ping"]"#)])
        .await;
    // Nothing joined at all.
    s.offend("nothing joined", &[], vec![text(r#"42["ping"]"#)])
        .await;

    // A namespace left with a DISCONNECT is no longer joined.
    let mut bad = s.server.ws().await;
    let main = bad.connect("/").await;
    let admin = bad.connect("/admin").await;
    bad.send("41/admin,").await;
    assert_eq!(
        s.reasons.next().await,
        (
            admin,
            "/admin".into(),
            DisconnectReason::ClientNamespaceDisconnect
        )
    );
    bad.send(r#"42/admin,["ping"]"#).await;
    assert_eq!(bad.next_frame().await, None);
    assert_eq!(
        s.reasons.next().await,
        (main, "/".into(), DisconnectReason::ForcedClose)
    );
    s.round += 1;
    s.good.round_trip("/admin", s.round).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decode_error_over_long_polling_closes_that_session_only() {
    let mut s = setup().await;
    let server = &s.server;
    let client = server.polling().await;
    assert_eq!(server.post(&client, "40").await.text(), "ok");
    let packets = server.poll_packets(&client, 1).await;
    assert!(packets[0].starts_with("40{"), "{packets:?}");
    // The socket's id is in the reply.
    let data: serde_json::Value = serde_json::from_str(&packets[0][2..]).unwrap();
    let id = data["sid"].as_str().unwrap().to_owned();
    server.post(&client, "42[]").await;
    let (left, nsp, reason) = s.reasons.next().await;
    assert_eq!(
        (left, nsp.as_ref(), reason),
        (id, "/", DisconnectReason::ForcedClose)
    );
    // The session is gone: a poll is refused or told to close (`1`, or
    // `6␞1` for a close buffered until this poll, as Node).
    let reply = server.poll(&client).await;
    assert!(
        reply.status != http::StatusCode::OK || reply.text() == "1" || reply.text() == "6\u{1e}1",
        "{} {}",
        reply.status,
        reply.text()
    );
    s.round += 1;
    s.good.round_trip("/", s.round).await;
}
