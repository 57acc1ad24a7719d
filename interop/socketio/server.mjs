#!/usr/bin/env node
// Reference Socket.IO v5 server built on the official `socket.io` 4.8 package:
// the peer ferrio-client's tests run against (crates/client/tests).
//
//   node interop/socketio/server.mjs [--port 0] [--host 127.0.0.1]
//        [--ping-interval 25000] [--ping-timeout 20000] [--recovery] [--per-message-deflate]
//        [--parser default|msgpack]
//
// --recovery turns on connection state recovery (`connectionStateRecovery`);
// --per-message-deflate turns on `perMessageDeflate` (threshold 1024 bytes);
// --parser msgpack (or PARSER=msgpack) uses socket.io-msgpack-parser.
//
// Namespaces `/` and `/admin` behave the same; `/private` refuses every
// connection whose auth is not {"token":"letmein"}, with an error whose data is
// {"code":401,"auth":<the auth received>}.
//
// Events a client may send (to `/` or `/admin`):
//   echo ...args            -> emits `echo` back with the same arguments
//   echo-ack ...args, ack   -> acknowledges with the same arguments
//   ask ...args             -> emitWithAck("question", ...args) with a 5 s
//                              timeout, then emits `answer` with the answer
//                              (or `answer-error` with the error message)
//   ask-all ...args         -> emit("question", ...args, cb) with a 5 s timeout;
//                              emits `answer-all` with every argument of the ack
//   binary                  -> emits `binary` with a Buffer [1,2,3] and
//                              {"nested": Buffer [4,5]}
//   whoami ack              -> acknowledges with {id, nsp, auth, transport,
//                              query, header} (header: the x-ferrio-test header)
//   disconnect-me           -> socket.disconnect() (the client sees
//                              "io server disconnect")
//   close-me                -> closes the Engine.IO connection (the client sees
//                              "transport close" and reconnects)
//
// Output: JSON lines on stdout: first {"event":"listening","port":N}, then
// {"event":"connection",...}, {"event":"disconnect",...} and
// {"event":"upgrade",...}. Stops on SIGINT/SIGTERM (or when killed).

import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "ping-interval": { type: "string", default: "25000" },
    "ping-timeout": { type: "string", default: "20000" },
    recovery: { type: "boolean", default: false },
    parser: { type: "string", default: process.env.PARSER || "default" },
    "per-message-deflate": { type: "boolean", default: false },
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

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: Number(args["ping-interval"]),
  pingTimeout: Number(args["ping-timeout"]),
  cors: { origin: true, credentials: true },
  ...(args.recovery ? { connectionStateRecovery: {} } : {}),
  ...(args.parser === "msgpack" ? { parser: msgpackParser } : {}),
  // Node's own default threshold (1024 bytes) for `true`.
  ...(args["per-message-deflate"] ? { perMessageDeflate: true } : {}),
});

function setup(socket) {
  const nsp = socket.nsp.name;
  print({
    event: "connection",
    nsp,
    id: socket.id,
    auth: socket.handshake.auth,
    transport: socket.conn.transport.name,
    recovered: socket.recovered,
  });
  socket.conn.once("upgrade", (transport) => {
    print({ event: "upgrade", nsp, id: socket.id, transport: transport.name });
  });
  socket.on("disconnect", (reason) => {
    print({ event: "disconnect", nsp, id: socket.id, reason });
  });

  socket.on("echo", (...args) => socket.emit("echo", ...args));
  socket.on("echo-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("ask", async (...args) => {
    try {
      const answer = await socket.timeout(5000).emitWithAck("question", ...args);
      socket.emit("answer", answer);
    } catch (err) {
      socket.emit("answer-error", err.message);
    }
  });
  socket.on("ask-all", (...args) => {
    socket.timeout(5000).emit("question", ...args, (err, ...answers) => {
      if (err) socket.emit("answer-error", err.message);
      else socket.emit("answer-all", ...answers);
    });
  });
  socket.on("binary", () => {
    socket.emit("binary", Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]) });
  });
  socket.on("whoami", (ack) => {
    ack({
      id: socket.id,
      nsp,
      auth: socket.handshake.auth,
      transport: socket.conn.transport.name,
      query: socket.handshake.query,
      header: socket.handshake.headers["x-ferrio-test"] ?? null,
    });
  });
  socket.on("disconnect-me", () => socket.disconnect());
  socket.on("close-me", () => socket.conn.close());
  // Closes the connection, then emits `missed` [value] to the socket's own
  // room: with recovery on, the client gets it back when it recovers.
  socket.on("close-me-then-send", (value) => {
    const room = socket.id;
    socket.conn.close();
    io.of(nsp).to(room).emit("missed", value);
  });
}

io.on("connection", setup);
io.of("/admin").on("connection", setup);

const secret = io.of("/private");
secret.use((socket, next) => {
  if (socket.handshake.auth?.token === "letmein") return next();
  const err = new Error("not authorized");
  err.data = { code: 401, auth: socket.handshake.auth };
  next(err);
});
secret.on("connection", setup);

httpServer.listen(port, args.host, () => {
  print({ event: "listening", port: httpServer.address().port });
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
