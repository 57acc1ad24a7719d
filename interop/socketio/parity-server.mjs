#!/usr/bin/env node
// The Node side of crates/server/tests/node_parity.rs: the official `socket.io`
// 4.8 server with the handlers that test gives ferrio, so that each expectation
// there is shown to be Node's. Every observation is one stdout line
// {"event":"log","line":"..."}; the first line is {"event":"listening","port":N}.
//
//   node interop/socketio/parity-server.mjs [--port 0] [--host 127.0.0.1]
//
// On `/`:
//   per-packet middleware refuses the event "forbidden" (Error "refused");
//   a second one calls next() 10 ms later for "*-later" events, with
//   Error "refused later" for "forbidden-later"; "allowed-later" <i> logs
//   "on:allowed-later:<i>";
//   onAny logs "any:<event>"; the "error" event logs "error";
//   "allowed" logs "on:allowed"; "kick-me" disconnects the socket;
//   disconnecting logs "disconnecting:<connected>:<reason>" and emits
//   "bye" <reason>; disconnect joins "late", then logs
//   "disconnect:<reason>:rooms=<rooms, comma-separated>" and
//   "late-room:<whether the adapter has a room late>";
//   "rooms-query" acks whether /mw's adapter has a room "trap";
//   "of-emit" <name> emits "via-of" <name> through io.of(name);
//   "join" <room> joins it, then acks; "all-sockets" [room] acks the sorted
//   ids of io(.in(room)).allSockets(); "adapter-maps" acks io.of("/").adapter's
//   rooms and sids as {room: [ids]} and {id: [rooms]}.
// /mw: its middleware joins "trap", then refuses ("no entry").
// Dynamic: /^\/re-\d+$/, and a function accepting "/dyn-*" whose "/dyn-err"
// answers with an error. new_namespace logs "new:<name>" (added after /mw).
// Stops on SIGINT/SIGTERM.

import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
  },
  strict: true,
});

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}
function log(line) {
  out({ event: "log", line });
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const io = new Server(httpServer, { path: "/socket.io/" });

io.on("connection", (socket) => {
  socket.use(([event], next) => (event === "forbidden" ? next(new Error("refused")) : next()));
  socket.use(([event], next) => {
    if (!event.endsWith("-later")) return next();
    setTimeout(() => (event === "forbidden-later" ? next(new Error("refused later")) : next()), 10);
  });
  socket.onAny((event) => log(`any:${event}`));
  socket.on("error", () => log("error"));
  socket.on("allowed", () => log("on:allowed"));
  socket.on("kick-me", () => socket.disconnect());
  socket.on("allowed-later", (i) => log(`on:allowed-later:${i}`));
  socket.on("disconnecting", (reason) => {
    log(`disconnecting:${socket.connected}:${reason}`);
    socket.emit("bye", reason);
  });
  socket.on("disconnect", (reason) => {
    socket.join("late");
    log(`disconnect:${reason}:rooms=${[...socket.rooms].join(",")}`);
    log(`late-room:${io.of("/").adapter.rooms.has("late")}`);
  });
  socket.on("rooms-query", (ack) => ack(io.of("/mw").adapter.rooms.has("trap")));
  socket.on("of-emit", (name) => io.of(name).emit("via-of", name));
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack();
  });
  socket.on("all-sockets", async (...args) => {
    const ack = args.pop();
    const ids = await (args.length ? io.in(args[0]) : io).allSockets();
    ack([...ids].sort());
  });
  socket.on("adapter-maps", (ack) => {
    const { rooms, sids } = io.of("/").adapter;
    const plain = (map) => Object.fromEntries([...map].map(([k, set]) => [k, [...set].sort()]));
    ack({ rooms: plain(rooms), sids: plain(sids) });
  });
});

io.of("/mw").use((socket, next) => {
  socket.join("trap");
  next(new Error("no entry"));
});

io.of(/^\/re-\d+$/);
io.of((name, auth, next) => {
  if (name === "/dyn-err") return next(new Error("db down"));
  next(null, name.startsWith("/dyn-"));
});

io.on("new_namespace", (nsp) => log(`new:${nsp.name}`));

httpServer.listen(Number(args.port), args.host, () => {
  out({ event: "listening", port: httpServer.address().port });
});

function stop() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
