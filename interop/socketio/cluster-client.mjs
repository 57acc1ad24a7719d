#!/usr/bin/env node
// Drives the official socket.io-client through the cluster contract of the
// conformance server (issue 14 item 5; crates/server/examples/conformance/handlers.rs,
// `on_cluster_events`). Client A connects to the first URL, client B to the last:
// give one URL for a single node, two for a cluster.
//
//   node interop/socketio/cluster-client.mjs --urls http://127.0.0.1:P1[,http://127.0.0.1:P2] \
//        [--servers N] [--transport websocket|polling]
//
// --servers is the number of servers the cluster has (1 by default): what
// `server-count` must answer, and how many answers `server-side` must get
// (every other server answers `hello` with its argument).
//
// Output: one JSON object per line on stdout: {"event":"step","name":...} per row
// checked, and always last {"event":"result","ok":true|false,...}. Exit code 0 on success.

import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values } = parseArgs({
  options: {
    urls: { type: "string" },
    servers: { type: "string", default: "1" },
    transport: { type: "string", default: "websocket" },
  },
});
const urls = (values.urls ?? "").split(",").filter(Boolean);
if (urls.length === 0) {
  console.error("usage: cluster-client.mjs --urls URL[,URL]");
  process.exit(2);
}
const servers = Number(values.servers);
const TIMEOUT_MS = 5000;

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

function connect(url, name) {
  const socket = io(url, { transports: [values.transport], forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no connect`)), TIMEOUT_MS);
    socket.on("connect", () => {
      clearTimeout(timer);
      emitLine({ event: "socket", peer: name, id: socket.id });
      resolve(socket);
    });
    socket.on("connect_error", (e) => reject(new Error(`${name}: ${e.message}`)));
  });
}

function next(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), TIMEOUT_MS);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

const ask = (socket, event, ...args) => socket.timeout(TIMEOUT_MS).emitWithAck(event, ...args);

// socketsJoin/socketsLeave are not acknowledged by the other nodes, and a
// cluster does not order them with a later fetchSockets: the streams
// adapter appends SOCKETS_JOIN to the stream but sends FETCH_SOCKETS over
// pub/sub, so a node may answer the fetch before it has read the join (Node
// with Node too). What is checked is that the rooms change, within 2 s.
async function eventually(socket, room, expected, what) {
  const deadline = Date.now() + 2000;
  for (;;) {
    const got = await ask(socket, "fetch-sockets", room);
    if (JSON.stringify(got) === JSON.stringify(expected) || Date.now() > deadline) {
      return same(got, expected, what);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function run() {
  const a = await connect(urls[0], "a");
  const b = await connect(urls[urls.length - 1], "b");
  const step = (name) => emitLine({ event: "step", name });

  same(await ask(a, "server-count"), servers, "server-count");
  step("server-count");

  const both = [a.id, b.id].sort();
  same(await ask(a, "fetch-sockets", null), both, "fetch-sockets null");
  b.emit("join", "r");
  await ask(b, "echo", "sync");
  same(await ask(a, "fetch-sockets", "r"), [b.id], "fetch-sockets r");
  step("fetch-sockets");

  same(await ask(a, "sockets-join", "r", "s"), null, "sockets-join ack");
  await eventually(a, "s", [b.id], "after sockets-join");
  step("sockets-join");

  same(await ask(a, "sockets-leave", "r", "s"), null, "sockets-leave ack");
  await eventually(a, "s", [], "after sockets-leave");
  step("sockets-leave");

  // local: this node's sockets only (both, on one node; A only, on two).
  const gotA = next(a, "broadcast");
  const gotB = urls.length === 1 ? next(b, "broadcast") : null;
  a.emit("local-broadcast", { n: 1, bin: Buffer.from([1, 2]) });
  const [payloadA] = await gotA;
  same(payloadA.n, 1, "local-broadcast payload");
  same([...new Uint8Array(payloadA.bin)], [1, 2], "local-broadcast binary");
  if (gotB) await gotB;
  step("local-broadcast");

  a.on("question", (value, cb) => cb({ from: "a", value }, "ignored"));
  b.on("question", (value, cb) => cb({ from: "b", value }));
  same(
    await ask(a, "ask-all", 7),
    {
      timedOut: false,
      responses: [
        { from: "a", value: 7 },
        { from: "b", value: 7 },
      ],
    },
    "ask-all",
  );
  b.off("question");
  b.on("question", () => {}); // b stays silent
  same(
    await ask(a, "ask-all", "x"),
    { timedOut: true, responses: [{ from: "a", value: "x" }] },
    "ask-all with a silent client",
  );
  step("ask-all");

  const hello = { nested: [1, { two: "2" }] };
  same(await ask(a, "server-side", hello), Array(servers - 1).fill(hello), "server-side");
  step("server-side");

  const bGone = next(b, "disconnect");
  same(await ask(a, "disconnect-room", "r"), null, "disconnect-room ack");
  same(await bGone, ["io server disconnect", undefined], "disconnect reason");
  same(a.connected, true, "a stays");
  step("disconnect-room");

  a.disconnect();
  finish(true, {});
}

run().catch((e) => finish(false, { error: String(e?.stack ?? e) }));
