//! The chat's server side: nicknames, channels (rooms) with their last 50
//! messages, join and leave notices, the typing indicator and who is online.
//!
//! The page speaks these events (the `ack` column is what the client's
//! acknowledgement callback gets):
//!
//! | client → server            | what the server does                                              | ack                                            |
//! |----------------------------|-------------------------------------------------------------------|------------------------------------------------|
//! | `join` `{nickname, room}`  | names the user and moves them to the channel (or renames them)    | `{ok, nickname, room, history, online}` or `{ok: false, error}` |
//! | `chat message` (text)      | sends `{id, from, text, room, time}` to the channel, sender too   | `{ok, id}` or `{ok: false, error}`             |
//! | `typing` (bool)            | tells the others in the channel                                   |                                                |
//!
//! | server → client | arguments                                                                  |
//! |-----------------|----------------------------------------------------------------------------|
//! | `chat message`  | `{id, from, text, room, time}` (`time`: ms since the Unix epoch)           |
//! | `notice`        | `{text, room, time}`: someone joined, left or was renamed                  |
//! | `typing`        | `{id, nickname, typing}`                                                   |
//! | `online`        | `{room, users: [{id, nickname}]}`: the channel's members after a change    |
//! | `rooms`         | `[{name, count}]`: every channel and how many are in it                    |
//!
//! Connection state recovery is on: a page whose connection drops for up to 2
//! minutes gets its socket back (id, channel, nickname) with every message it
//! missed, and the others see "… is back" after "… left".
//!
//! Who is where is kept on the sockets (`set_data`) and, for the lists, in a
//! member table updated on each join, rename and disconnect: the `online` and
//! `rooms` lists cost the size of one channel and the number of channels, not
//! a `fetch_sockets` over every socket on each event (a connect or disconnect
//! flood would make that O(N) per event).
//!
//! In a cluster (`ferrio serve --redis`), messages, notices and typing reach
//! every member of a channel on every server, through the adapter. The
//! member table, the history and the message ids stay per process: `online`
//! and `rooms` list this server's users and go to this server's sockets only
//! (`local`), so one server's list never overwrites another's on a page.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ferrio::{DisconnectReason, Event, Namespace, Socket, SocketIo};
use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The channels that always exist; the first is where the page starts.
pub(crate) const CHANNELS: [&str; 3] = ["general", "random", "help"];
/// Messages kept per channel and shown to whoever joins it.
const HISTORY: usize = 50;
/// Channels that may exist at once (the fixed ones included).
const MAX_CHANNELS: usize = 32;
/// Longest message, in characters.
const MAX_TEXT: usize = 2000;
/// Longest nickname and channel name, in characters.
const MAX_NAME: usize = 24;

/// Who a socket is, once it has joined: kept with `socket.set_data`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    nickname: String,
    room: String,
}

/// One chat message, as sent to the pages and kept in the history.
#[derive(Debug, Clone, Serialize)]
struct Message {
    id: u64,
    from: String,
    text: String,
    room: String,
    time: u64,
}

/// Who is in each channel: socket id → nickname, by channel.
#[derive(Debug, Default)]
struct Members {
    rooms: HashMap<String, HashMap<String, String>>,
}

impl Members {
    /// Puts socket `id` in `room` as `nickname` (after [`remove`](Self::remove)
    /// from its old room when it moves).
    fn insert(&mut self, id: &str, nickname: &str, room: &str) {
        self.rooms
            .entry(room.to_owned())
            .or_default()
            .insert(id.to_owned(), nickname.to_owned());
    }

    /// Takes socket `id` out of `room`.
    fn remove(&mut self, id: &str, room: &str) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(id);
            if members.is_empty() {
                self.rooms.remove(room);
            }
        }
    }

    /// `room`'s members as `(nickname, id)`, sorted by nickname (case
    /// ignored), then id.
    fn online(&self, room: &str) -> Vec<(String, String)> {
        let mut users: Vec<(String, String)> = self.rooms.get(room).map_or_else(Vec::new, |m| {
            m.iter()
                .map(|(id, nickname)| (nickname.clone(), id.clone()))
                .collect()
        });
        users.sort_by_cached_key(|(nickname, id)| (nickname.to_lowercase(), id.clone()));
        users
    }

    /// How many are in `room`.
    fn count(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, HashMap::len)
    }
}

/// The chat's shared state: each channel's last messages, and who is where.
#[derive(Debug)]
pub(crate) struct Chat {
    history: Mutex<HashMap<String, VecDeque<Message>>>,
    members: Mutex<Members>,
    next_id: AtomicU64,
}

impl Chat {
    /// Puts the chat's handlers on the main namespace of `io`.
    pub(crate) fn attach(io: &SocketIo) -> Arc<Self> {
        let history = CHANNELS
            .iter()
            .map(|c| ((*c).to_owned(), VecDeque::new()))
            .collect();
        let chat = Arc::new(Self {
            history: Mutex::new(history),
            members: Mutex::new(Members::default()),
            next_id: AtomicU64::new(1),
        });
        let on_connect = chat.clone();
        io.on_connection(move |socket| {
            let chat = on_connect.clone();
            async move { chat.connected(socket).await }
        });
        chat
    }

    async fn connected(self: Arc<Self>, socket: Arc<Socket>) {
        tracing::info!(
            socket = %socket.id(),
            transport = %socket.transport().as_str(),
            recovered = socket.recovered(),
            "a user connected"
        );
        if socket.recovered() {
            self.came_back(&socket);
        }
        let chat = self.clone();
        socket.on("join", move |socket, event| {
            let chat = chat.clone();
            async move { chat.join(&socket, &event).await }
        });
        let chat = self.clone();
        socket.on("chat message", move |socket, event| {
            let chat = chat.clone();
            async move { chat.message(&socket, &event) }
        });
        socket.on("typing", |socket, event| async move {
            let typing = event.arg::<bool>(0).unwrap_or(false);
            if let Some(me) = socket.data::<Member>() {
                let _ = socket.to(me.room.as_str()).emit(
                    "typing",
                    &json!({ "id": socket.id().as_str(), "nickname": me.nickname, "typing": typing }),
                );
            }
        });
        let chat = self.clone();
        socket.on_disconnect(move |socket, reason| {
            let chat = chat.clone();
            async move { chat.disconnected(&socket, reason).await }
        });
        // The channel list, so the page can show it before the user joins.
        let _ = socket.emit("rooms", &self.rooms());
    }

    async fn join(&self, socket: &Arc<Socket>, event: &Event) {
        #[derive(Deserialize)]
        struct Join {
            nickname: String,
            room: String,
        }
        let refuse = |error: &str| {
            let _ = event.reply(&json!({ "ok": false, "error": error }));
        };
        let Ok(request) = event.arg::<Join>(0) else {
            return refuse("expected {nickname, room}");
        };
        let Some(nickname) = clean_nickname(&request.nickname) else {
            return refuse("a nickname has 1 to 24 characters");
        };
        let Some(room) = clean_channel(&request.room) else {
            return refuse("a channel name has 1 to 24 letters, digits, - or _");
        };
        if !self.open_channel(&room) {
            return refuse("too many channels: join an existing one");
        }
        let before = socket.data::<Member>();
        let me = Member {
            nickname: nickname.clone(),
            room: room.clone(),
        };
        let _ = socket.set_data(&me);
        {
            let id = socket.id();
            let mut members = self.lock_members();
            if let Some(old) = &before {
                members.remove(id.as_str(), &old.room);
            }
            members.insert(id.as_str(), &nickname, &room);
        }
        let nsp = socket.namespace();
        self.announce_join(socket, before, &nickname, &room);
        tracing::debug!(socket = %socket.id(), %nickname, %room, "joined");
        let online = self.announce_online(nsp, &room);
        let _ = nsp.local().emit("rooms", &self.rooms());
        let history: Vec<Message> = self
            .lock_history()
            .get(&room)
            .map_or_else(Vec::new, |h| h.iter().cloned().collect());
        let _ = event.reply(&json!({
            "ok": true,
            "nickname": nickname,
            "room": room,
            "history": history,
            "online": online,
        }));
    }

    /// Moves `socket` into `room` and tells the rooms concerned: a new
    /// nickname, or a member who left one room and joined another.
    fn announce_join(
        &self,
        socket: &Arc<Socket>,
        before: Option<Member>,
        nickname: &str,
        room: &str,
    ) {
        match before {
            Some(old) if old.room == room => {
                if old.nickname != nickname {
                    let text = format!("{} is now known as {nickname}", old.nickname);
                    notice(socket.to(room), text, room);
                }
            }
            Some(old) => {
                socket.leave(old.room.as_str());
                let typing = json!({ "id": socket.id().as_str(), "nickname": old.nickname, "typing": false });
                let _ = socket.to(old.room.as_str()).emit("typing", &typing);
                let text = format!("{} left #{}", old.nickname, old.room);
                notice(socket.to(old.room.as_str()), text, &old.room);
                self.announce_online(socket.namespace(), &old.room);
                socket.join(room);
                notice(socket.to(room), format!("{nickname} joined #{room}"), room);
            }
            None => {
                socket.join(room);
                notice(socket.to(room), format!("{nickname} joined #{room}"), room);
            }
        }
    }

    fn message(&self, socket: &Arc<Socket>, event: &Event) {
        let refuse = |error: &str| {
            let _ = event.reply(&json!({ "ok": false, "error": error }));
        };
        let Some(me) = socket.data::<Member>() else {
            return refuse("join a channel first");
        };
        let Ok(text) = event.arg::<String>(0) else {
            return refuse("a message is a string");
        };
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT {
            return refuse("a message has 1 to 2000 characters");
        }
        let message = Message {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            from: me.nickname,
            text: text.to_owned(),
            room: me.room,
            time: now_ms(),
        };
        {
            let mut history = self.lock_history();
            let kept = history.entry(message.room.clone()).or_default();
            if kept.len() == HISTORY {
                kept.pop_front();
            }
            kept.push_back(message.clone());
        }
        // To the whole channel, the sender included (`io.to(room).emit`).
        let _ = socket
            .namespace()
            .to(message.room.as_str())
            .emit("chat message", &message);
        let _ = event.reply(&json!({ "ok": true, "id": message.id }));
    }

    async fn disconnected(&self, socket: &Arc<Socket>, reason: DisconnectReason) {
        tracing::info!(
            socket = %socket.id(),
            transport = %socket.transport().as_str(),
            %reason,
            "a user disconnected"
        );
        let Some(me) = socket.data::<Member>() else {
            return;
        };
        self.lock_members().remove(socket.id().as_str(), &me.room);
        let nsp = socket.namespace();
        let room = me.room.as_str();
        let typing =
            json!({ "id": socket.id().as_str(), "nickname": me.nickname, "typing": false });
        let _ = nsp.to(room).emit("typing", &typing);
        notice(nsp.to(room), format!("{} left #{room}", me.nickname), room);
        self.announce_online(nsp, room);
        let _ = nsp.local().emit("rooms", &self.rooms());
    }

    /// A member whose connection dropped is back with its session (connection
    /// state recovery): same id, channel and nickname, and the page was sent
    /// what it missed. The lists count it again.
    fn came_back(&self, socket: &Arc<Socket>) {
        let Some(me) = socket.data::<Member>() else {
            return;
        };
        self.lock_members()
            .insert(socket.id().as_str(), &me.nickname, &me.room);
        let nsp = socket.namespace();
        let room = me.room.as_str();
        notice(socket.to(room), format!("{} is back", me.nickname), room);
        self.announce_online(nsp, room);
        let _ = nsp.emit("rooms", &self.rooms());
    }

    /// Makes sure the channel exists; `false` when there are too many.
    fn open_channel(&self, room: &str) -> bool {
        let mut history = self.lock_history();
        if history.contains_key(room) {
            return true;
        }
        if history.len() >= MAX_CHANNELS {
            // Forget a channel nobody wrote in, if there is one.
            let idle = history
                .iter()
                .find(|(name, kept)| kept.is_empty() && !CHANNELS.contains(&name.as_str()))
                .map(|(name, _)| name.clone());
            match idle {
                Some(name) => history.remove(&name),
                None => return false,
            };
        }
        history.insert(room.to_owned(), VecDeque::new());
        true
    }

    /// Every channel with how many are in it: the fixed ones first, then by name.
    fn rooms(&self) -> Vec<Value> {
        let mut counts: BTreeMap<String, usize> =
            self.lock_history().keys().map(|k| (k.clone(), 0)).collect();
        {
            let members = self.lock_members();
            for (room, count) in &mut counts {
                *count = members.count(room);
            }
        }
        let mut rooms: Vec<(String, usize)> = counts.into_iter().collect();
        rooms.sort_by_key(|(name, _)| {
            let fixed = CHANNELS.iter().position(|c| c == name);
            (fixed.unwrap_or(CHANNELS.len()), name.clone())
        });
        rooms
            .into_iter()
            .map(|(name, count)| json!({ "name": name, "count": count }))
            .collect()
    }

    /// Who is in `room`, sorted by nickname, sent to the room and returned.
    fn announce_online(&self, nsp: &Namespace, room: &str) -> Vec<Value> {
        let users: Vec<Value> = self
            .lock_members()
            .online(room)
            .into_iter()
            .map(|(nickname, id)| json!({ "id": id, "nickname": nickname }))
            .collect();
        let _ = nsp
            .to(room)
            .local()
            .emit("online", &json!({ "room": room, "users": users }));
        users
    }

    fn lock_members(&self) -> MutexGuard<'_, Members> {
        self.members.lock()
    }

    fn lock_history(&self) -> MutexGuard<'_, HashMap<String, VecDeque<Message>>> {
        self.history.lock()
    }
}

fn notice(to: ferrio::BroadcastOperator, text: String, room: &str) {
    let _ = to.emit(
        "notice",
        &json!({ "text": text, "room": room, "time": now_ms() }),
    );
}

/// A nickname: trimmed, 1 to 24 characters, no control characters.
fn clean_nickname(name: &str) -> Option<String> {
    let name = name.trim();
    let ok =
        !name.is_empty() && name.chars().count() <= MAX_NAME && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

/// A channel name: `#` and case dropped, 1 to 24 of `a-z 0-9 - _`.
fn clean_channel(name: &str) -> Option<String> {
    let name = name.trim().trim_start_matches('#').to_lowercase();
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then_some(name)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_trimmed_and_bounded() {
        assert_eq!(clean_nickname("  ada "), Some("ada".into()));
        assert_eq!(clean_nickname("Zoë ✨"), Some("Zoë ✨".into()));
        assert_eq!(clean_nickname("   "), None);
        assert_eq!(clean_nickname(&"x".repeat(25)), None);
        assert_eq!(clean_nickname("a\nb"), None);
    }

    #[test]
    fn channel_names_are_normalised() {
        assert_eq!(clean_channel("#Rust-Lang"), Some("rust-lang".into()));
        assert_eq!(clean_channel("off_topic"), Some("off_topic".into()));
        assert_eq!(clean_channel("two words"), None);
        assert_eq!(clean_channel("#"), None);
        assert_eq!(clean_channel("café"), None);
    }

    #[test]
    fn members_are_kept_per_channel_through_joins_moves_and_leaves() {
        let mut members = Members::default();
        members.insert("s1", "zoë", "general");
        members.insert("s2", "Ada", "general");
        members.insert("s3", "bob", "random");
        let names = |m: &Members, room| -> Vec<String> {
            m.online(room).into_iter().map(|(n, _)| n).collect()
        };
        assert_eq!(names(&members, "general"), ["Ada", "zoë"]);
        assert_eq!(members.count("random"), 1);
        // s1 renames itself in place, then moves.
        members.remove("s1", "general");
        members.insert("s1", "aaron", "general");
        assert_eq!(names(&members, "general"), ["aaron", "Ada"]);
        members.remove("s1", "general");
        members.insert("s1", "aaron", "random");
        assert_eq!(names(&members, "general"), ["Ada"]);
        assert_eq!(names(&members, "random"), ["aaron", "bob"]);
        // Leaving empties and forgets a channel.
        members.remove("s2", "general");
        assert_eq!(members.count("general"), 0);
        assert!(!members.rooms.contains_key("general"));
        members.remove("nobody", "help");
    }

    #[test]
    fn room_counts_come_from_the_member_table() {
        let io = SocketIo::new();
        let chat = Chat::attach(&io);
        chat.lock_members().insert("s1", "ada", "random");
        chat.lock_members().insert("s2", "bob", "random");
        let rooms = chat.rooms();
        assert_eq!(rooms[0], json!({ "name": "general", "count": 0 }));
        assert_eq!(rooms[1], json!({ "name": "random", "count": 2 }));
        assert_eq!(rooms[2], json!({ "name": "help", "count": 0 }));
    }

    /// A chat client that joins `room` as `nickname`; returns it and the ack.
    async fn joined(url: &str, nickname: &str, room: &str) -> (ferrio_client::Socket, Value) {
        let socket = ferrio_client::io(url).unwrap().force_new(true).build();
        let ack = socket
            .timeout(std::time::Duration::from_secs(10))
            .emit_with_ack("join", &json!({ "nickname": nickname, "room": room }))
            .await
            .expect("a join ack");
        (socket, ack.get::<Value>(0).unwrap())
    }

    fn nicknames(online: &Value) -> Vec<&str> {
        online
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["nickname"].as_str().unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_lists_follow_joins_moves_and_disconnects() {
        let io = SocketIo::new();
        let chat = Chat::attach(&io);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = io.clone();
        tokio::spawn(async move { server.serve(listener, std::future::pending()).await });

        let (ada, ack) = joined(&url, "ada", "general").await;
        assert_eq!(nicknames(&ack["online"]), ["ada"]);
        let (bob, ack) = joined(&url, "Bob", "general").await;
        assert_eq!(nicknames(&ack["online"]), ["ada", "Bob"]);
        let (_carol, ack) = joined(&url, "carol", "random").await;
        assert_eq!(nicknames(&ack["online"]), ["carol"]);
        assert_eq!(chat.lock_members().count("general"), 2);
        // Bob renames himself, then moves: the lists follow.
        let ack = bob
            .emit_with_ack("join", &json!({ "nickname": "bo", "room": "general" }))
            .await
            .unwrap();
        assert_eq!(
            nicknames(&ack.get::<Value>(0).unwrap()["online"]),
            ["ada", "bo"]
        );
        let ack = bob
            .emit_with_ack("join", &json!({ "nickname": "bo", "room": "random" }))
            .await
            .unwrap();
        assert_eq!(
            nicknames(&ack.get::<Value>(0).unwrap()["online"]),
            ["bo", "carol"]
        );
        assert_eq!(
            nicknames(&json!(chat.announce_online(&io.of("/"), "general"))),
            ["ada"]
        );
        ada.disconnect();
        bob.disconnect();
        // Both disconnects are handled apart: wait for each room.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while chat.lock_members().count("general") > 0 || chat.lock_members().count("random") > 1 {
            assert!(std::time::Instant::now() < deadline, "members left behind");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(chat.rooms()[1], json!({ "name": "random", "count": 1 }));
        assert!(
            chat.lock_members()
                .online("random")
                .iter()
                .all(|(n, _)| n == "carol")
        );
    }

    #[test]
    fn channels_are_bounded_and_idle_ones_give_way() {
        let io = SocketIo::new();
        let chat = Chat::attach(&io);
        for i in 0..MAX_CHANNELS - CHANNELS.len() {
            assert!(chat.open_channel(&format!("c{i}")));
        }
        // Full, but the idle custom channels can be forgotten.
        assert!(chat.open_channel("one-more"));
        assert_eq!(chat.lock_history().len(), MAX_CHANNELS);
        // Once every channel has messages, no new one opens.
        for kept in chat.lock_history().values_mut() {
            kept.push_back(Message {
                id: 0,
                from: "a".into(),
                text: "b".into(),
                room: "c".into(),
                time: 0,
            });
        }
        assert!(!chat.open_channel("refused"));
        assert!(chat.open_channel("general"));
    }
}
