import assert from "node:assert/strict";
import { createApiHandler } from "../../lib/http/api.ts";
import { json } from "../../lib/http/responses.ts";
import type { ApiDependencies } from "../../lib/http/routes.ts";
import { silentLogger } from "../../lib/telemetry/log.ts";
import type { Session } from "../../lib/core/sessions.ts";
import { createTestHub } from "../realtime/test_hub.ts";
import { createAuthenticator } from "../../lib/auth/authenticator.ts";
import { RateLimiter } from "../../lib/util/rate_limiter.ts";

const MAX_BODY = 1000;
const T = "philosophers_stone";

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

interface CallOptions {
  sid?: string;
  /** A JSON value, or raw text / bytes / stream sent as is. */
  body?: unknown;
  raw?: BodyInit;
  type?: string | null;
  headers?: Record<string, string>;
}

async function setup(extra: Partial<ApiDependencies> = {}) {
  const { hub, directory } = createTestHub();
  const upgrades: Session[] = [];
  const fallbacks: string[] = [];
  const handler = createApiHandler({
    hub,
    log: silentLogger,
    authenticator: await createAuthenticator("open", "", directory),
    maxBodyBytes: MAX_BODY,
    maxConnections: 1000,
    connections: () => 0,
    allowedOrigins: [],
    upgrade: (_request, session) => {
      upgrades.push(session);
      return json(200, { upgraded: session.username });
    },
    fallback: (request) => {
      fallbacks.push(new URL(request.url).pathname);
      return new Response("<!doctype html>", { headers: { "content-type": "text/html" } });
    },
    ...extra,
  });
  const apiReplies: { path: string; reply: Reply }[] = [];

  async function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    const headers = new Headers(options.headers);
    if (options.sid !== undefined) headers.set("authorization", `Bearer ${options.sid}`);
    let body: BodyInit | undefined = options.raw;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    const type = options.type === undefined ? "application/json" : options.type;
    const hasBody = options.body !== undefined || options.raw !== undefined;
    if (hasBody && type !== null) headers.set("content-type", type);
    // GET and HEAD requests cannot carry a body; their Content-Type header stays.
    if (method === "GET" || method === "HEAD") body = undefined;
    const init: RequestInit & { duplex?: string } = { method, headers, body };
    if (body instanceof ReadableStream) init.duplex = "half";
    const request = new Request(`http://x${path}`, init);
    // A Request normalises its URL; Deno.serve hands the target over as sent.
    Object.defineProperty(request, "url", { value: `http://x${path}` });
    const response = await handler(request);
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text);
    } catch { /* not JSON: checked by the callers */ }
    const reply = { status: response.status, headers: response.headers, body: parsed, text };
    if (new URL(`http://x${path}`).pathname.startsWith("/api")) apiReplies.push({ path, reply });
    return reply;
  }

  async function login(username: string): Promise<string> {
    const reply = await call("POST", "/api/login", { body: { username } });
    assert.equal(reply.status, 200, reply.text);
    return reply.body.sid as string;
  }

  /** Every `/api` reply so far was JSON, with an `error` when it failed. */
  function assertAllJson() {
    assert.ok(apiReplies.length > 0);
    for (const { path, reply } of apiReplies) {
      assert.match(reply.headers.get("content-type") ?? "", /^application\/json\b/, path);
      assert.doesNotThrow(() => JSON.parse(reply.text), path);
      if (reply.status >= 400) assert.equal(typeof reply.body.error, "string", path);
    }
  }

  return { hub, handler, call, login, upgrades, fallbacks, assertAllJson };
}

const message = (from: string, extra: Record<string, unknown> = {}) => ({
  "message-type": "message",
  from,
  to: ["Ronald"],
  "content-type": "text/plain",
  content: "Are you OK ?",
  ...extra,
});

Deno.test("http api: login returns a sid and the username; the sid works", async () => {
  const { call, assertAllJson } = await setup();
  const reply = await call("POST", "/api/login", { body: { username: "Harry" } });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.username, "Harry");
  assert.equal(typeof reply.body.sid, "string");
  assert.ok((reply.body.sid as string).length >= 22);
  const users = await call("GET", "/api/users", { sid: reply.body.sid as string });
  assert.equal(users.status, 200);
  assert.deepEqual(users.body, { total: 1, list: [{ username: "Harry" }] });
  assertAllJson();
});

Deno.test("http api: unknown routes are 404 JSON, before the session check", async () => {
  const { call, fallbacks, assertAllJson } = await setup();
  for (
    const path of [
      "/api/nope",
      "/api",
      "/api/",
      "/api/topics/a/b/c",
      "/api/login/x",
      "/api/topics/",
    ]
  ) {
    const reply = await call("GET", path);
    assert.equal(reply.status, 404, path);
  }
  assert.deepEqual(fallbacks, []);
  assertAllJson();
});

Deno.test("http api: a wrong method is 405 with Allow, before the session check", async () => {
  const { call, assertAllJson } = await setup();
  const cases: [string, string, string][] = [
    ["GET", "/api/login", "POST"],
    ["DELETE", "/api/logout", "POST"],
    ["POST", "/api/users", "GET"],
    ["PUT", "/api/topics", "GET, POST"],
    ["GET", `/api/topics/${T}`, "DELETE"],
    ["GET", `/api/topics/${T}/actions/join`, "POST"],
    ["DELETE", `/api/topics/${T}/actions/quit`, "POST"],
    ["PUT", "/api/messages", "GET, POST"],
    ["POST", "/api/ws", "GET"],
  ];
  for (const [method, path, allow] of cases) {
    const reply = await call(method, path, { body: { x: 1 }, type: "text/plain" });
    assert.equal(reply.status, 405, `${method} ${path}`);
    const allowed = reply.headers.get("allow")?.split(",").map((m) => m.trim()).sort();
    assert.deepEqual(allowed, allow.split(", ").sort(), `${method} ${path}`);
  }
  assertAllJson();
});

Deno.test("http api: every route but login and health needs a live session (401)", async () => {
  const { call, login, assertAllJson } = await setup();
  const routes: [string, string][] = [
    ["POST", "/api/logout"],
    ["GET", "/api/users"],
    ["GET", "/api/topics"],
    ["POST", "/api/topics"],
    ["DELETE", `/api/topics/${T}`],
    ["POST", `/api/topics/${T}/actions/join`],
    ["POST", `/api/topics/${T}/actions/quit`],
    ["POST", "/api/messages"],
    ["GET", "/api/ws"],
    ["GET", "/api/stats"],
  ];
  const old = await login("Harry");
  await login("Harry"); // replaces `old`
  for (const [method, path] of routes) {
    assert.equal((await call(method, path)).status, 401, `${method} ${path} without a sid`);
    assert.equal(
      (await call(method, path, { sid: old })).status,
      401,
      `${method} ${path} replaced`,
    );
    assert.equal((await call(method, path, { sid: "garbage" })).status, 401, `${method} ${path}`);
    assert.equal(
      (await call(method, path, { headers: { authorization: "Basic abc" } })).status,
      401,
      `${method} ${path} basic`,
    );
  }
  assertAllJson();
});

Deno.test("http api: the session check comes before Content-Type, size and names", async () => {
  const { call, assertAllJson } = await setup();
  const big = "x".repeat(MAX_BODY * 2);
  assert.equal((await call("POST", "/api/messages", { raw: big, type: "text/plain" })).status, 401);
  assert.equal((await call("POST", "/api/messages", { raw: big })).status, 401);
  assert.equal((await call("POST", "/api/messages", { raw: "{" })).status, 401);
  assert.equal((await call("DELETE", "/api/topics/ab")).status, 401);
  assert.equal((await call("POST", "/api/topics", { body: { topic: "ab" } })).status, 401);
  assertAllJson();
});

Deno.test("http api: routes with a body need application/json (415), parameters allowed", async () => {
  const { call, login, assertAllJson } = await setup();
  const sid = await login("Harry");
  const body = JSON.stringify({ topic: T });
  for (const type of [null, "text/plain", "application/jsonx", "multipart/form-data", "json"]) {
    assert.equal(
      (await call("POST", "/api/topics", { sid, raw: body, type })).status,
      415,
      `${type}`,
    );
    assert.equal(
      (await call("POST", "/api/login", { raw: '{"username":"Ronald"}', type })).status,
      415,
    );
  }
  const ok = await call("POST", "/api/topics", {
    sid,
    raw: body,
    type: "Application/JSON; charset=utf-8",
  });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body, { topic: T });
  assertAllJson();
});

Deno.test("http api: Content-Type is checked before size, size before syntax", async () => {
  const { call, login, assertAllJson } = await setup();
  const sid = await login("Harry");
  const big = "{" + " ".repeat(MAX_BODY * 2);
  assert.equal(
    (await call("POST", "/api/messages", { sid, raw: big, type: "text/plain" })).status,
    415,
  );
  assert.equal((await call("POST", "/api/messages", { sid, raw: big })).status, 413);
  assert.equal((await call("POST", "/api/login", { raw: big })).status, 413);
  assertAllJson();
});

Deno.test("http api: a streamed body without Content-Length is cut off at the limit (413)", async () => {
  const { call, login, assertAllJson } = await setup();
  const sid = await login("Harry");
  let pulled = 0;
  let cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new TextEncoder().encode(" ".repeat(100)));
    },
    cancel() {
      cancelled = true;
    },
  });
  const reply = await call("POST", "/api/messages", { sid, raw: endless });
  assert.equal(reply.status, 413);
  assert.ok(pulled < 50, `read ${pulled} chunks of an endless body`);
  assert.equal(cancelled, true, "the body stream was cancelled");
  // A streamed body within the limit is read whole.
  const text = JSON.stringify({ topic: T });
  const small = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const ch of text) controller.enqueue(new TextEncoder().encode(ch));
      controller.close();
    },
  });
  const created = await call("POST", "/api/topics", { sid, raw: small });
  assert.equal(created.status, 200, created.text);
  assertAllJson();
});

Deno.test("http api: a body of exactly the limit is accepted, one byte more is 413", async () => {
  const { call, login, assertAllJson } = await setup();
  const sid = await login("Harry");
  const make = (size: number) => {
    const base = JSON.stringify(message("Harry", { content: "" }));
    return base.replace('"content":""', `"content":"${"a".repeat(size - base.length)}"`);
  };
  assert.equal(make(MAX_BODY).length, MAX_BODY);
  assert.equal((await call("POST", "/api/messages", { sid, raw: make(MAX_BODY) })).status, 200);
  assert.equal((await call("POST", "/api/messages", { sid, raw: make(MAX_BODY + 1) })).status, 413);
  assertAllJson();
});

Deno.test("http api: bad JSON, bad UTF-8 and bad shapes are 400", async () => {
  const { call, login, assertAllJson } = await setup();
  const sid = await login("Harry");
  const raws: BodyInit[] = ["", "{", "not json", "{'a':1}", new Uint8Array([0x7b, 0xff, 0x7d])];
  for (const raw of raws) {
    assert.equal((await call("POST", "/api/messages", { sid, raw })).status, 400, String(raw));
    assert.equal((await call("POST", "/api/login", { raw })).status, 400, String(raw));
    assert.equal((await call("POST", "/api/topics", { sid, raw })).status, 400, String(raw));
  }
  const bodies = [
    null,
    [],
    "Harry",
    { username: "Ha" },
    { username: "H\u0430rry" },
    message("Harry", { extra: true }),
    message("Harry", { to: [] }),
    message("Harry", { "content-type": "text/html" }),
    message("Harry", { from: 7 }),
  ];
  for (const body of bodies) {
    assert.equal(
      (await call("POST", "/api/messages", { sid, body })).status,
      400,
      JSON.stringify(body),
    );
  }
  assert.equal((await call("POST", "/api/login", { body: { username: "Ha" } })).status, 400);
  assert.equal((await call("POST", "/api/topics", { sid, body: { topic: "a b" } })).status, 400);
  assert.equal((await call("GET", "/api/users?online=maybe", { sid })).status, 400);
  assertAllJson();
});

Deno.test("http api: shape (400) before from (403) before existence (404)", async () => {
  const { call, login, hub, assertAllJson } = await setup();
  const sid = await login("Harry");
  // Someone else's name and a bad recipient: the shape answers first.
  const wrongBoth = message("Draco", { to: ["x"] });
  assert.equal((await call("POST", "/api/messages", { sid, body: wrongBoth })).status, 400);
  // Someone else's name and an unknown topic: `from` answers first.
  const forged = message("Draco", { topic: "no_such_topic" });
  const reply = await call("POST", "/api/messages", { sid, body: forged });
  assert.equal(reply.status, 403);
  assert.equal((await call("POST", "/api/messages", { sid, body: message("Draco") })).status, 403);
  const unknown = message("Harry", { topic: "no_such_topic" });
  assert.equal((await call("POST", "/api/messages", { sid, body: unknown })).status, 404);
  assert.equal(hub.stats().entries, 0, "nothing was sent");
  assertAllJson();
});

Deno.test("http api: a topic name in the path is 400 before any existence check", async () => {
  const { call, login, assertAllJson } = await setup();
  const sid = await login("Harry");
  for (
    const name of [
      "ab",
      "a.b.c.d",
      "%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC",
      "%ZZabcd",
      "a%20bcd",
      "x".repeat(31),
    ]
  ) {
    assert.equal((await call("DELETE", `/api/topics/${name}`, { sid })).status, 400, name);
    assert.equal(
      (await call("POST", `/api/topics/${name}/actions/join`, { sid })).status,
      400,
      name,
    );
    assert.equal(
      (await call("POST", `/api/topics/${name}/actions/quit`, { sid })).status,
      400,
      name,
    );
  }
  for (
    const path of [
      `/api/topics/${T}`,
      `/api/topics/${T}/actions/join`,
      `/api/topics/${T}/actions/quit`,
    ]
  ) {
    const method = path.endsWith(T) ? "DELETE" : "POST";
    assert.equal((await call(method, path, { sid })).status, 404, path);
  }
  assertAllJson();
});

Deno.test("http api: topics: create (409 on a second create), list, join, quit, delete", async () => {
  const { call, login, hub, assertAllJson } = await setup();
  const harry = await login("Harry");
  const ron = await login("Ronald");
  assert.equal((await call("POST", "/api/topics", { sid: harry, body: { topic: T } })).status, 200);
  assert.equal((await call("POST", "/api/topics", { sid: ron, body: { topic: T } })).status, 409);
  const list = await call("GET", "/api/topics", { sid: ron });
  assert.deepEqual(list.body, { total: 1, list: [{ topic: T }] });
  for (const action of ["join", "join", "quit", "quit"]) {
    const reply = await call("POST", `/api/topics/${T}/actions/${action}`, { sid: ron });
    assert.equal(reply.status, 200, action);
    assert.deepEqual(reply.body, { topic: T });
  }
  const deleted = await call("DELETE", `/api/topics/${T}`, { sid: ron });
  assert.equal(deleted.status, 200);
  assert.deepEqual((await hub.topics({})).names, []);
  assert.equal((await call("DELETE", `/api/topics/${T}`, { sid: ron })).status, 404);
  // Harry was a member: the notice waits for him offline.
  assert.deepEqual(
    (await hub.history("Harry", { limit: 5 })).entries.map((e) => e.message.kind),
    ["topic_deleted"],
  );
  assertAllJson();
});

Deno.test("http api: messages are accepted and routed; users lists online and all", async () => {
  const { call, login, hub, upgrades, assertAllJson } = await setup();
  const harry = await login("Harry");
  await login("Hermione");
  const sent = await call("POST", "/api/messages", {
    sid: harry,
    body: message("Harry", { to: ["Ronald", "Hermione"], topic: "" }),
  });
  assert.equal(sent.status, 200, sent.text);
  assert.deepEqual(Object.keys(sent.body), ["id", "sent-at"]);
  assert.equal(typeof sent.body.id, "string");
  assert.ok(Math.abs((sent.body["sent-at"] as number) - Date.now()) < 5000);
  assert.equal(hub.stats().entries, 3, "Ronald's, Hermione's and Harry's own copy");
  const all = await call("GET", "/api/users?online=false", { sid: harry });
  assert.deepEqual(all.body, { total: 2, list: [{ username: "Harry" }, { username: "Hermione" }] });
  const online = await call("GET", "/api/users?online=true", { sid: harry });
  assert.deepEqual(online.body, { total: 0, list: [] });
  const ws = await call("GET", `/api/ws?sid=${harry}`);
  assert.equal(ws.status, 200);
  assert.equal(upgrades.length, 1);
  assert.equal(upgrades[0].username, "Harry");
  const stats = await call("GET", "/api/stats", { sid: harry });
  assert.equal(stats.body.users, 2);
  assertAllJson();
});

Deno.test("http api: any authenticated request is a sign of life", async () => {
  const { call, login, upgrades } = await setup();
  const sid = await login("Harry");
  await call("GET", "/api/ws", { sid });
  const session = upgrades[0];
  const before = session.lastSeen = Date.now() - 10_000;
  await call("GET", "/api/topics", { sid: sid });
  assert.ok(session.lastSeen > before);
});

Deno.test("http api: logout answers 200 and the sid is dead; body-less routes ignore bodies", async () => {
  const { call, login, assertAllJson } = await setup();
  const sid = await login("Harry");
  const out = await call("POST", "/api/logout", {
    sid,
    raw: "not json at all",
    type: "text/plain",
  });
  assert.equal(out.status, 200);
  assert.equal((await call("GET", "/api/users", { sid })).status, 401);
  const other = await login("Ronald");
  assert.equal((await call("POST", "/api/topics", { sid: other, body: { topic: T } })).status, 200);
  const join = await call("POST", `/api/topics/${T}/actions/join`, {
    sid: other,
    raw: "x".repeat(MAX_BODY * 2),
    type: "image/png",
  });
  assert.equal(join.status, 200);
  assert.equal((await call("GET", "/api/users", { sid: other, raw: "{", type: null })).status, 200);
  assertAllJson();
});

Deno.test("http api: /healthz and /api/healthz answer 200 to any method without a session", async () => {
  const { call, fallbacks, assertAllJson } = await setup();
  for (const method of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
    for (const path of ["/healthz", "/api/healthz"]) {
      const reply = await call(method, path, { raw: "junk", type: "text/plain" });
      assert.equal(reply.status, 200, `${method} ${path}`);
      assert.match(reply.headers.get("content-type") ?? "", /^application\/json/);
    }
  }
  assert.deepEqual(fallbacks, []);
  assertAllJson();
});

Deno.test("http api: paths outside /api/ go to the fallback", async () => {
  const { call, fallbacks } = await setup();
  for (const path of ["/", "/index.html", "/apix", "/api-docs", "/healthzz", "/web/app.js"]) {
    const reply = await call("GET", path);
    assert.equal(reply.status, 200, path);
    assert.equal(reply.text, "<!doctype html>");
  }
  assert.deepEqual(fallbacks, [
    "/",
    "/index.html",
    "/apix",
    "/api-docs",
    "/healthzz",
    "/web/app.js",
  ]);
});

Deno.test("http api: paths are matched as sent, dot segments included", async () => {
  const { call, login, assertAllJson } = await setup();
  const sid = await login("Harry");
  assert.equal((await call("GET", "/api/users", { sid })).status, 200);
  for (const path of ["/api/topics/../users", "/api/./users", "/api/users/"]) {
    assert.equal((await call("GET", path, { sid })).status, 404, path);
  }
  // An escaped topic name is decoded once, then checked like any other.
  assert.equal((await call("POST", "/api/topics", { sid, body: { topic: T } })).status, 200);
  const escaped = `/api/topics/${encodeURIComponent(T).replace("_", "%5F")}/actions/join`;
  assert.equal((await call("POST", escaped, { sid })).status, 200);
  assert.equal((await call("POST", "/api/topics/../actions/join", { sid })).status, 400);
  assertAllJson();
});

Deno.test("http api: login limits count the proxy's X-Forwarded-For client behind a loopback peer", async () => {
  const { handler } = await setup({
    loginLimiter: new RateLimiter({ ratePerSecond: 0.001, burst: 2, maxKeys: 100, now: () => 0 }),
  });
  const loginFrom = async (peer: string, forwarded?: string) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (forwarded) headers["x-forwarded-for"] = forwarded;
    const request = new Request("http://x/api/login", {
      method: "POST",
      headers,
      body: JSON.stringify({ username: "Harry" }),
    });
    return (await handler(request, () => peer)).status;
  };
  // Behind the proxy (a loopback peer) each forwarded client has its own budget of 2.
  assert.deepEqual(
    [await loginFrom("127.0.0.1", "203.0.113.9"), await loginFrom("127.0.0.1", "203.0.113.9")],
    [200, 200],
  );
  assert.equal(await loginFrom("127.0.0.1", "203.0.113.9"), 429);
  assert.equal(await loginFrom("127.0.0.1", "198.51.100.7"), 200, "another client behind it");
  // A peer that is not the proxy is counted as itself, whatever it claims.
  assert.equal(await loginFrom("192.0.2.1", "198.51.100.8"), 200);
  assert.equal(await loginFrom("192.0.2.1", "198.51.100.9"), 200);
  assert.equal(await loginFrom("192.0.2.1", "198.51.100.10"), 429);
});
