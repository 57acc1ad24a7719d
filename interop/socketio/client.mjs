#!/usr/bin/env node
// Drives the official socket.io-client against a Socket.IO server that has the
// conformance handlers (crates/server/examples/conformance/handlers.rs).
//
//   node interop/socketio/client.mjs --url http://127.0.0.1:PORT \
//        --mode websocket|polling|upgrade --scenario NAME \
//        [--path /socket.io/] [--count N] [--window N] [--timeout MS]
//        [--parser default|msgpack]
//
// --parser msgpack (or PARSER=msgpack in the environment) connects with
// socket.io-msgpack-parser; the server must use it too.
//
// --count and --window are for the "order" scenario: N emits with acks (1000 by
// default), sent in bursts of --window (all at once by default).
//
// What the server must do (all in namespace "/" unless said otherwise):
//   on connection          emit "auth" with the CONNECT auth payload ({} if none)
//   "message" ...args      emit "message-back" ...args
//   "message-with-ack"     acknowledge with the same args
//   "echo" ...args         acknowledge with the args if asked, else emit "echo" ...args
//   "broadcast" ...args    emit "broadcast" ...args to every socket of "/", the sender too
//   "join" / "leave" room  join / leave the room
//   "room" room, payload   emit "room" payload to the room
//   "rooms" rooms[], p     emit "rooms" p to the union of the rooms (each socket once)
//   "ask" value            emit "question" value asking an ack (timeout 1000 ms); the
//                          reply args come back as "answer", a timeout as "answer-timeout"
//   "disconnect-me"        disconnect the socket from "/"
//   /custom                emit "auth" with the auth payload on connection
//   /private               refuse unless auth.token == "secret" (CONNECT_ERROR
//                          {"message":"unauthorized","data":{"reason":"bad token"}});
//                          emit "welcome" on connection
//   /dyn-<digits>          dynamic; emit "nsp" with the namespace name on connection
//   anything else          CONNECT_ERROR "Invalid namespace"
// interop/socketio/reference-server.mjs is that server on Node's `socket.io`: every
// scenario passes against it, so the expectations here are Node's behaviour.
//
// Scenarios: auth, message, message-ack, echo, binary, broadcast, rooms, ask,
// disconnect-me, private, dynamic, invalid-namespace, multiplex, client-disconnect,
// order, during-upgrade. Each connection is a Manager of its own unless a scenario
// multiplexes; in upgrade mode a scenario starts its work once the connection runs
// over WebSocket (except during-upgrade, which emits through the upgrade). Every
// socket still connected at the end leaves with socket.disconnect().
//
// Output: one JSON object per line on stdout, e.g.
//   {"event":"socket","peer":"a","nsp":"/","id":"..."}     every namespace connection
//   {"event":"upgraded","manager":"a","transport":"websocket"} (upgrade mode)
//   {"event":"disconnect","peer":"a","nsp":"/","reason":"io server disconnect"}
//   {"event":"connect_error","peer":"a","nsp":"/private","message":"...","data":{...}}
// and, always last, {"event":"result","ok":true|false,...}.
// Exit code 0 on success, 1 on any failed expectation, 2 on bad usage.
// Set DEBUG=socket.io-client:*,engine.io-client:* for the client's own trace on stderr.

import { parseArgs } from "node:util";
import { Manager } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const SCENARIOS = [
  "auth",
  "message",
  "message-ack",
  "echo",
  "binary",
  "broadcast",
  "rooms",
  "ask",
  "disconnect-me",
  "private",
  "dynamic",
  "invalid-namespace",
  "multiplex",
  "client-disconnect",
  "order",
  "during-upgrade",
];
const MODES = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"] },
};
const EVENT_TIMEOUT_MS = 5000;
const UPGRADE_TIMEOUT_MS = 5000;
const CLOSE_TIMEOUT_MS = 3000;
// The server's timeout on the "question" ack (handlers.rs).
const QUESTION_TIMEOUT_MS = 1000;

// ---------------------------------------------------------------- output

/** JSON-safe copy of anything (Errors, circular objects, buffers). */
function safe(value, depth = 0, seen = new WeakSet()) {
  if (value === null || value === undefined) return value ?? null;
  const t = typeof value;
  if (t === "string" || t === "boolean") return value;
  if (t === "number") return Number.isFinite(value) ? value : String(value);
  if (t === "bigint") return value.toString();
  if (t === "function" || t === "symbol") return undefined;
  if (seen.has(value)) return "[Circular]";
  if (depth > 5) return `[${value.constructor?.name ?? "Object"}]`;
  seen.add(value);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return { type: value.constructor?.name, byteLength: value.byteLength };
  }
  if (Array.isArray(value)) {
    return value.slice(0, 20).map((v) => safe(v, depth + 1, seen));
  }
  const out = {};
  const ctor = value.constructor?.name;
  if (ctor && ctor !== "Object") {
    out.class = ctor;
    for (const k of ["name", "message", "type", "code", "reason", "description", "data"]) {
      try {
        if (value[k] !== undefined && typeof value[k] !== "function") out[k] = safe(value[k], depth + 1, seen);
      } catch {
        /* getter threw: ignore */
      }
    }
  }
  for (const k of Object.keys(value)) {
    if (k in out || k.startsWith("_")) continue;
    try {
      const v = safe(value[k], depth + 1, seen);
      if (v !== undefined) out[k] = v;
    } catch {
      /* ignore */
    }
  }
  return out;
}

function emit(obj, force = false) {
  if (finished && !force) return; // the result line is always the last line
  let line;
  try {
    line = JSON.stringify(safe(obj));
  } catch (e) {
    line = JSON.stringify({ event: obj?.event ?? "log", unserialisable: String(e) });
  }
  process.stdout.write(line + "\n");
}

let finished = false;
function finish(ok, details) {
  if (finished) return;
  finished = true;
  emit({ event: "result", ok, ...details }, true);
  // Let a last close frame / close POST go out, then exit.
  setTimeout(() => process.exit(ok ? 0 : 1), 150).unref();
  process.exitCode = ok ? 0 : 1;
}

function fail(error, extra = {}) {
  finish(false, { ...common, error: String(error?.stack ?? error?.message ?? error), ...extra });
}

// ---------------------------------------------------------------- args

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      url: { type: "string" },
      mode: { type: "string", default: "websocket" },
      scenario: { type: "string" },
      path: { type: "string", default: "/socket.io/" },
      count: { type: "string", default: "1000" },
      window: { type: "string" },
      timeout: { type: "string", default: "30000" },
      parser: { type: "string", default: process.env.PARSER || "default" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }));
} catch (e) {
  usage(String(e.message));
}
function usage(msg) {
  if (msg) process.stderr.write(`error: ${msg}\n`);
  process.stderr.write(
    "usage: node client.mjs --url http://127.0.0.1:PORT --mode websocket|polling|upgrade " +
      `--scenario ${SCENARIOS.join("|")} [--path /socket.io/] [--count N] [--window N] [--timeout MS] [--parser default|msgpack]\n`,
  );
  process.exit(msg ? 2 : 0);
}
if (args.help) usage();
if (!args.url) usage("--url is required");
if (!MODES[args.mode]) usage(`unknown --mode ${args.mode}`);
if (!["default", "msgpack"].includes(args.parser)) usage(`unknown --parser ${args.parser}`);
if (!SCENARIOS.includes(args.scenario)) usage(`unknown --scenario ${args.scenario}`);
const count = Number(args.count);
if (!Number.isInteger(count) || count < 1) usage(`bad --count ${args.count}`);
const windowSize = args.window === undefined ? count : Number(args.window);
if (!Number.isInteger(windowSize) || windowSize < 1) usage(`bad --window ${args.window}`);
const overall = Number(args.timeout);
if (!Number.isFinite(overall) || overall <= 0) usage(`bad --timeout ${args.timeout}`);

const common = { scenario: args.scenario, mode: args.mode, parser: args.parser };

setTimeout(() => fail(`overall timeout after ${overall} ms`), overall).unref();
// Keep the process alive while the timer above is pending.
const keepAlive = setInterval(() => {}, 1 << 30);

process.on("uncaughtException", (e) => fail(`uncaught exception: ${e?.stack ?? e}`));
process.on("unhandledRejection", (e) => fail(`unhandled rejection: ${e?.stack ?? e}`));

// ---------------------------------------------------------------- helpers

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function isBinary(x) {
  return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
}

function bytesOf(x) {
  if (x instanceof ArrayBuffer) return Buffer.from(x);
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

/**
 * A comparable form of a value: binary leaves become {"$binary": base64} (so a
 * Uint8Array sent and the Buffer received compare equal), everything else as is,
 * object keys in their order.
 */
function normalize(x) {
  if (isBinary(x)) return { $binary: bytesOf(x).toString("base64") };
  if (Array.isArray(x)) return x.map(normalize);
  if (x && typeof x === "object") {
    const out = {};
    for (const k of Object.keys(x)) out[k] = normalize(x[k]);
    return out;
  }
  return x;
}

/** Asserts deep equality, object key order and binary bytes included. */
function assertSame(got, expected, what) {
  const g = JSON.stringify(normalize(got));
  const e = JSON.stringify(normalize(expected));
  if (g !== e) {
    const clip = (s) => (s.length > 400 ? `${s.slice(0, 400)}... (${s.length} chars)` : s);
    throw new Error(`${what}: expected ${clip(e)}, got ${clip(g)}`);
  }
}

/** Kinds of every binary leaf, in order: Buffer, ArrayBuffer, ... */
function binaryKinds(x, out = []) {
  if (isBinary(x)) out.push(x.constructor?.name);
  else if (Array.isArray(x)) x.forEach((v) => binaryKinds(v, out));
  else if (x && typeof x === "object") Object.values(x).forEach((v) => binaryKinds(v, out));
  return out;
}

/** Deterministic pseudo-random bytes (xorshift32). */
function prng(n, seed = 0x9e3779b9) {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A promise with a deadline. */
function within(ms, promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A unique-enough suffix so that room names never collide across runs. */
const tag = `${process.pid}-${Date.now().toString(36)}`;

// ---------------------------------------------------------------- peers

const managers = [];
const peers = [];

/** One Engine.IO connection (a socket.io-client Manager) in the chosen mode. */
function newManager(label, extra = {}) {
  const manager = new Manager(args.url, {
    path: args.path,
    autoConnect: false,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    ...MODES[args.mode],
    ...(args.parser === "msgpack" ? { parser: msgpackParser } : {}),
    ...extra,
  });
  manager.label = label;
  manager.opens = 0;
  manager.reconnectAttempts = 0;
  manager.on("open", () => {
    manager.opens++;
    const engine = manager.engine;
    emit({ event: "open", manager: label, transport: engine?.transport?.name, sid: engine?.id });
    engine.on("upgrade", (t) => emit({ event: "upgrade", manager: label, transport: t?.name }));
    engine.on("upgradeError", (e) => emit({ event: "upgradeError", manager: label, error: e }));
  });
  manager.on("error", (e) => emit({ event: "manager-error", manager: label, error: e }));
  manager.on("reconnect_attempt", (n) => {
    manager.reconnectAttempts++;
    emit({ event: "reconnect_attempt", manager: label, attempt: n });
  });
  managers.push(manager);
  return manager;
}

/** Waits until the manager's engine runs over WebSocket (upgrade mode only). */
async function upgraded(manager) {
  if (args.mode !== "upgrade") return;
  const engine = manager.engine;
  assert(engine, `${manager.label}: no engine`);
  if (engine.transport?.name !== "websocket") {
    await within(
      UPGRADE_TIMEOUT_MS,
      new Promise((resolve, reject) => {
        engine.once("upgrade", resolve);
        engine.once("close", (reason) => reject(new Error(`closed before upgrade (${reason})`)));
      }),
      `${manager.label}: upgrade to websocket`,
    );
  }
  assert(engine.transport?.name === "websocket", `${manager.label}: transport is ${engine.transport?.name}`);
  emit({ event: "upgraded", manager: manager.label, transport: engine.transport.name });
}

/** One namespace socket, with an inbox per event name. */
class Peer {
  constructor(label, manager, nsp, opts = {}) {
    this.label = label;
    this.manager = manager;
    this.nsp = nsp;
    this.socket = manager.socket(nsp, opts);
    this.queues = new Map(); // event -> [args, ...]
    this.waiters = new Map(); // event -> { resolve, reject }
    this.connects = 0;
    this.socket.onAny((event, ...rest) => {
      // An ack the server asked for arrives as a last function argument.
      const list = typeof rest[rest.length - 1] === "function" ? rest.slice(0, -1) : rest;
      this._push(event, list);
    });
    this.socket.on("connect", () => {
      this.connects++;
      this.id = this.socket.id;
      emit({ event: "socket", peer: label, nsp, id: this.socket.id });
      this._push("connect", []);
    });
    this.socket.on("connect_error", (err) => {
      emit({ event: "connect_error", peer: label, nsp, message: err?.message, data: err?.data ?? null });
      this._push("connect_error", [err]);
    });
    this.socket.on("disconnect", (reason, description) => {
      emit({ event: "disconnect", peer: label, nsp, reason, description });
      this._push("disconnect", [reason, description]);
    });
    peers.push(this);
  }

  _push(event, list) {
    const waiter = this.waiters.get(event);
    if (waiter) {
      this.waiters.delete(event);
      waiter.resolve(list);
    } else {
      if (!this.queues.has(event)) this.queues.set(event, []);
      this.queues.get(event).push(list);
    }
  }

  /** The next `event` (its argument list), waiting for it if need be. */
  next(event, timeoutMs = EVENT_TIMEOUT_MS) {
    const queued = this.queues.get(event);
    if (queued?.length) return Promise.resolve(queued.shift());
    assert(!this.waiters.has(event), `${this.label}: concurrent next(${event})`);
    const waiter = {};
    const promise = new Promise((resolve) => (waiter.resolve = resolve));
    this.waiters.set(event, waiter);
    return within(timeoutMs, promise, `${this.label} (${this.nsp}): event "${event}"`).catch((e) => {
      if (this.waiters.get(event) === waiter) this.waiters.delete(event);
      throw e;
    });
  }

  /** How many `event`s arrived and were not read yet. */
  pending(event) {
    return this.queues.get(event)?.length ?? 0;
  }

  /** Connects and waits for the namespace's CONNECT reply (and the upgrade). */
  async connect() {
    const socket = this.socket;
    const done = new Promise((resolve, reject) => {
      const off = () => {
        socket.off("connect", onConnect);
        socket.off("connect_error", onError);
      };
      const onConnect = () => {
        off();
        resolve();
      };
      const onError = (err) => {
        off();
        reject(new Error(`${this.label}: connect to ${this.nsp} failed: ${err?.message}`));
      };
      socket.on("connect", onConnect);
      socket.on("connect_error", onError);
    });
    socket.connect();
    await within(EVENT_TIMEOUT_MS, done, `${this.label}: connect to ${this.nsp}`);
    await upgraded(this.manager);
    return this;
  }

  /** Connects expecting a CONNECT_ERROR, which is returned. */
  async refused() {
    this.socket.connect();
    const [err] = await this.next("connect_error");
    assert(!this.socket.connected, `${this.label}: connected after connect_error`);
    return err;
  }

  emit(event, ...rest) {
    this.socket.emit(event, ...rest);
  }

  /** Emits asking an ack; resolves with every argument of the ack. */
  ack(event, ...rest) {
    return within(
      EVENT_TIMEOUT_MS,
      new Promise((resolve) => this.socket.emit(event, ...rest, (...reply) => resolve(reply))),
      `${this.label}: ack of "${event}"`,
    );
  }

  /** Round trip: once it returns, the server has handled everything sent before. */
  async sync() {
    const reply = await this.ack("echo", "sync");
    assertSame(reply, ["sync"], `${this.label}: sync`);
  }
}

/** A peer on a fresh connection of its own, connected. */
function open(label, nsp = "/", opts = {}) {
  return new Peer(label, newManager(label), nsp, opts).connect();
}

/** Waits until a manager's engine is closed. */
function engineClosed(manager, timeoutMs = CLOSE_TIMEOUT_MS) {
  const engine = manager.engine;
  if (!engine || engine.readyState === "closed") return Promise.resolve();
  return within(
    timeoutMs,
    new Promise((resolve) => engine.once("close", () => resolve())),
    `${manager.label}: engine close`,
  );
}

/** Leaves politely: every connected socket disconnects, every engine closes. */
async function cleanup() {
  for (const peer of peers) {
    if (peer.socket.connected || peer.socket.active) peer.socket.disconnect();
  }
  for (const manager of managers) {
    manager.reconnection(false);
    await engineClosed(manager).catch((e) => {
      emit({ event: "warning", message: String(e.message) });
      manager.engine?.close();
    });
  }
}

// ---------------------------------------------------------------- data

/** Arguments of every JSON kind, nested, with non-ASCII text. */
const MIXED = [
  "hello",
  42,
  -1.5,
  0,
  3.141592653589793,
  1e-7,
  2 ** 53 - 1,
  true,
  false,
  null,
  "",
  { a: 1, b: "x", c: [1, 2, { d: null }], z: true, m: "key order kept" },
  [1, "two", [3, [4, [5]]], {}, []],
  { deeply: { nested: { object: { with: ["an array", { and: "more", n: [null, false] }] } } } },
  'unicode: héllo wörld 🌍 中文 日本語 Ελληνικά \u2028\u2029 "quoted" \\ back\nslash\ttab \u0001',
  { "emoji 😀 key": "value ✓", "": "empty key", "k\"q": "quote in key" },
  // Text cut inside a surrogate pair: JSON.stringify escapes the lone halves.
  "cut emoji \ud83d",
  { "\ude00 key": ["\udbff", "a\ud800\ud800b"] },
  [],
  {},
].filter(
  // notepack.io 2.x (under socket.io-msgpack-parser) writes a lone surrogate
  // as 4 bytes of another character: Node's server gets other text too.
  // JSON.stringify escapes exactly the lone halves.
  (arg) => args.parser !== "msgpack" || !/\\ud[89a-f][0-9a-f]{2}/.test(JSON.stringify(arg)),
);

function binaryArgs() {
  return [
    "bin",
    Buffer.from([0, 1, 2, 253, 254, 255]),
    { file: Buffer.from("héllo binary", "utf8"), meta: { name: "x.bin", parts: [Buffer.from([9]), "text", new Uint8Array([7, 8])] } },
    [Buffer.from([10, 11]), 12, { deeper: [Buffer.from([13])] }],
    7,
    null,
    prng(100 * 1024),
  ];
}

// ---------------------------------------------------------------- scenarios

const scenarios = {
  async auth() {
    const auth = { token: "abc", n: 42, nested: { list: [1, "two", null, true] }, text: "héllo 🌍" };
    const a = await open("with-auth", "/", { auth });
    assertSame(await a.next("auth"), [auth], "auth on /");
    const b = await open("no-auth", "/");
    assertSame(await b.next("auth"), [{}], "auth on / without auth");
    const customAuth = { user: "alice", roles: ["admin", "ops"] };
    const c = await open("custom-auth", "/custom", { auth: customAuth });
    assertSame(await c.next("auth"), [customAuth], "auth on /custom");
    const d = await open("custom-no-auth", "/custom");
    assertSame(await d.next("auth"), [{}], "auth on /custom without auth");
    return { checked: 4 };
  },

  async message() {
    const a = await open("a");
    a.emit("message", ...MIXED);
    assertSame(await a.next("message-back"), MIXED, "message-back of mixed args");
    a.emit("message", "just one");
    assertSame(await a.next("message-back"), ["just one"], "message-back of one arg");
    a.emit("message");
    assertSame(await a.next("message-back"), [], "message-back of no arg");
    return { args: MIXED.length };
  },

  async "message-ack"() {
    const a = await open("a");
    assertSame(await a.ack("message-with-ack", ...MIXED), MIXED, "ack of mixed args");
    assertSame(await a.ack("message-with-ack"), [], "ack of no arg");
    // The promise forms resolve with the ack's first argument.
    assertSame(await a.socket.emitWithAck("message-with-ack", { x: 1 }, 2), { x: 1 }, "emitWithAck");
    assertSame(
      await a.socket.timeout(EVENT_TIMEOUT_MS).emitWithAck("message-with-ack", "t", 1),
      "t",
      "timeout().emitWithAck",
    );
    assert(a.pending("message-back") === 0, "an ack'd message also came back as an event");
    return { args: MIXED.length };
  },

  async echo() {
    const a = await open("a");
    a.emit("echo", ...MIXED);
    assertSame(await a.next("echo"), MIXED, "echo without ack");
    assertSame(await a.ack("echo", ...MIXED), MIXED, "echo with ack");
    // An echo with an ack is answered by the ack only: the next "echo" event is
    // the marker sent after it.
    a.emit("echo", "marker");
    assertSame(await a.next("echo"), ["marker"], "echo after an ack'd echo");
    return { args: MIXED.length };
  },

  async binary() {
    const a = await open("a");
    const sent = binaryArgs();
    a.emit("message", ...sent);
    const back = await a.next("message-back");
    assertSame(back, sent, "message-back with binary");
    const kinds = binaryKinds(back);
    const want = binaryKinds(sent).length;
    assert(kinds.length === want, `expected ${want} binary leaves back, got ${kinds.length}`);
    assertSame(await a.ack("message-with-ack", ...sent), sent, "ack with binary");
    assertSame(await a.ack("echo", ...sent), sent, "echo ack with binary");
    a.emit("echo", ...sent);
    assertSame(await a.next("echo"), sent, "echo event with binary");
    // One buffer alone, an empty one, and a Uint8Array view into a larger buffer.
    const big = prng(4096, 7);
    // notepack.io 2.x (msgpack parser) writes the whole buffer under a typed
    // array, ignoring its offset and length: there, a view of its own buffer.
    const view =
      args.parser === "msgpack"
        ? new Uint8Array(big.subarray(100, 150))
        : new Uint8Array(big.buffer, big.byteOffset + 100, 50);
    const solo = [Buffer.from([42]), Buffer.alloc(0), view];
    a.emit("message", ...solo);
    assertSame(await a.next("message-back"), solo, "message-back of lone buffers");
    // Binary in an ack from the client to the server: the server passes the
    // reply to "question" on as "answer".
    const reply = [Buffer.from([1, 2, 3]), { nested: Buffer.from("ok") }, "text"];
    a.socket.once("question", (_value, cb) => cb(...reply));
    a.emit("ask", "binary please");
    assertSame(await a.next("question"), ["binary please"], "question");
    assertSame(await a.next("answer"), reply, "answer with binary ack args");
    return { receivedTypes: [...new Set(kinds)] };
  },

  async broadcast() {
    const peersHere = [await open("p0"), await open("p1"), await open("p2")];
    const first = ["first", { n: 1, list: [1, 2] }, Buffer.from([1, 2, 3]), "🌍"];
    const second = ["second"];
    peersHere[0].emit("broadcast", ...first);
    peersHere[0].emit("broadcast", ...second);
    for (const p of peersHere) {
      assertSame(await p.next("broadcast"), first, `${p.label}: first broadcast`);
      // Exactly once: the next one is the second broadcast, not a repeat.
      assertSame(await p.next("broadcast"), second, `${p.label}: second broadcast`);
    }
    return { receivers: peersHere.length };
  },

  async rooms() {
    const r1 = `r1-${tag}`;
    const r2 = `r2-${tag}`;
    const a = await open("a");
    const b = await open("b");
    const c = await open("c"); // the sender, in no room of its own choosing
    // "room" to a socket's own room is a sentinel: events for one socket come in
    // the order the server handled the sender's packets, so anything before the
    // sentinel that should not be there would have arrived already.
    a.emit("join", r1);
    await a.sync();
    c.emit("room", r1, "to-r1");
    c.emit("room", b.id, "sentinel-b1");
    assertSame(await a.next("room"), ["to-r1"], "a (in r1) gets the r1 message");
    assertSame(await b.next("room"), ["sentinel-b1"], "b (not in r1) gets no r1 message");

    // A socket in two of the target rooms gets the event once.
    a.emit("join", r2);
    await a.sync();
    b.emit("join", r2);
    await b.sync();
    c.emit("rooms", [r1, r2], { both: true });
    c.emit("room", a.id, "sentinel-a2");
    c.emit("room", b.id, "sentinel-b2");
    c.emit("room", c.id, "sentinel-c2");
    assertSame(await a.next("rooms"), [{ both: true }], "a (in r1 and r2) gets the rooms message");
    assertSame(await a.next("room"), ["sentinel-a2"], "a: sentinel");
    assert(a.pending("rooms") === 0, `a got the rooms message ${1 + a.pending("rooms")} times`);
    assertSame(await b.next("rooms"), [{ both: true }], "b (in r2) gets the rooms message");
    assertSame(await b.next("room"), ["sentinel-b2"], "b: sentinel");
    assert(b.pending("rooms") === 0, `b got the rooms message ${1 + b.pending("rooms")} times`);
    assertSame(await c.next("room"), ["sentinel-c2"], "c: sentinel");
    assert(c.pending("rooms") === 0, "c (in neither room) got the rooms message");

    // After leaving r1, a gets no more r1 messages, but still r2 ones.
    a.emit("leave", r1);
    await a.sync();
    c.emit("room", r1, "to-r1-after-leave");
    c.emit("room", r2, "to-r2");
    assertSame(await a.next("room"), ["to-r2"], "a (left r1) gets the r2 message, not the r1 one");
    assertSame(await b.next("room"), ["to-r2"], "b gets the r2 message");
    assert(c.pending("room") === 0, "c got a room message it is not in");
    return { rooms: [r1, r2] };
  },

  async ask() {
    const a = await open("a");
    let answer = true;
    let late = null;
    a.socket.on("question", (value, cb) => {
      if (answer) cb("reply to", value, { n: 42 });
      else late = cb;
    });
    a.emit("ask", { q: "life" });
    assertSame(await a.next("question"), [{ q: "life" }], "question value");
    assertSame(await a.next("answer"), ["reply to", { q: "life" }, { n: 42 }], "answer");

    answer = false;
    const started = Date.now();
    a.emit("ask", "ignored");
    assertSame(await a.next("question"), ["ignored"], "question value (unanswered)");
    await a.next("answer-timeout", QUESTION_TIMEOUT_MS + EVENT_TIMEOUT_MS);
    const waited = Date.now() - started;
    // Loose lower bound: the server waited for its 1000 ms timeout.
    assert(waited >= QUESTION_TIMEOUT_MS * 0.8, `answer-timeout after only ${waited} ms`);
    // A late answer to a timed-out ack is ignored by the server.
    assert(late, "no ack callback kept");
    late("too late");
    await a.sync();
    assert(a.pending("answer") === 0, "a late ack produced an answer");
    return { timeoutAfterMs: waited };
  },

  async "disconnect-me"() {
    const a = await open("a");
    a.emit("disconnect-me");
    const [reason] = await a.next("disconnect");
    assert(reason === "io server disconnect", `disconnect reason ${reason}`);
    assert(!a.socket.connected && !a.socket.active, "socket still connected or active");
    // The manager closes its connection once no socket is active.
    await engineClosed(a.manager);
    // No reconnection (the delay is 100-200 ms here, so one would show quickly).
    await sleep(1000);
    assert(a.connects === 1, `reconnected ${a.connects - 1} times`);
    assert(a.manager.reconnectAttempts === 0, `${a.manager.reconnectAttempts} reconnect attempts`);
    return { reason };
  },

  async private() {
    const checks = [
      ["bad-token", { auth: { token: "wrong" } }],
      ["no-token", {}],
    ];
    for (const [label, opts] of checks) {
      const p = new Peer(label, newManager(label), "/private", opts);
      const err = await p.refused();
      assert(err.message === "unauthorized", `${label}: connect_error message ${err.message}`);
      assertSame(err.data, { reason: "bad token" }, `${label}: connect_error data`);
      assert(!p.socket.active, `${label}: socket still active after connect_error`);
    }
    const good = await open("good-token", "/private", { auth: { token: "secret" } });
    assertSame(await good.next("welcome"), [], "welcome");
    return { refused: checks.length };
  },

  async dynamic() {
    const manager = newManager("m");
    const d42 = await new Peer("dyn-42", manager, "/dyn-42").connect();
    assertSame(await d42.next("nsp"), ["/dyn-42"], "nsp of /dyn-42");
    const d7 = await new Peer("dyn-7", manager, "/dyn-7").connect();
    assertSame(await d7.next("nsp"), ["/dyn-7"], "nsp of /dyn-7");
    // A second connection to an existing child.
    const again = await open("dyn-42-again", "/dyn-42");
    assertSame(await again.next("nsp"), ["/dyn-42"], "nsp of /dyn-42 again");
    // Not matching the pattern.
    const err = await new Peer("dyn-x", newManager("dyn-x"), "/dyn-x").refused();
    assert(err.message === "Invalid namespace", `/dyn-x: connect_error message ${err.message}`);
    return {};
  },

  async "invalid-namespace"() {
    const manager = newManager("m");
    const nope = new Peer("nope", manager, "/nope");
    const err = await nope.refused();
    assert(err.message === "Invalid namespace", `connect_error message ${err.message}`);
    assert(err.data === undefined || err.data === null, `connect_error data ${JSON.stringify(err.data)}`);
    // The connection is still usable for other namespaces.
    const main = await new Peer("main", manager, "/").connect();
    await main.next("auth");
    await main.sync();
    return {};
  },

  async multiplex() {
    const manager = newManager("m");
    const main = new Peer("main", manager, "/", { auth: { who: "main" } });
    const custom = new Peer("custom", manager, "/custom", { auth: { who: "custom" } });
    const priv = new Peer("private", manager, "/private", { auth: { token: "secret" } });
    const dyn = new Peer("dyn", manager, "/dyn-99");
    const nope = new Peer("nope", manager, "/nope");
    // All at once, over one connection.
    const [, , , , err] = await Promise.all([
      main.connect(),
      custom.connect(),
      priv.connect(),
      dyn.connect(),
      nope.refused(),
    ]);
    assert(err.message === "Invalid namespace", `/nope: ${err.message}`);
    assertSame(await main.next("auth"), [{ who: "main" }], "auth on /");
    assertSame(await custom.next("auth"), [{ who: "custom" }], "auth on /custom");
    assertSame(await priv.next("welcome"), [], "welcome on /private");
    assertSame(await dyn.next("nsp"), ["/dyn-99"], "nsp on /dyn-99");
    assert(manager.opens === 1, `${manager.opens} Engine.IO connections opened`);
    const ids = new Set([main, custom, priv, dyn].map((p) => p.id));
    assert(ids.size === 4, "socket ids are not distinct per namespace");
    // Events and acks of "/" interleaved with traffic to the other namespaces.
    const acks = [];
    for (let i = 0; i < 20; i++) {
      acks.push(main.ack("echo", i, "main"));
      custom.emit("message", i); // /custom has no "message" handler: ignored
      priv.emit("echo", i); // nor has /private
    }
    const replies = await Promise.all(acks);
    replies.forEach((r, i) => assertSame(r, [i, "main"], `ack ${i} on /`));
    main.emit("message", "only on /");
    assertSame(await main.next("message-back"), ["only on /"], "message-back on /");
    await main.sync();
    for (const p of [custom, priv, dyn]) {
      assert(p.pending("message-back") === 0 && p.pending("echo") === 0, `${p.label} got an event of /`);
      assert(p.socket.connected, `${p.label} disconnected`);
    }
    return { sid: manager.engine?.id, namespaces: 4 };
  },

  async "client-disconnect"() {
    const manager = newManager("m");
    const main = await new Peer("main", manager, "/").connect();
    const custom = await new Peer("custom", manager, "/custom").connect();
    await custom.next("auth");
    custom.socket.disconnect();
    const [reason] = await custom.next("disconnect");
    assert(reason === "io client disconnect", `client-side reason ${reason}`);
    // The other namespace and the connection go on.
    await main.sync();
    assert(manager.engine.readyState === "open", `engine ${manager.engine.readyState}`);
    main.socket.disconnect();
    assert((await main.next("disconnect"))[0] === "io client disconnect", "main: client-side reason");
    // The last socket gone, the manager closes the connection.
    await engineClosed(manager);
    return { custom: custom.id, main: main.id };
  },

  async order() {
    // `count` emits with acks, each followed by a plain "message", sent in
    // bursts of `window` (the next burst once the last one is acknowledged).
    // Every ack must come, in order, and every "message-back" in order.
    const a = await open("a");
    const started = Date.now();
    const acked = [];
    for (let start = 0; start < count; start += windowSize) {
      const end = Math.min(count, start + windowSize);
      let resolveBurst;
      const burst = new Promise((r) => (resolveBurst = r));
      for (let i = start; i < end; i++) {
        a.socket.emit("message-with-ack", i, (...reply) => {
          acked.push(reply);
          if (acked.length === end) resolveBurst();
        });
        a.emit("message", i);
      }
      await within(overall, burst, `acks ${start}..${end}`).catch((e) => {
        throw new Error(`${e.message}; got ${acked.length} acks`);
      });
    }
    for (let i = 0; i < count; i++) {
      assertSame(acked[i], [i], `ack #${i}`);
    }
    for (let i = 0; i < count; i++) {
      assertSame(await a.next("message-back"), [i], `message-back #${i}`);
    }
    return { count, window: windowSize, elapsedMs: Date.now() - started };
  },

  async "during-upgrade"() {
    // Emits with acks and plain messages flow from the moment the socket starts
    // connecting (the client buffers them until the CONNECT reply), one pair per
    // millisecond, through the upgrade (in upgrade mode) and 200 more after it.
    // None may be lost, duplicated or reordered, either way.
    const manager = newManager("m");
    const a = new Peer("a", manager, "/");
    const acked = [];
    let sent = 0;
    let beforeUpgrade = null;
    let allAcked = null;
    a.socket.connect();
    manager.once("open", () => {
      manager.engine.once("upgrade", () => (beforeUpgrade = sent));
    });
    const upgrading = args.mode === "upgrade";
    const deadline = Date.now() + UPGRADE_TIMEOUT_MS;
    while (upgrading ? beforeUpgrade === null || sent < beforeUpgrade + 200 : sent < 300) {
      assert(Date.now() < deadline, `no upgrade after ${sent} emits`);
      const i = sent++;
      a.socket.emit("message-with-ack", i, (...reply) => {
        acked.push(reply);
        if (acked.length === sent) allAcked?.();
      });
      a.emit("message", i);
      await sleep(1);
    }
    if (acked.length < sent) {
      await within(
        EVENT_TIMEOUT_MS,
        new Promise((resolve) => (allAcked = resolve)),
        `${sent} acks (got ${acked.length})`,
      );
    }
    for (let i = 0; i < sent; i++) assertSame(acked[i], [i], `ack #${i}`);
    for (let i = 0; i < sent; i++) assertSame(await a.next("message-back"), [i], `message-back #${i}`);
    assert(a.connects === 1, `connected ${a.connects} times`);
    if (upgrading) await upgraded(manager);
    return { sent, beforeUpgrade };
  },
};

async function main() {
  const details = await scenarios[args.scenario]();
  // The transports of the connections that joined a namespace (a refused one
  // may close before it upgrades).
  const transports = [
    ...new Set(
      peers
        .filter((p) => p.connects > 0)
        .map((p) => p.manager.engine?.transport?.name)
        .filter(Boolean),
    ),
  ];
  await cleanup();
  clearInterval(keepAlive);
  finish(true, { ...common, transports, ...details });
}

main().catch((e) => fail(e));
