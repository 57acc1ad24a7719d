// The benchmark contract on the Node.js socket.io server, default options.
// Listens on 127.0.0.1:$PORT, path /socket.io/:
//   "echo"      -> acknowledge with the same arguments when an ack is asked,
//                  else emit "echo" back;
//   "broadcast" -> emit "broadcast" with the arguments to every socket of "/",
//                  the sender included;
//   "join"      -> join the room named by the first argument;
//   "room"      -> with [room, payload]: emit "room" with the payload to that room.
// With REDIS_URL set (redis://host:port), a cluster node: the classic
// @socket.io/redis-adapter on ioredis (bench/run.py --scenarios cluster), so
// "broadcast" reaches every socket of every node.
import { once } from "node:events";
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.env.PORT || 3000);
const httpServer = createServer();
const options = {};
// RECOVERY=1: connection state recovery on, with its defaults (bench/run.py's
// "node-recovery" row).
if (process.env.RECOVERY === "1") {
  options.connectionStateRecovery = {};
}
// PARSER=msgpack: socket.io-msgpack-parser instead of the default parser
// (bench/run.py's "msgpack-echo" row).
if (process.env.PARSER === "msgpack") {
  options.parser = (await import("socket.io-msgpack-parser")).default;
} else if (process.env.PARSER && process.env.PARSER !== "default") {
  throw new Error(`PARSER=${process.env.PARSER}: expected default or msgpack`);
}
// PER_MESSAGE_DEFLATE=1: permessage-deflate on, messages of 1024 bytes and more
// compressed (bench/run.py's "deflate-broadcast" row).
if (process.env.PER_MESSAGE_DEFLATE === "1") {
  options.perMessageDeflate = { threshold: 1024 };
}
const io = new Server(httpServer, options);

if (process.env.REDIS_URL) {
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { Redis } = await import("ioredis");
  const pubClient = new Redis(process.env.REDIS_URL);
  const subClient = pubClient.duplicate();
  await Promise.all([once(pubClient, "ready"), once(subClient, "ready")]);
  io.adapter(createAdapter(pubClient, subClient));
}

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const last = args[args.length - 1];
    if (typeof last === "function") {
      args.pop();
      last(...args);
    } else {
      socket.emit("echo", ...args);
    }
  });
  socket.on("broadcast", (...args) => {
    io.emit("broadcast", ...args);
  });
  socket.on("join", (room) => {
    socket.join(String(room));
  });
  socket.on("room", (room, payload) => {
    io.to(String(room)).emit("room", payload);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`socket.io bench server on http://127.0.0.1:${port}/socket.io/`);
});
