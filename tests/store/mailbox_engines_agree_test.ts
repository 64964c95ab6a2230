/**
 * The memory, SQLite and Redis engines, driven through the same random
 * sequence of sends (retries with Idempotency-Keys among them), deliveries,
 * topic deletions, clock moves and sweeps, must answer every read alike: the
 * contract suite checks chosen cases, this checks the cases nobody thought
 * of (the memory engine keeps its entries in typed arrays and byte chunks,
 * SQLite in tables, Redis in scripts' keys). Two Redis nodes sharing one
 * server must answer as one mailbox too. It found a NUL cutting SQLite's
 * text short and a notice to no one stopping Redis's sweeps.
 */

import type { Message } from "../../lib/protocol/messages.ts";
import type { AppendResult, Entry, Mailbox, MailboxOptions } from "../../lib/store/mailbox.ts";
import { MemoryMailbox } from "../../lib/store/mailbox_memory.ts";
import { SqliteMailbox } from "../../lib/store/mailbox_sqlite.ts";
import { SqliteDatabase } from "../../lib/store/sqlite_database.ts";
import { RedisMailbox } from "../../lib/store/mailbox_redis.ts";
import { agreeing, picker, random, twoNodes } from "./agree.ts";
import { FAST, mailboxEngine as redisEngine } from "./redis_engines.ts";

const USERS = ["Harry", "Ron_W", "Hermione", "Neville", "Luna"];
const TOPICS = ["stone", "chamber"];

const view = (entries: readonly Entry[]) =>
  entries.map((e) => [e.seq, e.own, e.message.id, e.message.content, e.message.to.join(",")]);

// Two Redis nodes acting as one mailbox: what a user's socket does (cursor,
// read, consumed) on the node that holds it, every other call on either
// node at random. Counts are each node's as of the last append or sweep it
// ran, so they are read on the node that ran the last of those.
async function asOneMailbox(options: MailboxOptions, seed: number): Promise<Mailbox> {
  const nodes = await twoNodes(
    (url, nodeId) => RedisMailbox.connect(url, { ...options, nodeId, link: FAST }),
    seed,
  );
  const { any, writer } = nodes;
  const home = (user: string) => user.length % 2 === 0 ? nodes.a : nodes.b;
  return {
    append: (request) => writer().append(request),
    read: (user, after, limit) => home(user).read(user, after, limit),
    consumed: (user, entry) => home(user).consumed(user, entry),
    cursor: (user) => home(user).cursor(user),
    resume: (user, since) => any().resume(user, since),
    history: (user, query) => any().history(user, query),
    purgeTopic: (topic) => writer().purgeTopic(topic),
    sweep: () => writer().sweep(),
    stats: () => nodes.wrote.stats(),
    close: () => nodes.close(),
  };
}

function appended(result: AppendResult): unknown {
  return result.kind === "appended" ? { kind: result.kind, seqs: result.seqs } : result;
}

// Roomy limits; then tight ones, where caps refuse sends and the byte cap
// trims (with nothing expiring: the engines may count an expired entry
// against IM_MAILBOX_MAX for up to 1/16 of the TTL, see unread.ts); then a
// history shorter than delivery.
const LIMITS: Omit<MailboxOptions, "now">[] = [
  {
    offlineTtlMs: 20_000,
    historyTtlMs: 60_000,
    mailboxMax: 40,
    maxBytes: 1 << 26,
    maxMailboxes: 100,
  },
  { offlineTtlMs: 1e9, historyTtlMs: 1e9, mailboxMax: 6, maxBytes: 6_000, maxMailboxes: 4 },
  {
    offlineTtlMs: 30_000,
    historyTtlMs: 5_000,
    mailboxMax: 40,
    maxBytes: 1 << 26,
    maxMailboxes: 100,
  },
];

for (const [set, limits] of LIMITS.entries()) {
  for (const seed of [1, 2, 3]) {
    Deno.test(`mailbox engines agree: memory, SQLite and Redis give the same answers (limits ${set}, seed ${seed})`, async () => {
      const next = random(seed);
      const pick = picker(next);
      let now = 1_000_000;
      const options: MailboxOptions = { ...limits, now: () => now };
      const dir = await Deno.makeTempDir({ prefix: "huayi_agree_" });
      const engines: Mailbox[] = [
        new MemoryMailbox(options),
        new SqliteMailbox(await SqliteDatabase.open(dir), options),
        await redisEngine.open(options),
        // Not with tight caps: by design another node sees a consumed
        // entry up to cursorFlushMs (200 ms) late, so it may refuse a send the
        // socket's node would take (mailbox_redis.ts).
        ...(limits.mailboxMax < 10 ? [] : [await asOneMailbox(options, seed)]),
      ];
      const both = agreeing(engines, ["memory", "sqlite", "redis", "two redis nodes"]);
      try {
        for (let step = 0; step < 600; step++) {
          const roll = next();
          const user = pick(USERS);
          if (roll < 0.45) {
            const to = USERS.filter(() => next() < 0.3);
            const topic = next() < 0.3 ? pick(TOPICS) : "";
            const message: Message = {
              id: `m${step}`,
              sentAt: now,
              kind: topic ? "topic" : "direct",
              from: user,
              to: topic ? to.slice(0, 1) : (to.length ? to : [pick(USERS)]),
              topic,
              content: `${step} ${"é".repeat(step % 7)}\0,`,
            };
            const recipients = topic ? USERS.filter((u) => u !== user) : message.to;
            // Now and then a retry's key: the same body, or another one.
            const idempotency = next() < 0.2
              ? { key: `k${Math.floor(next() * 4)}`, bodyHash: `h${Math.floor(next() * 2)}` }
              : undefined;
            await both(
              async (m) =>
                appended(await m.append({ message, recipients, ownCopy: true, idempotency })),
              `append ${step}`,
            );
          } else if (roll < 0.7) {
            // A socket writes what it reads, maybe not all of it.
            const cursor = await both((m) => m.cursor(user), `cursor ${step}`);
            const limit = 1 + Math.floor(next() * 5);
            const entries = await both(
              async (m) => view(await m.read(user, cursor, limit)),
              `read ${step}`,
            );
            const upTo = Math.floor(next() * (entries.length + 1));
            for (const mailbox of engines) {
              const read = await mailbox.read(user, cursor, upTo);
              for (const entry of read) mailbox.consumed(user, entry);
            }
          } else if (roll < 0.8) {
            const after = next() < 0.5 ? Math.floor(next() * 20) : undefined;
            const query = {
              limit: 1 + Math.floor(next() * 6),
              ...(after === undefined
                ? { before: next() < 0.5 ? Infinity : Math.floor(next() * 30) }
                : { after }),
              ...(next() < 0.3
                ? { with: pick(USERS) }
                : next() < 0.3
                ? { topic: pick(TOPICS) }
                : {}),
            };
            await both(async (m) => {
              const page = await m.history(user, query);
              return { entries: view(page.entries), hasMore: page.hasMore };
            }, `history ${step} ${JSON.stringify(query)}`);
          } else if (roll < 0.86) {
            const since = Math.floor(next() * 25);
            await both((m) => m.resume(user, since), `resume ${step}`);
          } else if (roll < 0.89) {
            // A topic's deletion: its messages go, a notice comes to its members.
            const topic = pick(TOPICS);
            await both((m) => m.purgeTopic(topic), `purge ${step}`);
            const notice: Message = {
              id: `n${step}`,
              sentAt: now,
              kind: "topic_deleted",
              from: "",
              to: [],
              topic,
              content: "",
            };
            const members = USERS.filter(() => next() < 0.5);
            await both(
              async (m) =>
                appended(await m.append({ message: notice, recipients: members, ownCopy: false })),
              `notice ${step}`,
            );
          } else {
            now += Math.floor(next() * 8_000);
            // SQLite sweeps in bounded batches: enough rounds to finish.
            for (let i = 0; i < 5; i++) await both((m) => m.sweep(), `sweep ${step}`);
          }
          await both((m) => {
            const { entries, messages, mailboxes } = m.stats();
            return { entries, messages, mailboxes };
          }, `stats after step ${step}`);
        }
      } finally {
        await Promise.all(engines.map((m) => m.close()));
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}
