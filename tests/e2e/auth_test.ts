/**
 * The three `IM_AUTH` modes over the wire, good and bad paths.
 *
 * @module
 */

import assert from "node:assert/strict";
import { signJwt } from "../../lib/auth/jwt.ts";
import { api, sendDirect, TestSocket } from "./client.ts";
import { runMain, TestServer } from "./harness.ts";

const SECRET = "a-secret-of-more-than-16-characters";

const loginWith = (server: TestServer, body: Record<string, unknown>) =>
  api(server, "POST", "/api/login", { body });

Deno.test("auth open: a name alone logs in; registration is not offered", async () => {
  await using server = await TestServer.start();
  const login = await loginWith(server, { username: "Harry", password: "ignored" });
  assert.equal(login.status, 200);
  const register = await api(server, "POST", "/api/register", {
    body: { username: "Ron_W", password: "long enough" },
  });
  assert.equal(register.status, 404);
  assert.match(register.body.error, /password mode/);
});

Deno.test("auth password: register, then log in; every refusal is the same 401", async () => {
  await using server = await TestServer.start({ auth: "password" });
  const register = (body: Record<string, unknown>) =>
    api(server, "POST", "/api/register", { body });
  assert.deepEqual(
    await register({ username: "Harry", password: "expelliarmus" }).then((r) => [r.status, r.body]),
    [200, { username: "Harry" }],
  );
  assert.equal((await register({ username: "Harry", password: "other-password" })).status, 409);
  for (const password of ["short", "x".repeat(257), 12345678, undefined]) {
    const reply = await register({ username: "Ron_W", password });
    assert.equal(reply.status, 400, String(password));
    assert.doesNotMatch(JSON.stringify(reply.body), /short|xxxx/, "the password is never echoed");
  }
  assert.equal((await register({ username: "Ron", password: "long enough" })).status, 400);

  const good = await loginWith(server, { username: "Harry", password: "expelliarmus" });
  assert.equal(good.status, 200);
  const refusals = [
    await loginWith(server, { username: "Harry", password: "alohomora!" }),
    await loginWith(server, { username: "Harry" }),
    await loginWith(server, { username: "Harry", password: 42 }),
    await loginWith(server, { username: "Nobody", password: "expelliarmus" }),
  ];
  for (const reply of refusals) {
    assert.equal(reply.status, 401);
    assert.deepEqual(
      reply.body,
      refusals[0].body,
      "unknown user, wrong and missing password look alike",
    );
  }
  // The session works like any other.
  await using socket = await TestSocket.open(server, good.body.sid);
  await register({ username: "Ron_W", password: "wingardium" });
  const ron = (await loginWith(server, { username: "Ron_W", password: "wingardium" })).body.sid;
  assert.equal((await sendDirect(server, ron, "Ron_W", ["Harry"], "hi")).status, 200);
  assert.equal((await socket.next()).content, "hi");
  assert.ok(!server.log.some((line) => line.includes("expelliarmus")), "never logged");
});

Deno.test("auth token: a JWT signed with IM_AUTH_SECRET for the user logs in; anything else is 401", async () => {
  await using server = await TestServer.start({ auth: "token" }, { IM_AUTH_SECRET: SECRET });
  const now = Math.floor(Date.now() / 1000);
  const token = (claims: Record<string, unknown>, secret = SECRET) => signJwt(claims, secret);
  const good = await loginWith(server, {
    username: "Harry",
    token: await token({ sub: "Harry", exp: now + 60 }),
  });
  assert.equal(good.status, 200);
  assert.equal(good.body.username, "Harry");
  const [header, payload] = (await token({ sub: "Harry", exp: now + 60 })).split(".");
  const none = `${
    btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")
  }.${payload}.`;
  const bad: [string, unknown][] = [
    ["another secret", await token({ sub: "Harry", exp: now + 60 }, "another-secret-of-16-chars")],
    ["wrong sub", await token({ sub: "Draco", exp: now + 60 })],
    ["expired", await token({ sub: "Harry", exp: now - 60 })],
    ["no exp", await token({ sub: "Harry" })],
    ["alg none", none],
    ["tampered", `${header}.${btoa(JSON.stringify({ sub: "Harry", exp: now + 9999 }))}.x`],
    ["malformed", "not.a.jwt"],
    ["not a string", 42],
    ["missing", undefined],
  ];
  for (const [why, value] of bad) {
    const reply = await loginWith(server, { username: "Harry", token: value });
    assert.equal(reply.status, 401, why);
  }
  assert.equal(
    (await api(server, "POST", "/api/register", { body: { username: "Harry" } })).status,
    404,
  );
});

Deno.test("auth token: a missing or short secret stops start-up with exit code 2", async () => {
  const result = await runMain(["--auth", "token", "--store", "memory"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /IM_AUTH_SECRET/);
});

Deno.test("auth: the health check names the mode, so a client knows which form to show", async () => {
  for (
    const [mode, env] of [["open", {}], ["password", {}], ["token", {
      IM_AUTH_SECRET: SECRET,
    }]] as const
  ) {
    await using server = await TestServer.start({ auth: mode }, env);
    assert.deepEqual((await api(server, "GET", "/api/healthz")).body, { status: "ok", auth: mode });
  }
});
