/**
 * The web client on the v2 protocol, end to end against the real server:
 * history read from the server, resume across a dropped socket and a killed
 * server, two people in two tabs of one browser profile, and lists that stay
 * bounded on a server with many users and topics.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Browser, findChromium } from "./chromium.ts";
import { tid } from "./page.ts";
import {
  loginAs,
  send,
  type Shown,
  sleep,
  STATE,
  unread,
  userItem,
  waitForMessages,
} from "./helpers.ts";
import { api, login, sendDirect, TestSocket } from "../e2e/client.ts";
import { TestServer } from "../e2e/harness.ts";

const chromium = findChromium();
const ignore = !chromium && !Deno.env.get("CI");

const texts = (shown: Shown[]) => shown.map((m) => m.text);
const COUNT = `document.querySelectorAll('[data-testid="message"]').length`;
const NOTICE_SHOWN = `!document.querySelector('[data-testid="resume-notice"]').hidden`;

Deno.test({
  name:
    "web client: history comes from the server, after a reload with nothing cached and on scrolling up",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    // Entries stop being replayed to sockets after 1.5 s; history keeps them.
    const server = await TestServer.start({ "offline-ttl-ms": 1500 });
    const browser = await Browser.launch(chromium);
    try {
      const a = await browser.newPage();
      const b = await browser.newPage();
      await loginAs(a, server.url, "Harry");
      await loginAs(b, server.url, "Ron_W");
      await b.click(userItem("Harry"));
      await send(b, "hi Harry");
      await a.click(userItem("Ron_W"));
      await waitForMessages(a, 1);
      await send(a, "hi Ron");
      await waitForMessages(b, 2);
      // Luna writes 250 messages to Ron, over HTTP only.
      const luna = await login(server, "Luna_L");
      const lunas = Array.from({ length: 250 }, (_, i) => `L${String(i + 1).padStart(3, "0")}`);
      for (const text of lunas) await sendDirect(server, luna, "Luna_L", ["Ron_W"], text);
      await b.waitFor(`document.querySelector('${userItem("Luna_L")} [data-testid="unread"]')
        ?.textContent === "250"`);
      await sleep(1_600);

      // Nothing cached, nothing left to replay: what the page shows is the server's history.
      await b.captureWebSocketFrames();
      await b.trackWebSockets();
      await b.evaluate(`localStorage.clear()`);
      await b.reload();
      await b.waitFor(`${STATE} === "open"`);
      assert.equal(
        await b.text(tid("conversation-title")),
        "@ Harry",
        "the tab's open conversation",
      );
      assert.deepEqual(await waitForMessages(b, 2), [
        { from: "Ron_W", topic: "", text: "hi Harry" },
        { from: "Harry", topic: "", text: "hi Ron" },
      ]);
      // The capture starts before the reload: the old socket may still get
      // the ack of its last 5 s ping. The new socket's first frame is next.
      const [resumed] = b.frames.received.map((text) => JSON.parse(text))
        .filter((frame) => frame["message-type"] !== "ack" && frame["message-type"] !== "pong");
      assert.equal(resumed.topic, "__resumed__");
      assert.equal(resumed.content.since, 0, "nothing cached: resume from the start");
      assert.ok(
        b.requests.some((r) =>
          r.url.pathname === "/api/messages" && r.url.searchParams.get("with") === "Harry"
        ),
      );
      assert.equal(
        await b.evaluate(`document.querySelector('[data-testid="message"]').classList
          .contains("mine")`),
        true,
        "Ron's own copy is his",
      );
      // Times are the server's sent-at.
      const sid = await b.evaluate<string>(
        `JSON.parse(sessionStorage.getItem("huayi-im:session")).sid`,
      );
      const history = await api(server, "GET", "/api/messages?with=Harry", { sid });
      const sentAt = history.body.list.map((f: { "sent-at": number }) =>
        new Date(f["sent-at"]).toISOString()
      ).reverse();
      assert.deepEqual(
        await b.evaluate(`[...document.querySelectorAll('[data-testid="message"] time')]
          .map((t) => t.getAttribute("datetime"))`),
        sentAt,
      );
      // History is the past: no unread badges, and nothing was missed by this tab.
      assert.equal(await unread(b, userItem("Luna_L")), null);
      assert.equal(await b.evaluate(NOTICE_SHOWN), false);

      // Scrolling up reads older pages, keeping the reader's place, up to the first message.
      await b.click(userItem("Luna_L"));
      await b.waitFor(`${COUNT} >= 50`);
      let count = await b.evaluate<number>(COUNT);
      while (count < 250) {
        const top = await b.evaluate<string>(
          `document.querySelector('[data-testid="message"] .text').textContent`,
        );
        await b.evaluate(`document.querySelector('[data-testid="message-list"]').scrollTop = 0`);
        await b.waitFor(`${COUNT} > ${count}`);
        count = await b.evaluate<number>(COUNT);
        // The message that was at the top is still in view, below the older ones.
        const place = await b.evaluate<{ top: number; listTop: number; listBottom: number }>(
          `(() => {
            const list = document.querySelector('[data-testid="message-list"]').getBoundingClientRect();
            const was = [...document.querySelectorAll('[data-testid="message"] .text')]
              .find((t) => t.textContent === ${JSON.stringify(top)}).getBoundingClientRect();
            return { top: was.top, listTop: list.top, listBottom: list.bottom };
          })()`,
        );
        assert.ok(place.top >= place.listTop - 1 && place.top < place.listBottom, `${top} in view`);
      }
      assert.deepEqual(texts(await waitForMessages(b, 250)), lunas, "all, in order, each once");
      await b.waitFor(`document.querySelector('[data-testid="load-older"]').hidden`);
      const older = b.requests.filter((r) =>
        r.url.pathname === "/api/messages" && r.url.searchParams.has("before")
      );
      assert.ok(older.length >= 2, `${older.length} older pages`);
      for (const r of older) {
        assert.equal(r.url.searchParams.get("with"), "Luna_L");
        assert.equal(r.url.searchParams.get("limit"), "50");
      }

      // Away for longer than the server replays: the resume says recovered: false, the
      // page says so, and reads what it missed from history (as unread news).
      await b.setOffline(true);
      await b.dropSocket();
      await b.waitFor(`${STATE} !== "open"`);
      await send(a, "while you were away");
      await send(a, "still there?");
      await waitForMessages(a, 4);
      await sleep(1_600);
      await b.setOffline(false);
      await b.waitFor(`${STATE} === "open"`, 20_000);
      await b.waitFor(NOTICE_SHOWN);
      assert.match(await b.text(tid("resume-notice")) ?? "", /^Reconnected\. Some older messages/);
      await b.waitFor(`document.querySelector('${userItem("Harry")} [data-testid="unread"]')
        ?.textContent === "2"`);
      await b.click(userItem("Harry"));
      assert.deepEqual(texts(await waitForMessages(b, 4)), [
        "hi Harry",
        "hi Ron",
        "while you were away",
        "still there?",
      ]);
      for (const page of [a, b]) assert.deepEqual(page.problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "web client: a dropped socket or a killed server loses nothing on screen and shows nothing twice",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    let server = await TestServer.start();
    const browser = await Browser.launch(chromium);
    try {
      const c = await browser.newPage();
      const d = await browser.newPage();
      await c.trackWebSockets();
      await loginAs(c, server.url, "Ginny");
      await loginAs(d, server.url, "Neville");
      await c.click(userItem("Neville"));
      await d.click(userItem("Ginny"));
      await send(d, "one");
      await waitForMessages(c, 1);
      await send(c, "two");
      await waitForMessages(d, 2);
      await waitForMessages(c, 2);

      // The socket drops while the network is gone; what was sent meanwhile comes once.
      await c.setOffline(true);
      await c.dropSocket();
      await c.waitFor(`${STATE} === "reconnecting"`);
      await send(d, "three");
      await send(d, "four");
      await waitForMessages(d, 4);
      await sleep(1_000);
      assert.notEqual(await c.evaluate(STATE), "open", "offline: the two come by the replay");
      assert.equal(await c.evaluate(COUNT), 2);
      await c.setOffline(false);
      await c.waitFor(`${STATE} === "open"`, 20_000);
      const four = ["one", "two", "three", "four"];
      assert.deepEqual(texts(await waitForMessages(c, 4)), four);
      await sleep(500);
      assert.deepEqual(texts(await waitForMessages(c, 4)), four, "nothing twice");
      assert.deepEqual(texts(await waitForMessages(d, 4)), four, "the sender's echo neither");
      assert.equal(await c.evaluate(NOTICE_SHOWN), false, "nothing was lost");

      // The server is killed and started again: the memory store forgot everything...
      await c.setOffline(true);
      const port = Number(new URL(server.url).port);
      await server.stop("SIGKILL");
      server = await TestServer.start({ port });
      await d.waitFor(`${STATE} === "open"`, 20_000);
      // ...and Neville writes before Ginny is back: her new mailbox is numbered from 1
      // again, past where her browser was (a resume from there would skip these).
      const after = ["five", "six", "seven", "eight", "nine"];
      for (const text of after) await send(d, text);
      await waitForMessages(d, 9);
      await c.setOffline(false);
      await c.waitFor(`${STATE} === "open"`, 20_000);
      assert.deepEqual(texts(await waitForMessages(c, 9)), [...four, ...after]);
      await sleep(500);
      for (const page of [c, d]) {
        assert.deepEqual(texts(await waitForMessages(page, 9)), [...four, ...after]);
        await page.waitFor(NOTICE_SHOWN);
        assert.match(
          await page.text(tid("resume-notice")) ?? "",
          /some older messages may be missing/i,
        );
      }
      await c.click(tid("resume-dismiss"));
      assert.equal(await c.evaluate(NOTICE_SHOWN), false);
      await send(c, "ten");
      assert.equal((await waitForMessages(d, 10))[9].text, "ten");
      assert.equal((await waitForMessages(c, 10))[9].text, "ten");
      for (const page of [c, d]) assert.deepEqual(page.problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "web client: two tabs of one browser profile are two people chatting",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    const server = await TestServer.start();
    const browser = await Browser.launch(chromium);
    try {
      const harry = await browser.newPage();
      await loginAs(harry, server.url, "Harry");
      const ron = await browser.newPage(harry.contextId);
      await ron.goto(`${server.url}/`);
      await ron.waitForVisible(tid("login-username"));
      assert.match(await ron.text(tid("login-message")) ?? "", /Harry is signed in in another tab/);
      await ron.fill(tid("login-username"), "Ron_W");
      await ron.click(tid("login-submit"));
      await ron.waitFor(`${STATE} === "open"`);
      await ron.click(userItem("Harry"));
      await send(ron, "Harry, it is Ron, in the next tab");
      await harry.click(userItem("Ron_W"));
      await waitForMessages(harry, 1);
      await send(harry, "Hi Ron");
      const both = ["Harry, it is Ron, in the next tab", "Hi Ron"];
      assert.deepEqual(texts(await waitForMessages(ron, 2)), both);

      // Each tab keeps its own person across a reload; neither signs the other out.
      await harry.reload();
      await ron.reload();
      for (const [page, name] of [[harry, "Harry"], [ron, "Ron_W"]] as const) {
        await page.waitFor(`${STATE} === "open"`);
        assert.equal(await page.text("#me"), name);
        assert.deepEqual(texts(await waitForMessages(page, 2)), both);
      }
      await sleep(1_000);
      for (const page of [harry, ron]) assert.equal(await page.evaluate(STATE), "open");

      // A duplicated tab copies sessionStorage: it must not take Harry from his tab.
      const copy = await browser.newPage(harry.contextId);
      await copy.goto(`${server.url}/`);
      await copy.waitForVisible(tid("login-username"));
      assert.match(
        await copy.text(tid("login-message")) ?? "",
        /Ron_W is signed in in another tab/,
      );
      const harrys = await harry.evaluate<string>(`sessionStorage.getItem("huayi-im:session")`);
      await copy.evaluate(`sessionStorage.setItem("huayi-im:session", ${JSON.stringify(harrys)})`);
      await copy.reload();
      await copy.waitForVisible(tid("login-username"));
      assert.match(
        await copy.text(tid("login-message")) ?? "",
        /Harry is signed in in another tab/,
      );
      await sleep(1_000);
      assert.equal(await harry.evaluate(STATE), "open");
      for (const page of [harry, ron, copy]) assert.deepEqual(page.problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "web client: with 300 users and 300 topics the lists ask for pages, grow on request, search",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    const server = await TestServer.start();
    const browser = await Browser.launch(chromium);
    const names = Array.from({ length: 300 }, (_, i) => `user_${String(i).padStart(3, "0")}`);
    const topics = Array.from({ length: 300 }, (_, i) => `topic_${String(i).padStart(3, "0")}`);
    const sids: string[] = [];
    for (let i = 0; i < names.length; i += 30) {
      sids.push(...await Promise.all(names.slice(i, i + 30).map((name) => login(server, name))));
    }
    for (let i = 0; i < topics.length; i += 30) {
      await Promise.all(
        topics.slice(i, i + 30).map(async (topic) => {
          const reply = await api(server, "POST", "/api/topics", { sid: sids[0], body: { topic } });
          assert.equal(reply.status, 200);
        }),
      );
    }
    let online: TestSocket | undefined;
    try {
      const p = await browser.newPage();
      await p.captureWebSocketFrames();
      await loginAs(p, server.url, "viewer");
      const USERS = `[...document.querySelectorAll('[data-testid="user-item"]')].map((b) =>
        b.dataset.username)`;
      const TOPICS = `[...document.querySelectorAll('[data-testid="topic-item"]')].map((b) =>
        b.dataset.topic)`;
      await p.waitFor(`${USERS}.length === 50 && ${TOPICS}.length === 50`);
      assert.deepEqual(await p.evaluate(USERS), names.slice(0, 50));
      assert.deepEqual(await p.evaluate(TOPICS), topics.slice(0, 50));
      assert.equal(await p.text("#users-count"), "(50 of 301)");
      assert.equal(await p.text("#topics-count"), "(50 of 300)");
      assert.deepEqual(
        [
          ...new Set(
            await p.evaluate<string[]>(`[...document.querySelectorAll(
            '[data-testid="user-item"] .dot')].map((d) => d.dataset.online)`),
          ),
        ],
        ["false"],
        "presence is known for the page shown",
      );

      await p.click(tid("users-more"));
      await p.waitFor(`${USERS}.length === 100`);
      await p.click(tid("topics-more"));
      await p.waitFor(`${TOPICS}.length === 100`);

      await p.fill(tid("user-search"), "user_29");
      await p.waitFor(`${USERS}.length === 10`);
      assert.deepEqual(await p.evaluate(USERS), names.slice(290));
      await p.fill(tid("topic-create-name"), "topic_15");
      await p.waitFor(`${TOPICS}.length === 10`);
      assert.deepEqual(await p.evaluate(TOPICS), topics.slice(150, 160));

      // Someone on the page shown comes online: the next poll shows it, on top.
      await p.fill(tid("user-search"), "");
      await p.waitFor(`${USERS}.length === 50`);
      online = await TestSocket.open(server, sids[7]);
      await p.waitFor(
        `document.querySelector('${userItem("user_007")} .dot').dataset.online === "true"`,
        8_000,
      );
      assert.equal((await p.evaluate<string[]>(USERS))[0], "user_007");

      // Every list request asked for a bounded page, polls included; and a poll
      // redraws the list without taking the keyboard focus away from it.
      await p.evaluate(`document.querySelector('${userItem("user_020")}').focus()`);
      await sleep(5_500);
      assert.equal(await p.evaluate(`document.activeElement.dataset.username`), "user_020");
      const lists = p.requests.filter((r) =>
        ["/api/users", "/api/topics"].includes(r.url.pathname)
      );
      assert.ok(lists.length >= 6, `${lists.length} list requests`);
      for (const r of lists) {
        const limit = Number(r.url.searchParams.get("limit"));
        assert.ok(limit >= 1 && limit <= 101, r.url.href);
      }
      assert.deepEqual(p.problems, []);
    } finally {
      await online?.close();
      await browser.close();
      await server.stop();
    }
  },
});
