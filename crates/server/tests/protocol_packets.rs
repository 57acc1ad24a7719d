//! Every Socket.IO v5 packet type on the wire, in both directions, checked
//! byte for byte against the protocol document (§6 of SOCKETIO_FEATURES.md).

mod support;

use bytes::Bytes;
use ferrio::{ConnectError, DisconnectReason, Payload, SocketIo, SocketIoConfig};
use serde_json::{Value, json};
use support::{Bin, TestServer, answer_pings, bytes_json, channel};

fn new_io() -> SocketIo {
    SocketIo::with_config(SocketIoConfig::default())
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_replies_with_a_socket_id_that_is_not_the_engine_sid() {
    let io = new_io();
    let (tx, mut ids) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(socket.id().to_string());
        }
    });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.send("40").await;
    let reply = client.recv_text().await;
    assert!(reply.starts_with(r#"40{"sid":""#), "{reply}");
    let data: Value = serde_json::from_str(&reply[2..]).unwrap();
    assert_eq!(data.as_object().unwrap().len(), 1, "no pid without CSR");
    let sid = data["sid"].as_str().unwrap();
    assert_eq!(sid.len(), 20);
    assert_ne!(sid, client.eio_sid, "socket id differs from the engine sid");
    assert_eq!(ids.next().await, sid, "the handler's socket has that id");
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_to_a_custom_namespace_with_auth() {
    let io = new_io();
    let (tx, mut auths) = channel();
    io.of("/admin").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((socket.id().to_string(), socket.handshake().auth()));
        }
    });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    let main = client.connect("/").await;

    client.send(r#"40/admin,{"token":"x"}"#).await;
    let reply = client.recv_text().await;
    assert!(reply.starts_with(r#"40/admin,{"sid":""#), "{reply}");
    let data: Value = serde_json::from_str(&reply["40/admin,".len()..]).unwrap();
    let admin = data["sid"].as_str().unwrap();
    assert_ne!(admin, main, "one socket per namespace");
    assert_ne!(admin, client.eio_sid);
    assert_eq!(
        auths.next().await,
        (admin.to_owned(), json!({"token": "x"}))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_namespace_gets_connect_error_and_the_connection_stays() {
    let io = new_io();
    io.on_connection(|socket| async move { answer_pings(&socket) });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.send("40/nope,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    // The same with an auth payload, and without the trailing comma.
    client.send(r#"40/nope2,{"a":1}"#).await;
    assert_eq!(
        client.recv_text().await,
        r#"44/nope2,{"message":"Invalid namespace"}"#
    );
    client.send("40/nope3").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/nope3,{"message":"Invalid namespace"}"#
    );
    client.connect("/").await;
    client.round_trip("/", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn middleware_refusal_sends_connect_error_with_message_and_data() {
    let io = new_io();
    let (tx, mut connected) = channel();
    // Two middlewares in order: the first checks the token, the second (async)
    // passes; a refusal carries data on `/`, none on `/admin`.
    io.use_middleware(|socket| async move {
        if socket.handshake().auth()["token"] == "good" {
            Ok(())
        } else {
            Err(ConnectError::new("Not authorized").with_data(json!({"code": 401})))
        }
    });
    io.use_middleware(|_socket| async move {
        tokio::task::yield_now().await;
        Ok(())
    });
    io.of("/admin")
        .use_middleware(|_socket| async move { Err(ConnectError::new("admins only")) });
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(socket.namespace().name().to_owned());
            }
        });
    }
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;

    client.send(r#"40{"token":"bad"}"#).await;
    assert_eq!(
        client.recv_text().await,
        r#"44{"message":"Not authorized","data":{"code":401}}"#
    );
    client.send("40/admin,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/admin,{"message":"admins only"}"#
    );
    // The connection is still usable: a good token connects.
    client
        .connect_with("/", Some(json!({"token": "good"})))
        .await;
    assert_eq!(connected.next().await, "/");
    assert!(
        connected.try_next().is_none(),
        "refused sockets never connected"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_with_several_args_and_an_ack_id_are_answered_in_their_namespace() {
    let io = new_io();
    let (tx, mut seen) = channel();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let tx2 = tx.clone();
                socket.on("ask", move |socket, event| {
                    let tx = tx2.clone();
                    async move {
                        let args: Vec<Value> = (0..event.args().len())
                            .map(|i| event.arg(i).unwrap())
                            .collect();
                        let _ = tx.send((socket.namespace().name().to_owned(), args));
                        event.reply(&("ok", 2)).unwrap();
                    }
                });
                socket.on("42", move |_socket, event| async move {
                    event.reply(&event.arg::<String>(0).unwrap()).unwrap();
                });
            }
        });
    }
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.connect("/").await;
    client.connect("/admin").await;

    client
        .send(r#"42/admin,13["ask",1,"two",{"three":3}]"#)
        .await;
    assert_eq!(client.recv_text().await, r#"43/admin,13["ok",2]"#);
    assert_eq!(
        seen.next().await,
        (
            "/admin".into(),
            vec![json!(1), json!("two"), json!({"three": 3})]
        )
    );

    client.send(r#"427["ask",null,[1,2]]"#).await;
    assert_eq!(client.recv_text().await, r#"437["ok",2]"#);
    assert_eq!(
        seen.next().await,
        ("/".into(), vec![json!(null), json!([1, 2])])
    );

    // The event name may be a number.
    client.send(r#"428[42,"n"]"#).await;
    assert_eq!(client.recv_text().await, r#"438["n"]"#);

    // An event without an ack id gets no ack.
    client.send(r#"42/admin,["ask"]"#).await;
    assert_eq!(seen.next().await, ("/admin".into(), vec![]));
    client.send(r#"42/admin,1["ask"]"#).await;
    assert_eq!(client.recv_text().await, r#"43/admin,1["ok",2]"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_acknowledges_server_emits_with_ack() {
    let io = new_io();
    let (tx, mut answers) = channel();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let first = socket.emit_with_ack("question", &("a", 1)).await;
                let second = socket.emit_with_ack("question", &("b", 2)).await;
                let _ = tx.send((socket.namespace().name().to_owned(), first, second));
            }
        });
    }
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    for nsp in ["/", "/admin"] {
        client.connect(nsp).await;
        let (p1, name, args) = client.recv_event().await;
        assert_eq!((p1.nsp.as_ref(), name.as_str()), (nsp, "question"));
        assert_eq!(args, [json!("a"), json!(1)]);
        let id1 = p1.id.expect("an ack id");
        // The ack may carry several arguments.
        client.ack(nsp, id1, &[json!("first"), json!(null)]).await;

        let (p2, _, args) = client.recv_event().await;
        assert_eq!(args, [json!("b"), json!(2)]);
        let id2 = p2.id.expect("an ack id");
        assert_ne!(id1, id2, "each emit_with_ack has its own id");
        // An unknown ack id is ignored; the right one resolves.
        client.ack(nsp, id2 + 1000, &[json!("unknown")]).await;
        client.ack(nsp, id2, &[json!("second")]).await;

        let (got_nsp, first, second) = answers.next().await;
        assert_eq!(got_nsp, nsp);
        assert_eq!(
            first.unwrap(),
            [Payload::Json(json!("first")), Payload::Json(json!(null))]
        );
        assert_eq!(second.unwrap(), [Payload::Json(json!("second"))]);
    }
    // Check the exact text of one such event too.
    let io2 = new_io();
    io2.on_connection(|socket| async move {
        let _ = socket.emit_with_ack("q", &()).await;
    });
    let server2 = TestServer::start(io2).await;
    let mut client = server2.ws().await;
    client.connect("/").await;
    let text = client.recv_text().await;
    let id: u64 = text
        .strip_prefix("42")
        .and_then(|t| t.strip_suffix(r#"["q"]"#))
        .unwrap_or_else(|| panic!("{text}"))
        .parse()
        .unwrap();
    client.send(&format!("43{id}[]")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_disconnect_packet_leaves_that_namespace_only() {
    let io = new_io();
    let (tx, mut reasons) = channel();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                answer_pings(&socket);
                socket.on_disconnect(move |socket, reason| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send((socket.namespace().name().to_owned(), reason));
                    }
                });
            }
        });
    }
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.connect("/").await;
    let first = client.connect("/admin").await;

    client.send("41/admin,").await;
    assert_eq!(
        reasons.next().await,
        ("/admin".into(), DisconnectReason::ClientNamespaceDisconnect)
    );
    // No reply to the client; `/` still works on the same connection.
    let skipped = client.round_trip("/", 1).await;
    assert!(skipped.is_empty(), "no reply to a DISCONNECT: {skipped:?}");
    // The namespace can be joined again, as a new socket.
    let second = client.connect("/admin").await;
    assert_ne!(first, second);
    client.round_trip("/admin", 2).await;

    client.send("41").await;
    assert_eq!(
        reasons.next().await,
        ("/".into(), DisconnectReason::ClientNamespaceDisconnect)
    );
    client.round_trip("/admin", 3).await;
    assert_eq!(server.io.of("/").socket_count(), 0);
    assert_eq!(server.io.of("/admin").socket_count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_disconnect_sends_a_disconnect_packet() {
    let io = new_io();
    let (tx, mut reasons) = channel();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                answer_pings(&socket);
                socket.on("kick", |socket, _| async move { socket.disconnect() });
                socket.on_disconnect(move |socket, reason| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send((socket.namespace().name().to_owned(), reason));
                    }
                });
            }
        });
    }
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.connect("/").await;
    client.connect("/admin").await;

    client.send(r#"42/admin,["kick"]"#).await;
    assert_eq!(client.recv_text().await, "41/admin,");
    assert_eq!(
        reasons.next().await,
        ("/admin".into(), DisconnectReason::ServerNamespaceDisconnect)
    );
    client.round_trip("/", 1).await;

    client.send(r#"42["kick"]"#).await;
    assert_eq!(client.recv_text().await, "41");
    assert_eq!(
        reasons.next().await,
        ("/".into(), DisconnectReason::ServerNamespaceDisconnect)
    );
    // The Engine.IO connection stays open with no namespace joined.
    client.connect("/admin").await;
    client.round_trip("/admin", 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_events_from_the_client_are_reassembled() {
    let io = new_io();
    let (tx, mut seen) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on("upload", move |_socket, event| {
                let tx = tx.clone();
                async move {
                    let first = event.binary(0).cloned();
                    let _ = tx.send((event.args().clone().into_vec(), first));
                    event.reply(&event.args().len()).unwrap();
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.connect("/").await;

    client
        .send(r#"452-["upload",{"_placeholder":true,"num":0},{"meta":{"_placeholder":true,"num":1},"n":7}]"#)
        .await;
    client.send_binary(&[1, 2, 3]).await;
    client.send_binary(&[4, 5]).await;
    let (args, first) = seen.next().await;
    assert_eq!(first, Some(Bytes::from_static(&[1, 2, 3])));
    assert_eq!(
        args,
        [
            Payload::Binary(Bytes::from_static(&[1, 2, 3])),
            Payload::Object(vec![
                ("meta".into(), Payload::Binary(Bytes::from_static(&[4, 5]))),
                ("n".into(), Payload::Json(json!(7))),
            ]),
        ]
    );

    // With an ack id, and placeholders out of order.
    client
        .send(r#"452-9["upload",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#)
        .await;
    client.send_binary(b"zero").await;
    client.send_binary(b"one").await;
    assert_eq!(client.recv_text().await, "439[2]");
    let (args, _) = seen.next().await;
    assert_eq!(
        args,
        [
            Payload::Binary(Bytes::from_static(b"one")),
            Payload::Binary(Bytes::from_static(b"zero")),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_sends_binary_events_and_binary_acks() {
    let io = new_io();
    for nsp in ["/", "/admin"] {
        io.of(nsp).on_connection(|socket| async move {
            socket.on("get", |socket, event| async move {
                // A serde byte buffer, and a raw payload echo of what came in.
                socket
                    .emit("file", &(Bin(vec![1, 2, 3]), "name", json!({"k": 1})))
                    .unwrap();
                socket
                    .emit_args("echo", event.args().clone().into_vec())
                    .unwrap();
                if let Some(ack) = event.ack() {
                    ack.send_args(vec![
                        Payload::Json(json!("ok")),
                        Payload::Binary(Bytes::from_static(&[9, 8])),
                    ])
                    .unwrap();
                }
            });
        });
    }
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.connect("/").await;
    client.connect("/admin").await;

    client
        .send(r#"451-/admin,5["get",{"_placeholder":true,"num":0}]"#)
        .await;
    client.send_binary(&[7, 7, 7]).await;
    assert_eq!(
        client.recv_text().await,
        r#"451-/admin,["file",{"_placeholder":true,"num":0},"name",{"k":1}]"#
    );
    assert_eq!(client.recv_binary().await, [1, 2, 3]);
    assert_eq!(
        client.recv_text().await,
        r#"451-/admin,["echo",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(client.recv_binary().await, [7, 7, 7]);
    assert_eq!(
        client.recv_text().await,
        r#"461-/admin,5["ok",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(client.recv_binary().await, [9, 8]);

    // On `/`, without an ack id: the event comes, no ack.
    client
        .send(r#"452-["get",[{"_placeholder":true,"num":1}],{"_placeholder":true,"num":0}]"#)
        .await;
    client.send_binary(b"a").await;
    client.send_binary(b"b").await;
    assert_eq!(
        client.recv_text().await,
        r#"451-["file",{"_placeholder":true,"num":0},"name",{"k":1}]"#
    );
    assert_eq!(client.recv_binary().await, [1, 2, 3]);
    // Re-encoded depth first: the placeholders are numbered in order.
    assert_eq!(
        client.recv_text().await,
        r#"452-["echo",[{"_placeholder":true,"num":0}],{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(client.recv_binary().await, b"b");
    assert_eq!(client.recv_binary().await, b"a");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_answers_a_server_ack_with_binary() {
    let io = new_io();
    let (tx, mut answers) = channel();
    io.of("/admin").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(socket.emit_with_ack("need", &Bin(vec![0])).await);
        }
    });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.connect("/admin").await;
    let (packet, name, args) = client.recv_event().await;
    assert_eq!(
        (packet.kind, packet.attachments, name.as_str()),
        (5, 1, "need")
    );
    assert_eq!(args, [bytes_json(&[0])]);
    let id = packet.id.unwrap();
    client
        .send(&format!(
            r#"461-/admin,{id}[{{"_placeholder":true,"num":0}},"text"]"#
        ))
        .await;
    client.send_binary(&[5, 6]).await;
    assert_eq!(
        answers.next().await.unwrap(),
        [
            Payload::Binary(Bytes::from_static(&[5, 6])),
            Payload::Json(json!("text"))
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn packets_over_long_polling_binary_included() {
    let io = new_io();
    let (tx, mut seen) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on("up", move |socket, event| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(event.args().clone().into_vec());
                    socket
                        .emit_args("down", event.args().clone().into_vec())
                        .unwrap();
                    event.reply(&"done").unwrap();
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let client = server.polling().await;

    assert_eq!(server.post(&client, "40").await.text(), "ok");
    let packets = server.poll_packets(&client, 1).await;
    assert!(packets[0].starts_with(r#"40{"sid":""#), "{packets:?}");

    // A binary event over polling: the attachment is `b` + base64 in the payload.
    let reply = server
        .post(
            &client,
            "451-3[\"up\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID",
        )
        .await;
    assert_eq!(reply.text(), "ok");
    assert_eq!(
        seen.next().await,
        [Payload::Binary(Bytes::from_static(&[1, 2, 3]))]
    );
    let packets = server.poll_packets(&client, 3).await;
    assert_eq!(
        packets,
        [
            r#"451-["down",{"_placeholder":true,"num":0}]"#,
            "bAQID",
            r#"433["done"]"#
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passed_on_arguments_are_written_as_json_stringify_writes_them() {
    let io = new_io();
    io.on_connection(|socket| async move {
        socket.on("echo", |socket, event| async move {
            let args = event.args().clone().into_vec();
            // Read as well as passed on: raw text reads like parsed JSON.
            let first: Value = event.arg(0).unwrap();
            socket.emit("first", &first).unwrap();
            if let Some(ack) = event.ack() {
                ack.send_args(args).unwrap();
            }
        });
    });
    let server = TestServer::start(io).await;
    let mut client = server.ws().await;
    client.connect("/").await;

    // Already in JSON.stringify form: copied as it came.
    let canonical = r#"{"z":1,"a":[1.5,1e+21,"é\n"],"n":null}"#;
    client
        .send(&format!(r#"421["echo",{canonical},"x"]"#))
        .await;
    assert_eq!(
        client.recv_text().await,
        format!("42[\"first\",{canonical}]")
    );
    assert_eq!(client.recv_text().await, format!("431[{canonical},\"x\"]"));

    // Written another way: rewritten as JSON.stringify would, as Node does.
    client
        .send(r#"422["echo", {"z": 1.0, "a": [1e21, "\u00e9"], "z": 2}]"#)
        .await;
    assert_eq!(
        client.recv_text().await,
        r#"42["first",{"z":2,"a":[1e+21,"é"]}]"#
    );
    assert_eq!(client.recv_text().await, r#"432[{"z":2,"a":[1e+21,"é"]}]"#);
}
