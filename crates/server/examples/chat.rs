//! The server side of the Socket.IO tutorial's chat
//! (<https://socket.io/docs/v4/tutorial/introduction>), with its "homework"
//! done: nicknames, rooms with join and leave notices, a typing indicator
//! and the list of who is online.
//!
//! ```text
//! cargo run -p ferrio --example chat          # then connect to http://127.0.0.1:3000
//! ```
//!
//! Every client starts as `guest-xxxx` in the room `lobby`. The events a page
//! uses:
//!
//! | client → server            | what the server does                                             |
//! |----------------------------|------------------------------------------------------------------|
//! | `set nickname` (name)      | renames; ack `{ok: true, nickname}` or `{ok: false, error}`      |
//! | `join room` (room)         | leaves the current room for this one; ack `{room, online}`       |
//! | `chat message` (text)      | sends the message to the room, sender included; ack: the message |
//! | `typing` (true or false)   | tells the others in the room                                      |
//! | `online` ()                | ack: who is in the room                                           |
//!
//! | server → client  | arguments                                                                        |
//! |------------------|----------------------------------------------------------------------------------|
//! | `chat message`   | `{from, text, room, time}` (`time`: ms since the Unix epoch, `new Date(time)`)  |
//! | `notice`         | `{text, room, time}`: someone connected, joined, left, was renamed              |
//! | `typing`         | `{nickname, typing}`                                                             |
//! | `online`         | `[{id, nickname}]`: the room's members, sent to the room after every change      |

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ferrio::{Namespace, Socket, SocketIo};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The room everyone starts in.
const LOBBY: &str = "lobby";

/// What the server remembers of each client. Kept with `socket.set_data`, so
/// `fetch_sockets` (which may look at other servers, with a cluster adapter)
/// sees it too.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    nickname: String,
    room: String,
}

fn member(socket: &Socket) -> Member {
    socket.data().unwrap_or_else(|| Member {
        nickname: "?".into(),
        room: LOBBY.into(),
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn notice(text: String, room: &str) -> Value {
    json!({ "text": text, "room": room, "time": now_ms() })
}

/// Who is in `room`: `fetch_sockets` gives each socket's id, rooms and data.
async fn online(nsp: &Namespace, room: &str) -> Vec<Value> {
    let sockets = nsp.to(room).fetch_sockets().await.unwrap_or_default();
    let mut members: Vec<(String, String)> = sockets
        .into_iter()
        .filter_map(|s| {
            let m: Member = serde_json::from_value(s.data).ok()?;
            Some((m.nickname, s.id.to_string()))
        })
        .collect();
    members.sort();
    members
        .into_iter()
        .map(|(nickname, id)| json!({ "id": id, "nickname": nickname }))
        .collect()
}

/// Sends the room its member list. A `Vec` is one argument (an array).
async fn announce_online(nsp: &Namespace, room: &str) {
    let list = online(nsp, room).await;
    let _ = nsp.to(room).emit("online", &list);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let io = SocketIo::new();
    io.on_connection(|socket: Arc<Socket>| async move {
        let me = Member {
            nickname: format!("guest-{}", &socket.id().as_str()[..4]),
            room: LOBBY.into(),
        };
        let _ = socket.set_data(&me);
        socket.join(LOBBY);
        println!("{} connected as {}", socket.id(), me.nickname);

        socket.on("set nickname", |socket, event| async move {
            let name = event.arg::<String>(0).unwrap_or_default();
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 32 {
                let _ = event.reply(&json!({ "ok": false, "error": "1 to 32 characters" }));
                return;
            }
            let mut me = member(&socket);
            let old = std::mem::replace(&mut me.nickname, name.to_owned());
            let _ = socket.set_data(&me);
            let _ = event.reply(&json!({ "ok": true, "nickname": name }));
            if old != me.nickname {
                // `socket.to(room)`: everyone in the room but this socket.
                let text = format!("{old} is now known as {}", me.nickname);
                let _ = socket.to(&me.room).emit("notice", &notice(text, &me.room));
                announce_online(socket.namespace(), &me.room).await;
            }
        });

        socket.on("join room", |socket, event| async move {
            let Ok(room) = event.arg::<String>(0) else {
                return;
            };
            let room = room.trim().to_owned();
            let mut me = member(&socket);
            if room.is_empty() || room == me.room {
                let online = online(socket.namespace(), &me.room).await;
                let _ = event.reply(&json!({ "room": me.room, "online": online }));
                return;
            }
            let old = std::mem::replace(&mut me.room, room.clone());
            let _ = socket.set_data(&me);

            socket.leave(&old);
            let text = format!("{} left #{old}", me.nickname);
            let _ = socket.to(&old).emit("notice", &notice(text, &old));

            socket.join(&room);
            let text = format!("{} joined #{room}", me.nickname);
            let _ = socket.to(&room).emit("notice", &notice(text, &room));

            let nsp = socket.namespace();
            announce_online(nsp, &old).await;
            announce_online(nsp, &room).await;
            let online = online(nsp, &room).await;
            let _ = event.reply(&json!({ "room": room, "online": online }));
        });

        socket.on("chat message", |socket, event| async move {
            let Ok(text) = event.arg::<String>(0) else {
                return;
            };
            let me = member(&socket);
            let message = json!({
                "from": me.nickname,
                "text": text,
                "room": me.room,
                "time": now_ms(),
            });
            // To the whole room, the sender included (`io.to(room).emit` in
            // Node): each page shows a message once the server has it.
            let _ = socket
                .namespace()
                .to(&me.room)
                .emit("chat message", &message);
            // If the client asked for an acknowledgement, it gets the message.
            let _ = event.reply(&message);
        });

        socket.on("typing", |socket, event| async move {
            let typing = event.arg::<bool>(0).unwrap_or(false);
            let me = member(&socket);
            // The others in the room; the typist does not need to be told.
            let _ = socket.to(&me.room).emit(
                "typing",
                &json!({ "nickname": me.nickname, "typing": typing }),
            );
        });

        socket.on("online", |socket, event| async move {
            let room = member(&socket).room;
            let list = online(socket.namespace(), &room).await;
            let _ = event.reply(&list);
        });

        // After the socket has left all its rooms: tell the room it was in.
        socket.on_disconnect(|socket, reason| async move {
            let me = member(&socket);
            println!("{} ({}) disconnected: {reason}", socket.id(), me.nickname);
            let text = format!("{} left #{}", me.nickname, me.room);
            let nsp = socket.namespace();
            let _ = nsp.to(&me.room).emit("notice", &notice(text, &me.room));
            announce_online(nsp, &me.room).await;
        });

        // Listeners are in place; now greet. `emit` sends to this client only,
        // `socket.broadcast()` to every other client (`socket.broadcast.emit`).
        let text = format!("welcome, {}! you are in #{LOBBY}", me.nickname);
        let _ = socket.emit("notice", &notice(text, LOBBY));
        let text = format!("{} connected", me.nickname);
        let _ = socket.broadcast().emit("notice", &notice(text, LOBBY));
        announce_online(socket.namespace(), LOBBY).await;
    });

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "chat server on http://{}/socket.io/",
        listener.local_addr()?
    );
    io.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
