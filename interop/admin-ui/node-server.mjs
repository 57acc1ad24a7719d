#!/usr/bin/env node
// A Node socket.io 4.8 server instrumented by the official @socket.io/admin-ui
// 0.5.1: the reference that crates/admin-ui/tests compare ferrio's
// instrument() with (the same application runs there).
//
//   node interop/admin-ui/node-server.mjs --hash <bcrypt hash> [--readonly]
//        [--mode development|production] [--redis redis://HOST:PORT] [--server-id ID]
//
// --redis: in a cluster through @socket.io/redis-adapter 8.3 (default key).
//
// The same on the dynamic namespaces /^\/dyn-\d+$/.
// "/chat" has middleware that sets socket.data.user = "d".
// Admin: basic auth, user "admin", the password of --hash; serverId
// --server-id ("test-server"); development mode unless --mode production. Application, on "/" and "/chat":
//   join-room room, ack   -> socket.join(room), then ack()
//   hello ...args, ack    -> emits "hi" with the same arguments, then ack()
//   set-score n, ack      -> socket.data.score = n, then ack()
//
// Output: {"event":"listening","port":N} on stdout. Stops when killed.

import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";

const { values } = parseArgs({
  options: {
    hash: { type: "string" },
    readonly: { type: "boolean", default: false },
    mode: { type: "string", default: "development" },
    redis: { type: "string" },
    "server-id": { type: "string", default: "test-server" },
  },
});

const httpServer = http.createServer();
const io = new Server(httpServer);
if (values.redis) {
  const pub = new Redis(values.redis);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
}

instrument(io, {
  auth: { type: "basic", username: "admin", password: values.hash },
  readonly: values.readonly,
  serverId: values["server-id"],
  mode: values.mode,
});

// Data set by middleware: the dashboard shows it (without instrument's `_admin`).
io.of("/chat").use((socket, next) => {
  socket.data.user = "d";
  next();
});

const app = (nsp) => {
  nsp.on("connection", (socket) => {
    socket.on("join-room", (room, ack) => {
      socket.join(room);
      ack();
    });
    socket.on("set-score", (score, ack) => {
      socket.data.score = score;
      ack();
    });
    socket.on("hello", (...args) => {
      const ack = args.pop();
      socket.emit("hi", ...args);
      ack();
    });
  });
};
app(io.of("/"));
app(io.of("/chat"));
app(io.of(/^\/dyn-\d+$/));

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ event: "listening", port: httpServer.address().port }));
});
