import assert from "node:assert/strict";
import { api, eventually, login, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

Deno.test("heartbeat: a ping is answered at once with its id echoed, number or string", async () => {
  await using server = await TestServer.start();
  const ron = await login(server, "Ron_W");
  await using socket = await TestSocket.open(server, ron);
  socket.send({ "message-type": "ping", "message-id": 10, from: "Ron_W" });
  assert.deepEqual(await socket.next(), { "message-type": "ack", "ack-id": 10 });
  socket.send({ "message-type": "ping", "message-id": "abc-1", from: "someone else" });
  assert.deepEqual(await socket.next(), { "message-type": "ack", "ack-id": "abc-1" });
});

Deno.test("heartbeat: the server probes with fresh ids; three unanswered probes close with 4008", async () => {
  await using server = await TestServer.start({ "probe-interval-ms": 100, "probe-max-misses": 3 });
  const ron = await login(server, "Ron_W");
  const observer = await login(server, "Observer");
  const socket = await TestSocket.open(server, ron);
  socket.answerProbes = false;
  const started = Date.now();
  const probesIn = () => socket.pending.filter((f) => f["message-type"] === "pong").length;
  // The client pings while the probes go unanswered: pings answer no probe.
  // It stops once the third probe is in (the close comes a probe interval
  // later): with pings crossing the close, the close twice reached this Deno
  // client under the full suite's load as a failed connection (a CloseEvent
  // with code 0) instead of 4008 — a write meeting the closing connection is
  // the likely cause; it did not happen in 52 runs alone.
  const pinger = setInterval(() => {
    if (probesIn() >= 3) clearInterval(pinger);
    else socket.send({ "message-type": "ping", "message-id": 1 });
  }, 30);
  try {
    const closed = await socket.closed;
    const elapsed = Date.now() - started;
    assert.deepEqual([closed.code, closed.reason], [4008, "heartbeat timeout"]);
    assert.ok(elapsed >= 300 && elapsed < 5000, `closed after ${elapsed} ms`);
  } finally {
    clearInterval(pinger);
  }
  const probes = socket.pending.filter((f) => f["message-type"] === "pong");
  assert.equal(probes.length, 3);
  assert.deepEqual(probes.map((p) => p.to), ["Ron_W", "Ron_W", "Ron_W"]);
  assert.equal(new Set(probes.map((p) => p["message-id"])).size, 3, "fresh ids");
  await eventually(async () =>
    (await api(server, "GET", "/api/users?online=true", { sid: observer })).body.total === 0
  );
});

Deno.test("heartbeat: a client that answers probes stays connected", async () => {
  await using server = await TestServer.start({
    "probe-interval-ms": 200,
    "probe-max-misses": 3,
    "client-timeout-ms": 10_000,
  });
  const ron = await login(server, "Ron_W");
  await using socket = await TestSocket.open(server, ron);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.equal(socket.socket.readyState, WebSocket.OPEN);
  // Three unanswered probes would have closed it after ~600 ms: it was probed, and answered, all along.
  assert.ok(socket.probesAnswered >= 5, `probes answered: ${socket.probesAnswered}`);
});

Deno.test("heartbeat: silence longer than IM_CLIENT_TIMEOUT_MS closes with 4008", async () => {
  await using server = await TestServer.start({
    "client-timeout-ms": 300,
    "probe-interval-ms": 60000,
  });
  const ron = await login(server, "Ron_W");
  const socket = await TestSocket.open(server, ron);
  const started = Date.now();
  const closed = await socket.closed;
  const elapsed = Date.now() - started;
  assert.deepEqual([closed.code, closed.reason], [4008, "heartbeat timeout"]);
  assert.ok(elapsed >= 280 && elapsed < 2000, `closed after ${elapsed} ms`);
});

Deno.test("heartbeat: pings, bad frames and HTTP requests all count as signs of life", async () => {
  await using server = await TestServer.start({
    "client-timeout-ms": 300,
    "probe-interval-ms": 60000,
  });
  const [ron, ginny, neville] = await Promise.all(
    ["Ron_W", "Ginny", "Neville"].map((u) => login(server, u)),
  );
  await using pinging = await TestSocket.open(server, ron);
  await using chatty = await TestSocket.open(server, ginny);
  await using viaHttp = await TestSocket.open(server, neville);
  const timers = [
    setInterval(() => pinging.send({ "message-type": "ping", "message-id": 1 }), 100),
    setInterval(() => chatty.send("not even json"), 100),
    setInterval(() => api(server, "GET", "/api/topics", { sid: neville }), 100),
  ];
  try {
    await new Promise((resolve) => setTimeout(resolve, 900));
    for (const socket of [pinging, chatty, viaHttp]) {
      assert.equal(socket.socket.readyState, WebSocket.OPEN);
    }
  } finally {
    timers.forEach(clearInterval);
  }
  // The session outlives a heartbeat timeout: the user may reconnect with the same sid.
  assert.equal((await viaHttp.closed).code, 4008);
  await using again = await TestSocket.open(server, neville);
  assert.equal(again.socket.readyState, WebSocket.OPEN);
});
