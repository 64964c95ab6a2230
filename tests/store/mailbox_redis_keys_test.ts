// What the Redis mailbox leaves in Redis itself, key by key: the unread
// list the mailboxMax cap counts, and what a repeated append touches.
import assert from "node:assert/strict";
import type { AppendRequest } from "../../lib/store/mailbox.ts";
import { RedisMailbox } from "../../lib/store/mailbox_redis.ts";
import { RedisClient } from "../../lib/redis/client.ts";
import { RedisServer } from "../redis/redis_server.ts";
import { FAST, LIMITS } from "./redis_engines.ts";

let ids = 0;
function direct(from: string, to: string, content: string): AppendRequest {
  const message = {
    id: `k${++ids}`,
    sentAt: Date.now(),
    kind: "direct" as const,
    from,
    to: [to],
    topic: "",
    content,
  };
  return { message, recipients: [to], ownCopy: true };
}

Deno.test("mailbox (redis): the unread list keeps what is not consumed, and goes once all is", async () => {
  await using server = await RedisServer.start();
  await using redis = await RedisClient.connect(server.url);
  const mailbox = await RedisMailbox.connect(server.url, {
    ...LIMITS,
    cursorFlushMs: 10_000,
    link: FAST,
  });
  try {
    for (let i = 0; i < 5; i++) await mailbox.append(direct("Harry", "Ron_W", `m${i}`));
    const unread = () => redis.command(["LRANGE", "im:n:Ron_W", 0, -1]) as Promise<string[]>;
    assert.equal(await redis.command(["EXISTS", "im:n:Harry"]), 0, "own copies are never unread");
    const seqs = async () => (await unread()).map((e) => Number(e.split(":")[0]));
    assert.deepEqual(await seqs(), [1, 2, 3, 4, 5]);
    const entries = await mailbox.read("Ron_W", 0, 5);
    mailbox.consumed("Ron_W", entries[2]);
    // An append to someone else leaves the cursor waiting for its period...
    await mailbox.append(direct("Hermione", "Neville", "no flush"));
    assert.deepEqual(await seqs(), [1, 2, 3, 4, 5]);
    // ...one to Ron_W writes it first, and the flush drops the consumed prefix.
    await mailbox.append(direct("Hermione", "Ron_W", "flush"));
    assert.deepEqual(await seqs(), [4, 5, 6]);
    // Consumed all (sweep writes the cursors too): the consumed items stay
    // until the cursor has moved 8 past the last trim...
    const [last] = await mailbox.read("Ron_W", 5, 1);
    mailbox.consumed("Ron_W", last);
    await mailbox.sweep();
    assert.deepEqual(await seqs(), [4, 5, 6]);
    assert.equal(await redis.command(["HGET", "im:u:Ron_W", "cur"]), "6");
    // ...and then the list goes, and the next append starts it again.
    for (let i = 0; i < 8; i++) await mailbox.append(direct("Hermione", "Ron_W", `more ${i}`));
    const more = await mailbox.read("Ron_W", 6, 8);
    assert.equal(more.length, 8);
    mailbox.consumed("Ron_W", more[7]);
    await mailbox.sweep();
    assert.equal(await redis.command(["EXISTS", "im:n:Ron_W"]), 0);
    await mailbox.append(direct("Hermione", "Ron_W", "after"));
    assert.deepEqual(await seqs(), [15]);
    assert.equal((await mailbox.read("Ron_W", 14, 5)).length, 1);
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (redis): the item kept in a caught-up unread list goes once it expires, at the latest with its message", async () => {
  await using server = await RedisServer.start();
  await using redis = await RedisClient.connect(server.url);
  let now = Date.now();
  const mailbox = await RedisMailbox.connect(server.url, { ...LIMITS, now: () => now, link: FAST });
  try {
    const request = direct("Harry", "Ron_W", "one");
    await mailbox.append({ ...request, message: { ...request.message, sentAt: now } });
    const [entry] = await mailbox.read("Ron_W", 0, 1);
    mailbox.consumed("Ron_W", entry);
    await mailbox.sweep();
    assert.equal(await redis.command(["LLEN", "im:n:Ron_W"]), 1, "kept while young");
    now += LIMITS.historyTtlMs + 1;
    await mailbox.sweep();
    assert.equal(await redis.command(["EXISTS", "im:b:Ron_W"]), 0, "the message is gone");
    assert.equal(await redis.command(["EXISTS", "im:n:Ron_W"]), 0, "and the kept item with it");
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (redis): appending a message id again answers the first seqs and writes nothing", async () => {
  await using server = await RedisServer.start();
  await using redis = await RedisClient.connect(server.url);
  const mailbox = await RedisMailbox.connect(server.url, { ...LIMITS, link: FAST });
  try {
    const request = direct("Harry", "Ron_W", "once");
    const first = await mailbox.append(request);
    const stats = await redis.command(["HGETALL", "im:stats"]);
    const again = await mailbox.append(request);
    assert.deepEqual(again, first);
    assert.deepEqual(await redis.command(["HGETALL", "im:stats"]), stats);
    assert.equal(await redis.command(["ZCARD", "im:b:Ron_W"]), 1);
    assert.equal(await redis.command(["LLEN", "im:log"]), 1);
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (redis): near maxBytes, an append to anyone writes the cursors first, so what was consumed can be trimmed", async () => {
  await using server = await RedisServer.start();
  const mailbox = await RedisMailbox.connect(server.url, {
    ...LIMITS,
    maxBytes: 5_000,
    cursorFlushMs: 10_000,
    link: FAST,
  });
  try {
    const body = "x".repeat(1000);
    for (let i = 0; i < 4; i++) await mailbox.append(direct("Harry", "Ron_W", `${body}${i}`));
    const [first, second] = await mailbox.read("Ron_W", 0, 2);
    mailbox.consumed("Ron_W", first);
    mailbox.consumed("Ron_W", second);
    // Neville holds no waiting cursor; Ron_W's must still reach Redis first.
    const result = await mailbox.append(direct("Hermione", "Neville", `${body}n`));
    assert.equal(result.kind, "appended");
    assert.ok(mailbox.stats().bytes <= 5_000, `${mailbox.stats().bytes} bytes`);
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (redis): a mailbox with nothing unread (no unread list) is not a new one for maxMailboxes", async () => {
  await using server = await RedisServer.start();
  await using redis = await RedisClient.connect(server.url);
  const mailbox = await RedisMailbox.connect(server.url, {
    ...LIMITS,
    maxMailboxes: 2,
    link: FAST,
  });
  try {
    await mailbox.append(direct("Harry", "Ron_W", "one"));
    // Harry's mailbox holds only his own copy: it has no unread list.
    assert.equal(await redis.command(["EXISTS", "im:n:Harry"]), 0);
    assert.equal((await mailbox.append(direct("Ron_W", "Harry", "two"))).kind, "appended");
    assert.deepEqual(await mailbox.append(direct("Harry", "Neville", "three")), {
      kind: "mailboxes_full",
    });
    assert.equal(mailbox.stats().mailboxes, 2);
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (redis): consumed items an unread list still holds do not count toward mailboxMax", async () => {
  await using server = await RedisServer.start();
  const mailbox = await RedisMailbox.connect(server.url, { ...LIMITS, mailboxMax: 3, link: FAST });
  try {
    for (let i = 0; i < 3; i++) await mailbox.append(direct("Harry", "Ron_W", `old ${i}`));
    const old = await mailbox.read("Ron_W", 0, 3);
    mailbox.consumed("Ron_W", old[2]);
    await mailbox.sweep(); // the cursor moves; the list keeps its three, all consumed
    for (let i = 0; i < 3; i++) {
      assert.equal((await mailbox.append(direct("Harry", "Ron_W", `new ${i}`))).kind, "appended");
    }
    assert.deepEqual(await mailbox.append(direct("Harry", "Ron_W", "one too many")), {
      kind: "mailbox_full",
      user: "Ron_W",
    });
  } finally {
    await mailbox.close();
  }
});
