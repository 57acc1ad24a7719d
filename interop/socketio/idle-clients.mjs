// Idle connections for a memory measurement (crates/server/tests/idle_heap.rs):
//
//   node interop/socketio/idle-clients.mjs URL FIRST MORE
//
// Opens FIRST official socket.io-client connections (WebSocket only), prints
// {"event":"ready","connected":N}, and when the server emits "more" to them
// opens MORE further ones and prints "ready" again. They stay idle (answering
// pings) until the process is killed.
import { io } from "socket.io-client";

const [url, first, more] = process.argv.slice(2);
const sockets = [];
const open = (n) =>
  Promise.all(
    Array.from({ length: n }, () => {
      const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
      sockets.push(socket);
      return new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
    }),
  );
const ready = () => console.log(JSON.stringify({ event: "ready", connected: sockets.length }));

try {
  await open(Number(first));
  ready();
  sockets[0].once("more", async () => {
    await open(Number(more));
    ready();
  });
} catch (e) {
  console.log(JSON.stringify({ event: "error", error: String(e) }));
  process.exit(1);
}
