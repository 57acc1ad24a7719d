#!/usr/bin/env node
// A second reference server on the official `socket.io` 4.8 package, for what
// server.mjs does not cover: TLS, and the client's `retries` option
// (crates/client/tests/tls_and_retries.rs).
//
//   node interop/socketio/extras-server.mjs [--port 0] [--host 127.0.0.1]
//        [--tls-cert FILE --tls-key FILE]
//
// With --tls-cert and --tls-key (PEM files) it serves HTTPS (and so `wss`);
// otherwise plain HTTP.
//
// Events a client may send (to `/`):
//   echo-ack ...args, ack   -> acknowledges with the same arguments
//   binary ack              -> acknowledges with Buffer [1,2,3]
//   whoami ack              -> acknowledges with {id, transport, secure}
//   flaky {id, drop, close}, ack
//                           -> records the receipt; the first `drop` receipts
//                              of that id get no acknowledgement (with
//                              `close: true` the connection is closed
//                              instead), the next is acknowledged with
//                              {id, tries} (how many receipts of that id)
//   record ...args, ack     -> records the receipt, acknowledges with nothing
//   log ack                 -> acknowledges with every receipt recorded so
//                              far: [{name, args}, ...] (one log per server)
//
// Output: JSON lines on stdout: first {"event":"listening","port":N}, then
// {"event":"connection",...}, {"event":"received",...} for each recorded
// receipt. Stops on SIGINT/SIGTERM (or when killed).

import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
  },
  strict: true,
});

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`error: bad --port ${args.port}\n`);
  process.exit(2);
}
if (Boolean(args["tls-cert"]) !== Boolean(args["tls-key"])) {
  process.stderr.write("error: --tls-cert and --tls-key go together\n");
  process.exit(2);
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const httpServer = args["tls-cert"]
  ? https.createServer({
      cert: fs.readFileSync(args["tls-cert"]),
      key: fs.readFileSync(args["tls-key"]),
    })
  : http.createServer();
const io = new Server(httpServer, { cors: { origin: true, credentials: true } });

const log = [];
const receipts = new Map();

function record(name, args) {
  log.push({ name, args });
  print({ event: "received", name, args });
}

io.on("connection", (socket) => {
  print({
    event: "connection",
    id: socket.id,
    transport: socket.conn.transport.name,
    secure: socket.handshake.secure,
  });
  socket.on("echo-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("binary", (ack) => ack(Buffer.from([1, 2, 3])));
  socket.on("whoami", (ack) => {
    ack({
      id: socket.id,
      transport: socket.conn.transport.name,
      secure: socket.handshake.secure,
    });
  });
  socket.on("flaky", (spec, ack) => {
    record("flaky", [spec]);
    const tries = (receipts.get(spec.id) ?? 0) + 1;
    receipts.set(spec.id, tries);
    if (tries <= (spec.drop ?? 0)) {
      if (spec.close) socket.conn.close();
      return;
    }
    if (typeof ack === "function") ack({ id: spec.id, tries });
  });
  socket.on("record", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    record("record", args);
    if (ack) ack();
  });
  socket.on("log", (ack) => ack(log));
});

httpServer.listen(port, args.host, () => {
  print({ event: "listening", port: httpServer.address().port });
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
