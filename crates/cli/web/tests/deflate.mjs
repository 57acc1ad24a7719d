// permessage-deflate between Chromium and ferrio, checked in the browser.
//
//   node crates/cli/web/tests/deflate.mjs --url http://127.0.0.1:3000 \
//        --expect on|off [--chromium /usr/bin/chromium]
//
// Two chat pages on WebSocket only. Chromium offers permessage-deflate on every
// WebSocket; the DevTools protocol shows the server's handshake answer, which
// must accept the offer (`--expect on`: `ferrio serve --per-message-deflate`)
// or leave it out (`--expect off`: the default, as Node's). Then alice sends a
// message longer than the 1 KiB threshold (compressed both ways when on) and a
// short one (sent plain), and bob must show both, whole and in order.
//
// Prints one JSON object per line; the last is {"event":"result","ok":...}.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    expect: { type: "string" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    timeout: { type: "string", default: "15000" },
  },
});
if (!opts.url || !["on", "off"].includes(opts.expect)) {
  console.error("usage: deflate.mjs --url http://HOST:PORT --expect on|off [--chromium PATH]");
  process.exit(2);
}
const base = opts.url.replace(/\/$/, "");
const log = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));

// 1 600 characters that compress well but are not one repeated byte.
const long = Array.from({ length: 80 }, (_, i) => `line ${String(i).padStart(3, "0")} of a long one`).join(" ").slice(0, 1600);
const short = "and a short one";

const userDataDir = mkdtempSync(join(tmpdir(), "ferrio-chromium-"));
let context;
let ok = false;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.chromium,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"],
  });
  context.setDefaultTimeout(Number(opts.timeout));

  // Opens a page with DevTools' network events on, recording the extensions
  // header of each WebSocket handshake: what Chromium offered, what came back.
  const open = async (name) => {
    const page = await context.newPage();
    page.on("pageerror", (e) => log("pageerror", { page: name, error: String(e) }));
    const handshakes = [];
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    const header = (headers) =>
      Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === "sec-websocket-extensions")?.[1] ?? "";
    const offers = new Map();
    cdp.on("Network.webSocketWillSendHandshakeRequest", ({ requestId, request }) => {
      offers.set(requestId, header(request.headers));
    });
    cdp.on("Network.webSocketHandshakeResponseReceived", ({ requestId, response }) => {
      const offered = offers.get(requestId) || header(response.requestHeaders);
      handshakes.push({ offered, accepted: header(response.headers) });
    });
    await page.goto(`${base}/?transport=websocket`);
    await page.waitForSelector('#status[data-state="connected"][data-transport="websocket"]');
    await page.fill("#nickname", name);
    await page.click("#login-button");
    await page.waitForSelector("#input:not([disabled])");
    return { page, handshakes };
  };
  const alice = await open("alice");
  const bob = await open("bob");

  for (const [name, { handshakes }] of [["alice", alice], ["bob", bob]]) {
    log("handshakes", { page: name, handshakes });
    if (handshakes.length !== 1) throw new Error(`${name}: ${handshakes.length} WebSocket handshakes seen, expected 1`);
    const { offered, accepted } = handshakes[0];
    if (!offered.includes("permessage-deflate")) throw new Error(`${name}: Chromium offered ${JSON.stringify(offered)}`);
    const negotiated = accepted.includes("permessage-deflate");
    if (negotiated !== (opts.expect === "on")) {
      throw new Error(`${name}: the server answered ${JSON.stringify(accepted)} with --expect ${opts.expect}`);
    }
  }

  for (const text of [long, short]) {
    await alice.page.fill("#input", text);
    await alice.page.press("#input", "Enter");
  }
  await bob.page.waitForFunction(
    (want) => {
      const got = [...document.querySelectorAll("#messages .message")]
        .filter((m) => m.querySelector(".from")?.textContent === "alice")
        .map((m) => m.querySelector(".text")?.textContent);
      return got.length === want.length && got.every((t, i) => t === want[i]);
    },
    [long, short],
  );
  log("delivered", { sizes: [long.length, short.length] });
  ok = true;
} catch (e) {
  log("error", { error: String(e && e.stack ? e.stack : e) });
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
log("result", { ok });
process.exit(ok ? 0 : 1);
