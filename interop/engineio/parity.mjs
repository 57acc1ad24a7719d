#!/usr/bin/env node
// Edge cases of the Engine.IO server, seen from a client, for one server:
// Node's (echo-server.mjs) or ferrio's. The test runs each scenario against
// both and compares what this script prints.
//
//   node interop/engineio/parity.mjs --url http://127.0.0.1:PORT --scenario NAME
//
// Output: one JSON line {"event":"observed","scenario":NAME,"steps":[...]}, the
// facts a client sees (statuses, bodies, close codes, echoes), nothing that
// differs between two correct servers (session ids, dates).

import http from "node:http";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values: args } = parseArgs({
  options: { url: { type: "string" }, scenario: { type: "string" } },
  strict: true,
});
const base = new URL(args.url);
const path = "/engine.io/?EIO=4";
const steps = [];
const wsUrl = (query) => `ws://${base.host}${path}&${query}`;

function request(method, query, { body = "", headers = {}, abortAfter } = {}) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method, path: `${path}&${query}`, headers, agent: false },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (data += c));
        res.on("end", () =>
          resolve({ status: res.statusCode, type: res.headers["content-type"] ?? null, body: data }),
        );
      },
    );
    req.on("error", () => resolve({ aborted: true }));
    if (abortAfter !== undefined) setTimeout(() => req.destroy(), abortAfter);
    req.end(body);
  });
}

async function pollingSession() {
  const res = await request("GET", "transport=polling");
  return JSON.parse(res.body.slice(1)).sid;
}

function openWs(query) {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl(query));
    const inbox = [];
    const waiters = [];
    ws.on("message", (data, binary) => {
      const text = binary ? `<binary ${data.length}>` : data.toString();
      if (text === "2") return ws.send("3");
      const waiter = waiters.shift();
      if (waiter) waiter(text);
      else inbox.push(text);
    });
    ws.next = () =>
      new Promise((r) => {
        if (inbox.length) r(inbox.shift());
        else waiters.push(r);
      });
    ws.closed = new Promise((r) => ws.on("close", (code) => r(code)));
    ws.on("unexpected-response", (req, res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () =>
        resolve({ refused: { status: res.statusCode, type: res.headers["content-type"] ?? null, body: data } }),
      );
    });
    ws.on("error", () => {});
    ws.on("open", () => resolve({ ws }));
  });
}

async function upgraded() {
  const sid = await pollingSession();
  const { ws } = await openWs(`transport=websocket&sid=${sid}`);
  ws.send("2probe");
  steps.push({ probe: await ws.next() });
  ws.send("5");
  await new Promise((r) => setTimeout(r, 100));
  return { sid, ws };
}

const scenarios = {
  // D16: a second WebSocket for a WebSocket session: 101, then closed.
  async "second-websocket"() {
    const { ws } = await openWs("transport=websocket");
    const sid = JSON.parse((await ws.next()).slice(1)).sid;
    const second = await openWs(`transport=websocket&sid=${sid}`);
    steps.push({ second: second.ws ? "open" : second.refused });
    if (second.ws) steps.push({ secondClosed: await second.ws.closed });
    ws.send("4still here");
    steps.push({ echo: await ws.next() });
    ws.close();
    await ws.closed;
  },
  // D16: the same for a session upgraded from polling.
  async "second-websocket-upgraded"() {
    const { sid, ws } = await upgraded();
    const second = await openWs(`transport=websocket&sid=${sid}`);
    steps.push({ second: second.ws ? "open" : second.refused });
    if (second.ws) steps.push({ secondClosed: await second.ws.closed });
    ws.send("4still here");
    steps.push({ echo: await ws.next() });
    ws.close();
    await ws.closed;
  },
  // D16: a refused WebSocket: a raw 400 with the message as text/html.
  async "refused-websocket"() {
    const res = await openWs("transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA");
    steps.push({ refused: res.refused ?? "open" });
  },
  // D15: another method on a polling session: an empty 500, session kept.
  async "put-method"() {
    const sid = await pollingSession();
    const put = await request("PUT", `transport=polling&sid=${sid}`);
    steps.push({ put: { status: put.status, body: put.body } });
    steps.push({ post: (await request("POST", `transport=polling&sid=${sid}`, { body: "4x" })).body });
    steps.push({ poll: (await request("GET", `transport=polling&sid=${sid}`)).body });
    await request("POST", `transport=polling&sid=${sid}`, { body: "1" });
  },
  // D3: a binary POST ends the session.
  async "binary-post"() {
    const sid = await pollingSession();
    const headers = { "content-type": "application/octet-stream" };
    const post = await request("POST", `transport=polling&sid=${sid}`, { body: "4x", headers });
    steps.push({ post: { status: post.status, body: post.body } });
    const poll = await request("GET", `transport=polling&sid=${sid}`);
    steps.push({ poll: { status: poll.status, body: poll.body } });
  },
  // D3: a client ping over WebSocket ends the session.
  async "client-ping-websocket"() {
    const { ws } = await openWs("transport=websocket");
    await ws.next();
    ws.send("2");
    steps.push({ closed: (await ws.closed) !== undefined });
  },
  // D3: close, open and upgrade packets over WebSocket are ignored.
  async "close-packet-websocket"() {
    const { ws } = await openWs("transport=websocket");
    await ws.next();
    for (const p of ["1", "0", "5"]) ws.send(p);
    ws.send("4still here");
    steps.push({ echo: await ws.next() });
    ws.close();
    await ws.closed;
  },
  // D3: a parked poll aborted by the client.
  async "aborted-poll"() {
    const sid = await pollingSession();
    steps.push({ poll: await request("GET", `transport=polling&sid=${sid}`, { abortAfter: 200 }) });
    await new Promise((r) => setTimeout(r, 200));
  },
  // D14: a WebSocket message over maxPayload (1e6).
  async "oversized-websocket"() {
    const { ws } = await openWs("transport=websocket");
    await ws.next();
    ws.send("4" + "x".repeat(1_000_001));
    steps.push({ closed: await ws.closed });
  },
  // D17: a server close with no poll parked is buffered for the next polls.
  async "server-close-buffered"() {
    const sid = await pollingSession();
    const q = `transport=polling&sid=${sid}`;
    steps.push({ post: (await request("POST", q, { body: "4queued\x1e4close-me" })).body });
    steps.push({ poll: (await request("GET", q)).body });
    steps.push({ poll: (await request("GET", q)).body });
    const after = await request("GET", q);
    steps.push({ after: { status: after.status, body: after.body } });
  },
};

const run = scenarios[args.scenario];
if (!run) {
  process.stderr.write(`unknown scenario ${args.scenario}\n`);
  process.exit(2);
}
const timer = setTimeout(() => {
  process.stdout.write(JSON.stringify({ event: "observed", scenario: args.scenario, steps, timedOut: true }) + "\n");
  process.exit(1);
}, 30000);
await run();
clearTimeout(timer);
process.stdout.write(JSON.stringify({ event: "observed", scenario: args.scenario, steps }) + "\n");
process.exit(0);
