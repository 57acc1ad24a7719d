#!/usr/bin/env node
// permessage-deflate between the official socket.io-client (over Node's `ws`,
// which offers the extension with a threshold of 1024 bytes) and a Socket.IO
// server that has it on, with the conformance "echo" handler (acknowledges with
// the arguments it got).
//
//   node interop/socketio/deflate-client.mjs --url http://127.0.0.1:PORT \
//        --mode websocket|upgrade [--expect on|off]
//
// Checks that the WebSocket agreed on the extension (or did not, with
// --expect off), then echoes small and large text, small and large binary, and
// measures the socket's bytes: a large compressible message must cross the wire
// compressed both ways.
//
// Output: {"event":"extensions",...}, {"event":"echo",...} per message, and last
// {"event":"result","ok":true|false,...}. Exit code 0 on success, 1 on failure.

import { parseArgs } from "node:util";
import { isDeepStrictEqual } from "node:util";
import { io } from "socket.io-client";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    mode: { type: "string", default: "websocket" },
    expect: { type: "string", default: "on" },
  },
});

const out = (o) => console.log(JSON.stringify(o));
const fail = (error) => {
  out({ event: "result", ok: false, error });
  process.exit(1);
};
setTimeout(() => fail("timeout"), 30000).unref();

const transports = values.mode === "websocket" ? ["websocket"] : ["polling", "websocket"];
const socket = io(values.url, { transports, forceNew: true, reconnection: false });
socket.on("connect_error", (e) => fail(`connect_error: ${e.message}`));
await new Promise((resolve) => socket.once("connect", resolve));
if (socket.io.engine.transport.name !== "websocket") {
  await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
}
const ws = socket.io.engine.transport.ws;
const extensions = ws.extensions;
out({ event: "extensions", extensions, transport: socket.io.engine.transport.name });
const negotiated = extensions.includes("permessage-deflate");
if (negotiated !== (values.expect === "on")) {
  fail(`extensions "${extensions}" with --expect ${values.expect}`);
}

const text = (n) => {
  let s = "";
  while (s.length < n) s += `the quick brown fox ${s.length} jumps over the lazy dog; `;
  return s.slice(0, n);
};
const bytes = (n) => Buffer.from(text(n));
const cases = [
  ["small text", ["hi", 1, { a: "b" }]],
  ["large text", [text(200_000)]],
  ["large object", [{ list: Array.from({ length: 2000 }, (_, i) => ({ i, name: `item ${i}` })) }]],
  ["small binary", [Buffer.from([1, 2, 3])]],
  ["large binary", [bytes(300_000), "and text"]],
];
for (const [name, args] of cases) {
  const tcp = ws._socket;
  const [read0, written0] = [tcp.bytesRead, tcp.bytesWritten];
  const back = await new Promise((resolve) =>
    socket.timeout(10000).emit("echo", ...args, (err, ...back) => {
      if (err) fail(`${name}: no ack (${err.message})`);
      resolve(back);
    }),
  );
  const [read, written] = [tcp.bytesRead - read0, tcp.bytesWritten - written0];
  const size = args
    .map((a) => (Buffer.isBuffer(a) ? a.length : JSON.stringify(a).length))
    .reduce((x, y) => x + y, 0);
  const same = isDeepStrictEqual(
    back.map((a) => (Buffer.isBuffer(a) ? [...a] : a)),
    args.map((a) => (Buffer.isBuffer(a) ? [...a] : a)),
  );
  out({ event: "echo", name, same, size, read, written });
  if (!same) fail(`${name}: the echo differs`);
  const large = size > 100_000;
  if (large && negotiated && (read > size / 4 || written > size / 4)) {
    fail(`${name}: ${size} bytes took ${written} bytes out and ${read} back: not compressed`);
  }
  if (large && !negotiated && read < size / 2) {
    fail(`${name}: ${size} bytes came back in ${read} bytes without the extension`);
  }
}
socket.disconnect();
out({ event: "result", ok: true, extensions });
process.exit(0);
