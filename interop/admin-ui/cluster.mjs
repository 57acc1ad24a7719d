#!/usr/bin/env node
// The dashboard of a mixed cluster: logged in to one server (--admin), it
// must see the other server (--other, on the same Redis) too: its
// server_stats, a socket connecting to it (socket_connected through the
// adapter) and, on a second login, that socket in all_sockets (fetchSockets
// across the cluster, with the clientId and transport its server keeps in
// the socket's data).
//
//   node interop/admin-ui/cluster.mjs --admin http://127.0.0.1:P1 --other http://127.0.0.1:P2
//
// Output: {"event":"result", serverIds, connected, listed} or {"event":"error",...}.

import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values } = parseArgs({
  options: {
    admin: { type: "string" },
    other: { type: "string" },
    password: { type: "string", default: "secret" },
  },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function login() {
  return new Promise((resolve, reject) => {
    const received = [];
    const socket = io(values.admin + "/admin", {
      forceNew: true,
      reconnection: false,
      transports: ["websocket"],
      auth: { username: "admin", password: values.password },
    });
    socket.onAny((ev, ...args) => received.push({ ev, args }));
    socket.once("connect", () => resolve({ socket, received }));
    socket.once("connect_error", (e) => reject(e));
  });
}

async function waitFor(received, test, what) {
  for (let i = 0; i < 200; i++) {
    const found = received.find(test);
    if (found) return found;
    await sleep(50);
  }
  throw new Error(`no ${what} within 10 s`);
}

try {
  const dash = await login();
  const x = io(values.other, { forceNew: true, reconnection: false, transports: ["websocket"] });
  await new Promise((r, e) => {
    x.once("connect", r);
    x.once("connect_error", e);
  });
  const connected = await waitFor(
    dash.received,
    (r) => r.ev === "socket_connected" && r.args[0].id === x.id,
    "socket_connected of the other server's socket",
  );
  // Stats from both servers (each sends its own every 2 s).
  const ids = new Set();
  for (let i = 0; i < 100 && ids.size < 2; i++) {
    for (const r of dash.received) if (r.ev === "server_stats") ids.add(r.args[0].serverId);
    await sleep(100);
  }
  const again = await login();
  const all = await waitFor(again.received, (r) => r.ev === "all_sockets", "all_sockets");
  const listed = all.args[0].find((s) => s.id === x.id) ?? null;
  const shape = (s) =>
    s && {
      nsp: s.nsp,
      transport: s.transport,
      clientId: typeof s.clientId === "string" ? s.clientId.length : typeof s.clientId,
      rooms: s.rooms.length,
      handshakeKeys: Object.keys(s.handshake).sort(),
    };
  console.log(
    JSON.stringify({
      event: "result",
      serverIds: [...ids].sort(),
      connected: shape(connected.args[0]),
      listed: shape(listed),
    }),
  );
  for (const s of [x, dash.socket, again.socket]) s.close();
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ event: "error", message: String(e?.stack ?? e) }));
  process.exit(1);
}
