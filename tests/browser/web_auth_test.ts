/**
 * The web client in each of the server's auth modes (`IM_AUTH`), end to end:
 * the real server, headless Chromium, people typing into the login screen.
 *
 * - password: create an account (which signs in), chat, a password too
 *   short, a taken name, a wrong password or an unknown name (one message,
 *   no session), reload, 4001, 4000, a restart; the password kept nowhere.
 * - token: a link `/#token=…&user=…` signs in and leaves the address bar; a
 *   bad or expired token is a clear error; without a token the screen says
 *   where people sign in.
 * - open: the form as before, and learning the mode creates no one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Browser, findChromium } from "./chromium.ts";
import { type Page, tid } from "./page.ts";
import { loginAs, send, STATE, userItem, waitForMessages } from "./helpers.ts";
import { TestServer } from "../e2e/harness.ts";
import { signJwt } from "../../lib/auth/jwt.ts";

const chromium = findChromium();
const ignore = !chromium && !Deno.env.get("CI");
if (ignore) {
  console.warn("browser tests ignored: no chromium on PATH (with CI set they fail instead)");
}

/** Everything the page keeps in localStorage and sessionStorage, as one string. */
const STORED = `JSON.stringify([localStorage, sessionStorage].map((s) => Object.entries(s)))`;
/** This tab's session, or null. */
const SESSION = `sessionStorage.getItem("huayi-im:session")`;

/** Whether the element is on screen. */
function visible(page: Page, selector: string): Promise<boolean> {
  return page.evaluate(
    `(document.querySelector(${JSON.stringify(selector)})?.getClientRects().length ?? 0) > 0`,
  );
}

/** Types a name and a password into the login form and submits it. */
async function submitLogin(page: Page, username: string, password: string) {
  await page.fill(tid("login-username"), username);
  await page.fill(tid("login-password"), password);
  await page.click(tid("login-submit"));
}

/** Waits until the login screen shows a message and returns it. */
async function loginMessage(page: Page): Promise<string> {
  await page.waitFor(`document.querySelector('[data-testid="login-message"]').textContent`);
  return await page.text(tid("login-message")) ?? "";
}

/** The names GET /api/users lists, asked with a sid. */
async function listedUsers(base: string, sid: string): Promise<string[]> {
  const response = await fetch(`${base}/api/users`, {
    headers: { authorization: `Bearer ${sid}` },
  });
  const body = await response.json();
  return body.list.map((user: { username: string }) => user.username).sort();
}

Deno.test({
  name: "web client, password mode: accounts, one refusal for every wrong try, nothing stored",
  ignore,
  async fn(t) {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    // A data directory of the test's own, so the restart below keeps users and sessions.
    const dataDir = await Deno.makeTempDir({ prefix: "huayi-webauth-" });
    const flags = { auth: "password", store: "sqlite", "data-dir": dataDir };
    let server = await TestServer.start(flags);
    const browser = await Browser.launch(chromium);
    const harry = "Harry";
    const hermione = "Hermione";
    const harryPassword = "expelliarmus-42";
    const hermionePassword = "wingardium leviosa";
    try {
      const a = await browser.newPage();
      const b = await browser.newPage();
      const c = await browser.newPage();

      await t.step("the login screen asks for a password and offers an account", async () => {
        await a.goto(`${server.url}/`);
        await a.waitForVisible(tid("login-password"));
        assert.match(await a.text(tid("login-hint")) ?? "", /name and password/);
        assert.equal(await a.text(tid("login-switch")), "Create an account");
        assert.equal(await a.text(tid("login-submit")), "Log in");
      });

      await t.step("a password too short is refused before the server is asked", async () => {
        await a.click(tid("login-switch"));
        await a.waitFor(`document.getElementById("login-form").dataset.intent === "register"`);
        assert.match(await a.text(tid("login-hint")) ?? "", /8 to 256 characters/);
        assert.equal(await a.text(tid("login-submit")), "Create account");
        assert.equal(
          await a.evaluate(`document.getElementById("login-password").autocomplete`),
          "new-password",
        );
        await a.captureWebSocketFrames();
        await submitLogin(a, harry, "short");
        assert.match(await loginMessage(a), /8 to 256 characters/);
        assert.equal(await a.evaluate(SESSION), null);
        assert.deepEqual(a.requests.filter((r) => r.url.pathname.startsWith("/api/")), []);
      });

      await t.step("creating an account signs in; two people chat", async () => {
        await a.fill(tid("login-password"), harryPassword);
        await a.click(tid("login-submit"));
        await a.waitFor(`${STATE} === "open"`);
        assert.equal(await a.text("#me"), harry);

        await b.goto(`${server.url}/`);
        await b.click(tid("login-switch"));
        await submitLogin(b, hermione, hermionePassword);
        await b.waitFor(`${STATE} === "open"`);
        await b.click(userItem(harry));
        await send(b, "Hi Harry, are you OK?");
        await a.click(userItem(hermione));
        assert.deepEqual(await waitForMessages(a, 1), [
          { from: hermione, topic: "", text: "Hi Harry, are you OK?" },
        ]);
        await send(a, "Fine, thanks");
        assert.equal((await waitForMessages(b, 2))[1].text, "Fine, thanks");

        // The client learnt the mode by asking to register an empty password: no one was created.
        const sid = await a.evaluate<string>(`JSON.parse(${SESSION}).sid`);
        assert.deepEqual(await listedUsers(server.url, sid), [harry, hermione]);
      });

      await t.step("the password is kept nowhere: not in storage, not in the log", async () => {
        for (const [page, password] of [[a, harryPassword], [b, hermionePassword]] as const) {
          assert.ok(!(await page.evaluate<string>(STORED)).includes(password));
          assert.equal(await page.evaluate(`document.getElementById("login-password").value`), "");
          assert.equal(await page.evaluate(`JSON.parse(${SESSION}).auth`), "password");
          assert.ok(!server.log.join("\n").includes(password));
        }
      });

      await t.step("a taken name: said so, no session, the owner stays signed in", async () => {
        await c.goto(`${server.url}/`);
        await c.click(tid("login-switch"));
        await submitLogin(c, harry, "another password");
        assert.equal(
          await loginMessage(c),
          "The name Harry is taken. Pick another one, or log in if it is yours.",
        );
        assert.equal(await c.evaluate(SESSION), null);
        assert.equal(await a.evaluate(STATE), "open");
      });

      await t.step("a wrong password and an unknown name: one message, no session", async () => {
        await c.click(tid("login-switch"));
        await c.waitFor(`document.getElementById("login-form").dataset.intent === "login"`);
        for (const [username, password] of [[harry, "alohomora!"], ["Nobody_at_all", "x1234567"]]) {
          await c.evaluate(`document.getElementById("login-message").textContent = ""`);
          await submitLogin(c, username, password);
          assert.equal(await loginMessage(c), "Wrong username or password.");
          assert.equal(await c.evaluate(SESSION), null);
          assert.equal(await visible(c, tid("login-password")), true);
        }
        assert.equal(await a.evaluate(STATE), "open");
      });

      await t.step("the right password signs in; the first tab is sent back (4001)", async () => {
        await submitLogin(c, harry, harryPassword);
        await c.waitFor(`${STATE} === "open"`);
        await a.waitForVisible(tid("login-password"));
        assert.match(await loginMessage(a), /somewhere else/);
        assert.equal(await a.text(tid("login-switch")), "Create an account");
      });

      await t.step("a reload keeps the session", async () => {
        await c.reload();
        await c.waitFor(`${STATE} === "open"`);
        assert.equal(await visible(c, tid("login-username")), false);
        assert.equal(await c.text("#me"), harry);
      });

      await t.step("a server restart: both tabs reconnect with their sessions", async () => {
        const port = Number(new URL(server.url).port);
        assert.equal((await server.stop()).code, 0);
        for (const page of [b, c]) await page.waitFor(`${STATE} === "reconnecting"`);
        server = await TestServer.start({ ...flags, port });
        for (const page of [b, c]) await page.waitFor(`${STATE} === "open"`, 20_000);
        await send(b, "still there?");
        await c.click(userItem(hermione));
        assert.equal((await waitForMessages(c, 3))[2].text, "still there?");
      });

      await t.step("logging out goes back to the password form (4000)", async () => {
        await c.click(tid("logout"));
        await c.waitForVisible(tid("login-password"));
        assert.match(await loginMessage(c), /logged out/);
        assert.equal(await c.evaluate(SESSION), null);
        assert.equal(await c.evaluate(`document.getElementById("login-username").value`), harry);
      });

      for (const page of [a, b, c]) assert.deepEqual(page.problems, []);
    } finally {
      await browser.close();
      await server.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "web client, password mode: a session the server lost goes to the login screen",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    // The memory store forgets sessions (and accounts) when it stops.
    let server = await TestServer.start({ auth: "password", store: "memory" });
    const browser = await Browser.launch(chromium);
    try {
      const a = await browser.newPage();
      await a.goto(`${server.url}/`);
      await a.click(tid("login-switch"));
      await submitLogin(a, "Ginny", "bat-bogey hex");
      await a.waitFor(`${STATE} === "open"`);
      const port = Number(new URL(server.url).port);
      assert.equal((await server.stop()).code, 0);
      server = await TestServer.start({ auth: "password", store: "memory", port });
      // Open mode logs in again by name; a password is not kept, so here the person is asked.
      await a.waitForVisible(tid("login-password"), 20_000);
      assert.match(await loginMessage(a), /session has ended/);
      assert.equal(await a.evaluate(SESSION), null);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(await a.evaluate(STATE), "closed", "no reconnecting with a dead session");
      assert.deepEqual(a.problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "web client, token mode: a link signs in and leaves the address bar; bad links are said so",
  ignore,
  async fn(t) {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    const secret = "the application backend's secret";
    const server = await TestServer.start({ auth: "token" }, { IM_AUTH_SECRET: secret });
    const browser = await Browser.launch(chromium);
    const luna = "Luna_Lovegood";
    const neville = "Neville";
    /** A link as the embedding application would make one. */
    const link = async (user: string, { key = secret, expiresIn = 60 } = {}) => {
      const exp = Math.floor(Date.now() / 1000) + expiresIn;
      const token = await signJwt({ sub: user, exp }, key);
      return { url: `${server.url}/#token=${token}&user=${user}`, token };
    };
    try {
      const a = await browser.newPage();
      const b = await browser.newPage();

      await t.step("a link with a token signs in; the token leaves the address bar", async () => {
        await a.captureWebSocketFrames();
        const { url, token } = await link(luna);
        await a.goto(url);
        await a.waitFor(`${STATE} === "open"`);
        assert.equal(await a.text("#me"), luna);
        assert.equal(await a.evaluate(`location.href`), `${server.url}/`);
        assert.equal(await a.evaluate(`history.length`), 2, "replaced, not a new entry");
        assert.ok(!(await a.evaluate<string>(STORED)).includes(token));
        assert.equal(await a.evaluate(`JSON.parse(${SESSION}).auth`), "token");
        // The token went in the body of POST /api/login, in no address.
        assert.ok(a.requests.some((r) => r.method === "POST" && r.url.pathname === "/api/login"));
        for (const request of a.requests) {
          assert.ok(!request.url.href.includes(token), request.url.href);
        }
      });

      await t.step("two people signed in by links chat", async () => {
        await b.goto((await link(neville)).url);
        await b.waitFor(`${STATE} === "open"`);
        await b.click(userItem(luna));
        await send(b, "Hello Luna");
        await a.click(userItem(neville));
        assert.equal((await waitForMessages(a, 1))[0].text, "Hello Luna");
      });

      await t.step("a reload keeps the session (the token is not needed again)", async () => {
        await a.reload();
        await a.waitFor(`${STATE} === "open"`);
        assert.equal(await a.text("#me"), luna);
        assert.equal(await a.evaluate(`location.hash`), "");
      });

      await t.step("a new tab while another has the person open: where to sign in", async () => {
        const second = await browser.newPage(a.contextId);
        await second.goto(`${server.url}/`);
        await second.waitForVisible("#login-screen");
        assert.match(await loginMessage(second), /another tab .* from your application/);
        assert.match(await second.text(tid("login-hint")) ?? "", /through their application/);
        assert.equal(await visible(second, tid("login-username")), false);
        await browser.closePage(second);
        assert.equal(await a.evaluate(STATE), "open");
      });

      await t.step("a bad or expired token: a clear error, no session, no form", async () => {
        for (const options of [{ key: "not the backend's secret!" }, { expiresIn: -60 }]) {
          const c = await browser.newPage();
          await c.goto((await link("Ginny", options)).url);
          await c.waitForVisible("#login-screen");
          assert.match(await loginMessage(c), /sign-in link .* did not work/);
          assert.match(await c.text(tid("login-hint")) ?? "", /through their application/);
          assert.equal(await visible(c, tid("login-username")), false);
          assert.equal(await visible(c, tid("login-submit")), false);
          assert.equal(await c.evaluate(`location.hash`), "");
          assert.equal(await c.evaluate(SESSION), null);
          assert.deepEqual(c.problems, []);
        }
      });

      await t.step("a token handed to the open page (only the # changes) signs in", async () => {
        const before = await a.evaluate<string>(`JSON.parse(${SESSION}).sid`);
        const { url } = await link("Ginny");
        await a.evaluate(`location.hash = ${JSON.stringify(new URL(url).hash)}`);
        await a.waitFor(`document.getElementById("me").textContent === "Ginny"`);
        await a.waitFor(`${STATE} === "open"`);
        assert.equal(await a.evaluate(`location.hash`), "");
        // Luna's session, no longer used by this tab, was logged out.
        await a.waitFor(`fetch("/api/users", { headers: { authorization: "Bearer ${before}" } })
          .then((r) => r.status === 401)`);
      });

      await t.step(
        "logged out: the screen says people sign in through their application",
        async () => {
          await b.click(tid("logout"));
          await b.waitForVisible("#login-screen");
          assert.match(await loginMessage(b), /logged out/);
          assert.match(await b.text(tid("login-hint")) ?? "", /through their application/);
          assert.equal(await visible(b, tid("login-username")), false);
        },
      );

      await t.step("a tab with no token shows the token screen at once", async () => {
        const d = await browser.newPage();
        await d.goto(`${server.url}/`);
        // The health check names the mode: no name form to fill in first.
        await d.waitForVisible(tid("login-hint"));
        assert.match(await d.text(tid("login-hint")) ?? "", /through their application/);
        assert.equal(await visible(d, tid("login-username")), false);
        assert.equal(await d.evaluate(SESSION), null);
        assert.deepEqual(d.problems, []);
      });

      for (const page of [a, b]) assert.deepEqual(page.problems, []);
    } finally {
      await browser.close();
      assert.equal((await server.stop()).code, 0);
    }
  },
});

Deno.test({
  name: "web client, open mode: the name form as before; learning the mode creates no one",
  ignore,
  async fn() {
    assert.ok(chromium, "chromium is not installed (apt-get install -y chromium)");
    const server = await TestServer.start();
    const browser = await Browser.launch(chromium);
    try {
      const a = await browser.newPage();
      await a.goto(`${server.url}/`);
      await a.waitForVisible(tid("login-username"));
      assert.equal(
        await a.text(tid("login-hint")),
        "Pick a name to chat with. No password: a name is 4 to 30 letters, digits, _ or -.",
      );
      assert.equal(await visible(a, tid("login-password")), false);
      assert.equal(await visible(a, tid("login-switch")), false);
      await loginAs(a, server.url, "Harry");
      const sid = await a.evaluate<string>(`JSON.parse(${SESSION}).sid`);
      assert.equal(await a.evaluate(`JSON.parse(${SESSION}).auth`), "open");
      assert.deepEqual(await listedUsers(server.url, sid), ["Harry"]);
      assert.deepEqual(a.problems, []);
    } finally {
      await browser.close();
      assert.equal((await server.stop()).code, 0);
    }
  },
});
