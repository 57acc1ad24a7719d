#!/usr/bin/env node
// Behaves as the Admin UI dashboard does (socket.io-client on the admin
// namespace, auth, then listens), while application clients act on the
// server; prints what the dashboard received, normalized so that two servers
// can be compared (ids replaced by labels, timestamps and counts that depend
// on timing left out). crates/admin-ui/tests run it against Node's
// instrument() and ferrio's.
//
//   node interop/admin-ui/dashboard.mjs --url http://127.0.0.1:PORT [--readonly | --production]
//
// Without --readonly, the scenario: client C (polling only) connects to "/";
// a dashboard with a wrong password is refused; the dashboard logs in; A and
// B (WebSocket only) connect to "/", D (polling, upgraded) to "/chat", E and
// F to the dynamic namespace's children "/dyn-1" and "/dyn-2"; A and
// B join "r1"; B sets its data; A emits hello(1, "two"); the dashboard makes r1 join r2 and
// leave r1, disconnects C, emits "notice" to r2; A disconnects; a second
// dashboard reconnects with the session id, a third with a wrong one.
// With --readonly: the dashboard logs in, A connects, the dashboard's
// commands (join, _disconnect, emit) must do nothing.
// With --production (a server in production mode): the dashboard logs in, A
// connects and joins a room; only config and server_stats may come.
//
// Output: one line {"event":"result", ...summary} or {"event":"error",...}.

import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    readonly: { type: "boolean", default: false },
    production: { type: "boolean", default: false },
    password: { type: "string", default: "secret" },
  },
});
const url = values.url;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const labels = new Map();
const label = (id) => labels.get(id) ?? (typeof id === "string" ? "?" : typeof id);
// A room: a socket's own room by its label, other rooms by name.
const room = (name) => labels.get(name) ?? name;
const labelsOf = (l) => [...labels.entries()].find(([, v]) => v === l)?.[0];
const SERVER_EVENTS = [
  "session", "config", "server_stats", "all_sockets", "socket_connected",
  "socket_updated", "socket_disconnected", "room_joined", "room_left",
  "event_received", "event_sent",
];

function connectClient(nsp, opts) {
  return new Promise((resolve, reject) => {
    const socket = io(url + nsp, { forceNew: true, reconnection: false, ...opts });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (e) => reject(e));
  });
}

// A dashboard: records every event it is sent, as the UI's listeners would.
// (The UI's "WebSocket only" option when `wsOnly`: the logged-in dashboards
// use it, so that whether its upgrade ends before `all_sockets` is no race.)
function dashboard(auth, wsOnly = false) {
  return new Promise((resolve) => {
    const received = [];
    const socket = io(url + "/admin", {
      forceNew: true,
      reconnection: false,
      withCredentials: true,
      transports: wsOnly ? ["websocket"] : ["polling", "websocket"],
      auth,
    });
    for (const ev of SERVER_EVENTS) {
      socket.on(ev, (...args) => received.push({ ev, args }));
    }
    socket.once("connect", () => resolve({ socket, received, error: null }));
    socket.once("connect_error", (e) => resolve({ socket, received, error: e.message }));
  });
}

const sortKeys = (o) => (o && typeof o === "object" ? Object.keys(o).sort() : typeof o);

function normSocket(s) {
  const h = s.handshake ?? {};
  return {
    id: label(s.id),
    clientId: typeof s.clientId === "string" ? `string(${s.clientId.length})` : typeof s.clientId,
    transport: s.transport,
    nsp: s.nsp,
    data: s.data,
    rooms: (s.rooms ?? []).map(room).sort(),
    handshake: {
      keys: sortKeys(h),
      address: typeof h.address,
      headers: sortKeys(h.headers).filter((k) => k !== "cookie"),
      query: sortKeys(h.query).filter((k) => k !== "t"),
      issued: typeof h.issued,
      secure: h.secure,
      time: typeof h.time,
      url: typeof h.url === "string" ? h.url.split("?")[0] : typeof h.url,
      xdomain: h.xdomain,
    },
  };
}

const isDate = (d) => typeof d === "string" && !Number.isNaN(Date.parse(d)) && d.endsWith("Z");

// One line per live event, ids as labels, dates checked then left out.
function normLive(received) {
  const lines = [];
  for (const { ev, args } of received) {
    switch (ev) {
      case "socket_connected":
        lines.push(JSON.stringify([ev, normSocket(args[0]), isDate(args[1])]));
        break;
      case "socket_updated":
        lines.push(JSON.stringify([ev, { ...args[0], id: label(args[0].id) }]));
        break;
      case "socket_disconnected":
        lines.push(JSON.stringify([ev, args[0], label(args[1]), args[2], isDate(args[3])]));
        break;
      case "room_joined":
      case "room_left":
        lines.push(JSON.stringify([ev, args[0], room(args[1]), label(args[2]), isDate(args[3])]));
        break;
      case "event_received":
      case "event_sent":
        lines.push(JSON.stringify([ev, args[0], label(args[1]), args[2], isDate(args[3])]));
        break;
    }
  }
  return lines.sort();
}

function normStats(s) {
  return {
    keys: sortKeys(s),
    serverId: s.serverId,
    hostname: typeof s.hostname,
    pid: typeof s.pid,
    uptime: typeof s.uptime,
    clientsCount: s.clientsCount,
    pollingClientsCount: s.pollingClientsCount,
    namespaces: [...s.namespaces].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function aggregated(received) {
  const types = new Map();
  for (const { ev, args } of received) {
    if (ev !== "server_stats") continue;
    for (const e of args[0].aggregatedEvents) {
      const key = e.subType === undefined ? e.type : `${e.type}:${e.subType}`;
      types.set(key, (types.get(key) ?? 0) + e.count);
      if (typeof e.timestamp !== "number" || e.timestamp % 1000 !== 0) types.set("bad-timestamp", 1);
    }
  }
  return Object.fromEntries([...types.entries()].sort());
}

// Waits for the next server_stats the dashboard gets.
async function nextStats(received) {
  const seen = received.filter((r) => r.ev === "server_stats").length;
  for (let i = 0; i < 60; i++) {
    await sleep(100);
    const all = received.filter((r) => r.ev === "server_stats");
    if (all.length > seen) return all[all.length - 1].args[0];
  }
  throw new Error("no server_stats within 6 s");
}

const ack = (socket, ...args) => socket.timeout(5000).emitWithAck(...args);

// Waits until the dashboard got `count` events `ev` whose arguments pass
// `test` (no fixed sleeps: a loaded machine only makes it slower).
async function waitFor(received, ev, test = () => true, count = 1) {
  for (let i = 0; i < 100; i++) {
    if (received.filter((r) => r.ev === ev && test(r.args)).length >= count) return;
    await sleep(50);
  }
  throw new Error(`no ${count} × ${ev} within 5 s`);
}

async function full() {
  const summary = {};
  const c = await connectClient("/", { transports: ["polling"] });
  labels.set(c.id, "C");

  const wrong = await dashboard({ username: "admin", password: "wrong" });
  summary.wrongPassword = wrong.error;
  wrong.socket.close();
  const nobody = await dashboard({});
  summary.noCredentials = nobody.error;
  nobody.socket.close();

  const dash = await dashboard({ username: "admin", password: values.password }, true);
  if (dash.error) throw new Error(`dashboard refused: ${dash.error}`);
  labels.set(dash.socket.id, "admin");
  await waitFor(dash.received, "all_sockets");
  const session = dash.received.find((r) => r.ev === "session");
  summary.session = session ? `${typeof session.args[0]}(${session.args[0].length})` : null;
  summary.config = dash.received.find((r) => r.ev === "config")?.args[0] ?? null;
  const all = dash.received.find((r) => r.ev === "all_sockets")?.args[0] ?? null;
  summary.allSockets = all && all.map(normSocket).sort((x, y) => x.id.localeCompare(y.id));
  summary.order = dash.received.map((r) => r.ev).filter((e) => ["session", "config", "all_sockets"].includes(e));

  const a = await connectClient("/", { transports: ["websocket"] });
  labels.set(a.id, "A");
  const b = await connectClient("/", { transports: ["websocket"] });
  labels.set(b.id, "B");
  const d = await connectClient("/chat", {});
  labels.set(d.id, "D");
  // Two children of one dynamic namespace: each socket told once.
  const e = await connectClient("/dyn-1", { transports: ["websocket"] });
  labels.set(e.id, "E");
  const f = await connectClient("/dyn-2", { transports: ["websocket"] });
  labels.set(f.id, "F");
  await new Promise((r) => (d.io.engine.transport.name === "websocket" ? r() : d.io.engine.once("upgrade", r)));
  await ack(a, "join-room", "r1");
  await ack(b, "join-room", "r1");
  await ack(b, "set-score", 7);
  const hi = new Promise((r) => a.once("hi", (...args) => r(args)));
  await ack(a, "hello", 1, "two");
  summary.hi = await hi;

  dash.socket.emit("join", "/", "r2", "r1");
  await waitFor(dash.received, "room_joined", (args) => args[1] === "r2", 2);
  dash.socket.emit("leave", "/", "r1", "r2");
  await waitFor(dash.received, "room_left", (args) => args[1] === "r1", 2);
  const cGone = new Promise((r) => c.once("disconnect", (reason) => r(reason)));
  dash.socket.emit("_disconnect", "/", false, c.id);
  summary.cDisconnect = await Promise.race([cGone, sleep(3000).then(() => "still connected")]);
  const notices = [a, b].map((s) => new Promise((r) => s.once("notice", (...args) => r(args))));
  dash.socket.emit("emit", "/", "r2", "notice", "x", 2);
  summary.notices = await Promise.race([Promise.all(notices), sleep(3000).then(() => "none")]);
  a.disconnect();
  await waitFor(dash.received, "socket_disconnected", (args) => args[1] === labelsOf("A"));
  await waitFor(dash.received, "room_left", (args) => args[1] === "r2");

  await waitFor(dash.received, "event_sent", (args) => args[2][0] === "notice", 2);
  await waitFor(dash.received, "socket_updated", (args) => args[0].transport === "websocket");
  summary.stats = normStats(await nextStats(dash.received));
  summary.live = normLive(dash.received);
  summary.aggregated = aggregated(dash.received);

  const again = await dashboard({ sessionId: session?.args[0] });
  summary.sessionReconnect = again.error ?? "connected";
  if (!again.error) await waitFor(again.received, "config");
  summary.sessionReconnectConfig = again.received.some((r) => r.ev === "config");
  summary.sessionReconnectNewSession = again.received.some((r) => r.ev === "session");
  again.socket.close();
  const bogus = await dashboard({ sessionId: "0123456789abcdef" });
  summary.bogusSession = bogus.error;
  bogus.socket.close();

  for (const s of [b, c, d, e, f, dash.socket]) s.close();
  return summary;
}

async function readonly() {
  const summary = {};
  const dash = await dashboard({ username: "admin", password: values.password }, true);
  if (dash.error) throw new Error(`dashboard refused: ${dash.error}`);
  labels.set(dash.socket.id, "admin");
  const a = await connectClient("/", { transports: ["websocket"] });
  labels.set(a.id, "A");
  await waitFor(dash.received, "socket_connected", (args) => args[0].id === a.id);
  summary.config = dash.received.find((r) => r.ev === "config")?.args[0] ?? null;
  let notice = false;
  a.on("notice", () => (notice = true));
  const gone = new Promise((r) => a.once("disconnect", () => r(true)));
  dash.socket.emit("join", "/", "r9");
  dash.socket.emit("emit", "/", null, "notice", 1);
  dash.socket.emit("_disconnect", "/", true);
  summary.disconnected = await Promise.race([gone, sleep(1000).then(() => false)]);
  summary.noticeReceived = notice;
  summary.joinedR9 = dash.received.some((r) => r.ev === "room_joined" && r.args[1] === "r9");
  summary.live = normLive(dash.received);
  a.close();
  dash.socket.close();
  return summary;
}

async function production() {
  const summary = {};
  const dash = await dashboard({ username: "admin", password: values.password }, true);
  if (dash.error) throw new Error(`dashboard refused: ${dash.error}`);
  labels.set(dash.socket.id, "admin");
  const a = await connectClient("/", { transports: ["websocket"] });
  labels.set(a.id, "A");
  await ack(a, "join-room", "r1");
  summary.stats = normStats(await nextStats(dash.received));
  summary.config = dash.received.find((r) => r.ev === "config")?.args[0] ?? null;
  summary.kinds = [...new Set(dash.received.map((r) => r.ev))].sort();
  summary.aggregated = aggregated(dash.received);
  a.close();
  dash.socket.close();
  return summary;
}

try {
  const summary = values.readonly ? await readonly() : values.production ? await production() : await full();
  console.log(JSON.stringify({ event: "result", ...summary }));
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ event: "error", message: String(e?.stack ?? e) }));
  process.exit(1);
}
