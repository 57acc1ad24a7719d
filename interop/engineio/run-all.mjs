#!/usr/bin/env node
// Runs every client.mjs scenario in every mode against one Engine.IO echo server.
//
//   node interop/engineio/run-all.mjs                 # against the Node reference
//                                                     # server (echo-server.mjs), started here
//   node interop/engineio/run-all.mjs --url http://127.0.0.1:3000   # against a running
//                                                     # server, e.g. ferrio-engine's eio_conformance example
//
// Options: --path /engine.io/  --modes websocket,polling,upgrade  --scenarios a,b
//          --jobs 3 (runs in parallel)  --verbose (print every transcript)
//          --retries 0 (rerun a failed run up to N more times, one at a time)
// Timing: the reference server pings every 300 ms and drops a client that has not
// answered within 200 ms, so heavy CPU contention (many node processes starting at
// once on a small machine) can end a session with "ping timeout". Keep --jobs low.
// Prints one line per run, the transcript of each failure, and a closing
// "N passed, N failed" line. Exit 0 only if all passed.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = (f) => fileURLToPath(new URL(f, import.meta.url));

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    path: { type: "string", default: "/engine.io/" },
    modes: { type: "string", default: "websocket,polling,upgrade" },
    scenarios: {
      type: "string",
      default: "echo-text,echo-binary,order,heartbeat,client-close,server-close",
    },
    jobs: { type: "string", default: "3" },
    retries: { type: "string", default: "0" },
    verbose: { type: "boolean", default: false },
  },
  strict: true,
});

let server = null;
const serverLines = []; // the reference server's JSON lines, shown for failed runs
let url = args.url;
if (!url) {
  server = spawn(process.execPath, [here("./echo-server.mjs"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: server.stdout });
  lines.on("line", (line) => serverLines.push(line));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("echo-server did not start within 10 s")), 10000);
    server.once("exit", (code) => reject(new Error(`echo-server exited with ${code}`)));
    lines.on("line", (line) => {
      if (line.includes('"event":"listening"')) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    });
  });
  url = `http://127.0.0.1:${port}`;
  console.log(`reference server: node interop/engineio/echo-server.mjs on ${url}`);
}

const runs = [];
for (const mode of args.modes.split(",")) {
  for (const scenario of args.scenarios.split(",")) runs.push({ mode, scenario });
}

async function runOne({ mode, scenario }, attempt = 0) {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [here("./client.mjs"), "--url", url, "--path", args.path, "--mode", mode, "--scenario", scenario],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const [code] = await once(child, "exit");
  const ms = Date.now() - started;
  const ok = code === 0 && /"event":"result","ok":true/.test(out);
  const result = out.split("\n").filter((l) => l.includes('"event":"result"')).pop() ?? "(no result line)";
  const name = `${mode} ${scenario}${attempt ? ` (retry ${attempt})` : ""}`.padEnd(26);
  console.log(`${ok ? "ok  " : "FAIL"} ${name} ${String(ms).padStart(5)} ms  ${ok ? "" : result}`);
  if (!ok || args.verbose) {
    const sid = /"event":"open".*?"sid":"([^"]+)"/.exec(out)?.[1];
    const seen = sid ? serverLines.filter((l) => l.includes(`"${sid}"`)) : [];
    const serverLog = seen.length ? `---- reference server, sid ${sid}\n${seen.join("\n")}\n` : "";
    console.log(
      `---- ${mode} ${scenario}: exit ${code}\n${out}${err ? `---- stderr\n${err}` : ""}${serverLog}----`,
    );
  }
  return ok;
}

let passed = 0;
let failed = 0;
const queue = [...runs];
const failures = [];
const jobs = Math.max(1, Number(args.jobs) || 1);
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    while (queue.length) {
      const run = queue.shift();
      if (await runOne(run)) passed++;
      else failures.push(run);
    }
  }),
);
const retries = Math.max(0, Number(args.retries) || 0);
for (const run of failures) {
  let ok = false;
  for (let attempt = 1; attempt <= retries && !ok; attempt++) ok = await runOne(run, attempt);
  if (ok) passed++;
  else failed++;
}

if (server) server.kill("SIGTERM");
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
