#!/usr/bin/env node
// Official socket.io-client 4.8 sockets, driven by a test through stdin (one
// JSON object a line) and reporting on stdout (JSON lines).
//
//   node interop/socketio/cluster-driver.mjs
//
// Commands:
//   {"cmd":"connect","name":"a","url":"http://127.0.0.1:PORT","nsp":"/","auth":{},
//    "answer":<value>}   answer: what this socket acks `question` with (absent: never acks)
//   {"cmd":"emit","name":"a","event":"e","args":[...],"id":N}   id present: with an ack (5 s timeout)
//   {"cmd":"close","name":"a"}
//   {"cmd":"drop","name":"a"}     closes the transport (socket.io.engine.close()): a recoverable loss
//   {"cmd":"reconnect","name":"a","url":"http://…"}   connects again (to url when given: another
//                                 node), offering the session's pid and last offset
// Output:
//   {"event":"connect","name":"a","id":"<sid>","recovered":bool}
//   {"event":"recv","name":"a","ev":"e","args":[...]}     every event received
//   {"event":"ack","id":N,"args":[...]} or {"event":"ack","id":N,"error":"..."}
//   {"event":"disconnect","name":"a","reason":"..."}, {"event":"connect_error","name":"a","message":"..."}
// Tagged values: {"$bin":"hex"} <-> Buffer/ArrayBuffer, {"$date":ms} -> Date.

import { io } from "socket.io-client";

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

function encode(v) {
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = encode(x);
    return out;
  }
  return v;
}

const sockets = new Map();

function connect(c) {
  const url = c.url + (c.nsp && c.nsp !== "/" ? c.nsp : "");
  const socket = io(url, {
    auth: c.auth || {},
    transports: c.transports || ["websocket"],
    reconnection: false,
    forceNew: true,
  });
  sockets.set(c.name, socket);
  socket.on("connect", () =>
    print({ event: "connect", name: c.name, id: socket.id, recovered: socket.recovered }),
  );
  socket.on("connect_error", (e) => print({ event: "connect_error", name: c.name, message: String(e.message) }));
  socket.on("disconnect", (reason) => print({ event: "disconnect", name: c.name, reason }));
  socket.onAny((ev, ...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    print({ event: "recv", name: c.name, ev, args: encode(args) });
    if (ev === "question" && cb && "answer" in c) cb(c.answer);
  });
}

function run(c) {
  const socket = sockets.get(c.name);
  switch (c.cmd) {
    case "connect":
      connect(c);
      return;
    case "emit": {
      const args = decode(c.args || []);
      if (c.id === undefined) {
        socket.emit(c.event, ...args);
      } else {
        socket.timeout(c.timeout ?? 5000).emit(c.event, ...args, (err, ...reply) => {
          if (err) print({ event: "ack", id: c.id, error: String(err.message) });
          else print({ event: "ack", id: c.id, args: encode(reply) });
        });
      }
      return;
    }
    case "close":
      socket?.close();
      return;
    case "drop":
      socket?.io.engine.close();
      return;
    case "reconnect":
      // The manager opens each new Engine.IO connection to its `uri`.
      if (c.url) socket.io.uri = c.url;
      socket.connect();
      return;
    default:
      print({ event: "bad-command", cmd: c.cmd });
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
    try {
      run(JSON.parse(line));
    } catch (e) {
      print({ event: "bad-command", line, message: String(e?.message ?? e) });
    }
  }
});
process.stdin.on("end", () => {
  for (const s of sockets.values()) s.close();
  setTimeout(() => process.exit(0), 100);
});
print({ event: "ready" });
