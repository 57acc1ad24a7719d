#!/usr/bin/env node
// Drives the official socket.io-client 2.5.0 (Socket.IO v2 over Engine.IO v3,
// npm alias socket.io-client-v2) against a server with the conformance
// handlers (crates/server/examples/conformance/handlers.rs) and allowEIO3.
//
//   node interop/socketio/client-v2.mjs --url http://127.0.0.1:PORT \
//        --mode websocket|polling|upgrade [--scenario NAME|all]
//
// Under Node this client polls without binary support (xmlhttprequest-ssl
// has no responseType): it sends b64=1 and takes binary messages as base64
// text payloads; engineio/v3-payloads.mjs checks binary payloads.
// Scenario "refused" expects the server to refuse v3 clients (allowEIO3
// off): the client gets a connect_error.
//
// Output: one JSON object per line on stdout, {"event":"pass","scenario":...}
// per scenario, and, always last, {"event":"result","ok":true|false,...}.
// Exit code 0 on success, 1 on any failed expectation.

import { parseArgs } from "node:util";
import { isDeepStrictEqual } from "node:util";
import io from "socket.io-client-v2";

const SCENARIOS = [
  "connect",
  "message",
  "message-ack",
  "ask",
  "binary",
  "namespace-query",
  "private",
  "invalid-namespace",
  "dynamic",
  "disconnect-me",
  "client-disconnect",
  "heartbeat",
];
const MODES = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"] },
};
const TIMEOUT_MS = 5000;

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    mode: { type: "string", default: "websocket" },
    scenario: { type: "string", default: "all" },
  },
});

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function open(nsp = "/", extra = {}) {
  const socket = io(args.url + nsp, {
    forceNew: true,
    reconnection: false,
    ...MODES[args.mode],
    ...extra,
  });
  sockets.push(socket);
  return socket;
}

const sockets = [];

/// Resolves with the args of the next `event` on `emitter`.
function next(emitter, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${event} within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    emitter.once(event, (...received) => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

function expectEqual(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(
      `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
}

/// A socket of "/" once connected, and on the transport of the mode.
async function connected(nsp = "/", extra = {}) {
  const socket = open(nsp, extra);
  await next(socket, "connect");
  if (args.mode === "upgrade") {
    const engine = socket.io.engine;
    if (engine.transport.name !== "websocket") {
      await next(engine, "upgrade");
    }
    expectEqual(engine.transport.name, "websocket", "transport after upgrade");
  }
  return socket;
}

function ack(socket, ...emitted) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no ack")), TIMEOUT_MS);
    socket.emit(...emitted, (...received) => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

const scenarios = {
  async connect() {
    const socket = open();
    const auth = next(socket, "auth");
    await next(socket, "connect");
    // The main namespace's socket has the Engine.IO session's id, as in Node.
    expectEqual(socket.id, socket.io.engine.id, "socket id");
    expectEqual(await auth, [{}], "auth of a v2 client");
    const [state] = await ack(socket, "state");
    expectEqual(state.id, socket.id, "the server's id for the socket");
  },
  async message() {
    const socket = await connected();
    const back = next(socket, "message-back");
    socket.emit("message", 1, "two", { three: [3] }, null);
    expectEqual(await back, [1, "two", { three: [3] }, null], "message-back");
  },
  async "message-ack"() {
    const socket = await connected();
    expectEqual(await ack(socket, "message-with-ack", "é😀", 2), ["é😀", 2], "ack");
  },
  async ask() {
    const socket = await connected();
    socket.on("question", (value, cb) => cb(value, "answered"));
    const answer = next(socket, "answer");
    socket.emit("ask", { q: 42 });
    expectEqual(await answer, [{ q: 42 }, "answered"], "answer");
  },
  async binary() {
    const socket = await connected();
    const bytes = Buffer.from([0, 1, 2, 255]);
    const back = next(socket, "message-back");
    socket.emit("message", bytes, { nested: [Buffer.from([7])] }, "text");
    const [a, b, c] = await back;
    expectEqual(Buffer.from(a), bytes, "first attachment");
    expectEqual(Buffer.from(b.nested[0]), Buffer.from([7]), "nested attachment");
    expectEqual(c, "text", "text argument");
    const [acked] = await ack(socket, "message-with-ack", Buffer.from([9, 9]));
    expectEqual(Buffer.from(acked), Buffer.from([9, 9]), "binary ack");
  },
  async "namespace-query"() {
    const socket = open("/custom", { query: { token: "abc", n: "1" } });
    const auth = next(socket, "auth");
    await next(socket, "connect");
    expectEqual(socket.id, `/custom#${socket.io.engine.id}`, "client-side id");
    // A v2 CONNECT's query is the namespace's auth.
    expectEqual(await auth, [{ token: "abc", n: "1" }], "auth from the query");
  },
  async private() {
    const refused = open("/private", { query: { token: "wrong" } });
    const [error] = await next(refused, "error");
    // Node sends err.data || err.message to a v2 client.
    expectEqual(error, { reason: "bad token" }, "refusal");
    const welcomed = open("/private", { query: { token: "secret" } });
    await next(welcomed, "welcome");
  },
  async "invalid-namespace"() {
    const socket = open("/nope");
    const [error] = await next(socket, "error");
    expectEqual(error, { message: "Invalid namespace" }, "invalid namespace");
  },
  async dynamic() {
    const socket = open("/dyn-12");
    expectEqual(await next(socket, "nsp"), ["/dyn-12"], "dynamic namespace");
  },
  async "disconnect-me"() {
    const socket = await connected();
    const gone = next(socket, "disconnect");
    socket.emit("disconnect-me");
    expectEqual(await gone, ["io server disconnect"], "reason");
  },
  async "client-disconnect"() {
    const socket = await connected();
    const [state] = await ack(socket, "state");
    expectEqual(state.id, socket.id, "state before leaving");
    socket.disconnect();
  },
  async heartbeat() {
    // Several ping intervals (300 ms + 200 ms on the conformance servers):
    // the v3 client pings, and the session lives on the server's pongs.
    const socket = await connected();
    const closed = [];
    socket.on("disconnect", (reason) => closed.push(reason));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expectEqual(closed, [], "disconnects while idle");
    expectEqual(await ack(socket, "message-with-ack", "alive"), ["alive"], "ack after idling");
  },
  async refused() {
    const socket = open();
    const [error] = await next(socket, "connect_error");
    out({ event: "refused", message: String(error && error.message) });
  },
};

const chosen = args.scenario === "all" ? SCENARIOS : [args.scenario];
let ok = true;
let failure;
for (const name of chosen) {
  try {
    await scenarios[name]();
    out({ event: "pass", scenario: name });
  } catch (error) {
    ok = false;
    failure = `${name}: ${error.message}`;
    break;
  } finally {
    for (const socket of sockets.splice(0)) {
      socket.close();
    }
  }
}
out({ event: "result", ok, mode: args.mode, failure });
// Leave time for the close packets to go out.
setTimeout(() => process.exit(ok ? 0 : 1), 200);
