#!/usr/bin/env node
// The official Admin UI dashboard (the build in
// node_modules/@socket.io/admin-ui/ui/dist, served here on a port of its
// own) in Debian's Chromium, driven by playwright-core: it logs in to a
// server through its connection form and lists a socket that a Node
// socket.io-client connected to that server.
//
//   node interop/admin-ui/browser.mjs --url http://127.0.0.1:PORT
//        [--password secret] [--chromium /usr/bin/chromium]
//        [--screenshot target/admin-ui-screenshot.png]
//
// The server must allow the page's origin (http://127.0.0.1:*) with
// credentials. Prints JSON lines; the last is {"event":"result","ok":...}.

import { createReadStream, existsSync, mkdtempSync, rmSync, statSync, mkdirSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    password: { type: "string", default: "secret" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    screenshot: { type: "string", default: "" },
    timeout: { type: "string", default: "20000" },
  },
});
const log = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));
const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "../node_modules/@socket.io/admin-ui/ui/dist");
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".map": "application/json" };

// The dashboard's files; everything else 404 (the fonts it links from CDNs
// are not needed).
const files = http.createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  const file = join(dist, path === "/" ? "index.html" : path);
  if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
});
await new Promise((r) => files.listen(0, "127.0.0.1", r));
const page_url = `http://127.0.0.1:${files.address().port}/`;

const userDataDir = mkdtempSync(join(tmpdir(), "ferrio-admin-ui-"));
let context;
let client;
let ok = false;
try {
  client = io(opts.url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  await new Promise((r, e) => {
    client.once("connect", r);
    client.once("connect_error", e);
  });
  log("client", { id: client.id });

  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.chromium,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  context.setDefaultTimeout(Number(opts.timeout));
  const page = await context.newPage();
  page.on("console", (m) => log("console", { type: m.type(), text: m.text() }));
  page.on("pageerror", (e) => log("pageerror", { error: String(e) }));
  await page.goto(page_url, { waitUntil: "domcontentloaded" });

  // The connection form, as a person fills it.
  await page.getByLabel("Server URL").fill(opts.url);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(opts.password);
  await page.getByRole("button", { name: "Connect" }).click();
  log("step", { name: "submitted the connection form" });

  await page.goto(`${page_url}#/sockets`, { waitUntil: "domcontentloaded" });
  await page.getByText(client.id).first().waitFor();
  log("step", { name: "the socket is listed", id: client.id });
  // The connection dialog fades out once connected.
  await page.getByRole("dialog").waitFor({ state: "hidden" }).catch(() => {});
  await page.waitForTimeout(500);
  if (opts.screenshot) {
    mkdirSync(dirname(opts.screenshot), { recursive: true });
    await page.screenshot({ path: opts.screenshot });
  }
  ok = true;
} catch (e) {
  log("error", { message: String(e?.stack ?? e) });
} finally {
  client?.close();
  await context?.close().catch(() => {});
  files.close();
  rmSync(userDataDir, { recursive: true, force: true });
  log("result", { ok });
  process.exit(ok ? 0 : 1);
}
