#!/usr/bin/env node
// Checks an Engine.IO echo server's v3 long-polling payloads with the v3
// codec itself (engine.io-parser 2.2.1, as engine.io-client 3.x uses it):
// the handshake, a text payload (lengths in UTF-16 code units, binary as
// b4 base64, `b64=1`), and a binary payload (application/octet-stream) both
// ways, with a v3 client ping answered by a pong.
//
//   node interop/engineio/v3-payloads.mjs --url http://127.0.0.1:PORT
//
// The server echoes every message (engineio/echo-server.mjs with
// ALLOW_EIO3=1, or ferrio's conformance example with ALLOW_EIO3=1).
// Output: {"event":"pass","check":...} lines, then {"event":"result","ok":...}.

import { createRequire } from "node:module";
import { isDeepStrictEqual, parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const parser = require("socket.io-client-v2/node_modules/engine.io-parser");

const { values: args } = parseArgs({ options: { url: { type: "string" } } });
const base = `${args.url}/engine.io/?EIO=3&transport=polling`;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function expectEqual(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/// The packets of a poll's answer, decoded as its content type says.
async function poll(url) {
  const res = await fetch(url);
  const type = res.headers.get("content-type");
  const body = Buffer.from(await res.arrayBuffer());
  const data = type === "application/octet-stream" ? body : body.toString("utf8");
  const packets = [];
  parser.decodePayload(data, undefined, (packet) => {
    packets.push(packet);
  });
  return { type, packets };
}

function encode(packets, supportsBinary) {
  return new Promise((resolve) => parser.encodePayload(packets, supportsBinary, resolve));
}

async function post(url, body) {
  const binary = typeof body !== "string";
  const res = await fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": binary ? "application/octet-stream" : "text/plain;charset=UTF-8" },
  });
  expectEqual([res.status, await res.text()], [200, "ok"], "POST answer");
}

async function session(query) {
  const { packets } = await poll(base + query);
  expectEqual(packets.length, 1, "handshake packets");
  expectEqual(packets[0].type, "open", "handshake packet");
  const open = JSON.parse(packets[0].data);
  return `${base}&sid=${open.sid}`;
}

const text = "héllo 😀";
const bytes = Buffer.from([0, 1, 2, 255]);

const checks = {
  async "text-payload"() {
    const url = await session("&b64=1");
    await post(
      url,
      await encode(
        [
          { type: "message", data: text },
          { type: "message", data: bytes },
          { type: "ping" },
        ],
        false,
      ),
    );
    const { type, packets } = await poll(url);
    expectEqual(type, "text/plain; charset=UTF-8", "content type");
    expectEqual(
      packets.map((p) => [p.type, Buffer.isBuffer(p.data) ? [...p.data] : p.data]),
      [
        ["message", text],
        ["message", [...bytes]],
        ["pong", undefined],
      ],
      "echo",
    );
  },
  async "binary-payload"() {
    const url = await session("");
    await post(
      url,
      await encode(
        [
          { type: "message", data: text },
          { type: "message", data: bytes },
        ],
        true,
      ),
    );
    const { type, packets } = await poll(url);
    expectEqual(type, "application/octet-stream", "content type");
    expectEqual(
      packets.map((p) => [p.type, Buffer.isBuffer(p.data) ? [...p.data] : p.data]),
      [
        ["message", text],
        ["message", [...bytes]],
      ],
      "echo",
    );
  },
};

let ok = true;
let failure;
for (const [name, check] of Object.entries(checks)) {
  try {
    await check();
    out({ event: "pass", check: name });
  } catch (error) {
    ok = false;
    failure = `${name}: ${error.message}`;
    break;
  }
}
out({ event: "result", ok, failure });
process.exit(ok ? 0 : 1);
