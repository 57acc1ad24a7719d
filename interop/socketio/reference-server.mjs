#!/usr/bin/env node
// Reference Socket.IO server built on the official `socket.io` package, with the
// handlers of ferrio's conformance server (crates/server/examples/conformance/
// handlers.rs). interop/socketio/client.mjs is checked against it, so that its
// scenarios encode the behaviour of Node's server and not ferrio's.
//
//   node interop/socketio/reference-server.mjs [--port 0] [--host 127.0.0.1]
//        [--ping-interval 300] [--ping-timeout 200] [--recovery]
//   ALLOW_EIO3=1 lets Socket.IO v2 clients in (allowEIO3).
//
// path /socket.io/, connectTimeout 1000 ms, maxHttpBufferSize 1e6, CORS for any origin.
// --recovery, or RECOVERY=1 in the environment, turns connection state recovery on
// (maxDisconnectionDuration 30 s, skipMiddlewares true), as in the conformance
// example; the `state` event (with ack) answers {id, recovered, rooms (sorted)}.
// --parser msgpack, or PARSER=msgpack in the environment, uses
// socket.io-msgpack-parser instead of the default parser.
// Output: JSON lines on stdout, first {"event":"listening","port":N}, then
// {"event":"connection","nsp":...,"id":...} and
// {"event":"disconnect","nsp":...,"id":...,"reason":...} per socket.
// Stops on SIGINT/SIGTERM, or when stdin closes if --exit-on-stdin-close is given.

import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "ping-interval": { type: "string", default: "300" },
    "ping-timeout": { type: "string", default: "200" },
    "exit-on-stdin-close": { type: "boolean", default: false },
    recovery: { type: "boolean", default: false },
    parser: { type: "string", default: process.env.PARSER || "default" },
  },
  strict: true,
});

if (!["default", "msgpack"].includes(args.parser)) {
  process.stderr.write(`error: bad --parser ${args.parser} (default or msgpack)\n`);
  process.exit(2);
}

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`error: bad --port ${args.port}\n`);
  process.exit(2);
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});

const io = new Server(httpServer, {
  path: "/socket.io/",
  pingInterval: Number(args["ping-interval"]),
  pingTimeout: Number(args["ping-timeout"]),
  connectTimeout: 1000,
  maxHttpBufferSize: 1e6,
  cors: { origin: true, credentials: true },
  ...(args.parser === "msgpack" ? { parser: msgpackParser } : {}),
  allowEIO3: process.env.ALLOW_EIO3 === "1",
  ...(args.recovery || process.env.RECOVERY === "1"
    ? { connectionStateRecovery: { maxDisconnectionDuration: 30000, skipMiddlewares: true } }
    : {}),
});

function track(socket) {
  emit({ event: "connection", nsp: socket.nsp.name, id: socket.id });
  socket.on("disconnect", (reason) => emit({ event: "disconnect", nsp: socket.nsp.name, id: socket.id, reason }));
}

io.on("connection", (socket) => {
  track(socket);
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...a) => socket.emit("message-back", ...a));
  socket.on("message-with-ack", (...a) => {
    const ack = typeof a[a.length - 1] === "function" ? a.pop() : null;
    ack?.(...a);
  });
  socket.on("echo", (...a) => {
    const ack = typeof a[a.length - 1] === "function" ? a.pop() : null;
    if (ack) ack(...a);
    else socket.emit("echo", ...a);
  });
  socket.on("broadcast", (...a) => io.emit("broadcast", ...a));
  socket.on("join", (room) => socket.join(room));
  socket.on("leave", (room) => socket.leave(room));
  socket.on("room", (room, payload) => io.to(room).emit("room", payload));
  socket.on("rooms", (rooms, payload) => io.to(rooms).emit("rooms", payload));
  // Every argument of the reply is passed on (emitWithAck would keep only the first).
  socket.on("ask", (value) => {
    socket.timeout(1000).emit("question", value ?? null, (err, ...reply) => {
      if (err) socket.emit("answer-timeout");
      else socket.emit("answer", ...reply);
    });
  });
  socket.on("disconnect-me", () => socket.disconnect());
  socket.on("state", (ack) =>
    ack?.({ id: socket.id, recovered: socket.recovered, rooms: [...socket.rooms].sort() }),
  );
});

io.of("/custom").on("connection", (socket) => {
  track(socket);
  socket.emit("auth", socket.handshake.auth);
});

const priv = io.of("/private");
priv.use((socket, next) => {
  if (socket.handshake.auth?.token === "secret") return next();
  const err = new Error("unauthorized");
  err.data = { reason: "bad token" };
  next(err);
});
priv.on("connection", (socket) => {
  track(socket);
  socket.emit("welcome");
});

io.of(/^\/dyn-\d+$/).on("connection", (socket) => {
  track(socket);
  socket.emit("nsp", socket.nsp.name);
});

httpServer.listen(port, args.host, () => {
  emit({ event: "listening", port: httpServer.address().port });
});

function stop() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
if (args["exit-on-stdin-close"]) {
  process.stdin.on("end", stop);
  process.stdin.resume();
}
