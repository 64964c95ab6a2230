/**
 * A hand-run measure of the Redis mailbox (not a timed test): Redis
 * commands per accepted message, from `INFO commandstats` before and after
 * (every `redis.call` inside a script counts, and so does the EVALSHA), and
 * appends per second from one node.
 *
 * ```sh
 * deno run --allow-all bench/redis_store.ts                 # 1:1 and topics of 10/100/1000
 * deno run --allow-all bench/redis_store.ts --seconds 5 --in-flight 1,16,128
 * ```
 *
 * It starts its own `redis-server` (no persistence) on a free port of this
 * machine, so client and server share its cores.
 *
 * @module
 */

import { RedisMailbox } from "../lib/store/mailbox_redis.ts";
import type { AppendRequest } from "../lib/store/mailbox.ts";
import { newMessageId } from "../lib/protocol/messages.ts";
import { RedisServer } from "../tests/redis/redis_server.ts";

const args = Deno.args;
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const seconds = Number(flag("seconds", "3"));
const inFlight = flag("in-flight", "1,16,128").split(",").map(Number);
const members = flag("members", "10,100,1000").split(",").map(Number);

const LIMITS = {
  offlineTtlMs: 600_000,
  historyTtlMs: 604_800_000,
  mailboxMax: 1_000_000,
  maxBytes: 1 << 30,
  maxMailboxes: 1_000_000,
};
const CONTENT = "x".repeat(100);

function direct(i: number): AppendRequest {
  const from = `user_${i % 1000}`;
  const to = [`user_${(i * 7 + 1) % 1000}`];
  const message = {
    id: newMessageId(),
    sentAt: Date.now(),
    kind: "direct" as const,
    from,
    to,
    topic: "",
    content: CONTENT,
  };
  return { message, recipients: to, ownCopy: true };
}

function topic(i: number, size: number): AppendRequest {
  const recipients = Array.from({ length: size - 1 }, (_, m) => `member_${m + 1}`);
  const message = {
    id: newMessageId(),
    sentAt: Date.now(),
    kind: "topic" as const,
    from: "member_0",
    to: [],
    topic: `room_${size}`,
    content: `${i}${CONTENT}`,
  };
  return { message, recipients, ownCopy: true };
}

// Calls per command name, from INFO commandstats.
async function commandStats(server: RedisServer): Promise<Map<string, number>> {
  const info = await server.command(["INFO", "commandstats"]) as string;
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    calls.set(match[1], Number(match[2]));
  }
  return calls;
}

async function commandsPer(
  server: RedisServer,
  mailbox: RedisMailbox,
  count: number,
  request: (i: number) => AppendRequest,
): Promise<{ total: number; top: string }> {
  const before = await commandStats(server);
  for (let i = 0; i < count; i++) {
    const result = await mailbox.append(request(i));
    if (result.kind !== "appended") throw new Error(`refused: ${result.kind}`);
  }
  const after = await commandStats(server);
  const delta = new Map<string, number>();
  for (const [name, calls] of after) {
    if (name === "info") continue;
    const d = calls - (before.get(name) ?? 0);
    if (d > 0) delta.set(name, d / count);
  }
  const total = [...delta.values()].reduce((a, b) => a + b, 0);
  const top = [...delta].sort((a, b) => b[1] - a[1])
    .map(([name, per]) => `${name} ${Number(per.toFixed(2))}`).join(", ");
  return { total, top };
}

async function rate(mailbox: RedisMailbox, concurrency: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      await mailbox.append(direct(next++));
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - started) / 1000);
}

const server = await RedisServer.start();
const mailbox = await RedisMailbox.connect(server.url, { ...LIMITS, nodeId: "bench" });
try {
  const rows: string[] = [];
  const one = await commandsPer(server, mailbox, 1000, direct);
  rows.push(`1:1 message (recipient + own copy): ${one.total.toFixed(1)} commands\n    ${one.top}`);
  for (const size of members) {
    const count = Math.max(20, Math.floor(20_000 / size));
    const result = await commandsPer(server, mailbox, count, (i) => topic(i, size));
    rows.push(
      `topic message to ${size} members (${size - 1} + own copy): ${result.total.toFixed(1)} ` +
        `commands, ${(result.total / size).toFixed(2)} per entry\n    ${result.top}`,
    );
  }
  for (const concurrency of inFlight) {
    const perSecond = await rate(mailbox, concurrency);
    rows.push(`appends/s, 1:1, ${concurrency} in flight, one node: ${perSecond.toFixed(0)}`);
  }
  console.log(rows.join("\n"));
} finally {
  await mailbox.close();
  await server.kill9();
}
