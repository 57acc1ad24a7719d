//! The server API seen from the wire: listeners (`on`, `once`, `off`,
//! `on_any`, `on_any_outgoing`, per-event middleware), typed arguments, rooms,
//! broadcast operators, socket utilities (`fetch_sockets`, `sockets_join`, …),
//! broadcast acknowledgements, dynamic namespaces and handshake fields.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio::{
    ArgError, ConnectError, EmitError, MiddlewareError, Payload, Room, Socket, SocketId, SocketIo,
    SocketIoConfig,
};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{TestServer, WsClient, answer_pings, channel};

fn new_io() -> SocketIo {
    SocketIo::with_config(SocketIoConfig::default())
}

/// The server-side socket with this id on `nsp`.
fn socket(server: &TestServer, nsp: &str, id: &str) -> Arc<Socket> {
    server
        .io
        .of(nsp)
        .get_socket(SocketId::parse(id).unwrap())
        .expect("the socket is connected")
}

/// `n` clients connected to `/`, and their socket ids.
async fn connect_many(server: &TestServer, n: usize) -> (Vec<WsClient>, Vec<String>) {
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..n {
        let (c, id) = server.connected("/").await;
        clients.push(c);
        ids.push(id);
    }
    (clients, ids)
}

fn sorted(mut rooms: Vec<Room>) -> Vec<Room> {
    rooms.sort();
    rooms
}

fn rooms(names: &[&str]) -> Vec<Room> {
    sorted(names.iter().map(|&n| Room::from(n)).collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn several_handlers_of_an_event_run_in_order_once_runs_once_and_off_removes() {
    let io = new_io();
    let (tx, mut log) = channel::<String>();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            answer_pings(&socket);
            for k in 1..=3 {
                let tx = tx.clone();
                socket.on("multi", move |_, event| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(format!("h{k}:{}", event.arg::<i64>(0).unwrap()));
                    }
                });
            }
            let t = tx.clone();
            socket.once("once", move |_, _| {
                let tx = t.clone();
                async move {
                    let _ = tx.send("once".into());
                }
            });
            let t = tx.clone();
            socket.on("once", move |_, _| {
                let tx = t.clone();
                async move {
                    let _ = tx.send("on".into());
                }
            });
            let t = tx.clone();
            let a = socket.on("x", move |_, _| {
                let tx = t.clone();
                async move {
                    let _ = tx.send("a".into());
                }
            });
            let t = tx.clone();
            socket.on("x", move |_, _| {
                let tx = t.clone();
                async move {
                    let _ = tx.send("b".into());
                }
            });
            socket.on("remove-a", move |socket, event| async move {
                event.reply(&socket.off_listener(a)).unwrap();
            });
            socket.on("off-x", |socket, event| async move {
                socket.off("x");
                event.reply(&()).unwrap();
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut c, _) = server.connected("/").await;
    let mut round = 0;
    let mut sync = async |c: &mut WsClient, log: &mut support::Rx<String>| {
        round += 1;
        c.round_trip("/", round).await;
        log.drain()
    };

    c.emit("/", None, "multi", &[json!(1)]).await;
    c.emit("/", None, "multi", &[json!(2)]).await;
    assert_eq!(
        sync(&mut c, &mut log).await,
        ["h1:1", "h2:1", "h3:1", "h1:2", "h2:2", "h3:2"]
    );

    c.emit("/", None, "once", &[]).await;
    c.emit("/", None, "once", &[]).await;
    c.emit("/", None, "once", &[]).await;
    assert_eq!(sync(&mut c, &mut log).await, ["once", "on", "on", "on"]);

    c.emit("/", None, "x", &[]).await;
    assert_eq!(sync(&mut c, &mut log).await, ["a", "b"]);
    c.emit("/", Some(100), "remove-a", &[]).await;
    assert_eq!(c.recv_text().await, "43100[true]");
    c.emit("/", Some(101), "remove-a", &[]).await;
    assert_eq!(c.recv_text().await, "43101[false]", "already removed");
    c.emit("/", None, "x", &[]).await;
    assert_eq!(sync(&mut c, &mut log).await, ["b"]);
    c.emit("/", Some(102), "off-x", &[]).await;
    assert_eq!(c.recv_text().await, "43102[]");
    c.emit("/", None, "x", &[]).await;
    assert!(sync(&mut c, &mut log).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn on_any_sees_incoming_events_before_their_handlers() {
    let io = new_io();
    let (tx, mut log) = channel::<String>();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let t = tx.clone();
            socket.on_any(move |_, event| {
                let args: Vec<Value> = (0..event.args().len())
                    .map(|i| event.arg(i).unwrap())
                    .collect();
                let _ = t.send(format!("any:{}:{}", event.name(), json!(args)));
            });
            let t = tx.clone();
            socket.on("hello", move |_, event| {
                let tx = t.clone();
                async move {
                    let _ = tx.send("handler".into());
                    event.reply(&()).unwrap();
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let (mut c, _) = server.connected("/").await;
    c.emit("/", None, "unhandled", &[json!(1), json!(null)])
        .await;
    c.emit("/", Some(1), "hello", &[json!("w")]).await;
    assert_eq!(c.recv_text().await, "431[]");
    assert_eq!(
        log.drain(),
        [r#"any:unhandled:[1,null]"#, r#"any:hello:["w"]"#, "handler"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_any_outgoing_sees_emits_and_broadcasts_reaching_the_socket() {
    let io = new_io();
    let (tx, mut log) = channel::<String>();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            answer_pings(&socket);
            if socket.handshake().query().contains_key("watch") {
                let tx = tx.clone();
                socket.on_any_outgoing(move |_, name, args| {
                    let args: Vec<Value> = args
                        .iter()
                        .map(|a| match a {
                            Payload::Json(v) => v.clone(),
                            other => json!(format!("{other:?}")),
                        })
                        .collect();
                    let _ = tx.send(format!("{name}:{}", json!(args)));
                });
            }
            socket.on("ask", |_, event| async move {
                event.reply(&("answer", 1)).unwrap();
            });
        }
    });
    let server = TestServer::start(io).await;
    let mut watched = server.ws_with("watch=1", &[]).await;
    let id = watched.connect("/").await;
    let (mut other, other_id) = server.connected("/").await;
    let s = socket(&server, "/", &id);
    s.join("room");

    s.emit("direct", &(1, "two")).unwrap();
    server.io.emit("everyone", &()).unwrap();
    server.io.to("room").emit("in-room", &3).unwrap();
    server.io.except("room").emit("not-for-me", &4).unwrap();
    s.broadcast().emit("from-me", &5).unwrap();
    socket(&server, "/", &other_id)
        .broadcast()
        .emit("from-other", &6)
        .unwrap();
    // An acknowledgement is not an event.
    watched.emit("/", Some(7), "ask", &[]).await;

    let mut got = Vec::new();
    for _ in 0..4 {
        let (_, name, _) = watched.recv_event().await;
        got.push(name);
    }
    assert_eq!(got, ["direct", "everyone", "in-room", "from-other"]);
    assert_eq!(watched.recv_text().await, r#"437["answer",1]"#);
    assert_eq!(
        log.drain(),
        [
            r#"direct:[1,"two"]"#,
            "everyone:[]",
            "in-room:[3]",
            "from-other:[6]"
        ],
        "outgoing events only: no ack, nothing that skipped this socket"
    );
    // The other socket has no outgoing listener; it got its events all the same.
    let mut names = Vec::new();
    for _ in 0..3 {
        names.push(other.recv_event().await.1);
    }
    assert_eq!(names, ["everyone", "not-for-me", "from-me"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_event_middleware_stops_events_and_reports_to_on_error() {
    let io = new_io();
    let (tx, mut log) = channel::<String>();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            answer_pings(&socket);
            socket.use_middleware(|_, event| {
                if event.name() == "secret" {
                    Err(MiddlewareError::new("forbidden"))
                } else {
                    Ok(())
                }
            });
            let t = tx.clone();
            socket.use_middleware(move |_, event| {
                let _ = t.send(format!("mw2:{}", event.name()));
                Ok(())
            });
            let t = tx.clone();
            socket.on_error(move |_, error| {
                let _ = t.send(format!("error:{}", error.message));
            });
            let t = tx.clone();
            socket.on_any(move |_, event| {
                let _ = t.send(format!("any:{}", event.name()));
            });
            for name in ["secret", "open"] {
                let t = tx.clone();
                socket.on(name, move |_, event| {
                    let tx = t.clone();
                    async move {
                        let _ = tx.send(format!("ran:{}", event.name()));
                        event.reply(&"ok").unwrap();
                    }
                });
            }
        }
    });
    let server = TestServer::start(io).await;
    let (mut c, _) = server.connected("/").await;
    c.emit("/", Some(1), "secret", &[json!(1)]).await;
    c.emit("/", Some(2), "open", &[]).await;
    // The refused event gets no ack: the next frame is the second one's.
    assert_eq!(c.recv_text().await, r#"432["ok"]"#);
    // Catch-all listeners run first, as in Node, and see the refused event.
    assert_eq!(
        log.drain(),
        [
            "any:secret",
            "error:forbidden",
            "any:open",
            "mw2:open",
            "ran:open"
        ]
    );
    c.round_trip("/", 3).await;
}

#[derive(Debug, Deserialize, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_arguments_and_no_argument_is_ever_dropped() {
    let io = new_io();
    io.on_connection(|socket| async move {
        socket.on("typed", |_, event| async move {
            let name: String = event.arg(0).unwrap();
            let point: Point = event.arg(1).unwrap();
            let all: (String, Point, Option<bool>, Vec<u8>) = event.args_as().unwrap();
            assert_eq!((all.0.as_str(), &all.1), (name.as_str(), &point));
            assert!(matches!(event.arg::<i32>(9), Err(ArgError::Missing(9))));
            assert!(matches!(
                event.arg::<i32>(0),
                Err(ArgError::Invalid { index: 0, .. })
            ));
            assert!(event.args_as::<(i32, i32)>().is_err());
            event
                .reply(&(name, point.x + point.y, all.2, all.3))
                .unwrap();
        });
        socket.on("many", |socket, event| async move {
            assert_eq!(event.args().len(), 5);
            socket
                .emit_args("many", event.args().clone().into_vec())
                .unwrap();
            socket.emit("tuple", &("a", 1, None::<i32>)).unwrap();
            socket.emit("none", &()).unwrap();
            socket.emit("vec", &vec![1, 2]).unwrap();
            socket.emit("value", &json!([1, 2])).unwrap();
            socket.emit("fixed", &[1, 2]).unwrap();
            socket.emit("null", &None::<i32>).unwrap();
            assert!(matches!(
                socket.emit("disconnect", &()),
                Err(EmitError::Reserved(_))
            ));
            event.reply(&()).unwrap();
            assert!(matches!(
                event.reply(&()),
                Err(EmitError::AlreadyAcknowledged)
            ));
        });
    });
    let server = TestServer::start(io).await;
    let (mut c, _) = server.connected("/").await;

    c.send(r#"451-1["typed","n",{"x":1,"y":2},null,{"_placeholder":true,"num":0}]"#)
        .await;
    c.send_binary(&[7, 8, 9]).await;
    assert_eq!(c.recv_text().await, r#"431["n",3,null,[7,8,9]]"#);

    c.send(r#"422["many",1,null,"x",{"a":[1,2]},null]"#).await;
    for expected in [
        r#"42["many",1,null,"x",{"a":[1,2]},null]"#,
        r#"42["tuple","a",1,null]"#,
        r#"42["none"]"#,
        r#"42["vec",[1,2]]"#,
        r#"42["value",[1,2]]"#,
        r#"42["fixed",1,2]"#,
        r#"42["null",null]"#,
        "432[]",
    ] {
        assert_eq!(c.recv_text().await, expected);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rooms_join_several_at_once_leave_and_include_the_own_id() {
    let io = new_io();
    io.on_connection(|socket| async move {
        answer_pings(&socket);
        assert_eq!(socket.rooms(), [Room::from(socket.id().as_str())]);
        socket.on("join", |socket, event| async move {
            let names: Vec<String> = event.arg(0).unwrap();
            socket.join(names);
            event.reply(&()).unwrap();
        });
        socket.on("leave", |socket, event| async move {
            let name: String = event.arg(0).unwrap();
            socket.leave(name);
            event.reply(&()).unwrap();
        });
    });
    let server = TestServer::start(io).await;
    let (mut c, id) = server.connected("/").await;
    let s = socket(&server, "/", &id);
    c.emit("/", Some(1), "join", &[json!(["x", "y", "z"])])
        .await;
    assert_eq!(c.recv_text().await, "431[]");
    assert_eq!(sorted(s.rooms()), rooms(&[&id, "x", "y", "z"]));
    c.emit("/", Some(2), "leave", &[json!("y")]).await;
    assert_eq!(c.recv_text().await, "432[]");
    s.leave(["x", "not-joined"]);
    assert_eq!(sorted(s.rooms()), rooms(&[&id, "z"]));
    assert_eq!(
        sorted(server.io.sockets().adapter().rooms()),
        rooms(&[&id, "z"])
    );

    for room in ["x", "y", "z", id.as_str()] {
        server.io.to(room).emit("to", &room).unwrap();
    }
    let (_, _, args) = c.recv_event().await;
    assert_eq!(args, [json!("z")]);
    let (_, _, args) = c.recv_event().await;
    assert_eq!(args, [json!(id)]);
    assert!(c.round_trip("/", 3).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_named_by_a_socket_id_works_like_any_room() {
    let io = new_io();
    io.on_connection(|socket| async move { answer_pings(&socket) });
    let server = TestServer::start(io).await;
    let (mut clients, ids) = connect_many(&server, 3).await;
    let s: Vec<Arc<Socket>> = ids.iter().map(|id| socket(&server, "/", id)).collect();
    let io = &server.io;
    let adapter_rooms = || sorted(io.sockets().adapter().rooms());
    // Another socket joins the room named by socket 0's id.
    s[1].join(ids[0].as_str());
    assert_eq!(sorted(s[1].rooms()), rooms(&[&ids[0], &ids[1]]));
    assert_eq!(adapter_rooms(), rooms(&[&ids[0], &ids[1], &ids[2]]));

    let mut k = 0;
    let mut check = async |emit: &dyn Fn(), expected: &[usize], case: &str| {
        emit();
        io.emit("mark", &k).unwrap();
        expect_ev_only_at(&mut clients, k, expected, case).await;
        k += 1;
    };
    let to = |room: &str| io.to(room).emit("ev", &1).unwrap();
    let except = |room: &str| io.except(room).emit("ev", &1).unwrap();
    check(&|| to(&ids[0]), &[0, 1], "to(id0)").await;
    check(&|| except(&ids[0]), &[2], "except(id0)").await;
    check(&|| to(&ids[2]), &[2], "to(id2)").await;
    check(
        &|| s[2].to(ids[0].as_str()).emit("ev", &1).unwrap(),
        &[0, 1],
        "s2.to(id0)",
    )
    .await;
    check(
        &|| s[1].to(ids[0].as_str()).emit("ev", &1).unwrap(),
        &[0],
        "s1.to(id0)",
    )
    .await;

    // Leaving one's own room is possible, and joining it back.
    s[0].leave(ids[0].as_str());
    assert!(s[0].rooms().is_empty());
    check(&|| to(&ids[0]), &[1], "to(id0) after leaving it").await;
    s[0].join(ids[0].as_str());
    check(&|| to(&ids[0]), &[0, 1], "to(id0) after joining it back").await;

    // The socket utilities target a socket by its id.
    io.to(ids[2].as_str()).sockets_join("r").await.unwrap();
    assert_eq!(sorted(s[2].rooms()), rooms(&[&ids[2], "r"]));
    let fetched = io.to(ids[2].as_str()).fetch_sockets().await.unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].id.as_str(), ids[2]);
    assert_eq!(sorted(fetched[0].rooms.clone()), rooms(&[&ids[2], "r"]));
    io.to(ids[2].as_str()).sockets_leave("r").await.unwrap();
    assert_eq!(s[2].rooms(), [Room::from(ids[2].as_str())]);
    io.to(ids[2].as_str())
        .disconnect_sockets(false)
        .await
        .unwrap();
    assert_eq!(clients[2].recv_text().await, "41");
    assert_eq!(adapter_rooms(), rooms(&[&ids[0], &ids[1]]));

    // Socket 0 leaves: its room lives on while socket 1 is in it.
    s[0].disconnect();
    assert_eq!(clients[0].recv_text().await, "41");
    assert_eq!(adapter_rooms(), rooms(&[&ids[0], &ids[1]]));
    s[1].leave(ids[0].as_str());
    assert_eq!(adapter_rooms(), rooms(&[&ids[1]]));
}

/// Reads events until `mark` with argument `k`, returning the names before it.
async fn names_until_mark(client: &mut WsClient, k: usize) -> Vec<String> {
    let mut names = Vec::new();
    loop {
        let (_, name, args) = client.recv_event().await;
        if name == "mark" {
            assert_eq!(args, [json!(k)]);
            return names;
        }
        names.push(name);
    }
}

/// Checks that exactly the clients at `expected` got one `"ev"` before mark `k`.
async fn expect_ev_only_at(clients: &mut [WsClient], k: usize, expected: &[usize], case: &str) {
    for (i, client) in clients.iter_mut().enumerate() {
        let names = names_until_mark(client, k).await;
        let want: Vec<&str> = if expected.contains(&i) {
            vec!["ev"]
        } else {
            vec![]
        };
        assert_eq!(names, want, "{case}: socket {i}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn broadcast_operators_target_the_right_sockets_each_once() {
    let io = new_io();
    io.on_connection(|socket| async move { answer_pings(&socket) });
    let server = TestServer::start(io).await;
    let (mut clients, ids) = connect_many(&server, 4).await;
    let s: Vec<Arc<Socket>> = ids.iter().map(|id| socket(&server, "/", id)).collect();
    s[0].join(["a", "b"]);
    s[1].join("a");
    s[2].join(vec!["b"]);
    s[3].join(["a", "b", "c"]);
    let io = &server.io;
    let d = Duration::from_secs(5);

    type Case<'a> = (
        &'a str,
        Box<dyn Fn() -> Result<(), EmitError> + 'a>,
        &'a [usize],
    );
    let cases: Vec<Case> = vec![
        ("io.emit", Box::new(|| io.emit("ev", &1)), &[0, 1, 2, 3]),
        (
            "io.to(a)",
            Box::new(|| io.to("a").emit("ev", &1)),
            &[0, 1, 3],
        ),
        (
            "io.within(b)",
            Box::new(|| io.within("b").emit("ev", &1)),
            &[0, 2, 3],
        ),
        (
            "io.to([a,b,c])",
            Box::new(|| io.to(["a", "b", "c"]).emit("ev", &1)),
            &[0, 1, 2, 3],
        ),
        (
            "io.to(a).to(b).except(c)",
            Box::new(|| io.to("a").to("b").except("c").emit("ev", &1)),
            &[0, 1, 2],
        ),
        (
            "io.except(a)",
            Box::new(|| io.except("a").emit("ev", &1)),
            &[2],
        ),
        (
            "io.except([a,b])",
            Box::new(|| io.except(["a", "b"]).emit("ev", &1)),
            &[],
        ),
        (
            "io.to(own id)",
            Box::new(|| io.to(ids[2].as_str()).emit("ev", &1)),
            &[2],
        ),
        (
            "io.local()",
            Box::new(|| io.local().emit("ev", &1)),
            &[0, 1, 2, 3],
        ),
        (
            "io.to(c).volatile().compress(false)",
            Box::new(|| io.to("c").volatile().compress(false).emit("ev", &1)),
            &[3],
        ),
        (
            "io.broadcast().timeout(d)",
            Box::new(|| io.broadcast().timeout(d).except("c").emit("ev", &1)),
            &[0, 1, 2],
        ),
        (
            "s0.broadcast()",
            Box::new(|| s[0].broadcast().emit("ev", &1)),
            &[1, 2, 3],
        ),
        (
            "s0.to(a)",
            Box::new(|| s[0].to("a").emit("ev", &1)),
            &[1, 3],
        ),
        (
            "s0.to(c).within(a)",
            Box::new(|| s[0].to("c").within("a").emit("ev", &1)),
            &[1, 3],
        ),
        (
            "s0.except(c)",
            Box::new(|| s[0].except("c").emit("ev", &1)),
            &[1, 2],
        ),
        (
            "s0.local().volatile()",
            Box::new(|| s[0].local().volatile().emit("ev", &1)),
            &[1, 2, 3],
        ),
        (
            "s3.to(a).except(b)",
            Box::new(|| s[3].to("a").except("b").emit("ev", &1)),
            &[1],
        ),
        (
            "nsp.to(b).to(b)",
            Box::new(|| io.sockets().to("b").to("b").emit("ev", &1)),
            &[0, 2, 3],
        ),
    ];
    for (k, (case, emit, expected)) in cases.iter().enumerate() {
        emit().unwrap();
        io.emit("mark", &k).unwrap();
        expect_ev_only_at(&mut clients, k, expected, case).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_sockets_and_the_socket_utilities() {
    let io = new_io();
    let (tx, mut reasons) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            answer_pings(&socket);
            let nick = socket.handshake().query().get("nick").cloned();
            socket.set_data(&json!({ "nick": nick })).unwrap();
            socket.on_disconnect(move |socket, reason| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((socket.id().to_string(), reason));
                }
            });
        }
    });
    let server = TestServer::start(io).await;
    let io = &server.io;
    let mut c0 = server.ws_with("nick=zero", &[]).await;
    let id0 = c0.connect("/").await;
    let mut c1 = server.ws_with("nick=one", &[]).await;
    let id1 = c1.connect("/").await;
    socket(&server, "/", &id0).join("a");

    let mut all = io.broadcast().fetch_sockets().await.unwrap();
    all.sort_by_key(|s| s.handshake.query()["nick"] != "zero");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id.as_str(), id0);
    assert_eq!(all[0].handshake.query()["nick"], "zero");
    assert_eq!(sorted(all[0].rooms.clone()), rooms(&[&id0, "a"]));
    assert_eq!(all[0].data, json!({"nick": "zero"}));
    assert_eq!(all[1].id.as_str(), id1);
    assert_eq!(all[1].data, json!({"nick": "one"}));
    assert_eq!(
        socket(&server, "/", &id1).data::<Value>(),
        Some(json!({"nick": "one"}))
    );

    let in_a = io.to("a").fetch_sockets().await.unwrap();
    assert_eq!(in_a.len(), 1);
    assert_eq!(in_a[0].id.as_str(), id0);
    assert!(io.to("nowhere").fetch_sockets().await.unwrap().is_empty());
    assert_eq!(
        io.except("a").fetch_sockets().await.unwrap()[0].id.as_str(),
        id1
    );

    io.to("a").sockets_join("j").await.unwrap();
    io.broadcast().sockets_join(["k", "l"]).await.unwrap();
    io.except("a").sockets_leave("k").await.unwrap();
    assert_eq!(
        sorted(socket(&server, "/", &id0).rooms()),
        rooms(&[&id0, "a", "j", "k", "l"])
    );
    assert_eq!(
        sorted(socket(&server, "/", &id1).rooms()),
        rooms(&[&id1, "l"])
    );

    // A RemoteSocket acts through the adapter.
    let remote = &in_a[0];
    remote.emit("hi", &1).unwrap();
    assert_eq!(c0.recv_text().await, r#"42["hi",1]"#);
    remote.join("m").await.unwrap();
    remote.leave(["j", "k"]).await.unwrap();
    assert_eq!(
        sorted(socket(&server, "/", &id0).rooms()),
        rooms(&[&id0, "a", "l", "m"])
    );

    io.to("a").disconnect_sockets(false).await.unwrap();
    assert_eq!(c0.recv_text().await, "41");
    assert_eq!(
        reasons.next().await,
        (
            id0.clone(),
            ferrio::DisconnectReason::ServerNamespaceDisconnect
        )
    );
    c1.round_trip("/", 1).await;
    c0.connect("/").await; // still connected at the Engine.IO level

    io.to(id1.as_str()).disconnect_sockets(true).await.unwrap();
    assert_eq!(c1.recv_text().await, "41");
    assert_eq!(c1.next_frame().await, None, "the connection is closed");
    assert_eq!(
        reasons.next().await,
        (id1, ferrio::DisconnectReason::ServerNamespaceDisconnect)
    );
    assert_eq!(io.sockets().socket_count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn broadcast_with_acks_collects_every_answer_or_reports_a_timeout() {
    let io = new_io();
    io.on_connection(|socket| async move { answer_pings(&socket) });
    let server = TestServer::start(io).await;
    let (mut clients, ids) = connect_many(&server, 3).await;
    socket(&server, "/", &ids[0]).join("a");
    socket(&server, "/", &ids[1]).join(["a", "b"]);

    // Everyone answers.
    let ask = server
        .io
        .broadcast()
        .timeout(Duration::from_secs(10))
        .emit_with_ack("q", &("x", 1));
    let ask = tokio::spawn(ask);
    let mut id = None;
    for (i, c) in clients.iter_mut().enumerate() {
        let (packet, name, args) = c.recv_event().await;
        assert_eq!((name.as_str(), args), ("q", vec![json!("x"), json!(1)]));
        let ack_id = packet.id.expect("an ack id");
        assert!(id.is_none() || id == Some(ack_id), "one id for all targets");
        id = Some(ack_id);
        if i == 2 {
            // A binary answer is collected like any other.
            c.send(&format!(r#"461-{ack_id}[{{"_placeholder":true,"num":0}}]"#))
                .await;
            c.send_binary(&[2]).await;
        } else {
            c.ack("/", ack_id, &[json!(i)]).await;
        }
    }
    let answers = ask.await.unwrap().unwrap();
    assert_eq!(answers.expected, 3);
    assert!(!answers.timed_out());
    // In any order; a JSON answer may arrive as raw text, equal to its value.
    let want = [
        vec![Payload::Json(json!(0))],
        vec![Payload::Json(json!(1))],
        vec![Payload::Binary(Bytes::from_static(&[2]))],
    ];
    assert_eq!(answers.responses.len(), want.len());
    for answer in &want {
        assert!(
            answers.responses.iter().any(|r| r == answer),
            "{answer:?} missing"
        );
    }

    // Chained operators; one target stays silent: the timeout is reported with
    // the answers that came.
    let ask = server
        .io
        .to("a")
        .to(ids[2].as_str())
        .except("b")
        .timeout(Duration::from_millis(500))
        .emit_with_ack("q2", &());
    let ask = tokio::spawn(ask);
    let (p0, _, _) = clients[0].recv_event().await;
    let (p2, _, _) = clients[2].recv_event().await;
    assert_eq!(p0.id, p2.id);
    clients[0].ack("/", p0.id.unwrap(), &[json!("only")]).await;
    let answers = ask.await.unwrap().unwrap();
    assert_eq!(answers.expected, 2);
    assert!(answers.timed_out());
    assert_eq!(answers.responses, [vec![Payload::Json(json!("only"))]]);
    // A late answer is ignored.
    clients[2].ack("/", p2.id.unwrap(), &[json!("late")]).await;
    assert!(clients[2].round_trip("/", 99).await.is_empty());
    assert!(
        clients[1].round_trip("/", 99).await.is_empty(),
        "b left out"
    );

    // No target: an immediate, complete, empty answer.
    let none = server
        .io
        .to("nowhere")
        .emit_with_ack("q3", &())
        .await
        .unwrap();
    assert_eq!((none.expected, none.responses.len()), (0, 0));
    assert!(!none.timed_out());
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamic_namespaces_by_pattern_and_by_predicate() {
    let io = new_io();
    let parent = io.of_pattern(r"^/dyn-\d+$").unwrap();
    parent.use_middleware(|socket| async move {
        if socket.handshake().auth()["deny"] == true {
            Err(ConnectError::new("denied"))
        } else {
            Ok(())
        }
    });
    parent.on_connection(|socket| async move {
        answer_pings(&socket);
        socket.on("where", |socket, event| async move {
            event.reply(&socket.namespace().name()).unwrap();
        });
        socket.on("shout", |socket, _| async move {
            socket
                .namespace()
                .emit("heard", &socket.namespace().name())
                .unwrap();
        });
    });
    let teams = io.of_fn(|name, auth| name.starts_with("/team-") && auth["member"] == true);
    teams.on_connection(|socket| async move { answer_pings(&socket) });
    let server = TestServer::start(io).await;

    let mut a = server.ws().await;
    a.connect("/dyn-1").await;
    a.connect("/dyn-22").await;
    a.send("40/dyn-x,").await;
    assert_eq!(
        a.recv_text().await,
        r#"44/dyn-x,{"message":"Invalid namespace"}"#
    );
    a.send(r#"40/dyn-3,{"deny":true}"#).await;
    assert_eq!(a.recv_text().await, r#"44/dyn-3,{"message":"denied"}"#);
    a.emit("/dyn-22", Some(1), "where", &[]).await;
    assert_eq!(a.recv_text().await, r#"43/dyn-22,1["/dyn-22"]"#);

    // Two clients of one child share it.
    let (mut b, _) = server.connected("/dyn-1").await;
    b.emit("/dyn-1", None, "shout", &[]).await;
    for c in [&mut a, &mut b] {
        assert_eq!(c.recv_text().await, r#"42/dyn-1,["heard","/dyn-1"]"#);
    }
    let mut names: Vec<String> = server
        .io
        .namespaces()
        .iter()
        .map(|n| n.name().to_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"/dyn-1".to_owned()) && names.contains(&"/dyn-22".to_owned()));
    // A name the matcher refuses creates nothing. (A child the matcher accepts
    // exists even when middleware then refuses the socket, as in Node.)
    assert!(!names.iter().any(|n| n == "/dyn-x"));

    // The predicate sees the auth payload.
    a.send(r#"40/team-red,{"member":false}"#).await;
    assert_eq!(
        a.recv_text().await,
        r#"44/team-red,{"message":"Invalid namespace"}"#
    );
    a.connect_with("/team-red", Some(json!({"member": true})))
        .await;
    a.round_trip("/team-red", 2).await;
    a.send("40/other,").await;
    assert_eq!(
        a.recv_text().await,
        r#"44/other,{"message":"Invalid namespace"}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dynamic_parent_emit_reaches_every_child() {
    let io = new_io();
    let parent = io.of_pattern(r"^/dyn-\d+$").unwrap();
    let server = TestServer::start(io).await;
    let mut a = server.ws().await;
    a.connect("/dyn-1").await;
    a.connect("/dyn-2").await;
    parent.emit("all", &1).unwrap();
    let mut got = vec![a.recv_text().await, a.recv_text().await];
    got.sort();
    assert_eq!(got, [r#"42/dyn-1,["all",1]"#, r#"42/dyn-2,["all",1]"#]);

    // Operators and socket utilities on the parent act on every child.
    parent.broadcast().sockets_join("r").await.unwrap();
    assert_eq!(parent.to("r").fetch_sockets().await.unwrap().len(), 2);
    parent.to("r").emit("room", &2).unwrap();
    let mut got = vec![a.recv_text().await, a.recv_text().await];
    got.sort();
    assert_eq!(got, [r#"42/dyn-1,["room",2]"#, r#"42/dyn-2,["room",2]"#]);
    let ask = tokio::spawn(parent.broadcast().emit_with_ack("q", &()));
    for _ in 0..2 {
        let (packet, _, _) = a.recv_event().await;
        a.ack(&packet.nsp, packet.id.unwrap(), &[json!(packet.nsp)])
            .await;
    }
    let answers = ask.await.unwrap().unwrap();
    assert_eq!(answers.expected, 2);
    assert_eq!(answers.responses.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn handshake_fields() {
    let io = new_io();
    let (tx, mut handshakes) = channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(socket.handshake().clone());
        }
    });
    let server = TestServer::start(io).await;
    let before = std::time::SystemTime::now();
    let mut c = server
        .ws_with("foo=bar%20baz&x=1", &[("x-custom", "yes")])
        .await;
    c.connect_with("/", Some(json!({"token": "t"}))).await;
    let h = handshakes.next().await;
    assert_eq!(h.header("X-Custom"), Some("yes"));
    assert_eq!(h.headers()["x-custom"], "yes");
    assert_eq!(h.query()["foo"], "bar baz");
    assert_eq!(h.query()["x"], "1");
    assert_eq!(h.query()["EIO"], "4");
    assert_eq!(h.query()["transport"], "websocket");
    assert_eq!(h.auth(), json!({"token": "t"}));
    assert_eq!(h.remote_addr(), Some(c.local));
    assert_eq!(h.address(), Some(c.local.ip()));
    assert!(!h.xdomain() && !h.secure());
    assert_eq!(
        h.url(),
        "/socket.io/?EIO=4&transport=websocket&foo=bar%20baz&x=1"
    );
    assert!(h.time() >= before - Duration::from_secs(1));

    // Without an auth payload, auth is an empty object; over polling, the
    // handshake is the first polling request's.
    let p = server.polling().await;
    assert_eq!(server.post(&p, "40").await.text(), "ok");
    let h = handshakes.next().await;
    assert_eq!(h.auth(), json!({}));
    assert_eq!(h.query()["transport"], "polling");
    assert!(
        h.url().starts_with("/socket.io/?EIO=4&transport=polling"),
        "{}",
        h.url()
    );
}
