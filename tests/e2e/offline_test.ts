import assert from "node:assert/strict";
import { api, expectSentinel, login, sendDirect, sendTopic, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

Deno.test("offline: stored in send order, delivered on connect, never twice", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  // Ron has never logged in: the messages wait for him all the same.
  for (let i = 0; i < 30; i++) {
    assert.equal((await sendDirect(server, harry, "Harry", ["Ron_W"], `m${i}`)).status, 200);
  }
  const ron = await login(server, "Ron_W");
  const first = await TestSocket.open(server, ron);
  const frames = await first.take(30);
  assert.deepEqual(frames.map((f) => f.content), Array.from({ length: 30 }, (_, i) => `m${i}`));
  assert.deepEqual(frames[0].to, ["Ron_W"]);
  await first.close();
  await using again = await TestSocket.open(server, ron);
  await expectSentinel(server, again, "Ron_W", "delivered once");
});

Deno.test("offline: topic messages and deletion notices wait for offline members", async () => {
  await using server = await TestServer.start();
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "dueling" } });
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "keepers" } });
  await api(server, "POST", "/api/topics/dueling/actions/join", { sid: ron });
  await api(server, "POST", "/api/topics/keepers/actions/join", { sid: ron });
  await sendTopic(server, harry, "Harry", "keepers", "kept");
  await sendTopic(server, harry, "Harry", "dueling", "purged 1");
  await sendDirect(server, harry, "Harry", ["Ron_W"], "direct");
  await sendTopic(server, harry, "Harry", "dueling", "purged 2");
  assert.equal((await api(server, "DELETE", "/api/topics/dueling", { sid: harry })).status, 200);
  await using socket = await TestSocket.open(server, ron);
  const frames = await socket.take(3);
  assert.deepEqual(frames.map((f) => f.content), ["kept", "direct", { topic: "dueling" }]);
  assert.equal(frames[2].topic, "__topic_is_deleted__");
  await expectSentinel(server, socket, "Ron_W", "deleted topic's messages are gone");
});

Deno.test("offline: stored messages expire after IM_OFFLINE_TTL_MS and are freed", async () => {
  await using server = await TestServer.start({ "offline-ttl-ms": 300, "history-ttl-ms": 300 });
  const harry = await login(server, "Harry");
  await sendDirect(server, harry, "Harry", ["Ron_W", "Ginny"], "too old");
  assert.equal((await api(server, "GET", "/api/stats", { sid: harry })).body.entries, 3);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await sendDirect(server, harry, "Harry", ["Ron_W"], "fresh");
  const stats = (await api(server, "GET", "/api/stats", { sid: harry })).body;
  assert.deepEqual(
    [stats.messages, stats.entries],
    [1, 2],
    "expired entries freed even for users who never come back",
  );
  const ron = await login(server, "Ron_W");
  await using socket = await TestSocket.open(server, ron);
  assert.equal((await socket.next()).content, "fresh");
  await expectSentinel(server, socket, "Ron_W");
});

Deno.test("offline: a live message sent during the flush of a long backlog arrives after it", async () => {
  await using server = await TestServer.start({ "outbox-capacity": 4 });
  const harry = await login(server, "Harry");
  const backlog = 2000;
  const body = (i: number) => ({
    "message-type": "message",
    from: "Harry",
    to: ["Ron_W"],
    "content-type": "text/plain",
    content: `old${i}`,
  });
  for (let i = 0; i < backlog; i++) {
    await api(server, "POST", "/api/messages", { sid: harry, body: body(i) });
  }
  const ron = await login(server, "Ron_W");
  await using socket = await TestSocket.open(server, ron);
  // Sent at once, while the stored frames trickle through a 4-frame outbox.
  const live = (async () => {
    for (let i = 0; i < 5; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `new${i}`);
  })();
  const frames = await socket.take(backlog + 5, 15_000);
  await live;
  const expected = [
    ...Array.from({ length: backlog }, (_, i) => `old${i}`),
    ...Array.from({ length: 5 }, (_, i) => `new${i}`),
  ];
  assert.deepEqual(frames.map((f) => f.content), expected);
  await expectSentinel(server, socket, "Ron_W");
});

Deno.test("offline: what a closed socket had not written is kept for the next one", async () => {
  await using server = await TestServer.start();
  const harry = await login(server, "Harry");
  const ron = await login(server, "Ron_W");
  const first = await TestSocket.open(server, ron);
  await first.close();
  // The session is still live; the user is offline, so these are stored.
  for (let i = 0; i < 3; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `later${i}`);
  await using second = await TestSocket.open(server, ron);
  assert.deepEqual((await second.take(3)).map((f) => f.content), ["later0", "later1", "later2"]);
});
