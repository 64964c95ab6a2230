import assert from "node:assert/strict";
import { api, login } from "./client.ts";
import { TestServer } from "./harness.ts";

const message = (extra: Record<string, unknown> = {}) => ({
  "message-type": "message",
  from: "Harry",
  to: ["Ron_W"],
  "content-type": "text/plain",
  content: "hi",
  ...extra,
});

Deno.test("health: /healthz and /api/healthz answer 200 to any method, without a session", async () => {
  await using server = await TestServer.start();
  for (const path of ["/healthz", "/api/healthz"]) {
    for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const raw = method === "GET" ? undefined : "garbage";
      const result = await api(server, method, path, {
        raw,
        headers: { "content-type": "text/plain" },
      });
      assert.equal(result.status, 200, `${method} ${path}`);
    }
    const head = await fetch(server.url + path, { method: "HEAD" });
    assert.equal(head.status, 200);
  }
});

Deno.test("routing: unknown routes are 404 JSON, wrong methods 405 JSON with Allow", async () => {
  await using server = await TestServer.start();
  for (
    const path of [
      "/api/nope",
      "/api/",
      "/api/users/",
      "/api/topics/abcd/actions/dance",
      "/nothing-here",
    ]
  ) {
    const result = await api(server, "GET", path);
    assert.equal(result.status, 404, path);
    assert.equal(typeof result.body.error, "string", path);
    assert.equal(result.headers.get("content-type")?.startsWith("application/json"), true);
  }
  const wrong = await api(server, "PUT", "/api/topics");
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET, POST");
  assert.equal((await api(server, "GET", "/api/login")).status, 405);
  assert.equal((await api(server, "DELETE", "/api/messages")).status, 405, "405 before 401");
});

Deno.test("check order: 401 before 415 before 413 before 400 before 403 before 404", async () => {
  await using server = await TestServer.start({ "max-body-bytes": 200 });
  const harry = await login(server, "Harry");
  const big = JSON.stringify(message({ content: "x".repeat(300) }));

  // No session: 401 wins over a bad Content-Type, a big body, a bad shape.
  assert.equal(
    (await api(server, "POST", "/api/messages", {
      raw: big,
      headers: { "content-type": "text/plain" },
    })).status,
    401,
  );
  // Session ok, wrong Content-Type: 415 wins over size.
  assert.equal(
    (await api(server, "POST", "/api/messages", {
      sid: harry,
      raw: big,
      headers: { "content-type": "text/plain" },
    })).status,
    415,
  );
  assert.equal(
    (await api(server, "POST", "/api/messages", { sid: harry, raw: "{}" })).status,
    415,
    "missing Content-Type",
  );
  // Right type, too big: 413 wins over shape.
  assert.equal(
    (await api(server, "POST", "/api/messages", {
      sid: harry,
      raw: big,
      headers: { "content-type": "application/json" },
    })).status,
    413,
  );
  // Within size, bad shape: 400 wins over from.
  assert.equal(
    (await api(server, "POST", "/api/messages", {
      sid: harry,
      body: message({ from: "Ron_W", to: "Ron_W" }),
    })).status,
    400,
  );
  // Right shape, someone else's from: 403 wins over an unknown topic.
  assert.equal(
    (await api(server, "POST", "/api/messages", {
      sid: harry,
      body: message({ from: "Ron_W", topic: "nowhere" }),
    })).status,
    403,
  );
  assert.equal(
    (await api(server, "POST", "/api/messages", {
      sid: harry,
      body: message({ topic: "nowhere" }),
    })).status,
    404,
  );
  // Content-Type parameters are fine.
  const charset = await api(server, "POST", "/api/messages", {
    sid: harry,
    raw: JSON.stringify(message()),
    headers: { "content-type": "Application/JSON; charset=utf-8" },
  });
  assert.equal(charset.status, 200);
});

Deno.test("a topic name in the path is checked (400) before existence (404), after the session (401)", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  assert.equal((await api(server, "DELETE", "/api/topics/ab")).status, 401);
  for (
    const bad of ["ab", "with%20space", "%E2%80%8Bzero", "a".repeat(31), "%ZZbad", "..%2F..%2Fetc"]
  ) {
    assert.equal(
      (await api(server, "DELETE", `/api/topics/${bad}`, { sid: harry })).status,
      400,
      bad,
    );
    assert.equal(
      (await api(server, "POST", `/api/topics/${bad}/actions/join`, { sid: harry })).status,
      400,
      bad,
    );
  }
  assert.equal((await api(server, "DELETE", "/api/topics/missing", { sid: harry })).status, 404);
});

Deno.test("routes without a body ignore any body and Content-Type", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "quiet" } });
  const join = await api(server, "POST", "/api/topics/quiet/actions/join", {
    sid: harry,
    raw: "<<not json>>",
    headers: { "content-type": "text/html" },
  });
  assert.equal(join.status, 200);
  const logout = await api(server, "POST", "/api/logout", { sid: harry, raw: "x".repeat(100_000) });
  assert.equal(logout.status, 200);
});

Deno.test("login: bad names and bodies are 400 and create no user", async () => {
  await using server = await TestServer.start();
  const bodies: unknown[] = [
    {},
    { username: "abc" },
    { username: "a".repeat(31) },
    { username: "Hаrry" }, // Cyrillic а: a look-alike, not the pattern
    { username: "Harry\u200b" },
    { username: "Har ry" },
    { username: 12345 },
    { username: null },
    { username: ["Harry"] },
    [],
    "Harry",
    null,
    42,
  ];
  for (const body of bodies) {
    const result = await api(server, "POST", "/api/login", { body });
    assert.equal(result.status, 400, JSON.stringify(body));
    assert.equal(typeof result.body.error, "string");
  }
  for (const raw of ["", "{", '{"username": "Harry"', "\u0000", "{'username': 'Harry'}"]) {
    const result = await api(server, "POST", "/api/login", {
      raw,
      headers: { "content-type": "application/json" },
    });
    assert.equal(result.status, 400, JSON.stringify(raw));
  }
  const invalidUtf8 = await api(server, "POST", "/api/login", {
    raw: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    headers: { "content-type": "application/json" },
  });
  assert.equal(invalidUtf8.status, 400);
  assert.equal(
    (await api(server, "POST", "/api/login", {
      raw: "{}",
      headers: { "content-type": "text/plain" },
    })).status,
    415,
  );
  const sid = await login(server, "Watcher");
  assert.deepEqual((await api(server, "GET", "/api/users", { sid })).body, {
    total: 1,
    list: [{ username: "Watcher" }],
  });
});

Deno.test("send: every wrong field is 400 and nothing is delivered or stored", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const wrong: Record<string, unknown>[] = [
    message({ "message-type": "ping" }),
    message({ "message-type": undefined }),
    message({ from: undefined }),
    message({ from: 7 }),
    message({ to: [] }),
    message({ to: "Ron_W" }),
    message({ to: undefined }),
    message({ to: ["Ron_W", "no"] }),
    message({ to: [null] }),
    message({ to: [["Ron_W"]] }),
    message({ "content-type": "text/html" }),
    message({ "content-type": undefined }),
    message({ content: 5 }),
    message({ content: null }),
    message({ content: { text: "hi" } }),
    message({ topic: "ab" }),
    message({ topic: 12345 }),
    message({ topic: null }),
    message({ extra: true }),
    message({ "Message-Type": "message" }),
  ];
  for (const body of wrong) {
    const result = await api(server, "POST", "/api/messages", { sid: harry, body });
    assert.equal(result.status, 400, JSON.stringify(body));
    assert.equal(typeof result.body.error, "string");
  }
  const stats = (await api(server, "GET", "/api/stats", { sid: harry })).body;
  assert.deepEqual([stats.messages, stats.entries], [0, 0], "nothing stored");
});

Deno.test("413 comes without reading the whole body: a stream that never ends is cut off", async () => {
  await using server = await TestServer.start({ "max-body-bytes": 1024 });
  const harry = await login(server, "Harry");
  let sent = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent += 4096;
      if (sent > 64 * 1024 * 1024) controller.close();
      else controller.enqueue(new Uint8Array(4096).fill(0x20));
    },
  });
  const response = await fetch(`${server.url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${harry}` },
    body: endless,
  }).catch((error) => error as Error);
  if (response instanceof Response) {
    assert.equal(response.status, 413);
    await response.body?.cancel();
  }
  assert.ok(sent < 64 * 1024 * 1024, `the server stopped reading (client produced ${sent} bytes)`);
  assert.equal((await api(server, "GET", "/api/healthz")).status, 200);
});
