#!/usr/bin/env node
// Drives the official socket.io-client 4.8 through connection state recovery
// against a conformance server started with RECOVERY=1 (ferrio's `conformance`
// example, or a Node server implementing the same contract; issue 15).
//
//   node interop/socketio/recovery-client.mjs --url http://127.0.0.1:P \
//        [--back-url http://127.0.0.1:Q] [--mode websocket|polling|upgrade] [--gate]
//
// With --gate, A comes back only once a line arrives on stdin after the
// `missed-sent` step: a cluster keeps the session in Redis some time after the
// transport closed (Node and ferrio alike), and the caller waits for the key.
//
// Client A joins room r1 and learns an offset; its transport is closed
// (`socket.io.engine.close()`); client B then sends events to r1, to A's own
// room, to everyone, to [r1, r2], and to r2 (which A is not in). A comes back
// (to --back-url when given: another node of the cluster) and must have
// `recovered === true`, the same id, its rooms (`state` event), and every missed
// event once, in order, before its `connect` event; none for r2. Then one live
// event, also once.
//
// Output: one JSON object per line on stdout: {"event":"step","name":...} per
// check passed, and always last {"event":"result","ok":true|false,...}. Exit
// code 0 on success.

import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    "back-url": { type: "string" },
    mode: { type: "string", default: "websocket" },
    gate: { type: "boolean", default: false },
  },
});
if (!values.url) {
  console.error("usage: recovery-client.mjs --url URL [--back-url URL] [--mode websocket|polling|upgrade]");
  process.exit(2);
}
const TIMEOUT_MS = 5000;
const transports = {
  websocket: ["websocket"],
  polling: ["polling"],
  upgrade: ["polling", "websocket"],
}[values.mode];
if (!transports) {
  console.error(`unknown mode ${values.mode}`);
  process.exit(2);
}

function emitLine(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

let finished = false;
function finish(ok, details) {
  if (finished) return;
  finished = true;
  emitLine({ event: "result", ok, ...details });
  setTimeout(() => process.exit(ok ? 0 : 1), 100).unref();
  process.exitCode = ok ? 0 : 1;
}

function same(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function within(promise, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), TIMEOUT_MS)),
  ]);
}

function connected(socket, name) {
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", (e) => reject(new Error(`${name}: ${e.message}`)));
    }),
    `${name} connects`,
  );
}

// The next line on stdin.
function nextLine() {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk) => {
      text += chunk;
      if (text.includes("\n")) {
        process.stdin.off("data", onData);
        process.stdin.pause();
        resolve(text);
      }
    };
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", onData);
  });
}

const ask = (socket, event, ...args) => socket.timeout(TIMEOUT_MS).emitWithAck(event, ...args);
const step = (name) => emitLine({ event: "step", name });

async function run() {
  // Reconnection is manual: A comes back once B's events are surely handled.
  const a = io(values.url, { transports, forceNew: true, reconnection: false });
  const b = io(values.url, { transports: ["websocket"], forceNew: true, reconnection: false });
  await Promise.all([connected(a, "a"), connected(b, "b")]);
  if (values.mode === "upgrade" && a.io.engine.transport.name !== "websocket") {
    await within(new Promise((resolve) => a.io.engine.once("upgrade", resolve)), "a upgrades");
  }
  const id = a.id;
  same(a.recovered, false, "a first connects fresh");

  // What A receives, in order; and when its `connect` event fires.
  const got = [];
  for (const name of ["room", "rooms", "broadcast"]) {
    a.on(name, (payload) => got.push({ name, n: payload?.n }));
  }
  a.on("connect", () => got.push({ name: "connect", recovered: a.recovered }));

  a.emit("join", "r1");
  same(await ask(a, "state"), { id, recovered: false, rooms: [id, "r1"].sort() }, "state before");
  // An event with an offset: A must have seen one to recover (socket.io #4888).
  a.emit("echo", "offset");
  await within(new Promise((resolve) => a.once("echo", resolve)), "a gets an offset");
  step("connected");

  const gone = within(new Promise((resolve) => a.once("disconnect", resolve)), "a disconnects");
  a.io.engine.close();
  await gone;
  step("transport-closed");

  b.emit("room", "r1", { n: 1 });
  b.emit("room", "r2", { n: "not in r2" });
  b.emit("room", id, { n: 2 });
  b.emit("broadcast", { n: 3 });
  b.emit("rooms", ["r1", "r2"], { n: 4 });
  b.emit("room", "r1", { n: 5 });
  // Handled in order: once this answers, every event above was sent.
  await ask(b, "echo", "sync");
  step("missed-sent");
  if (values.gate) await within(nextLine(), "the gate opens");

  // The manager opens each new Engine.IO connection to its `uri`.
  if (values["back-url"]) a.io.uri = values["back-url"];
  a.connect();
  await within(new Promise((resolve) => a.once("connect", resolve)), "a reconnects");
  same(a.id, id, "same id");
  same(a.recovered, true, "recovered");
  same(
    got,
    [
      { name: "room", n: 1 },
      { name: "room", n: 2 },
      { name: "broadcast", n: 3 },
      { name: "rooms", n: 4 },
      { name: "room", n: 5 },
      { name: "connect", recovered: true },
    ],
    "missed events, once, in order, before connect",
  );
  step("recovered");

  same(await ask(a, "state"), { id, recovered: true, rooms: [id, "r1"].sort() }, "state after");
  step("state");

  got.length = 0;
  b.emit("room", "r1", { n: 6 });
  await ask(b, "echo", "sync");
  await ask(a, "echo", "sync");
  if (values["back-url"]) {
    // A is on another node than B: the event crosses the cluster, which
    // B's answer does not wait for. Wait for it, then a little for a copy.
    await within(
      new Promise((resolve) => {
        const check = () => (got.length > 0 ? resolve() : setTimeout(check, 10));
        check();
      }),
      "the live event crosses the cluster",
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  same(got, [{ name: "room", n: 6 }], "live again, once");
  step("live");

  a.disconnect();
  b.disconnect();
  finish(true, { mode: values.mode });
}

run().catch((e) => finish(false, { error: String(e?.stack ?? e) }));
