/**
 * The web client end to end: the real server, headless Chromium, and people
 * clicking and typing in isolated browser contexts.
 *
 * Set `IM_SCREENSHOT` to write the README's screenshots to `docs/` (a topic
 * conversation between two users, and the same client on a phone).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Browser, findChromium } from "./chromium.ts";
import { tid } from "./page.ts";
import { loginAs, send, STATE, topicItem, unread, userItem, waitForMessages } from "./helpers.ts";
import { TestServer } from "../e2e/harness.ts";

const chromium = findChromium();
const ignore = !chromium && !Deno.env.get("CI");
if (ignore) {
  console.warn("browser tests ignored: no chromium on PATH (with CI set they fail instead)");
}
const DOCS = new URL("../../docs/", import.meta.url);
const screenshots = Boolean(Deno.env.get("IM_SCREENSHOT"));

Deno.test({
  name: "web client: chat, topics, offline delivery, safety, reload and sign-in elsewhere",
  ignore,
  async fn(t) {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    // Fast probes and a short silence limit: a client that missed its pings
    // or left a probe unanswered would be dropped within this test.
    const server = await TestServer.start({
      "probe-interval-ms": 300,
      "client-timeout-ms": 6000,
    });
    const browser = await Browser.launch(chromium);
    // Each test has a server of its own, so plain names cannot collide.
    const alice = "Harry";
    const bob = "Hermione";
    try {
      const a = await browser.newPage();
      const b = await browser.newPage();

      await t.step("the page is served with a strict CSP and loads without errors", async () => {
        const response = await fetch(`${server.url}/`);
        await response.body?.cancel();
        assert.equal(response.status, 200);
        const csp = response.headers.get("content-security-policy") ?? "";
        assert.match(csp, /script-src 'self'/);
        // No ws: or wss: source: Chromium lets 'self' cover the page's own host over
        // ws: (CSP Level 3), which the "open" state in every later step proves.
        assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
        await a.goto(`${server.url}/`);
        await a.waitForVisible(tid("login-username"));
        assert.equal(await a.evaluate(`document.getElementById("chat-screen").hidden`), true);
      });

      await t.step(
        "two users chat both ways; Enter sends, Shift+Enter breaks the line",
        async () => {
          await loginAs(a, server.url, alice);
          await loginAs(b, server.url, bob);
          assert.equal(await b.text(tid("connection-state")), "Connected");
          await b.click(userItem(alice));
          assert.equal(await b.text(tid("conversation-title")), `@ ${alice}`);
          await send(b, "Hi Harry, are you OK?");
          assert.deepEqual(await waitForMessages(b, 1), [{
            from: bob,
            topic: "",
            text: "Hi Harry, are you OK?",
          }]);

          await a.waitFor(`document.querySelector('${userItem(bob)} [data-testid="unread"]')`);
          assert.equal(await unread(a, userItem(bob)), "1");
          await a.click(userItem(bob));
          assert.equal(await unread(a, userItem(bob)), null);
          assert.deepEqual(await waitForMessages(a, 1), [{
            from: bob,
            topic: "",
            text: "Hi Harry, are you OK?",
          }]);
          assert.match(await a.text(`${tid("message")} time`) ?? "", /\d{1,2}:\d{2}/);

          await a.type(tid("compose"), "line one");
          await a.pressEnter(true);
          await a.send("Input.insertText", { text: "line two" });
          await a.pressEnter();
          const expected = { from: alice, topic: "", text: "line one\nline two" };
          assert.deepEqual((await waitForMessages(a, 2))[1], expected);
          assert.deepEqual((await waitForMessages(b, 2))[1], expected);
          assert.equal(
            await a.evaluate(`document.querySelector('[data-testid="compose"]').value`),
            "",
          );
        },
      );

      await t.step("heartbeats: a ping every 5 s, every probe answered", async () => {
        await a.captureWebSocketFrames();
        await new Promise((resolve) => setTimeout(resolve, 5_500));
        const sent = a.frames.sent.map((text) => JSON.parse(text));
        const pings = sent.filter((frame) => frame["message-type"] === "ping");
        // 5.5 s hold one ping, or two when the window starts just before one.
        assert.ok(pings.length === 1 || pings.length === 2, JSON.stringify(pings));
        assert.equal(pings[0].from, alice);
        assert.equal(typeof pings[0]["message-id"], "number");
        const probes = a.frames.received.map((text) => JSON.parse(text))
          .filter((frame) => frame["message-type"] === "pong");
        assert.ok(probes.length >= 10, `${probes.length} probes in 5.5 s at 300 ms`);
        const acked = new Set(
          sent.filter((f) => f["message-type"] === "ack").map((f) => f["ack-id"]),
        );
        // The newest probe's answer may still be on its way.
        for (const probe of probes.slice(0, -1)) assert.ok(acked.has(probe["message-id"]));
        for (const page of [a, b]) assert.equal(await page.evaluate(STATE), "open");
        assert.doesNotMatch(server.log.join("\n"), /heartbeat timeout/);
      });

      await t.step("a hostile message is shown as text and runs nothing", async () => {
        const hostile = `<img src=x onerror=alert(1)><script>alert(2)</script>`;
        await send(a, hostile);
        const shown = await waitForMessages(b, 3);
        assert.equal(shown[2].text, hostile);
        assert.equal(await b.count(`${tid("message-list")} img, ${tid("message-list")} script`), 0);
        assert.deepEqual(b.problems, []);
      });

      const topic = "philosophers_stone";
      await t.step("a topic: create, mention, reply, quit, join, delete, not found", async () => {
        await a.type(tid("topic-create-name"), topic);
        await a.click(tid("topic-create-submit"));
        await a.waitFor(`document.querySelector('[data-testid="conversation-title"]')
          .textContent.includes(${JSON.stringify(topic)})`);
        await send(a, `@${bob} welcome to the club`);
        await waitForMessages(a, 1);

        // Bob was not a member: the mention joins him and delivers the message.
        await b.waitFor(`document.querySelector('${topicItem(topic)} [data-testid="unread"]')`);
        await b.click(topicItem(topic));
        assert.deepEqual(await waitForMessages(b, 1), [
          { from: alice, topic, text: `@${bob} welcome to the club` },
        ]);
        assert.equal(await b.text(`${tid("message")} .mention`), `@${bob}`);
        await send(b, `thanks @${alice}`);
        assert.deepEqual((await waitForMessages(a, 2))[1], {
          from: bob,
          topic,
          text: `thanks @${alice}`,
        });
        await send(a, "Meet in the library at eight?");
        await waitForMessages(b, 3);
        if (screenshots) {
          await a.setViewport(1100, 640);
          await a.screenshot(new URL("screenshot.png", DOCS));
          await a.setViewport(1024, 720);
        }

        await b.click(tid("topic-quit"));
        await b.waitForVisible(tid("topic-join"));
        await send(a, "anyone still here?");
        // A direct message after it is a barrier: one sender's messages to one receiver keep order.
        await a.click(userItem(bob));
        await send(a, "barrier");
        await b.waitFor(`document.querySelector('${userItem(alice)} [data-testid="unread"]')`);
        assert.equal(await b.count(tid("message")), 3, "quit: the topic message must not arrive");

        await b.click(tid("topic-join"));
        await b.waitForVisible(tid("topic-quit"));
        await a.click(topicItem(topic));
        await send(a, "welcome back");
        assert.equal((await waitForMessages(b, 4))[3].text, "welcome back");

        await a.click(tid("topic-delete"));
        await a.click(tid("topic-delete"));
        for (const page of [a, b]) {
          await page.waitFor(`document.querySelector('[data-testid="system-notice"]')`);
          assert.match(await page.text(tid("system-notice")) ?? "", /deleted/);
        }
        await send(b, "hello?");
        await b.waitFor(`document.querySelectorAll('[data-testid="system-notice"]').length === 2`);
        assert.match(
          await b.evaluate(`document.querySelectorAll('[data-testid="system-notice"]')[1]
          .textContent`),
          /does not exist/,
        );
      });

      await t.step(
        "a reload keeps the session, the open conversation and its history",
        async () => {
          await b.click(userItem(alice));
          const before = await waitForMessages(b, 4);
          const stored = `JSON.parse(localStorage.getItem("huayi-im:session"))?.username`;
          assert.equal(await b.evaluate(stored), bob);
          await b.reload();
          await b.waitFor(`${STATE} === "open"`);
          assert.equal(await b.evaluate(`document.getElementById("login-screen").hidden`), true);
          assert.equal(await b.text(tid("conversation-title")), `@ ${alice}`);
          assert.deepEqual(await waitForMessages(b, 4), before);
        },
      );

      await t.step("every control has a name and takes keyboard focus", async () => {
        const unnamed = await b.evaluate<string[]>(`[...document.querySelectorAll(
          "button, input, textarea, [tabindex]")].filter((c) => c.getClientRects().length > 0)
          .filter((c) => {
            const name = c.getAttribute("aria-label") || [...(c.labels ?? [])]
              .map((l) => l.textContent).join("") || c.textContent;
            return !name.trim() || c.tabIndex < 0;
          }).map((c) => c.outerHTML.slice(0, 80))`);
        assert.deepEqual(unnamed, []);
        // Tab from the message list reaches the compose box, where typing and Enter send.
        await b.evaluate(`document.querySelector('[data-testid="message-list"]').focus()`);
        await b.send("Input.dispatchKeyEvent", { type: "keyDown", key: "Tab", code: "Tab" });
        await b.send("Input.dispatchKeyEvent", { type: "keyUp", key: "Tab", code: "Tab" });
        assert.equal(await b.evaluate(`document.activeElement.dataset.testid`), "compose");
      });

      await t.step("offline messages are shown, in order, when the user logs in", async () => {
        await b.click(tid("logout"));
        await b.waitForVisible(tid("login-username"));
        assert.match(await b.text('[data-testid="login-message"]') ?? "", /logged out/);
        await a.waitFor(
          `document.querySelector('${userItem(bob)} .dot').dataset.online === "false"`,
          8_000,
        );
        await a.click(userItem(bob));
        for (const text of ["one", "two", "three"]) await send(a, text);
        await waitForMessages(a, 7);
        await loginAs(b, server.url, bob);
        // The three arrive one by one after the login: the badge counts up to 3.
        await b.waitFor(
          `document.querySelector('${
            userItem(alice)
          } [data-testid="unread"]')?.textContent === "3"`,
        );
        assert.equal(await unread(b, userItem(alice)), "3");
        await b.click(userItem(alice));
        const texts = (await waitForMessages(b, 7)).map((m) => m.text);
        assert.deepEqual(texts.slice(-3), ["one", "two", "three"]);
      });

      await t.step("signing in elsewhere sends the first window to the login screen", async () => {
        const elsewhere = await browser.newPage();
        await loginAs(elsewhere, server.url, alice);
        await a.waitForVisible(tid("login-username"));
        assert.match(await a.text('[data-testid="login-message"]') ?? "", /somewhere else/);
        // It must not come back on its own and take the session back.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        assert.equal(await a.evaluate(`document.getElementById("chat-screen").hidden`), true);
        assert.equal(await elsewhere.evaluate(STATE), "open");
      });

      await t.step(
        "a new tab: not the person another tab has open, else the last one; logged out or dead: login",
        async () => {
          const luna = await browser.newPage();
          await loginAs(luna, server.url, "Luna_Lovegood");
          const stored = `JSON.parse(localStorage.getItem("huayi-im:session"))`;
          const sid = await luna.evaluate<string>(`${stored}.sid`);
          // Same profile, new tab while the first has Luna open: taking her
          // would sign the first tab out (one place at a time), so it asks.
          const second = await browser.newPage(luna.contextId);
          await second.goto(`${server.url}/`);
          await second.waitForVisible(tid("login-username"));
          assert.match(await second.text(tid("login-message")) ?? "", /another tab/);
          assert.equal(
            await second.evaluate(`document.getElementById("login-username").value`),
            "",
          );
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          assert.equal(await luna.evaluate(STATE), "open", "the first tab keeps its person");
          await browser.closePage(second);

          // With the first tab closed, a new tab starts as the last person logged in.
          await browser.closePage(luna);
          const tab = await browser.newPage(luna.contextId);
          await tab.goto(`${server.url}/`);
          await tab.waitFor(`${STATE} === "open"`);
          assert.equal(await tab.text("#me"), "Luna_Lovegood");

          const response = await fetch(`${server.url}/api/logout`, {
            method: "POST",
            headers: { authorization: `Bearer ${sid}` },
          });
          await response.body?.cancel();
          assert.equal(response.status, 200);
          await tab.waitForVisible(tid("login-username"));
          assert.match(await tab.text('[data-testid="login-message"]') ?? "", /logged out/);
          assert.equal(await tab.evaluate(`localStorage.getItem("huayi-im:session")`), null);

          await tab.evaluate(`sessionStorage.setItem("huayi-im:session",
          JSON.stringify({ sid: ${JSON.stringify(sid)}, username: "Luna_Lovegood" }))`);
          await tab.reload();
          await tab.waitForVisible(tid("login-username"));
          await tab.waitFor(`document.querySelector('[data-testid="login-message"]')
          .textContent.includes("session has ended")`);
          assert.deepEqual(tab.problems, []);
        },
      );

      await t.step("a 360 px wide phone shows one pane at a time", async () => {
        await b.setViewport(360, 740, true);
        await b.click("#back");
        await b.waitForVisible(tid("user-list"));
        assert.equal(await b.evaluate(`document.documentElement.scrollWidth <= 360`), true);
        await b.click(userItem(alice));
        await b.waitForVisible(tid("compose"));
        assert.equal(
          await b.evaluate(`document.querySelector('${tid("user-list")}').getClientRects().length`),
          0,
        );
        assert.equal(await b.evaluate(`document.documentElement.scrollWidth <= 360`), true);
        if (screenshots) await b.screenshot(new URL("screenshot-phone.png", DOCS));
      });

      for (const page of [a, b]) assert.deepEqual(page.problems, []);
    } finally {
      await browser.close();
      assert.equal((await server.stop()).code, 0);
    }
  },
});

Deno.test({
  name: "web client: reconnects on its own after a server restart",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    let server = await TestServer.start();
    const browser = await Browser.launch(chromium);
    const carol = "Ginny";
    const dave = "Neville";
    try {
      const c = await browser.newPage();
      const d = await browser.newPage();
      await loginAs(c, server.url, carol);
      await loginAs(d, server.url, dave);
      await d.click(userItem(carol));
      await send(d, "before the restart");
      await c.waitFor(`document.querySelector('${userItem(dave)} [data-testid="unread"]')`);

      const port = Number(new URL(server.url).port);
      assert.equal((await server.stop()).code, 0);
      for (const page of [c, d]) await page.waitFor(`${STATE} === "reconnecting"`);
      // A later --port wins over the harness's --port 0: the same address as before.
      server = await TestServer.start({ port });
      assert.equal(Number(new URL(server.url).port), port);
      for (const page of [c, d]) await page.waitFor(`${STATE} === "open"`, 20_000);

      await send(d, "after the restart");
      await c.click(userItem(dave));
      const texts = (await waitForMessages(c, 2)).map((m) => m.text);
      assert.deepEqual(texts, ["before the restart", "after the restart"]);
      for (const page of [c, d]) assert.deepEqual(page.problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});
