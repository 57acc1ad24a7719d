// The chat in a real browser: Debian's Chromium driven by playwright-core.
//
//   node crates/cli/web/tests/chat.mjs --url http://127.0.0.1:3000 \
//        [--screenshot target/chat-screenshot.png] [--chromium /usr/bin/chromium]
//
// Three pages of one browser, each its own Socket.IO connection:
//   alice  default transports: long-polling, then the upgrade to WebSocket
//   bob    ?transport=polling: long-polling only
//   carol  ?transport=websocket: WebSocket only, joins late
// alice and bob join #general and see each other online; bob types (alice
// sees "bob is typing…") and sends, alice answers; carol joins and gets the
// history, then moves to #random (a leave notice, the online list shrinks).
// A screenshot of alice's page is written for a person to look at.
// Then the browser context goes offline: alice's WebSocket drops (Chromium
// closes WebSockets when it goes offline; a long-poll in flight is failed on
// the page but its connection stays open, so the server only notices bob at
// the ping timeout, as Node would), dave (a Node socket.io-client outside the
// browser) sends a message to #general, the context comes back online, and
// alice's page recovers its session (connection state recovery): it shows the
// message and "reconnected — 1 missed message restored".
//
// Prints one JSON object per line; the last is {"event":"result","ok":...}.
// Exit code 0 on success, 1 on failure.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { io as connectClient } from "socket.io-client";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    screenshot: { type: "string", default: "target/chat-screenshot.png" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    timeout: { type: "string", default: "15000" },
  },
});
if (!opts.url) {
  console.error("usage: chat.mjs --url http://HOST:PORT [--screenshot FILE] [--chromium PATH]");
  process.exit(2);
}
const base = opts.url.replace(/\/$/, "");
const timeout = Number(opts.timeout);

const log = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));
const step = (name) => log("step", { name });

const userDataDir = mkdtempSync(join(tmpdir(), "ferrio-chromium-"));
let context;
let ok = false;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.chromium,
    headless: true,
    viewport: { width: 1100, height: 700 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  context.setDefaultTimeout(timeout);
  log("browser", { version: context.browser()?.version() ?? "persistent" });

  const open = async (name, query) => {
    const page = await context.newPage();
    page.on("console", (m) => log("console", { page: name, type: m.type(), text: m.text() }));
    page.on("pageerror", (e) => log("pageerror", { page: name, error: String(e) }));
    await page.goto(`${base}/${query}`);
    return page;
  };
  const joinAs = async (page, nickname) => {
    await page.fill("#nickname", nickname);
    await page.click("#login-button");
    await page.waitForSelector("#login", { state: "hidden" });
    await page.waitForSelector("#input:not([disabled])");
  };
  const transportIs = (page, transport) =>
    page.waitForSelector(`#status[data-state="connected"][data-transport="${transport}"]`);
  const online = (page) => page.$$eval("#online li .name", (els) => els.map((e) => e.textContent));
  const waitOnline = (page, names) =>
    page.waitForFunction(
      (want) => {
        const got = [...document.querySelectorAll("#online li .name")].map((e) => e.textContent);
        return got.length === want.length && want.every((n) => got.includes(n));
      },
      names,
    );
  const waitMessage = (page, from, text) =>
    page.waitForFunction(
      ([from, text]) =>
        [...document.querySelectorAll("#messages .message")].some(
          (m) => m.querySelector(".from")?.textContent === from && m.querySelector(".text")?.textContent === text,
        ),
      [from, text],
    );
  const waitText = (page, selector, text) =>
    page.waitForFunction(
      ([selector, text]) => (document.querySelector(selector)?.textContent ?? "").includes(text),
      [selector, text],
    );

  step("the page loads the official client from /socket.io/socket.io.js");
  const alice = await open("alice", "");
  const bob = await open("bob", "?transport=polling");
  const loaded = await alice.evaluate(() => typeof io === "function" && typeof io.Manager === "function");
  if (!loaded) throw new Error("the page has no Socket.IO client (io)");

  step("alice upgrades to WebSocket; bob stays on long-polling");
  await transportIs(alice, "websocket");
  await transportIs(bob, "polling");

  step("both join #general and see each other online");
  await joinAs(alice, "alice");
  await joinAs(bob, "bob");
  await waitOnline(alice, ["alice", "bob"]);
  await waitOnline(bob, ["alice", "bob"]);
  await waitText(alice, "#messages", "bob joined #general");
  log("online", { alice: await online(alice), bob: await online(bob) });

  step("bob types: alice sees the typing indicator");
  await bob.click("#input");
  await bob.keyboard.type("hello from long-polling", { delay: 15 });
  await waitText(alice, "#typing", "bob is typing…");

  step("bob sends (polling): alice shows it (websocket)");
  await bob.keyboard.press("Enter");
  await waitMessage(alice, "bob", "hello from long-polling");
  await waitMessage(bob, "bob", "hello from long-polling");
  await alice.waitForFunction(() => document.querySelector("#typing").textContent === "");

  step("alice answers (websocket): bob shows it (polling)");
  await alice.fill("#input", "hi bob, this is WebSocket");
  await alice.press("#input", "Enter");
  await waitMessage(bob, "alice", "hi bob, this is WebSocket");

  step("carol (websocket only) joins late and gets the history");
  const carol = await open("carol", "?transport=websocket");
  await transportIs(carol, "websocket");
  await joinAs(carol, "carol");
  await waitMessage(carol, "bob", "hello from long-polling");
  await waitMessage(carol, "alice", "hi bob, this is WebSocket");
  await waitOnline(alice, ["alice", "bob", "carol"]);
  await waitText(alice, "#messages", "carol joined #general");

  step("carol moves to #random: a leave notice, the online list shrinks");
  await carol.click('#rooms button[data-room="random"]');
  await waitText(carol, "#room-title", "# random");
  await waitOnline(carol, ["carol"]);
  await waitOnline(alice, ["alice", "bob"]);
  await waitText(alice, "#messages", "carol left #general");
  await waitText(alice, '#rooms button[data-room="random"] .badge', "1");
  await carol.fill("#input", "anyone in here?");
  await carol.press("#input", "Enter");
  await waitMessage(carol, "carol", "anyone in here?");

  step("a few more lines, bob typing, and a screenshot of alice's page");
  await alice.fill("#input", "ferrio serves the official socket.io-client bundle");
  await alice.press("#input", "Enter");
  await waitMessage(alice, "alice", "ferrio serves the official socket.io-client bundle");
  await bob.fill("#input", "");
  await bob.click("#input");
  await bob.keyboard.type("nice, it even shows who is typing", { delay: 10 });
  await waitText(alice, "#typing", "bob is typing…");
  const messagesInGeneral = await alice.$$eval("#messages .message", (els) => els.length);
  if (messagesInGeneral !== 3) throw new Error(`alice shows ${messagesInGeneral} messages, expected 3`);
  const shot = resolve(opts.screenshot);
  mkdirSync(dirname(shot), { recursive: true });
  await alice.screenshot({ path: shot });
  log("screenshot", { path: shot });

  step("alice goes offline, misses a message, comes back and sees it");
  await context.setOffline(true);
  await alice.waitForSelector('#status:not([data-state="connected"])');
  const dave = connectClient(base, { transports: ["websocket"], forceNew: true });
  try {
    const joined = await dave
      .timeout(timeout)
      .emitWithAck("join", { nickname: "dave", room: "general" });
    if (!joined?.ok) throw new Error(`dave could not join: ${JSON.stringify(joined)}`);
    const sent = await dave.timeout(timeout).emitWithAck("chat message", "you missed this, alice");
    if (!sent?.ok) throw new Error(`dave could not send: ${JSON.stringify(sent)}`);
    await context.setOffline(false);
    await alice.waitForSelector('#status[data-state="connected"]', { timeout: 30000 });
    await waitMessage(alice, "dave", "you missed this, alice");
    await waitText(alice, "#messages", "reconnected — 1 missed message restored");
    const recovered = await alice.evaluate(() => window.chat.socket.recovered);
    if (recovered !== true) throw new Error(`alice's socket.recovered is ${recovered}`);
    log("recovered", { page: "alice" });
  } finally {
    dave.disconnect();
  }

  step("the pages close");
  await carol.close();
  await bob.close();
  await alice.close();
  ok = true;
} catch (e) {
  log("error", { error: String(e && e.stack ? e.stack : e) });
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
log("result", { ok });
process.exit(ok ? 0 : 1);
