import assert from "node:assert/strict";
import { api, expectSentinel, login, sendDirect, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

Deno.test("bad frames get __bad_request__ and the socket stays up", async () => {
  await using server = await TestServer.start();
  const ron = await login(server, "Ron_W");
  await using socket = await TestSocket.open(server, ron);
  const garbage = [
    "",
    "not json",
    '{"message-type": "ping", "message-id": 1',
    "[]",
    "null",
    "42",
    '"ping"',
    "{}",
    '{"message-type": "dance"}',
    '{"message-type": "ping"}',
    '{"message-type": "ping", "message-id": null}',
    '{"message-type": "ping", "message-id": {"a": 1}}',
    '{"message-type": "ack"}',
    '{"message-type": "ack", "ack-id": [1]}',
    '{"message-type": "message", "from": "Ron_W", "to": ["Harry"], "content-type": "text/plain", "content": "hi"}',
    "[".repeat(10_000) + "]".repeat(10_000),
    '{"a":'.repeat(5000) + "1" + "}".repeat(5000),
  ];
  for (const text of garbage) {
    socket.send(text);
    const answer = await socket.next();
    assert.equal(answer["message-type"], "system", text.slice(0, 40));
    assert.equal(answer.topic, "__bad_request__");
    assert.equal(answer["content-type"], "application/json");
    assert.equal(typeof answer.content.error, "string");
  }
  socket.socket.send(new Uint8Array([1, 2, 3]));
  assert.equal((await socket.next()).topic, "__bad_request__");
  // Still fully working.
  socket.send({ "message-type": "ping", "message-id": 99 });
  assert.deepEqual(await socket.next(), { "message-type": "ack", "ack-id": 99 });
});

Deno.test("a frame over IM_MAX_FRAME_BYTES closes the socket with 1009; the session survives", async () => {
  await using server = await TestServer.start({ "max-frame-bytes": 1024 });
  const ron = await login(server, "Ron_W");
  const socket = await TestSocket.open(server, ron);
  socket.send({ "message-type": "ping", "message-id": "x".repeat(2000) });
  const closed = await socket.closed;
  assert.equal(closed.code, 1009);
  // Multi-byte text is measured in bytes, not characters.
  const again = await TestSocket.open(server, ron);
  again.send({ "message-type": "ping", "message-id": "é".repeat(600) });
  assert.equal((await again.closed).code, 1009);
  await using third = await TestSocket.open(server, ron);
  third.send({ "message-type": "ping", "message-id": "ok" });
  assert.deepEqual(await third.next(), { "message-type": "ack", "ack-id": "ok" });
});

Deno.test("thousands of recipients in one send: fine within the body limit, 413 beyond it", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const many = Array.from({ length: 3000 }, (_, i) => `user_${i}`);
  const accepted = await sendDirect(server, harry, "Harry", many, "hi all");
  assert.equal(accepted.status, 200);
  const stored = (await api(server, "GET", "/api/stats", { sid: harry })).body;
  assert.deepEqual(
    [stored.messages, stored.entries],
    [1, 3001],
    "one message, 3000 entries + own copy",
  );
  const tooMany = Array.from({ length: 10_000 }, (_, i) => `user_${i}`);
  assert.equal((await sendDirect(server, harry, "Harry", tooMany, "hi all")).status, 413);
  const withOneBad = [...many.slice(0, 100), "Hаrry"];
  assert.equal((await sendDirect(server, harry, "Harry", withOneBad, "hi")).status, 400);
  assert.equal(
    (await api(server, "GET", "/api/stats", { sid: harry })).body.entries,
    3001,
    "nothing sent",
  );
});

Deno.test("huge content is 413; content at the limit is delivered intact", async () => {
  await using server = await TestServer.start({ "max-body-bytes": 4096 });
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  await using socket = await TestSocket.open(server, ron);
  assert.equal((await sendDirect(server, harry, "Harry", ["Ron_W"], "x".repeat(5000))).status, 413);
  const content = '☃ <script>alert(1)</script> " \\ \u0000 ' + "y".repeat(3900);
  assert.equal((await sendDirect(server, harry, "Harry", ["Ron_W"], content)).status, 200);
  assert.equal((await socket.next()).content, content);
  await expectSentinel(server, socket, "Ron_W");
});

Deno.test("deeply nested JSON bodies are a 400, not a crash", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const deep = "[".repeat(30_000) + "]".repeat(30_000);
  const result = await api(server, "POST", "/api/messages", {
    sid: harry,
    raw: deep,
    headers: { "content-type": "application/json" },
  });
  assert.equal(result.status, 400);
  assert.equal((await api(server, "GET", "/api/healthz")).status, 200);
});

Deno.test("odd Authorization headers are 401, never 500", async () => {
  await using server = await TestServer.start();
  for (
    const value of [
      "Bearer",
      "Bearer ",
      "Basic abc",
      "bearer x y",
      "Bearer \u00ff",
      "x".repeat(8000),
    ]
  ) {
    const result = await api(server, "GET", "/api/users", { headers: { authorization: value } })
      .catch(() => null);
    if (result) assert.equal(result.status, 401, value.slice(0, 20));
  }
  assert.equal((await api(server, "GET", "/api/healthz")).status, 200);
});

Deno.test("a malformed WebSocket handshake with a live sid is a 400, not a 500", async () => {
  await using server = await TestServer.start();
  const sid = await login(server, "Harry");
  const response = await fetch(`${server.url}/api/ws?sid=${sid}`, {
    headers: { upgrade: "websocket" },
  });
  assert.equal(response.status, 400);
  assert.equal(typeof (await response.json()).error, "string");
});
