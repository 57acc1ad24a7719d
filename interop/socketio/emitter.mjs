#!/usr/bin/env node
// Runs @socket.io/redis-emitter 5.1 calls read from stdin (one JSON object a
// line), then prints {"event":"done","id":N} for each:
//
//   REDIS_URL=redis://127.0.0.1:6379 [REDIS_KEY=socket.io] node interop/socketio/emitter.mjs
//
//   {"id":N,"nsp":"/","rooms":[],"except":[],"volatile":false,"cmd":"emit","event":"e","args":[...]}
//   {"id":N,"cmd":"sockets-join"|"sockets-leave","room":"r", ...targets}
//   {"id":N,"cmd":"disconnect-sockets","close":true, ...targets}
//   {"id":N,"cmd":"server-side-emit","event":"e","args":[...]}
// Tagged values in args: {"$bin":"hex"} -> Buffer, {"$date":ms} -> Date.

import { Redis } from "ioredis";
import { Emitter } from "@socket.io/redis-emitter";

const redis = new Redis(process.env.REDIS_URL);
await new Promise((resolve) => redis.once("ready", resolve));
const root = new Emitter(redis, { key: process.env.REDIS_KEY || "socket.io" });

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    if (typeof v.$date === "number") return new Date(v.$date);
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = decode(x);
    return out;
  }
  return v;
}

function target(c) {
  let op = c.nsp && c.nsp !== "/" ? root.of(c.nsp) : root;
  if (c.rooms?.length) op = op.to(c.rooms);
  if (c.except?.length) op = op.except(c.except);
  if (c.volatile) op = op.volatile;
  return op;
}

function run(c) {
  switch (c.cmd) {
    case "emit":
      target(c).emit(c.event, ...decode(c.args || []));
      break;
    case "sockets-join":
      target(c).socketsJoin(c.room);
      break;
    case "sockets-leave":
      target(c).socketsLeave(c.room);
      break;
    case "disconnect-sockets":
      target(c).disconnectSockets(!!c.close);
      break;
    case "server-side-emit":
      (c.nsp && c.nsp !== "/" ? root.of(c.nsp) : root).serverSideEmit(c.event, ...decode(c.args || []));
      break;
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
    const c = JSON.parse(line);
    try {
      run(c);
      // The publish is queued on the connection; PING after it answers once it went out.
      redis.ping().then(() => print({ event: "done", id: c.id }));
    } catch (e) {
      print({ event: "done", id: c.id, error: String(e.message) });
    }
  }
});
process.stdin.on("end", () => {
  redis.quit().finally(() => process.exit(0));
});
print({ event: "ready" });
