/**
 * The web client reading a conversation's history from the server when
 * things do not go in order: a scroll to the top while a read of the same
 * conversation is still on its way, and reads that fail while the server
 * cannot be reached.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Browser, findChromium } from "./chromium.ts";
import { loginAs, sleep, userItem } from "./helpers.ts";
import { login, sendDirect } from "../e2e/client.ts";
import { TestServer } from "../e2e/harness.ts";

const chromium = findChromium();
const ignore = !chromium && !Deno.env.get("CI");

const COUNT = `document.querySelectorAll('[data-testid="message"]').length`;
const TO_TOP = `document.querySelector('[data-testid="message-list"]').scrollTop = 0`;

Deno.test({
  name:
    "web client: a scroll to the top while the newest page is on its way still reads older ones",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    // Entries stop being replayed to sockets after 1 s: the page reads them from history.
    await using server = await TestServer.start({ "offline-ttl-ms": 1000 });
    await using browser = await Browser.launch(chromium);
    await login(server, "Ron_W");
    const luna = await login(server, "Luna_L");
    for (let i = 1; i <= 150; i++) {
      await sendDirect(server, luna, "Luna_L", ["Ron_W"], `L${String(i).padStart(3, "0")}`);
    }
    await sleep(1_100);
    const page = await browser.newPage();
    await page.captureWebSocketFrames();
    await loginAs(page, server.url, "Ron_W");
    // The head start after connecting: the mailbox's newest 100, all Luna's.
    await page.waitFor(`document.querySelector('${userItem("Luna_L")}') !== null`);
    const release = await page.holdRequests("*/api/messages?*with=Luna_L*");
    await page.click(userItem("Luna_L"));
    await page.waitFor(`${COUNT} === 100`);
    // The conversation's newest page is held back; the reader scrolls up meanwhile.
    await page.evaluate(TO_TOP);
    await sleep(300);
    assert.equal(await page.evaluate(COUNT), 100, "nothing older while the read is held");
    await release();
    await page.waitFor(`${COUNT} > 100`, 5_000);
    const older = page.requests.filter((r) =>
      r.url.pathname === "/api/messages" && r.url.searchParams.has("before")
    );
    assert.ok(older.length >= 1, "an older page was asked for");
    assert.deepEqual(page.problems, []);
  },
});

Deno.test({
  name: "web client: a history read that fails is not asked again at once, in a loop",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    await using server = await TestServer.start();
    await using browser = await Browser.launch(chromium);
    const page = await browser.newPage();
    await page.captureWebSocketFrames();
    await loginAs(page, server.url, "Ron_W");
    const harry = await login(server, "Harry");
    await sendDirect(server, harry, "Harry", ["Ron_W"], "one line: shorter than the pane");
    await page.waitFor(`document.querySelector('${userItem("Harry")}') !== null`);
    // The server cannot be reached; opening the conversation asks for its newest page.
    await page.setOffline(true);
    const before = page.requests.length;
    await page.click(userItem("Harry"));
    await sleep(1_000);
    const reads = page.requests.slice(before).filter((r) => r.url.pathname === "/api/messages");
    assert.ok(reads.length >= 1, "the open asked for the newest page");
    assert.ok(reads.length <= 2, `${reads.length} reads in 1 s while the server was away`);
  },
});
