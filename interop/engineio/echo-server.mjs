#!/usr/bin/env node
// Reference Engine.IO v4 echo server built on the official `engine.io` package.
//
//   node interop/engineio/echo-server.mjs [--port 0] [--host 127.0.0.1]
//        [--ping-interval 300] [--ping-timeout 200]
//        [--initial-packet TEXT] [--add-trailing-slash true|false]
//
// Every message is sent back as it came (text as text, binary as binary), except
// the text message "close-me", on which the server closes the session.
// path /engine.io/, pingInterval 300 ms, pingTimeout 200 ms (by default), maxHttpBufferSize 1e6,
// CORS for any origin; --initial-packet sets engine.io's `initialPacket` (a text
// message sent right after the open packet), --add-trailing-slash its
// `addTrailingSlash` (default true). It is the peer that interop/engineio/client.mjs is tested
// against, and the behaviour ferrio's conformance example has to reproduce.
//
// Output: JSON lines on stdout, first {"event":"listening","port":N}, then
// {"event":"connection",...} / {"event":"close",...} per session.
// Stops on SIGINT/SIGTERM, or when stdin closes if --exit-on-stdin-close is given.

import http from "node:http";
import { parseArgs } from "node:util";
import { attach } from "engine.io";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "ping-interval": { type: "string", default: "300" },
    "ping-timeout": { type: "string", default: "200" },
    "exit-on-stdin-close": { type: "boolean", default: false },
    "initial-packet": { type: "string" },
    "add-trailing-slash": { type: "string", default: "true" },
  },
  strict: true,
});

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

const engine = attach(httpServer, {
  path: "/engine.io/",
  pingInterval: Number(args["ping-interval"]),
  pingTimeout: Number(args["ping-timeout"]),
  maxHttpBufferSize: 1e6,
  // Any origin: the request's Origin is reflected (works with credentials too).
  cors: { origin: true, credentials: true },
  // ALLOW_EIO3=1 lets Engine.IO v3 clients in.
  allowEIO3: process.env.ALLOW_EIO3 === "1",
  initialPacket: args["initial-packet"],
  addTrailingSlash: args["add-trailing-slash"] !== "false",
});

engine.on("connection", (socket) => {
  emit({ event: "connection", sid: socket.id, transport: socket.transport.name });
  socket.on("upgrade", (t) => emit({ event: "upgrade", sid: socket.id, transport: t.name }));
  socket.on("message", (data) => {
    if (data === "close-me") {
      socket.close();
      return;
    }
    socket.send(data);
  });
  socket.on("close", (reason, description) => {
    emit({
      event: "close",
      sid: socket.id,
      reason,
      description: description === undefined ? null : String(description?.message ?? description),
    });
  });
});

engine.on("connection_error", (err) => {
  emit({ event: "connection_error", code: err.code, message: err.message });
});

httpServer.listen(port, args.host, () => {
  emit({ event: "listening", port: httpServer.address().port, host: args.host });
});

function shutdown() {
  engine.close();
  httpServer.close();
  setTimeout(() => process.exit(0), 100).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
if (args["exit-on-stdin-close"]) {
  process.stdin.on("end", shutdown);
  process.stdin.on("close", shutdown);
  process.stdin.resume();
}
