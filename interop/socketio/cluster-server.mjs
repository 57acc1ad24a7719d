#!/usr/bin/env node
// A Node cluster node: socket.io 4.8 + @socket.io/redis-adapter 8.3 with the
// handlers of ferrio's conformance server (crates/server/examples/conformance/)
// and its cluster contract (issue 14, item 5), so that every cluster test can
// run with any mix of Node and ferrio nodes.
//
//   REDIS_URL=redis://127.0.0.1:6379 [REDIS_KEY=socket.io] [REDIS_ADAPTER=classic|sharded|streams]
//   [REDIS_SUBSCRIPTION_MODE=dynamic|static|dynamic-private] [REDIS_REQUESTS_TIMEOUT=5000]
//   [REDIS_SPECIFIC_RESPONSE_CHANNEL=1] [REDIS_STREAM_NAME=socket.io] [REDIS_STREAM_MAXLEN=10000]
//   [RECOVERY=1] [RECOVERY_MAX_DISCONNECTION_MS=30000] [PARSER=msgpack] [PORT=0]
//   node interop/socketio/cluster-server.mjs
//
// REDIS_ADAPTER=streams uses @socket.io/redis-streams-adapter 0.3.1 (channel
// prefix REDIS_KEY), the adapter that restores sessions across the cluster.
// RECOVERY=1 turns connection state recovery on (maxDisconnectionDuration 30 s,
// skipMiddlewares true), as the conformance example does; with the classic or
// sharded Redis adapter Node does not restore sessions (only the streams
// adapter does), so a client comes back with a fresh one. PARSER=msgpack serves
// clients with socket.io-msgpack-parser (the Redis messages are the same).
//
// Contract events on `/` (besides the conformance ones: message, echo,
// broadcast, join, leave, room, rooms, ask, disconnect-me, state):
//   server-count, ack                -> acks with the number of servers
//   fetch-sockets [room|null], ack   -> acks with the sorted ids of the sockets in room (null: all)
//   sockets-join [room, other], ack  -> io.in(room).socketsJoin(other), then acks (null, as ferrio)
//   sockets-leave [room, other], ack -> io.in(room).socketsLeave(other), then acks
//   disconnect-room [room], ack      -> acks, then io.in(room).disconnectSockets(false)
//   local-broadcast [payload]        -> io.local.emit("broadcast", payload)
//   ask-all [value], ack             -> io.timeout(1000).emit("question", value, cb);
//                                       acks {timedOut, responses (sorted by JSON text)}
//   server-side [value], ack         -> serverSideEmit("hello", value, cb); acks the responses
// Every node answers the server-side event `hello` with its argument.
//
// Control on stdin, one JSON object a line, answered with
// {"event":"result","id":N,"value":...} or {"event":"result","id":N,"error":"..."}:
//   {"id":N,"cmd":"emit","nsp":"/","event":"e","args":[...],"rooms":[],"except":[],"volatile":false,"local":false}
//   {"id":N,"cmd":"emit-with-ack","event":"q","args":[...],"timeout":1000}   -> {timedOut, responses}
//   {"id":N,"cmd":"fetch-sockets","nsp":"/","rooms":[]}   -> the sockets as Node sees them (full details)
//   {"id":N,"cmd":"all-sockets","nsp":"/","rooms":[]}   -> the sorted ids of allSockets()
//   {"id":N,"cmd":"server-count","nsp":"/"}
//   {"id":N,"cmd":"all-rooms","nsp":"/"}
//   {"id":N,"cmd":"server-side-emit","event":"e","args":[...],"ack":true}
//   {"id":N,"cmd":"sockets-join"|"sockets-leave","rooms":[],"except":[],"room":"r"}
//   {"id":N,"cmd":"disconnect-sockets","rooms":[],"close":false}
//   {"id":N,"cmd":"remote-emit","sid":"...","event":"e","args":[...]}   (RemoteSocket.emit via fetchSockets)
//   {"id":N,"cmd":"close-namespace","nsp":"/admin"}   (adapter.close(): unsubscribes)
// Tagged values in args: {"$bin":"hex"} -> Buffer, {"$date":ms} -> Date, {"$undefined":true} -> undefined.
// Output (JSON lines): {"event":"listening","port":N}, connection/disconnect per
// socket, {"event":"server-side","nsp","name","args"} per server-side event received.

import http from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";
import { Redis } from "ioredis";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";

const env = process.env;
const redisUrl = env.REDIS_URL;
if (!redisUrl) {
  process.stderr.write("error: REDIS_URL is required\n");
  process.exit(2);
}
const key = env.REDIS_KEY || "socket.io";
const kind = env.REDIS_ADAPTER || "classic";
const requestsTimeout = Number(env.REDIS_REQUESTS_TIMEOUT || "5000");

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    if (typeof v.$date === "number") return new Date(v.$date);
    if (v.$undefined === true) return undefined;
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = decode(x);
    return out;
  }
  return v;
}

function encode(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v.buffer ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v).toString("hex") };
  }
  if (v instanceof Date) return { $date: v.getTime() };
  if (v === undefined) return { $undefined: true };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = encode(x);
    return out;
  }
  return v;
}

const byJson = (a, b) => {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

const pub = new Redis(redisUrl);
const sub = pub.duplicate();
await Promise.all([
  new Promise((resolve) => pub.once("ready", resolve)),
  new Promise((resolve) => sub.once("ready", resolve)),
]);
pub.on("error", (e) => print({ event: "redis-error", message: String(e.message) }));
sub.on("error", (e) => print({ event: "redis-error", message: String(e.message) }));

const adapter =
  kind === "streams"
    ? createStreamsAdapter(pub, {
        channelPrefix: key,
        streamName: env.REDIS_STREAM_NAME || "socket.io",
        maxLen: Number(env.REDIS_STREAM_MAXLEN || "10000"),
      })
    : kind === "sharded"
    ? createShardedAdapter(pub, sub, {
        channelPrefix: key,
        subscriptionMode: env.REDIS_SUBSCRIPTION_MODE || "dynamic",
      })
    : createAdapter(pub, sub, {
        key,
        requestsTimeout,
        publishOnSpecificResponseChannel: env.REDIS_SPECIFIC_RESPONSE_CHANNEL === "1",
      });

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});

const io = new Server(httpServer, {
  path: "/socket.io/",
  pingInterval: Number(env.PING_INTERVAL || "25000"),
  pingTimeout: Number(env.PING_TIMEOUT || "20000"),
  connectTimeout: 1000,
  maxHttpBufferSize: 1e6,
  cors: { origin: true, credentials: true },
  adapter,
  ...(env.PARSER === "msgpack" ? { parser: msgpackParser } : {}),
  ...(env.RECOVERY === "1"
    ? {
        connectionStateRecovery: {
          maxDisconnectionDuration: Number(env.RECOVERY_MAX_DISCONNECTION_MS || "30000"),
          skipMiddlewares: true,
        },
      }
    : {}),
});

function track(socket) {
  print({ event: "connection", nsp: socket.nsp.name, id: socket.id });
  socket.on("disconnect", (reason) => print({ event: "disconnect", nsp: socket.nsp.name, id: socket.id, reason }));
}

function onServerSide(nsp) {
  nsp.on("hello", (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    print({ event: "server-side", nsp: nsp.name, name: "hello", args: encode(args) });
    cb?.(args[0]);
  });
  nsp.on("evt", (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    print({ event: "server-side", nsp: nsp.name, name: "evt", args: encode(args) });
    cb?.(args[0]);
  });
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

  // The cluster contract.
  socket.on("server-count", async (ack) => ack(await io.of("/").adapter.serverCount()));
  socket.on("fetch-sockets", async (room, ack) => {
    try {
      const sockets = await (room == null ? io : io.in(room)).fetchSockets();
      ack(sockets.map((s) => s.id).sort());
    } catch (e) {
      ack({ error: String(e.message) });
    }
  });
  socket.on("sockets-join", (room, other, ack) => {
    io.in(room).socketsJoin(other);
    ack?.(null);
  });
  socket.on("sockets-leave", (room, other, ack) => {
    io.in(room).socketsLeave(other);
    ack?.(null);
  });
  socket.on("disconnect-room", (room, ack) => {
    ack?.(null);
    io.in(room).disconnectSockets(false);
  });
  socket.on("local-broadcast", (payload) => io.local.emit("broadcast", payload));
  socket.on("ask-all", (value, ack) => {
    io.timeout(1000).emit("question", value, (err, responses) => {
      ack({ timedOut: !!err, responses: [...(responses || [])].sort(byJson) });
    });
  });
  socket.on("server-side", (value, ack) => {
    io.serverSideEmit("hello", value, (err, responses) => ack(responses || []));
  });
});
onServerSide(io.of("/"));

const admin = io.of("/admin");
admin.on("connection", (socket) => {
  track(socket);
  socket.on("join", (room) => socket.join(room));
});
onServerSide(admin);

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

function operator(nsp, c) {
  let op = io.of(nsp || "/");
  if (c.local) op = op.local;
  if (c.rooms?.length) op = op.to(c.rooms);
  if (c.except?.length) op = op.except(c.except);
  if (c.volatile) op = op.volatile;
  if (c.compress === false) op = op.compress(false);
  return op;
}

async function run(c) {
  const nsp = io.of(c.nsp || "/");
  switch (c.cmd) {
    case "emit":
      operator(c.nsp, c).emit(c.event, ...decode(c.args || []));
      return null;
    case "emit-with-ack":
      return await new Promise((resolve) => {
        operator(c.nsp, c)
          .timeout(c.timeout ?? 1000)
          .emit(c.event, ...decode(c.args || []), (err, responses) =>
            resolve({ timedOut: !!err, responses: encode([...(responses || [])].sort(byJson)) }),
          );
      });
    case "fetch-sockets": {
      const sockets = await operator(c.nsp, c).fetchSockets();
      return sockets
        .map((s) => ({ id: s.id, handshake: s.handshake, rooms: [...s.rooms], data: encode(s.data) }))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
    }
    case "all-sockets":
      // Deprecated allSockets(): adapter.sockets(rooms) (the rooms only).
      return [...(await operator(c.nsp, c).allSockets())].sort();
    case "remote-emit": {
      const sockets = await io.of(c.nsp || "/").fetchSockets();
      const target = sockets.find((s) => s.id === c.sid);
      if (!target) throw new Error(`no socket ${c.sid}`);
      target.emit(c.event, ...decode(c.args || []));
      return null;
    }
    case "server-count":
      return await nsp.adapter.serverCount();
    case "all-rooms":
      return [...(await nsp.adapter.allRooms())].sort();
    case "server-side-emit":
      if (c.ack) {
        return await new Promise((resolve) => {
          nsp.serverSideEmit(c.event, ...decode(c.args || []), (err, responses) =>
            resolve({ error: err ? String(err.message) : null, responses: encode(responses || []) }),
          );
        });
      }
      nsp.serverSideEmit(c.event, ...decode(c.args || []));
      return null;
    case "sockets-join":
      operator(c.nsp, c).socketsJoin(c.room);
      return null;
    case "sockets-leave":
      operator(c.nsp, c).socketsLeave(c.room);
      return null;
    case "disconnect-sockets":
      operator(c.nsp, c).disconnectSockets(!!c.close);
      return null;
    case "close-namespace":
      await nsp.adapter.close();
      return null;
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (!line.trim()) continue;
    let c;
    try {
      c = JSON.parse(line);
    } catch (e) {
      print({ event: "bad-command", line });
      continue;
    }
    run(c).then(
      (value) => print({ event: "result", id: c.id, value: value ?? null }),
      (e) => print({ event: "result", id: c.id, error: String(e?.message ?? e) }),
    );
  }
});

function stop() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
process.stdin.on("end", stop);

httpServer.listen(Number(env.PORT || "0"), "127.0.0.1", () => {
  print({ event: "listening", port: httpServer.address().port });
});
