/**
 * v2 over the wire: seq, id and sent-at on every entry, resume with `since`,
 * the sender's own copy, and the `__resumed__` notice.
 *
 * @module
 */

import assert from "node:assert/strict";
import { api, eventually, type Json, login, sendDirect, sendTopic, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";
import { RawSocket } from "./raw_socket.ts";

const chat = (frames: Json[]) => frames.filter((f) => f["message-type"] === "message");

/** Dedupes by seq, as a v2 client does, and checks seqs rise. */
function dedupe(frames: Json[]): Json[] {
  const seen = new Map<number, Json>();
  for (const frame of frames) if (frame.seq !== undefined) seen.set(frame.seq, frame);
  return [...seen.values()].sort((a, b) => a.seq - b.seq);
}

Deno.test("resume: every entry carries seq, id and sent-at; the 200 body names the same id", async () => {
  await using server = await TestServer.start();
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await using socket = await TestSocket.open(server, ron, { since: 0 });
  const resumed = await socket.next();
  assert.deepEqual(resumed, {
    "message-type": "system",
    topic: "__resumed__",
    "content-type": "application/json",
    content: { since: 0, first: 1, last: 0, recovered: true },
  });
  const sent = await sendDirect(server, harry, "Harry", ["Ron_W"], "hello");
  assert.equal(sent.status, 200);
  const frame = await socket.next();
  assert.deepEqual(frame, {
    "message-type": "message",
    from: "Harry",
    to: ["Ron_W"],
    topic: "",
    "content-type": "text/plain",
    content: "hello",
    id: sent.body.id,
    "sent-at": sent.body["sent-at"],
    seq: 1,
  });
});

Deno.test("resume: since must be 1-15 digits (400, no upgrade); the sid is checked first (401)", async () => {
  await using server = await TestServer.start();
  const ron = await login(server, "Ron_W");
  for (const since of ["", "-1", "1.5", "abc", "1e3", "0x1", "1234567890123456", "%201"]) {
    const reply = await api(server, "GET", `/api/ws?sid=${ron}&since=${since}`, {
      headers: {
        upgrade: "websocket",
        connection: "upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    assert.equal(reply.status, 400, `since=${since}`);
    assert.match(reply.body.error, /since/);
  }
  const noSid = await api(server, "GET", `/api/ws?sid=nope&since=abc`);
  assert.equal(noSid.status, 401, "the sid first");
  await using ok = await TestSocket.open(server, ron, { since: "000000000000007" });
  assert.deepEqual((await ok.next()).content, { since: 7, first: 1, last: 0, recovered: false });
});

Deno.test("resume: a since socket gets the user's own sent messages (echo); a v1 socket does not", async () => {
  await using server = await TestServer.start();
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await api(server, "POST", "/api/topics", { sid: harry, body: { topic: "quidditch" } });
  await sendDirect(server, harry, "Harry", ["Ron_W", "Hermione"], "to two");
  await sendTopic(server, harry, "Harry", "quidditch", "to the topic", ["Ron_W"]);
  await using v2 = await TestSocket.open(server, harry, { since: 0 });
  const [notice, direct, topic] = await v2.take(3);
  assert.deepEqual(notice.content, { since: 0, first: 1, last: 2, recovered: true });
  assert.deepEqual([direct.from, direct.to, direct.seq], ["Harry", ["Ron_W", "Hermione"], 1]);
  assert.deepEqual([topic.topic, topic.to, topic.seq], ["quidditch", ["Ron_W"], 2]);
  await v2.close();
  // A v1 socket of Harry's starts after what the v2 socket was written, and gets no echo.
  await using v1 = await TestSocket.open(server, harry);
  await sendDirect(server, ron, "Ron_W", ["Harry"], "reply");
  assert.deepEqual((await v1.next()).content, "reply");
  assert.deepEqual(v1.raw.map((f) => f.seq), [3], "seq 3: Harry's mailbox, after his copies");
});

Deno.test("resume: after a dropped socket, resuming from the last seq misses nothing", async () => {
  await using server = await TestServer.start();
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  const first = await TestSocket.open(server, ron, { since: 0 });
  await first.next(); // __resumed__
  for (let i = 0; i < 5; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `a${i}`);
  const before = await first.take(5);
  await first.close();
  for (let i = 0; i < 5; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `b${i}`);
  const last = before.at(-1).seq;
  await using second = await TestSocket.open(server, ron, { since: last });
  const notice = await second.next();
  assert.deepEqual(notice.content, { since: 5, first: 1, last: 10, recovered: true });
  const after = await second.take(5);
  assert.deepEqual(
    [...before, ...after].map((f) => [f.seq, f.content]),
    Array.from({ length: 10 }, (_, i) => [i + 1, i < 5 ? `a${i}` : `b${i - 5}`]),
  );
});

Deno.test("resume: live messages during a replay of thousands: no duplicate, no reordering", async () => {
  await using server = await TestServer.start({ "outbox-capacity": 16 });
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  const backlog = 3000;
  const body = (content: string) => ({
    "message-type": "message",
    from: "Harry",
    to: ["Ron_W"],
    "content-type": "text/plain",
    content,
  });
  await Promise.all(Array.from({ length: 10 }, async (_, w) => {
    for (let i = w; i < backlog; i += 10) {
      await api(server, "POST", "/api/messages", { sid: harry, body: body(`old-${i}`) });
    }
  }));
  await using socket = await TestSocket.open(server, ron, { since: 0 });
  const live = (async () => {
    for (let i = 0; i < 20; i++) await sendDirect(server, harry, "Harry", ["Ron_W"], `new-${i}`);
  })();
  const frames = await socket.take(1 + backlog + 20, 20_000);
  await live;
  const seqs = frames.slice(1).map((f) => f.seq);
  assert.deepEqual(
    seqs,
    Array.from({ length: backlog + 20 }, (_, i) => i + 1),
    "every seq once, in order",
  );
  assert.deepEqual(
    frames.slice(-20).map((f) => f.content),
    Array.from({ length: 20 }, (_, i) => `new-${i}`),
  );
});

Deno.test("resume: after a 4009 (a reader that stopped), every entry exactly once after dedupe", async () => {
  // 24 MB: more than loopback's kernel buffers hold, so the server's side fills up.
  const count = 80;
  const padding = "x".repeat(300_000);
  await using server = await TestServer.start({
    "outbox-capacity": 4,
    "slow-consumer-ms": 300,
    "max-body-bytes": 400_000,
  });
  const [harry, slow] = await Promise.all(["Harry", "Slowpoke"].map((u) => login(server, u)));
  const raw = await RawSocket.connect(server.url, `/api/ws?sid=${slow}&since=0`);
  for (let i = 0; i < count; i++) {
    assert.equal(
      (await sendDirect(server, harry, "Harry", ["Slowpoke"], `${i}:${padding}`)).status,
      200,
    );
  }
  // Read only once the server has given up on it.
  await eventually(() => server.log.some((line) => line.includes("slow-consumer")), 5000, "4009");
  const written = await raw.readAll(10_000);
  raw.close();
  const close = written.at(-1);
  assert.deepEqual(close?.kind === "close" && close.code, 4009);
  const got = written.flatMap((f) => f.kind === "text" ? [JSON.parse(f.text)] : []);
  const lastSeq = Math.max(0, ...chat(got).map((f) => f.seq));
  assert.ok(lastSeq < count, `the reader stopped early (last seq ${lastSeq})`);
  await using again = await TestSocket.open(server, slow, { since: lastSeq });
  const notice = await again.next();
  assert.equal(notice.content.recovered, true);
  const rest = await again.take(count - lastSeq, 10_000);
  const all = dedupe([...chat(got), ...rest]);
  assert.deepEqual(
    all.map((f) => f.content.split(":")[0]),
    Array.from({ length: count }, (_, i) => String(i)),
  );
});

Deno.test("resume: expired entries are not replayed and recovered is false", async () => {
  await using server = await TestServer.start({ "offline-ttl-ms": 1000 });
  const [harry, ron] = await Promise.all(["Harry", "Ron_W"].map((u) => login(server, u)));
  await sendDirect(server, harry, "Harry", ["Ron_W"], "gone");
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await sendDirect(server, harry, "Harry", ["Ron_W"], "kept");
  await using socket = await TestSocket.open(server, ron, { since: 0 });
  const [notice, kept] = await socket.take(2);
  assert.deepEqual(notice.content, { since: 0, first: 2, last: 2, recovered: false });
  assert.deepEqual([kept.seq, kept.content], [2, "kept"]);
  // From 1 on, nothing was lost.
  await socket.close();
  await using later = await TestSocket.open(server, ron, { since: 1 });
  assert.deepEqual((await later.next()).content, { since: 1, first: 2, last: 2, recovered: true });
});
