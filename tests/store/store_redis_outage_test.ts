import assert from "node:assert/strict";
import type { Message } from "../../lib/protocol/messages.ts";
import { RedisDirectory } from "../../lib/store/directory_redis.ts";
import type { AppendRequest, Mailbox } from "../../lib/store/mailbox.ts";
import { RedisMailbox, type RedisMailboxOptions } from "../../lib/store/mailbox_redis.ts";
import { StoreUnavailableError } from "../../lib/store/redis_shared.ts";
import { RedisServer } from "../redis/redis_server.ts";
import { within } from "../redis/within.ts";
import { ChaosProxy } from "./chaos_proxy.ts";
import { FAST, LIMITS } from "./redis_engines.ts";

let ids = 0;
function send(to: string[], content: string): AppendRequest {
  const message: Message = {
    id: `o${++ids}`,
    sentAt: Date.now(),
    kind: "direct",
    from: "Harry",
    to,
    topic: "",
    content,
  };
  return { message, recipients: to, ownCopy: true };
}

function connect(url: string, options: Partial<RedisMailboxOptions> = {}, timeoutMs = 600) {
  return RedisMailbox.connect(url, {
    ...LIMITS,
    appendTimeoutMs: timeoutMs,
    link: { ...FAST, timeoutMs },
    ...options,
  });
}

const seqsOf = async (mailbox: Mailbox, user: string) =>
  (await mailbox.read(user, 0, 100)).map((entry) => entry.seq);

function isUnavailable(outcome?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof StoreUnavailableError, String(error));
    if (outcome) assert.equal(error.outcome, outcome);
    return true;
  };
}

Deno.test("outage: kill -9 of Redis: appends and logins reject as unavailable in time, onResync follows the restart, then all works", async () => {
  await using server = await RedisServer.start();
  const resynced = Promise.withResolvers<boolean>();
  let resyncs = 0;
  const mailbox = await connect(server.url, {
    onResync: (lost) => resynced.resolve((resyncs++, lost)),
  });
  const directory = await RedisDirectory.connect(server.url, {
    sessionTtlMs: 60_000,
    maxUsers: 100,
    maxTopics: 100,
    maxSessions: 100,
    link: { ...FAST, timeoutMs: 600 },
  });
  try {
    assert.equal((await mailbox.append(send(["Ron_W"], "before"))).kind, "appended");
    await server.kill9();
    const started = performance.now();
    await assert.rejects(mailbox.append(send(["Ron_W"], "during")), isUnavailable());
    const took = performance.now() - started;
    assert.ok(took < 1_000, `rejected after ${took.toFixed(0)} ms`);
    await assert.rejects(directory.openSession("Ron_W"), isUnavailable());
    assert.equal(resyncs, 0);
    await server.restart();
    assert.equal(await within(resynced.promise, 3_000, "onResync"), true, "Redis lost its data");
    // The restarted Redis kept nothing (no persistence here): seqs start again.
    assert.deepEqual(await mailbox.append(send(["Ron_W"], "after")), {
      kind: "appended",
      seqs: [1, 1],
    });
    assert.equal((await directory.openSession("Ron_W")).kind, "opened");
  } finally {
    await mailbox.close();
    await directory.close();
  }
});

Deno.test("unknown outcome: a lost reply is retried and answers the first result; nothing is doubled", async () => {
  await using server = await RedisServer.start();
  await using proxy = ChaosProxy.start(server.port);
  const announced: [string, number][] = [];
  const mailbox = await connect(proxy.url, {
    onAppended: (user, entry) => announced.push([user, entry.seq]),
  });
  try {
    let cuts = 0;
    proxy.down = (text) => text.includes("appended") && cuts++ === 0 ? "cut" : "pass";
    const result = await mailbox.append(send(["Ron_W"], "once"));
    assert.equal(cuts, 1, "the first reply was lost");
    assert.deepEqual(result, { kind: "appended", seqs: [1, 1] });
    assert.deepEqual(await seqsOf(mailbox, "Ron_W"), [1]);
    assert.deepEqual(await seqsOf(mailbox, "Harry"), [1]);
    assert.deepEqual(announced, [["Ron_W", 1], ["Harry", 1]], "announced once, by the retry");
    assert.deepEqual(await mailbox.append(send(["Ron_W"], "next")), {
      kind: "appended",
      seqs: [2, 2],
    });
    assert.equal(mailbox.stats().messages, 2);
  } finally {
    await mailbox.close();
  }
});

Deno.test("unknown outcome: an append held back past its retry is fenced; it rejects as not applied and its late arrival changes nothing", async () => {
  await using server = await RedisServer.start();
  await using proxy = ChaosProxy.start(server.port);
  const announced: string[] = [];
  const mailbox = await connect(proxy.url, {
    onAppended: (user) => announced.push(user),
  });
  try {
    proxy.up = (text) => text.includes("HOLD") ? "hold" : "pass";
    await assert.rejects(
      mailbox.append(send(["Ron_W"], "HOLD")),
      isUnavailable("not_applied"),
    );
    assert.equal(proxy.held.length, 2, "the attempt and its retry never reached Redis");
    // Now they do, late, as a dead connection's buffered bytes might.
    const late = await proxy.release(2);
    assert.deepEqual(late.map((reply) => (reply as string[])[0]), ["fenced", "fenced"]);
    assert.deepEqual(await seqsOf(mailbox, "Ron_W"), []);
    assert.deepEqual(await seqsOf(mailbox, "Harry"), []);
    assert.deepEqual(announced, []);
    assert.deepEqual(await mailbox.append(send(["Ron_W"], "later")), {
      kind: "appended",
      seqs: [1, 1],
    });
  } finally {
    await mailbox.close();
  }
});

Deno.test("unknown outcome: when even the fence cannot reach Redis, the append rejects as unknown, in time", async () => {
  await using server = await RedisServer.start();
  await using proxy = ChaosProxy.start(server.port);
  const mailbox = await connect(proxy.url);
  try {
    proxy.up = (text) => text.includes("EVALSHA") ? "hold" : "pass";
    const started = performance.now();
    await assert.rejects(mailbox.append(send(["Ron_W"], "lost")), isUnavailable("unknown"));
    assert.ok(performance.now() - started < 1_000);
    assert.equal(proxy.held.length, 3, "the attempt, the retry and the fence");
  } finally {
    proxy.up = () => "pass";
    await mailbox.close();
  }
});

Deno.test("outage: a cursor flush that fails after close schedules nothing more", async () => {
  await using server = await RedisServer.start();
  const mailbox = await connect(server.url, { cursorFlushMs: 10 }, 300);
  await mailbox.append(send(["Ron_W"], "read"));
  const [entry] = await mailbox.read("Ron_W", 0, 1);
  await server.kill9();
  mailbox.consumed("Ron_W", entry);
  // The flush is on its way (queued until its deadline) when the mailbox closes.
  await new Promise((resolve) => setTimeout(resolve, 30));
  await mailbox.close();
  // A retry timer re-armed after close would keep firing: count what is scheduled.
  const realSetTimeout = globalThis.setTimeout;
  let scheduled = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    scheduled++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  try {
    await new Promise((resolve) => realSetTimeout(resolve, 100));
    mailbox.consumed("Ron_W", { ...entry, seq: 2 });
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.equal(scheduled, 0);
});
