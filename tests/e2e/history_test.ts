/**
 * v2 over the wire: history (`GET /api/messages`) and idempotent sends.
 *
 * @module
 */

import assert from "node:assert/strict";
import { api, type Json, login, sendDirect, sendTopic, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

const history = async (server: TestServer, sid: string, query = "") =>
  await api(server, "GET", `/api/messages${query}`, { sid });

Deno.test("history: newest first by default, paged both ways with has-more", async () => {
  await using server = await TestServer.start();
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  for (let i = 1; i <= 7; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `m${i}`);
  const seqs = (body: Json) => body.list.map((f: Json) => f.seq);
  const newest = await history(server, ron, "?limit=3");
  assert.equal(newest.status, 200);
  assert.match(newest.headers.get("content-type")!, /^application\/json/);
  assert.deepEqual([seqs(newest.body), newest.body["has-more"]], [[7, 6, 5], true]);
  const older = await history(server, ron, "?before=5&limit=3");
  assert.deepEqual([seqs(older.body), older.body["has-more"]], [[4, 3, 2], true]);
  const oldest = await history(server, ron, "?before=2&limit=3");
  assert.deepEqual([seqs(oldest.body), oldest.body["has-more"]], [[1], false]);
  const forward = await history(server, ron, "?after=4&limit=2");
  assert.deepEqual([seqs(forward.body), forward.body["has-more"]], [[5, 6], true]);
  const all = await history(server, ron);
  assert.equal(all.body.list.length, 7, "default limit 50");
  assert.deepEqual(all.body.list[0], {
    "message-type": "message",
    from: "Harry",
    to: ["Ron_W"],
    topic: "",
    "content-type": "text/plain",
    content: "m7",
    id: all.body.list[0].id,
    "sent-at": all.body.list[0]["sent-at"],
    seq: 7,
  }, "entries as their frames were delivered");
  // The sender sees his own side.
  const mine = await history(server, harry, "?limit=1");
  assert.deepEqual([mine.body.list[0].from, mine.body.list[0].to], ["Harry", ["Ron_W"]]);
});

Deno.test("history: with= keeps one conversation both ways; topic= one topic, deletion notice kept", async () => {
  await using server = await TestServer.start();
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "quidditch" } });
  await sendDirect(server, harry, "Harry", ["Ron_W"], "h to r");
  await sendDirect(server, ron, "Ron_W", ["Harry"], "r to h");
  await sendDirect(server, ron, "Ron_W", ["Hermione"], "r to he");
  await sendTopic(server, harry, "Harry", "quidditch", "topic", ["Ron_W"]);
  const contents = (body: Json) => body.list.map((f: Json) => f.content);
  assert.deepEqual(contents((await history(server, ron, "?with=Harry")).body), [
    "r to h",
    "h to r",
  ]);
  assert.deepEqual(contents((await history(server, ron, "?with=Hermione")).body), ["r to he"]);
  assert.deepEqual(contents((await history(server, ron, "?topic=quidditch")).body), ["topic"]);
  assert.equal((await api(server, "DELETE", "/api/topics/quidditch", { sid: ron })).status, 200);
  const after = (await history(server, ron, "?topic=quidditch")).body.list;
  assert.deepEqual(
    after.map((f: Json) => f.topic),
    ["__topic_is_deleted__"],
    "messages gone, notice kept",
  );
  assert.deepEqual(contents((await history(server, harry, "?topic=quidditch")).body), [{
    topic: "quidditch",
  }], "the sender's copy is gone too");
});

Deno.test("history: every bad parameter is 400, the session is checked first", async () => {
  await using server = await TestServer.start();
  const ron = await login(server, "Ron_W");
  for (
    const query of [
      "?before=",
      "?after=-1",
      "?before=1.5",
      "?limit=0",
      "?limit=201",
      "?limit=",
      "?with=ab",
      "?topic=a%20b",
      "?with=",
      "?before=3&after=1",
      "?with=Harry&topic=quidditch",
      "?unknown=1",
    ]
  ) {
    const reply = await history(server, ron, query);
    assert.equal(reply.status, 400, query);
    assert.equal(typeof reply.body.error, "string");
  }
  assert.equal((await api(server, "GET", "/api/messages?limit=0")).status, 401);
  assert.equal((await history(server, ron, "?limit=200&before=999999999999999")).status, 200);
});

Deno.test("idempotency: a retry with the same key answers the first 200 and sends nothing twice", async () => {
  await using server = await TestServer.start();
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await using socket = await TestSocket.open(server, ron, { since: 0 });
  await socket.next(); // __resumed__
  const body = {
    "message-type": "message",
    from: "Harry",
    to: ["Ron_W"],
    "content-type": "text/plain",
    content: "exactly once",
  };
  const send = (key: string, payload: unknown = body) =>
    api(server, "POST", "/api/messages", {
      sid: harry,
      body: payload,
      headers: { "idempotency-key": key },
    });
  const first = await send("retry-1");
  assert.equal(first.status, 200);
  const again = await send("retry-1");
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, first.body);
  const other = await send("retry-1", { ...body, content: "something else" });
  assert.equal(other.status, 422);
  assert.match(other.body.error, /Idempotency-Key/);
  assert.deepEqual((await send("retry-1")).body, first.body, "the first body still answers");
  // Same content, same key, another sender: a different message.
  const hermione = await login(server, "Hermione");
  const hers = await api(server, "POST", "/api/messages", {
    sid: hermione,
    body: { ...body, from: "Hermione" },
    headers: { "idempotency-key": "retry-1" },
  });
  assert.notEqual(hers.body.id, first.body.id);
  const frames = await socket.take(2);
  assert.deepEqual(frames.map((f) => [f.from, f.id]), [["Harry", first.body.id], [
    "Hermione",
    hers.body.id,
  ]]);
  for (const bad of ["", "has space", "x".repeat(65), "a/b", "a,b"]) {
    const reply = await api(server, "POST", "/api/messages", {
      sid: harry,
      body,
      headers: { "idempotency-key": bad },
    });
    assert.equal(reply.status, 400, JSON.stringify(bad));
  }
  assert.equal((await history(server, ron, "?with=Harry")).body.list.length, 1);
});
