/**
 * Hostile clients over the wire: caps refuse whole sends, rate limits answer
 * 429 with Retry-After, the WebSocket cap answers 503, Origin rules answer
 * 403, and running out of file descriptors does not end the process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { api, eventually, expectSentinel, login, sendDirect, TestSocket } from "./client.ts";
import { runMain, TestServer } from "./harness.ts";

const UPGRADE = {
  upgrade: "websocket",
  connection: "upgrade",
  "sec-websocket-version": "13",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
};

Deno.test("caps: a send past a recipient's mailbox cap is 429, whole; it drains and receives again", async () => {
  await using server = await TestServer.start({ "mailbox-max": 3 });
  const [harry, hermione] = await Promise.all(["Harry", "Hermione"].map((u) => login(server, u)));
  for (let i = 0; i < 3; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `m${i}`);
  const refused = await sendDirect(server, hermione, "Hermione", ["Neville", "Ron_W"], "both?");
  assert.equal(refused.status, 429);
  assert.match(refused.body.error, /Ron_W/);
  const neville = await TestSocket.open(server, await login(server, "Neville"));
  await expectSentinel(server, neville, "Neville", "nothing partial reached Neville");
  await neville.close();
  // Ron reads his mailbox: it drains, and he receives again.
  await using ron = await TestSocket.open(server, await login(server, "Ron_W"));
  assert.deepEqual((await ron.take(3)).map((f) => f.content), ["m0", "m1", "m2"]);
  assert.equal((await sendDirect(server, hermione, "Hermione", ["Ron_W"], "now")).status, 200);
  assert.equal((await ron.next()).content, "now");
});

Deno.test("caps: the store's byte cap turns a flood into 429s and the memory stays bounded", async () => {
  await using server = await TestServer.start({
    "store-max-bytes": 4_000_000,
    "max-users": 1000,
    "rate-messages": 0,
  });
  const harry = await login(server, "Harry");
  const before = await server.rss();
  const recipients = Array.from({ length: 900 }, (_, i) => `victim_${i}`);
  const statuses = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    const { status } = await sendDirect(server, harry, "Harry", recipients, "x".repeat(2000));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  assert.ok((statuses.get(429) ?? 0) > 200, `refused: ${JSON.stringify([...statuses])}`);
  assert.ok((statuses.get(200) ?? 0) > 0, "the first sends fit");
  const stats = (await api(server, "GET", "/api/stats", { sid: harry })).body;
  assert.ok(stats.storeBytes <= 4_000_000, `${stats.storeBytes} bytes stored`);
  const grown = (await server.rss()) - before;
  assert.ok(grown < 100_000_000, `RSS grew by ${grown} bytes`);
  // A made-up name past the users cap is refused too, rather than growing the mailboxes.
  const many = Array.from({ length: 200 }, (_, i) => `extra_${i}`);
  const pastUsers = await sendDirect(server, harry, "Harry", many, "");
  assert.equal(pastUsers.status, 429);
});

Deno.test("rate limit: sends past the burst are 429 with Retry-After, then pass again", async () => {
  await using server = await TestServer.start({ "rate-messages": 2 });
  const harry = await login(server, "Harry");
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 25; i++) {
    const reply = await sendDirect(server, harry, "Harry", ["Ron_W"], `m${i}`);
    statuses.push(reply.status);
    if (reply.status === 429) retryAfter ??= reply.headers.get("retry-after");
  }
  assert.ok(statuses.slice(0, 20).every((s) => s === 200), `burst of 20: ${statuses}`);
  assert.ok(statuses.slice(20).includes(429), `${statuses}`);
  assert.match(retryAfter ?? "", /^[1-9][0-9]*$/);
  await new Promise((resolve) => setTimeout(resolve, Number(retryAfter) * 1000 + 50));
  assert.equal((await sendDirect(server, harry, "Harry", ["Ron_W"], "later")).status, 200);
  // Another user is not limited by Harry's sends.
  const ginny = await login(server, "Ginny");
  assert.equal((await sendDirect(server, ginny, "Ginny", ["Ron_W"], "hi")).status, 200);
});

Deno.test("rate limit: logins per address are 429 with Retry-After past the burst", async () => {
  await using server = await TestServer.start({ "rate-logins": 1 });
  const statuses = [];
  for (let i = 0; i < 12; i++) {
    statuses.push(
      (await api(server, "POST", "/api/login", { body: { username: `user_${i}` } })).status,
    );
  }
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
  assert.equal(statuses[10], 429);
  const refused = await api(server, "POST", "/api/login", { body: { username: "later" } });
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  assert.match(refused.body.error, /logins/);
});

Deno.test("connection cap: past IM_MAX_CONNECTIONS upgrades are 503, before Origin and session; old sockets work", async () => {
  await using server = await TestServer.start({ "max-connections": 2 });
  const [harry, ron, ginny] = await Promise.all(
    ["Harry", "Ron_W", "Ginny"].map((u) => login(server, u)),
  );
  await using a = await TestSocket.open(server, ron);
  await using b = await TestSocket.open(server, ginny);
  const refused = await api(server, "GET", `/api/ws?sid=${harry}`, { headers: UPGRADE });
  assert.equal(refused.status, 503);
  assert.match(refused.body.error, /WebSockets/);
  const before = await api(server, "GET", "/api/ws?sid=nope", {
    headers: { ...UPGRADE, origin: "http://evil.example" },
  });
  assert.equal(before.status, 503, "the cap answers before Origin and session");
  assert.equal(
    (await api(server, "GET", "/api/users", { sid: harry })).status,
    200,
    "HTTP still served",
  );
  assert.equal((await sendDirect(server, harry, "Harry", ["Ron_W"], "still here")).status, 200);
  assert.equal((await a.next()).content, "still here");
  await b.close();
  await eventually(async () =>
    (await api(server, "GET", "/api/stats", { sid: harry })).body.online === 1
  );
  await using c = await TestSocket.open(server, harry);
  assert.equal(c.socket.readyState, WebSocket.OPEN, "room again after a socket closed");
});

Deno.test("origin: upgrades and POSTs from another origin are 403; the own origin and none pass", async () => {
  await using server = await TestServer.start();
  const host = new URL(server.url).host;
  const harry = await login(server, "Harry");
  const post = (origin?: string) =>
    api(server, "POST", "/api/login", {
      body: { username: "Ginny" },
      headers: origin ? { origin } : {},
    });
  assert.equal((await post()).status, 200, "no Origin: a non-browser client");
  assert.equal((await post(`http://${host}`)).status, 200);
  for (const bad of ["http://evil.example", "null", `https://${host}`, "http://127.0.0.1:1"]) {
    const reply = await post(bad);
    assert.equal(reply.status, 403, bad);
    assert.match(reply.body.error, /Origin/);
  }
  const upgrade = await api(server, "GET", `/api/ws?sid=${harry}`, {
    headers: { ...UPGRADE, origin: "http://evil.example" },
  });
  assert.equal(upgrade.status, 403);
  const noSession = await api(server, "POST", "/api/messages", {
    headers: { origin: "http://evil.example" },
  });
  assert.equal(noSession.status, 403, "Origin before the session");
  assert.equal(
    (await api(server, "GET", "/api/users", {
      sid: harry,
      headers: { origin: "http://evil.example" },
    }))
      .status,
    200,
    "GETs other than the upgrade are not checked",
  );
});

Deno.test("origin: IM_ALLOWED_ORIGINS replaces the default", async () => {
  await using server = await TestServer.start({ "allowed-origins": "https://chat.example" });
  const host = new URL(server.url).host;
  const post = (origin: string) =>
    api(server, "POST", "/api/login", { body: { username: "Ginny" }, headers: { origin } });
  assert.equal((await post("https://chat.example")).status, 200);
  assert.equal((await post(`http://${host}`)).status, 403);
});

Deno.test("exhaustion: a flood of half-open connections past the file limit does not end the process", async () => {
  await using server = await TestServer.start({ "max-connections": 50 }, {}, { fileLimit: 256 });
  const port = Number(new URL(server.url).port);
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await using socket = await TestSocket.open(server, ron);
  // Connections that never finish their request headers, until the server runs out of descriptors.
  const flood: Deno.TcpConn[] = [];
  for (let i = 0; i < 400; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("GET / HT"));
      flood.push(conn);
    } catch {
      break;
    }
  }
  await eventually(() => server.log.some((line) => line.includes("accept-failed")), 5000, "EMFILE");
  assert.ok(flood.length > 200, `${flood.length} connections opened`);
  // The socket it holds keeps working through the exhaustion.
  socket.send({ "message-type": "ping", "message-id": "during" });
  assert.deepEqual(await socket.next(), { "message-type": "ack", "ack-id": "during" });
  for (const conn of flood) conn.close();
  // It listens again by itself once descriptors free up.
  const reply = await eventually(
    async () => {
      try {
        return await sendDirect(server, harry, "Harry", ["Ron_W"], "after the flood");
      } catch {
        return undefined;
      }
    },
    10_000,
    "serving again",
  );
  assert.equal(reply?.status, 200);
  assert.equal((await socket.next()).content, "after the flood");
  assert.equal(
    server.log.filter((line) => line.includes("accept-failed")).length,
    1,
    "logged once",
  );
  await eventually(() => server.log.some((line) => line.includes("listen again=true")));
});

Deno.test("start-up: a port in use is one line on stderr and exit code 2", async () => {
  await using server = await TestServer.start();
  const port = new URL(server.url).port;
  const result = await runMain(["--host", "127.0.0.1", "--port", port, "--store", "memory"]);
  assert.equal(result.code, 2);
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is in use`));
});

Deno.test("start-up: open auth on a non-loopback address logs a warning", async () => {
  await using server = await TestServer.start({ host: "0.0.0.0" });
  await eventually(() => server.log.some((l) => l.includes("warning") && l.includes("anyone")));
  await using local = await TestServer.start();
  await eventually(() => local.log.some((line) => line.includes(" listen ")));
  assert.ok(!local.log.some((line) => line.includes("warning")));
});
