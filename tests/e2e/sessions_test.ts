import assert from "node:assert/strict";
import { api, eventually, login, sendDirect, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

Deno.test("login returns an unguessable sid and the username; users exist from their first login", async () => {
  await using server = await TestServer.start();
  const result = await api(server, "POST", "/api/login", { body: { username: "Harry" } });
  assert.equal(result.status, 200);
  assert.equal(result.body.username, "Harry");
  assert.match(result.body.sid, /^[A-Za-z0-9_-]{22,}$/, "at least 128 bits of base64url");
  const other = await login(server, "Ron_W");
  assert.notEqual(other, result.body.sid);
  const users = await api(server, "GET", "/api/users", { sid: other });
  assert.deepEqual(users.body, { total: 2, list: [{ username: "Harry" }, { username: "Ron_W" }] });
});

Deno.test("presence: online means a live socket, not an HTTP login", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  const online = async () =>
    (await api(server, "GET", "/api/users?online=true", { sid: harry })).body;
  assert.deepEqual(await online(), { total: 0, list: [] });
  const socket = await TestSocket.open(server, ron);
  await eventually(async () => (await online()).total === 1, 2000, "Ron online");
  assert.deepEqual(await online(), { total: 1, list: [{ username: "Ron_W" }] });
  assert.equal((await api(server, "GET", "/api/users?online=false", { sid: harry })).body.total, 2);
  assert.equal((await api(server, "GET", "/api/users?online=maybe", { sid: harry })).status, 400);
  await socket.close();
  await eventually(async () => (await online()).total === 0, 2000, "Ron offline");
});

Deno.test("one place at a time: a second login kills the old sid and closes its socket with 4001", async () => {
  await using server = await TestServer.start();
  const first = await login(server, "Harry");
  const socket = await TestSocket.open(server, first);
  const second = await login(server, "Harry");
  const closed = await socket.closed;
  assert.equal(closed.code, 4001);
  assert.equal(closed.reason, "session replaced");
  const stale = await api(server, "GET", "/api/topics", { sid: first });
  assert.equal(stale.status, 401);
  assert.equal(typeof stale.body.error, "string");
  assert.equal((await api(server, "GET", "/api/topics", { sid: second })).status, 200);
});

Deno.test("a second socket for the same sid replaces the first (4001) and receives from then on", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  const first = await TestSocket.open(server, ron);
  await using second = await TestSocket.open(server, ron);
  assert.equal((await first.closed).code, 4001);
  await sendDirect(server, harry, "Harry", ["Ron_W"], "to the new socket");
  assert.equal((await second.next()).content, "to the new socket");
});

Deno.test("logout: 200, the sid is dead, the socket closes with 4000, the user is offline", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const observer = await login(server, "Observer");
  const socket = await TestSocket.open(server, harry);
  const result = await api(server, "POST", "/api/logout", { sid: harry });
  assert.equal(result.status, 200);
  const closed = await socket.closed;
  assert.deepEqual([closed.code, closed.reason], [4000, "logged out"]);
  for (
    const [method, path] of [["GET", "/api/users"], ["POST", "/api/logout"], ["GET", "/api/topics"]]
  ) {
    assert.equal(
      (await api(server, method, path, { sid: harry })).status,
      401,
      `${method} ${path} after logout`,
    );
  }
  const upgrade = await fetch(`${server.url}/api/ws?sid=${harry}`, {
    headers: { upgrade: "websocket" },
  });
  assert.equal(upgrade.status, 401);
  await upgrade.body?.cancel();
  assert.equal(
    (await api(server, "GET", "/api/users?online=true", { sid: observer })).body.total,
    0,
  );
});

Deno.test("the WebSocket handshake without a live sid is refused with 401 JSON", async () => {
  await using server = await TestServer.start();
  for (const query of ["", "?sid=", "?sid=not-a-session"]) {
    const response = await fetch(`${server.url}/api/ws${query}`, {
      headers: {
        upgrade: "websocket",
        connection: "upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    assert.equal(response.status, 401, query);
    assert.equal(response.headers.get("content-type")?.startsWith("application/json"), true);
    assert.equal(typeof (await response.json()).error, "string");
  }
  const socket = new WebSocket(`${server.wsUrl}/api/ws?sid=nope`);
  const event = await new Promise<Event>((resolve) => {
    socket.onerror = resolve;
    socket.onclose = resolve;
  });
  assert.equal(socket.readyState, WebSocket.CLOSED, `refused (${event.type})`);
});

Deno.test("a plain GET on /api/ws with a live sid is a 400, not an upgrade", async () => {
  await using server = await TestServer.start();
  const sid = await login(server, "Harry");
  const result = await api(server, "GET", "/api/ws", { sid });
  assert.equal(result.status, 400);
  assert.equal(typeof result.body.error, "string");
});

Deno.test("many sockets racing for one sid: exactly one stays open", async () => {
  await using server = await TestServer.start();
  const sid = await login(server, "Harry");
  const observer = await login(server, "Observer");
  const sockets = await Promise.all(
    Array.from({ length: 20 }, () => TestSocket.open(server, sid).catch(() => null)),
  );
  const live = sockets.filter((s): s is TestSocket => s !== null);
  await eventually(
    () => live.filter((s) => s.socket.readyState === WebSocket.OPEN).length === 1,
    3000,
    "one open",
  );
  await eventually(async () =>
    (await api(server, "GET", "/api/users?online=true", { sid: observer })).body.total === 1
  );
  await Promise.all(live.map((s) => s.close()));
});
