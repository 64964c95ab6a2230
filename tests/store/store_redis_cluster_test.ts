import assert from "node:assert/strict";
import type { Message } from "../../lib/protocol/messages.ts";
import type { AppendRequest, Entry } from "../../lib/store/mailbox.ts";
import type { RedisDirectoryOptions, SessionEnd } from "../../lib/store/directory_redis.ts";
import type { RedisMailboxOptions } from "../../lib/store/mailbox_redis.ts";
import { openRedisStore, type RedisStore } from "../../lib/store/store_redis.ts";
import { RedisServer } from "../redis/redis_server.ts";
import { within } from "../redis/within.ts";
import { FAST, LIMITS } from "./redis_engines.ts";
const DIRECTORY = { sessionTtlMs: 60_000, maxUsers: 100, maxTopics: 100, maxSessions: 100 };

interface Node extends RedisStore {
  /** What this node's onAppended was told, in order. */
  readonly announced: { user: string; entry: Entry }[];
  /** Resolves once `count` entries of `user` were announced here. */
  until(user: string, count: number): Promise<void>;
}

async function node(
  url: string,
  nodeId: string,
  mailbox: Partial<RedisMailboxOptions> = {},
  directory: Partial<RedisDirectoryOptions> = {},
): Promise<Node> {
  const announced: { user: string; entry: Entry }[] = [];
  const waiters: { user: string; count: number; resolve: () => void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (announced.filter((a) => a.user === waiter.user).length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const store = await openRedisStore({
    url,
    nodeId,
    ...FAST,
    mailbox: {
      ...LIMITS,
      ...mailbox,
      onAppended: (user, entry) => {
        announced.push({ user, entry });
        check();
      },
    },
    directory: { ...DIRECTORY, ...directory },
    presenceTtlMs: 60_000,
  });
  return {
    ...store,
    announced,
    until(user, count) {
      const { promise, resolve } = Promise.withResolvers<void>();
      waiters.push({ user, count, resolve });
      check();
      return within(promise, 3_000, `${count} entries of ${user} on ${nodeId}`);
    },
  };
}

let ids = 0;
function direct(from: string, to: string[], content: string, sentAt = Date.now()): AppendRequest {
  const message: Message = {
    id: `c${++ids}`,
    sentAt,
    kind: "direct",
    from,
    to,
    topic: "",
    content,
  };
  return { message, recipients: to, ownCopy: true };
}
function topic(from: string, name: string, members: string[], content: string): AppendRequest {
  const message: Message = {
    id: `c${++ids}`,
    sentAt: Date.now(),
    kind: "topic",
    from,
    to: [],
    topic: name,
    content,
  };
  return { message, recipients: members.filter((m) => m !== from), ownCopy: true };
}

Deno.test("cluster: an append on node A is announced on node B, per user in seq order, and once", async () => {
  await using server = await RedisServer.start();
  const a = await node(server.url, "a");
  const b = await node(server.url, "b");
  try {
    for (let i = 0; i < 20; i++) await a.mailbox.append(direct("Harry", ["Ron_W"], `m${i}`));
    await b.until("Ron_W", 20);
    const ron = b.announced.filter((x) => x.user === "Ron_W");
    assert.deepEqual(ron.map((x) => x.entry.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(ron.map((x) => x.entry.message.content).slice(0, 2), ["m0", "m1"]);
    assert.equal(ron[0].entry.own, false);
    await b.until("Harry", 20);
    assert.ok(b.announced.filter((x) => x.user === "Harry").every((x) => x.entry.own));
    // B's own append is announced on B once (not again by its wake-up) and on A.
    await b.mailbox.append(direct("Ron_W", ["Harry"], "back"));
    await a.until("Ron_W", 21);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(b.announced.filter((x) => x.entry.message.content === "back").length, 2);
    assert.equal(a.announced.filter((x) => x.entry.message.content === "back").length, 2);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("cluster: topic fan-out from two nodes has one order at every member", async () => {
  await using server = await RedisServer.start();
  const a = await node(server.url, "a");
  const b = await node(server.url, "b");
  try {
    const members = ["Harry", "Ron_W", "Hermione", "Neville", "Luna"];
    const sends = [];
    for (let i = 0; i < 40; i++) {
      sends.push(a.mailbox.append(topic("Harry", "quidditch", members, `a${i}`)));
      sends.push(b.mailbox.append(topic("Ron_W", "quidditch", members, `b${i}`)));
    }
    const results = await Promise.all(sends);
    assert.ok(results.every((r) => r.kind === "appended"));
    const orders = await Promise.all(
      members.map(async (m) => (await a.mailbox.read(m, 0, 100)).map((e) => e.message.id)),
    );
    assert.equal(orders[0].length, 80);
    for (const order of orders) assert.deepEqual(order, orders[0]);
    // Each node heard the other's in the order it appended them.
    await b.until("Luna", 80);
    const fromA = b.announced.filter((x) => x.user === "Luna" && x.entry.message.from === "Harry");
    assert.deepEqual(
      fromA.map((x) => x.entry.message.content),
      results.map((_, i) => `a${i}`).slice(0, 40),
    );
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("cluster: caps hold across nodes (mailboxMax, maxMailboxes, maxUsers, maxTopics)", async () => {
  await using server = await RedisServer.start();
  const caps = { mailboxMax: 5, maxMailboxes: 8 };
  const a = await node(server.url, "a", caps, { maxUsers: 5, maxTopics: 3 });
  const b = await node(server.url, "b", caps, { maxUsers: 5, maxTopics: 3 });
  try {
    const sends = [];
    for (let i = 0; i < 10; i++) {
      sends.push(a.mailbox.append(direct("Harry", ["Ron_W"], `a${i}`)));
      sends.push(b.mailbox.append(direct("Hermione", ["Ron_W"], `b${i}`)));
    }
    const kinds = (await Promise.all(sends)).map((r) => r.kind);
    assert.equal(kinds.filter((k) => k === "appended").length, 5);
    assert.equal(kinds.filter((k) => k === "mailbox_full").length, 15);
    // Ron_W and whichever senders got in have mailboxes; the rest fit, from either node.
    await b.mailbox.sweep();
    const have = b.mailbox.stats().mailboxes;
    assert.ok(have === 2 || have === 3, `${have} mailboxes`);
    const fresh = [];
    for (let i = 0; i < 7; i++) {
      const mailbox = i % 2 ? a.mailbox : b.mailbox;
      fresh.push(mailbox.append({ ...direct("Harry", [`new_${i}`], "hi"), ownCopy: false }));
    }
    const freshKinds = (await Promise.all(fresh)).map((r) => r.kind);
    assert.equal(freshKinds.filter((k) => k === "appended").length, 8 - have);
    assert.equal(freshKinds.filter((k) => k === "mailboxes_full").length, 7 - (8 - have));
    await a.mailbox.sweep();
    assert.equal(a.mailbox.stats().mailboxes, 8);

    const logins = [];
    for (let i = 0; i < 10; i++) logins.push((i % 2 ? a : b).directory.openSession(`user_${i}`));
    const opened = (await Promise.all(logins)).filter((r) => r.kind === "opened").length;
    assert.equal(opened, 5);
    assert.equal((await b.directory.users({})).total, 5);
    const topics = [];
    for (let i = 0; i < 6; i++) topics.push((i % 2 ? a : b).directory.createTopic(`t${i}`, "x"));
    assert.equal((await Promise.all(topics)).filter((r) => r === "created").length, 3);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("cluster: an idempotent retry on another node answers the first result and appends nothing", async () => {
  await using server = await RedisServer.start();
  const a = await node(server.url, "a");
  const b = await node(server.url, "b");
  try {
    const idempotency = { key: "k-1", bodyHash: "h" };
    const first = { ...direct("Harry", ["Ron_W"], "once"), idempotency };
    assert.equal((await a.mailbox.append(first)).kind, "appended");
    const retry = await b.mailbox.append({ ...direct("Harry", ["Ron_W"], "once"), idempotency });
    assert.deepEqual(retry, {
      kind: "replayed",
      id: first.message.id,
      sentAt: first.message.sentAt,
    });
    const other = { key: "k-1", bodyHash: "other" };
    assert.deepEqual(
      await b.mailbox.append({ ...direct("Harry", ["Ron_W"], "x"), idempotency: other }),
      {
        kind: "key_conflict",
      },
    );
    assert.equal((await b.mailbox.read("Ron_W", 0, 10)).length, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("cluster: a node whose clock is behind stamps its sends after the newest stored, and says so", async () => {
  await using server = await RedisServer.start();
  const a = await node(server.url, "a");
  const b = await node(server.url, "b");
  try {
    const ahead = Date.now() + 5_000;
    const first = await a.mailbox.append(direct("Harry", ["Ron_W"], "ahead", ahead));
    assert.deepEqual(first, { kind: "appended", seqs: [1, 1] });
    const second = await b.mailbox.append(direct("Hermione", ["Ron_W"], "behind"));
    assert.deepEqual(second, { kind: "appended", seqs: [2, 1], sentAt: ahead });
    const ron = await b.mailbox.read("Ron_W", 0, 10);
    assert.deepEqual(ron.map((e) => e.message.sentAt), [ahead, ahead]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("cluster: a cursor consumed on A is seen on B within the flush period", async () => {
  await using server = await RedisServer.start();
  const a = await node(server.url, "a", { cursorFlushMs: 50 });
  const b = await node(server.url, "b");
  try {
    for (let i = 0; i < 3; i++) await a.mailbox.append(direct("Harry", ["Ron_W"], `m${i}`));
    const entries = await a.mailbox.read("Ron_W", 0, 3);
    a.mailbox.consumed("Ron_W", entries[1]);
    assert.equal(await a.mailbox.cursor("Ron_W"), 2, "at once on A");
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(await b.mailbox.cursor("Ron_W"), 2);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("cluster: a sid works on every node at once; a login on B replaces A's session and A is told", async () => {
  await using server = await RedisServer.start();
  const ended: [string, string, SessionEnd][] = [];
  const told = (node: string) => ({
    onSessionEnded: (session: { username: string }, why: SessionEnd) =>
      ended.push([node, session.username, why]),
  });
  const a = await node(server.url, "a", {}, told("a"));
  const b = await node(server.url, "b", {}, told("b"));
  try {
    const opened = await a.directory.openSession("Harry");
    assert.equal(opened.kind, "opened");
    if (opened.kind !== "opened") return;
    assert.equal((await b.directory.session(opened.session.sid))?.username, "Harry");
    const again = await b.directory.openSession("Harry");
    assert.equal(again.kind === "opened" && again.replaced?.sid, opened.session.sid);
    assert.equal(await a.directory.session(opened.session.sid), undefined);
    assert.equal(await b.directory.session(opened.session.sid), undefined);
    assert.equal(a.directory.stats().sessions, 1);
    const deadline = Date.now() + 1_000;
    while (ended.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(
      ended,
      [["a", "Harry", "replaced"]],
      "told within 1 s, and only the other node",
    );
    if (again.kind === "opened") await b.directory.closeSession(again.session);
    while (ended.length === 1 && Date.now() < deadline + 1_000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(ended[1], ["a", "Harry", "closed"]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("cluster: a lookup that finds a session idle ends it on every node, and B is told", async () => {
  await using server = await RedisServer.start();
  const time = { now: 1_000_000 };
  const ended: [string, SessionEnd][] = [];
  const b = await node(server.url, "b", {}, {
    now: () => time.now,
    onSessionEnded: (session, why) => ended.push([session.username, why]),
  });
  const a = await node(server.url, "a", {}, { now: () => time.now });
  try {
    const opened = await b.directory.openSession("Harry");
    if (opened.kind !== "opened") throw new Error(opened.kind);
    assert.equal((await a.directory.session(opened.session.sid))?.username, "Harry");
    time.now += DIRECTORY.sessionTtlMs;
    assert.equal(await a.directory.session(opened.session.sid), undefined, "idle: ended on A");
    time.now -= DIRECTORY.sessionTtlMs; // B's clock cannot bring it back
    assert.equal(await b.directory.session(opened.session.sid), undefined);
    await within(
      (async () => {
        while (ended.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      1_000,
      "B told",
    );
    assert.deepEqual(ended, [["Harry", "expired"]]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("cluster: a dropped subscriber calls onResync once resubscribed; wake-ups flow again and the mailbox has everything", async () => {
  await using server = await RedisServer.start();
  const resynced = Promise.withResolvers<boolean>();
  let resyncs = 0;
  const a = await node(server.url, "a");
  const b = await node(server.url, "b", {
    onResync: (lost) => resynced.resolve((resyncs++, lost)),
  });
  try {
    await a.mailbox.append(direct("Harry", ["Ron_W"], "before"));
    await b.until("Ron_W", 1);
    // What Redis does to a subscriber that falls behind (output buffer limit).
    await server.command(["CLIENT", "KILL", "TYPE", "pubsub"]);
    await a.mailbox.append(direct("Harry", ["Ron_W"], "during"));
    assert.equal(await within(resynced.promise, 3_000, "onResync"), false, "nothing was lost");
    assert.equal(resyncs, 1);
    // A reader told to resync reads from its last seq and finds what it may have missed.
    assert.deepEqual((await b.mailbox.read("Ron_W", 1, 10)).map((e) => e.message.content), [
      "during",
    ]);
    const heard = b.announced.filter((x) => x.user === "Ron_W").length;
    await a.mailbox.append(direct("Harry", ["Ron_W"], "after"));
    await b.until("Ron_W", heard + 1);
    assert.equal(b.announced.at(-1)?.entry.message.content, "after");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("store (redis): presence scripts are loaded up front, so a reconnect's offline cannot land after its online", async () => {
  await using server = await RedisServer.start();
  const failed: string[] = [];
  const store = await openRedisStore({
    url: server.url,
    nodeId: "a",
    ...FAST,
    mailbox: LIMITS,
    directory: DIRECTORY,
    presenceTtlMs: 60_000,
    observer: { onCommand: (name, _seconds, ok) => ok || failed.push(name) },
  });
  try {
    const presence = store.presence!;
    presence.online("Ron_W");
    assert.deepEqual((await presence.list({})).names, ["Ron_W"]);
    // A reconnect: the old socket's offline, then the new socket's online,
    // in that order. Had OFFLINE not been loaded, it would be answered
    // NOSCRIPT and sent again by EVAL behind the online.
    presence.offline("Ron_W");
    presence.online("Ron_W");
    // Long enough for a NOSCRIPT's second try to have landed.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual((await presence.list({})).names, ["Ron_W"]);
    assert.deepEqual(failed, [], "no command was refused (no NOSCRIPT)");
  } finally {
    await store.close();
  }
});

Deno.test("cluster: an append with a sid happens only for the sender's live session, checked in the same step", async () => {
  await using server = await RedisServer.start();
  const time = { now: 1_000_000 };
  const clock = { now: () => time.now };
  const a = await node(server.url, "a", clock, clock);
  const b = await node(server.url, "b", clock, clock);
  try {
    assert.equal(a.mailbox.checksSessions, true);
    const harry = await b.directory.openSession("Harry");
    const ron = await b.directory.openSession("Ron_W");
    if (harry.kind !== "opened" || ron.kind !== "opened") throw new Error("no sessions");
    const as = (sid: string, content: string) => ({
      ...direct("Harry", ["Neville"], content, time.now),
      sid,
    });
    // Opened on B, checked on A with the append: one step.
    const first = as(harry.session.sid, "by Harry");
    const sent = await a.mailbox.append(first);
    assert.equal(sent.kind, "appended");
    const refused = [
      await a.mailbox.append(as("no-such-sid", "forged")),
      await a.mailbox.append(as(ron.session.sid, "Ron's sid")),
    ];
    await b.directory.closeSession(ron.session);
    time.now += DIRECTORY.sessionTtlMs; // Harry's session is idle now, as far as Redis knows
    refused.push(await a.mailbox.append(as(harry.session.sid, "idle")));
    assert.deepEqual(refused.map((r) => r.kind), ["unverified", "unverified", "unverified"]);
    // A retry of an append that ran answers its first result, whatever the session is now.
    assert.deepEqual(await a.mailbox.append(first), sent);
    // Nothing of the refused ones was stored, for the recipient or the sender.
    const stored = await a.mailbox.read("Neville", 0, 10);
    assert.deepEqual(stored.map((e) => e.message.content), ["by Harry"]);
    assert.deepEqual((await a.mailbox.read("Harry", 0, 10)).map((e) => e.seq), [1]);
    assert.equal(a.mailbox.stats().messages, 1);
  } finally {
    await a.close();
    await b.close();
  }
});
