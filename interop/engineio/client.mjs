#!/usr/bin/env node
// Drives the official engine.io-client against an Engine.IO *echo* server.
//
//   node interop/engineio/client.mjs --url http://127.0.0.1:PORT \
//        --mode websocket|polling|upgrade --scenario NAME \
//        [--path /engine.io/] [--duration MS]
//
// The server under test must echo every message back as it came (text as text,
// binary as binary), except the text message "close-me", on which it closes the
// session. interop/engineio/echo-server.mjs is such a server (the reference peer).
//
// Output: one JSON object per line on stdout for every notable event, e.g.
//   {"event":"open","transport":"polling","sid":"..."}
//   {"event":"handshake","sid":"...","upgrades":["websocket"],"pingInterval":300,...}
//   {"event":"upgrade","transport":"websocket"}
//   {"event":"ping"}
//   {"event":"close","reason":"transport close","description":{...}}
// and, always last, {"event":"result","ok":true|false,...}.
// Exit code 0 on success, 1 on any failed expectation, 2 on bad usage.
// Set DEBUG=engine.io-client:* to get the client's own trace on stderr.

import { parseArgs } from "node:util";
import { Socket } from "engine.io-client";

const SCENARIOS = [
  "echo-text",
  "echo-binary",
  "order",
  "heartbeat",
  "client-close",
  "server-close",
  "initial-packet",
];
const MODES = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"] },
};
const UPGRADE_TIMEOUT_MS = 5000;
const ECHO_TIMEOUT_MS = 5000;
const SERVER_CLOSE_TIMEOUT_MS = 3000;
const OVERALL_TIMEOUT_MS = 15000;

// ---------------------------------------------------------------- output

/** JSON-safe copy of anything (Errors, CloseEvents, circular objects, buffers). */
function safe(value, depth = 0, seen = new WeakSet()) {
  if (value === null || value === undefined) return value ?? null;
  const t = typeof value;
  if (t === "string" || t === "boolean") return value;
  if (t === "number") return Number.isFinite(value) ? value : String(value);
  if (t === "bigint") return value.toString();
  if (t === "function" || t === "symbol") return undefined;
  if (seen.has(value)) return "[Circular]";
  if (depth > 4) return `[${value.constructor?.name ?? "Object"}]`;
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
    // Errors and DOM-like events (ws' CloseEvent/ErrorEvent) keep their
    // interesting fields in getters or non-enumerable properties.
    for (const k of ["name", "message", "type", "code", "reason", "wasClean", "description", "status"]) {
      try {
        if (value[k] !== undefined && typeof value[k] !== "function") out[k] = safe(value[k], depth + 1, seen);
      } catch {
        /* getter threw: ignore */
      }
    }
  }
  for (const k of Object.keys(value)) {
    if (k in out || k === "target" || k === "currentTarget" || k === "srcElement") continue;
    if (k.startsWith("_") || /^[A-Z_]+$/.test(k)) continue; // private fields, XHR constants
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
  // Give the transport a moment to flush a close frame / close POST, then exit.
  setTimeout(() => process.exit(ok ? 0 : 1), 150).unref();
  // If the event loop empties first, exit anyway with the right code.
  process.exitCode = ok ? 0 : 1;
}

function fail(error, extra = {}) {
  finish(false, { ...common, error: String(error?.message ?? error), ...extra });
}

// ---------------------------------------------------------------- args

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      url: { type: "string" },
      mode: { type: "string", default: "websocket" },
      scenario: { type: "string" },
      path: { type: "string", default: "/engine.io/" },
      duration: { type: "string", default: "2000" },
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
      `--scenario ${SCENARIOS.join("|")} [--path /engine.io/] [--duration MS]\n`,
  );
  process.exit(msg ? 2 : 0);
}
if (args.help) usage();
if (!args.url) usage("--url is required");
if (!MODES[args.mode]) usage(`unknown --mode ${args.mode}`);
if (!SCENARIOS.includes(args.scenario)) usage(`unknown --scenario ${args.scenario}`);
const duration = Number(args.duration);
if (!Number.isFinite(duration) || duration < 0) usage(`bad --duration ${args.duration}`);

const common = { scenario: args.scenario, mode: args.mode };

// A long heartbeat run gets a longer overall budget; everything else has 15 s.
const overall = Math.max(OVERALL_TIMEOUT_MS, duration + 10000);
setTimeout(() => fail(`overall timeout after ${overall} ms`), overall).unref?.();
// Keep the process alive while the timer above is pending.
const keepAlive = setInterval(() => {}, 1 << 30);

process.on("uncaughtException", (e) => fail(`uncaught exception: ${e?.stack ?? e}`));
process.on("unhandledRejection", (e) => fail(`unhandled rejection: ${e?.stack ?? e}`));

// ---------------------------------------------------------------- socket

const socket = new Socket(args.url, { path: args.path, ...MODES[args.mode] });

/** Incoming messages, consumed in order by `next()`. */
const inbox = [];
let waiter = null; // { resolve, reject, timer }
let closeInfo = null; // { reason, description } once closed
let closeWaiters = [];
let pings = 0;

function wake() {
  if (!waiter) return;
  const w = waiter;
  if (inbox.length) {
    waiter = null;
    clearTimeout(w.timer);
    w.resolve(inbox.shift());
  } else if (closeInfo) {
    waiter = null;
    clearTimeout(w.timer);
    w.reject(new Error(`socket closed while waiting for a message (reason: ${closeInfo.reason})`));
  }
}

/** Next message from the server; rejects on timeout or if the socket closes. */
function next(what, timeoutMs = ECHO_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    if (waiter) throw new Error("concurrent next()");
    const timer = setTimeout(() => {
      waiter = null;
      reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    waiter = { resolve, reject, timer };
    wake();
  });
}

function waitClose(timeoutMs) {
  return new Promise((resolve, reject) => {
    if (closeInfo) return resolve(closeInfo);
    const timer = setTimeout(() => reject(new Error(`no close event within ${timeoutMs} ms`)), timeoutMs);
    closeWaiters.push((info) => {
      clearTimeout(timer);
      resolve(info);
    });
  });
}

const opened = new Promise((resolve, reject) => {
  socket.on("open", () => {
    emit({ event: "open", transport: socket.transport?.name, sid: socket.id });
    resolve();
  });
  socket.on("close", (reason) => {
    if (!closeInfo) reject(new Error(`closed before open (reason: ${reason})`));
  });
});

socket.on("handshake", (data) => emit({ event: "handshake", ...data }));
socket.on("upgrading", (t) => emit({ event: "upgrading", transport: t?.name }));
socket.on("upgrade", (t) => emit({ event: "upgrade", transport: t?.name }));
socket.on("upgradeError", (e) => emit({ event: "upgradeError", error: e }));
socket.on("error", (e) => emit({ event: "error", error: e }));
socket.on("ping", () => {
  pings++;
  emit({ event: "ping" });
});
socket.on("message", (data) => {
  inbox.push(data);
  wake();
});
socket.on("close", (reason, description) => {
  closeInfo = { reason, description };
  emit({ event: "close", reason, description });
  wake();
  for (const w of closeWaiters) w(closeInfo);
  closeWaiters = [];
});

// ---------------------------------------------------------------- helpers

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function isBinary(x) {
  return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
}

function bytesOf(x) {
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new Error(`not binary: ${typeof x}`);
}

function typeName(x) {
  if (typeof x === "string") return "string";
  if (Buffer.isBuffer(x)) return "Buffer";
  return x?.constructor?.name ?? typeof x;
}

function describe(x) {
  if (typeof x === "string") {
    return x.length > 40 ? `string(${x.length}) ${JSON.stringify(x.slice(0, 40))}...` : JSON.stringify(x);
  }
  if (isBinary(x)) return `${typeName(x)}(${x.byteLength})`;
  return `${typeName(x)} ${String(x)}`;
}

async function expectText(expected, label) {
  const got = await next(`echo of ${label}`);
  assert(typeof got === "string", `${label}: expected text echo, got ${describe(got)}`);
  if (got !== expected) {
    let i = 0;
    while (i < got.length && got[i] === expected[i]) i++;
    throw new Error(
      `${label}: echo differs (expected length ${expected.length}, got ${got.length}, first difference at ${i}: ` +
        `${JSON.stringify(got.slice(i, i + 20))})`,
    );
  }
}

async function expectBinary(expected, label) {
  const got = await next(`echo of ${label}`);
  assert(isBinary(got), `${label}: expected binary echo, got ${describe(got)}`);
  const a = bytesOf(got);
  const b = bytesOf(expected);
  assert(a.length === b.length, `${label}: expected ${b.length} bytes, got ${a.length}`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new Error(`${label}: byte ${i} differs (expected ${b[i]}, got ${a[i]})`);
  }
  return typeName(got);
}

/** Deterministic pseudo-random bytes (xorshift32). */
function prng(n, seed = 0x9e3779b9) {
  const out = new Uint8Array(n);
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

/** A ~100 KB printable ASCII string (no \x1e, which separates polling payloads). */
function bigString(n) {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_+=/{}[]\"'\\";
  const r = prng(n, 12345);
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[r[i] % alphabet.length];
  return s;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- scenarios

const scenarios = {
  async "echo-text"() {
    const messages = [
      ["hello", "hello"],
      ["héllo 🌍", "héllo 🌍"],
      [bigString(100 * 1024), "100 KB string"],
    ];
    for (const [m, label] of messages) {
      socket.send(m);
      await expectText(m, label);
    }
    return { checked: messages.length };
  },

  async "echo-binary"() {
    const small = new Uint8Array([1, 2, 3, 4]);
    const big = prng(64 * 1024);
    socket.send(small);
    const t1 = await expectBinary(small, "Uint8Array [1,2,3,4]");
    socket.send(big);
    const t2 = await expectBinary(big, "64 KB binary");
    return { checked: 2, receivedTypes: [t1, t2], binaryType: socket.binaryType };
  },

  async order() {
    const n = 1000;
    for (let i = 0; i < n; i++) socket.send(`m${i}`);
    for (let i = 0; i < n; i++) {
      const got = await next(`echo of m${i}`);
      assert(got === `m${i}`, `order: expected m${i} at position ${i}, got ${describe(got)}`);
    }
    return { checked: n };
  },

  async heartbeat() {
    const before = pings;
    const deadline = Date.now() + duration;
    while (Date.now() < deadline) {
      if (closeInfo) throw new Error(`socket closed during heartbeat (reason: ${closeInfo.reason})`);
      await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
    }
    if (closeInfo) throw new Error(`socket closed during heartbeat (reason: ${closeInfo.reason})`);
    const seen = pings - before;
    assert(seen >= 3, `heartbeat: expected at least 3 pings in ${duration} ms, saw ${seen}`);
    socket.send("still-here");
    await expectText("still-here", "still-here");
    return { pings: seen, durationMs: duration };
  },

  async "client-close"() {
    socket.send("bye-soon");
    await expectText("bye-soon", "bye-soon");
    socket.close();
    const info = await waitClose(SERVER_CLOSE_TIMEOUT_MS);
    return { reason: info.reason, description: info.description };
  },

  // The server's `initialPacket` is "welcome": the first message, before any
  // echo.
  async "initial-packet"() {
    const first = await next("the initial packet");
    assert(first === "welcome", `initial-packet: expected "welcome" first, got ${describe(first)}`);
    socket.send("after");
    await expectText("after", "after");
    return { first };
  },

  async "server-close"() {
    socket.send("close-me");
    const info = await waitClose(SERVER_CLOSE_TIMEOUT_MS);
    return { reason: info.reason, description: info.description };
  },
};

async function main() {
  await opened;
  if (args.mode === "upgrade") {
    if (socket.transport?.name !== "websocket") {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no upgrade to websocket within ${UPGRADE_TIMEOUT_MS} ms`)),
          UPGRADE_TIMEOUT_MS,
        );
        socket.once("upgrade", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once("close", (reason) => {
          clearTimeout(timer);
          reject(new Error(`closed before upgrade (reason: ${reason})`));
        });
      });
    }
    assert(socket.transport?.name === "websocket", `after upgrade transport is ${socket.transport?.name}`);
  }
  const details = await scenarios[args.scenario]();
  const transport = socket.transport?.name ?? null;
  // Leave politely so the server under test sees a clean close. With polling the
  // close event can come a little later (pending writes are drained first).
  if (!closeInfo) {
    socket.close();
    await waitClose(1000).catch(() => {});
  }
  clearInterval(keepAlive);
  finish(true, { ...common, transport, ...details });
}

main().catch((e) => fail(e));
