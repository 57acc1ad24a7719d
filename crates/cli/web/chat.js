// The chat page's script: plain JavaScript on the official Socket.IO client
// (`io`, loaded from /socket.io/socket.io.js, which ferrio serves).
//
// URL options: `?transport=polling` or `?transport=websocket` keeps the
// connection on one transport (default: long-polling, then the upgrade to
// WebSocket); `#channel` picks the first channel.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const NICK_KEY = "ferrio-chat-nickname";

  const state = {
    nickname: "",
    room: (location.hash.slice(1) || "general").toLowerCase(),
    joined: false,
    seen: new Set(), // message ids shown in this channel
    offline: false, // between a disconnect and the next connect
    missed: 0, // messages received while offline (replayed by a recovery)
    typers: new Map(), // socket id -> { nickname, timer }
    rooms: [],
  };

  if (typeof io !== "function") {
    fatal(
      "The Socket.IO client (/socket.io/socket.io.js) did not load. " +
        "Install it with `npm ci --prefix crates/cli/web` and restart ferrio.",
    );
    return;
  }

  const options = {};
  const only = params.get("transport");
  if (only === "polling" || only === "websocket") options.transports = [only];
  const socket = io(options);
  window.chat = { socket, state }; // handy in the devtools console

  // ---- connection state ------------------------------------------------------

  const watched = new WeakSet();

  function showConnected() {
    const engine = socket.io.engine;
    const name = engine && engine.transport ? engine.transport.name : "?";
    setStatus("connected", name, `connected · ${name === "polling" ? "long-polling" : name}`);
  }

  function setStatus(kind, transport, text) {
    const status = $("status");
    status.dataset.state = kind;
    status.dataset.transport = transport;
    $("status-text").textContent = text;
  }

  socket.on("connect", () => {
    showConnected();
    const engine = socket.io.engine;
    if (!watched.has(engine)) {
      watched.add(engine);
      engine.on("upgrade", showConnected);
    }
    const missed = state.missed;
    state.offline = false;
    state.missed = 0;
    if (socket.recovered) {
      // Connection state recovery: the server kept our id, channel and
      // nickname, and sent what we missed before this event.
      const plural = missed === 1 ? "" : "s";
      addNotice(`reconnected — ${missed} missed message${plural} restored`, Date.now(), "recovered");
      setComposer(true);
    } else if (state.joined) {
      // The server has forgotten us: join again.
      join(state.nickname, state.room, true);
    }
  });

  socket.on("disconnect", (reason) => {
    state.offline = true;
    state.missed = 0;
    clearTypers();
    if (socket.active) setStatus("reconnecting", "", "reconnecting…");
    else setStatus("disconnected", "", `disconnected (${reason})`);
    setComposer(false);
  });

  socket.on("connect_error", () => {
    if (socket.active) setStatus("reconnecting", "", "reconnecting…");
  });

  socket.io.on("reconnect_attempt", (attempt) => {
    setStatus("reconnecting", "", `reconnecting… (attempt ${attempt})`);
  });

  // ---- joining ---------------------------------------------------------------

  function join(nickname, room, rejoin = false) {
    socket.emit("join", { nickname, room }, (res) => {
      if (!res || !res.ok) {
        const error = (res && res.error) || "could not join";
        if (!state.joined || !$("login").hidden) {
          $("login-error").textContent = error;
          $("login").hidden = false;
        } else {
          addNotice(error, Date.now(), "error");
        }
        return;
      }
      const fresh = rejoin || res.room !== state.room || !state.joined;
      const renamed = !fresh && res.nickname !== state.nickname;
      state.nickname = res.nickname;
      state.room = res.room;
      state.joined = true;
      try {
        localStorage.setItem(NICK_KEY, res.nickname);
      } catch (_) {
        // private mode: nothing to remember
      }
      history.replaceState(null, "", `${location.pathname}${location.search}#${res.room}`);
      $("login").hidden = true;
      $("login-error").textContent = "";
      $("me").textContent = res.nickname;
      $("room-title").textContent = `# ${res.room}`;
      $("input").placeholder = `Message #${res.room}`;
      if (fresh) {
        $("messages").replaceChildren();
        state.seen.clear();
        clearTypers();
        if (res.history.length) addNotice(`last ${res.history.length} messages of #${res.room}`);
        for (const message of res.history) addMessage(message);
        addNotice(`you joined #${res.room} as ${res.nickname}`);
      } else if (renamed) {
        addNotice(`you are now known as ${res.nickname}`);
      }
      renderOnline(res.online);
      renderRooms(state.rooms);
      setComposer(socket.connected);
      $("input").focus();
    });
  }

  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const nickname = $("nickname").value.trim();
    if (nickname) join(nickname, state.room);
  });

  $("me").addEventListener("click", () => {
    $("nickname").value = state.nickname;
    $("login-button").textContent = "Change nickname";
    $("login").hidden = false;
    $("nickname").select();
  });

  $("login").addEventListener("click", (e) => {
    if (e.target === $("login") && state.joined) $("login").hidden = true;
  });

  $("new-room").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = $("new-room-name").value.trim();
    if (!name) return;
    $("new-room-name").value = "";
    switchRoom(name);
  });

  function switchRoom(name) {
    if (state.joined) {
      join(state.nickname, name);
    } else {
      state.room = name.replace(/^#/, "").toLowerCase();
      $("login-button").textContent = `Join #${state.room}`;
      renderRooms(state.rooms);
    }
  }

  // ---- messages --------------------------------------------------------------

  socket.on("chat message", (message) => {
    if (message.room !== state.room) return;
    if (state.offline && !state.seen.has(message.id)) state.missed += 1;
    addMessage(message);
    for (const [id, typer] of state.typers) {
      if (typer.nickname === message.from) dropTyper(id);
    }
  });

  socket.on("notice", (notice) => {
    if (notice.room === state.room) addNotice(notice.text, notice.time);
  });

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("input");
    const text = input.value.trim();
    if (!text) return;
    socket.emit("chat message", text, (res) => {
      if (res && !res.ok) addNotice(res.error, Date.now(), "error");
    });
    input.value = "";
    stopTyping();
  });

  function setComposer(enabled) {
    const on = enabled && state.joined;
    $("input").disabled = !on;
    $("send").disabled = !on;
  }

  function addMessage(m) {
    if (state.seen.has(m.id)) return;
    state.seen.add(m.id);
    const li = el("li", "message");
    if (m.from === state.nickname) li.classList.add("mine");
    li.dataset.id = m.id;
    const avatar = el("span", "avatar", initial(m.from));
    avatar.style.background = color(m.from);
    const body = el("div", "body");
    const meta = el("div", "meta");
    meta.append(el("span", "from", m.from), el("time", "time", clock(m.time)));
    meta.lastChild.dateTime = new Date(m.time).toISOString();
    body.append(meta, el("div", "text", m.text));
    li.append(avatar, body);
    append(li);
  }

  function addNotice(text, time = Date.now(), kind = "notice") {
    const li = el("li", kind);
    li.append(el("span", "", text), el("time", "time", clock(time)));
    append(li);
  }

  function append(li) {
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.append(li);
    if (atBottom || li.classList.contains("mine")) list.scrollTop = list.scrollHeight;
  }

  // ---- typing ----------------------------------------------------------------

  let typingSent = false;
  let typingTimer = 0;

  $("input").addEventListener("input", () => {
    if (!$("input").value.trim()) return stopTyping();
    if (!typingSent) {
      typingSent = true;
      socket.emit("typing", true);
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 2000);
  });

  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) {
      typingSent = false;
      socket.emit("typing", false);
    }
  }

  socket.on("typing", ({ id, nickname, typing }) => {
    if (typing) {
      dropTyper(id, false);
      // A lost "stopped typing" must not leave the line up forever.
      const timer = setTimeout(() => dropTyper(id), 6000);
      state.typers.set(id, { nickname, timer });
      renderTyping();
    } else {
      dropTyper(id);
    }
  });

  function dropTyper(id, render = true) {
    const typer = state.typers.get(id);
    if (typer) clearTimeout(typer.timer);
    state.typers.delete(id);
    if (render) renderTyping();
  }

  function clearTypers() {
    for (const id of [...state.typers.keys()]) dropTyper(id, false);
    renderTyping();
  }

  function renderTyping() {
    const names = [...state.typers.values()].map((t) => t.nickname);
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = "Several people are typing…";
    $("typing").textContent = text;
  }

  // ---- who is online, channels ------------------------------------------------

  socket.on("online", ({ room, users }) => {
    if (room === state.room) renderOnline(users);
  });

  function renderOnline(users) {
    const list = $("online");
    list.replaceChildren(
      ...users.map((u) => {
        const li = el("li", u.id === socket.id ? "you" : "");
        li.dataset.id = u.id;
        const avatar = el("span", "avatar small", initial(u.nickname));
        avatar.style.background = color(u.nickname);
        li.append(avatar, el("span", "name", u.nickname));
        if (u.id === socket.id) li.append(el("span", "muted", " (you)"));
        return li;
      }),
    );
    $("online-count").textContent = users.length;
    $("room-members").textContent = `${users.length} online`;
  }

  socket.on("rooms", (rooms) => {
    state.rooms = rooms;
    renderRooms(rooms);
  });

  function renderRooms(rooms) {
    const list = $("rooms");
    list.replaceChildren(
      ...rooms.map(({ name, count }) => {
        const li = el("li", name === state.room ? "active" : "");
        const button = el("button", "room");
        button.type = "button";
        button.dataset.room = name;
        button.append(el("span", "hash", "#"), el("span", "name", name));
        if (count) button.append(el("span", "badge", String(count)));
        button.addEventListener("click", () => switchRoom(name));
        li.append(button);
        return li;
      }),
    );
  }

  // ---- helpers ---------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(time) {
    return new Date(time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function initial(name) {
    return (Array.from(name)[0] || "?").toUpperCase();
  }

  function color(name) {
    let h = 0;
    for (const c of name) h = (h * 31 + c.codePointAt(0)) >>> 0;
    return `hsl(${h % 360} 55% 45%)`;
  }

  function fatal(text) {
    const status = $("status");
    status.dataset.state = "disconnected";
    $("status-text").textContent = "no client";
    $("login-error").textContent = text;
    $("login-button").disabled = true;
  }

  // ---- start -----------------------------------------------------------------

  let remembered = "";
  try {
    remembered = localStorage.getItem(NICK_KEY) || "";
  } catch (_) {
    // no storage
  }
  $("nickname").value = params.get("nickname") || remembered;
  $("login-button").textContent = `Join #${state.room}`;
})();
