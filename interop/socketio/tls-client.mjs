#!/usr/bin/env node
// The official socket.io-client over TLS (https:// polling, wss:// WebSocket)
// against a server answering "echo" with an ack of the same arguments
// (crates/server/tests/tls.rs).
//
//   node interop/socketio/tls-client.mjs --url https://127.0.0.1:PORT \
//        --mode websocket|polling|upgrade [--ca cert.pem] [--expect-failure]
//
// With --ca, the certificate is trusted (the `ca` option, which the client passes
// to Node's https and to ws). Without it the self-signed certificate must be
// refused: --expect-failure makes a connect_error the expected outcome.
//
// Output: one JSON object per line, e.g. {"event":"connect","transport":"polling"},
// {"event":"upgraded","transport":"websocket"}, {"event":"ack","arg":{...}},
// {"event":"connect_error","message":"..."}, and last {"event":"result","ok":...}.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    mode: { type: "string", default: "websocket" },
    ca: { type: "string" },
    "expect-failure": { type: "boolean", default: false },
  },
});
const MODES = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"], upgrade: false },
  upgrade: { transports: ["polling", "websocket"] },
};
if (!args.url || !MODES[args.mode]) {
  process.stderr.write("usage: tls-client.mjs --url URL --mode websocket|polling|upgrade [--ca FILE] [--expect-failure]\n");
  process.exit(2);
}

const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const finish = (ok, extra = {}) => {
  print({ event: "result", ok, ...extra });
  process.exit(ok ? 0 : 1);
};
setTimeout(() => finish(false, { error: "timeout" }), 10000).unref();

const socket = io(args.url, {
  ...MODES[args.mode],
  ...(args.ca ? { ca: readFileSync(args.ca) } : {}),
  forceNew: true,
  reconnection: false,
  timeout: 5000,
});

socket.on("connect_error", (err) => {
  print({ event: "connect_error", message: String(err && err.message) });
  finish(args["expect-failure"]);
});

const upgraded = new Promise((resolve) => {
  if (args.mode !== "upgrade") return resolve();
  socket.io.engine.once("upgrade", (transport) => {
    print({ event: "upgraded", transport: transport.name });
    resolve();
  });
});

socket.on("connect", async () => {
  print({ event: "connect", transport: socket.io.engine.transport.name });
  if (args["expect-failure"]) {
    socket.disconnect();
    return finish(false, { error: "connected without trusting the certificate" });
  }
  await upgraded;
  const payload = { text: "over tls", n: 42 };
  // emitWithAck resolves with the ack's first argument.
  const reply = await socket.timeout(5000).emitWithAck("echo", payload);
  print({ event: "ack", arg: reply, transport: socket.io.engine.transport.name });
  const ok =
    JSON.stringify(reply) === JSON.stringify(payload) &&
    socket.io.engine.transport.name === (args.mode === "polling" ? "polling" : "websocket");
  socket.disconnect();
  finish(ok);
});
