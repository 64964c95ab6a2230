/**
 * A hand-run measure of the Redis mailbox (not a timed test): Redis
 * commands per accepted message, from `INFO commandstats` before and after
 * (every `redis.call` inside a script counts, and so does the EVALSHA), the
 * time Redis spent in the scripts and in their commands (the difference is
 * the Lua's), and appends per second from one node.
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
import { commandDelta, parseCommandStats } from "./cluster.ts";

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

// What Redis ran and how long it took, per accepted message: commands, the
// time in them, and the time in the scripts (their Lua and commands together).
interface PerMessage {
  total: number;
  top: string;
  commandUsec: number;
  scriptUsec: number;
}

async function commandsPer(
  server: RedisServer,
  mailbox: RedisMailbox,
  count: number,
  request: (i: number) => AppendRequest,
): Promise<PerMessage> {
  const stats = async () =>
    parseCommandStats(await server.command(["INFO", "commandstats"]) as string);
  const before = await stats();
  for (let i = 0; i < count; i++) {
    const result = await mailbox.append(request(i));
    if (result.kind !== "appended") throw new Error(`refused: ${result.kind}`);
  }
  const delta = commandDelta(before, await stats());
  const top = Object.entries(delta.byCommand).sort((a, b) => b[1] - a[1])
    .map(([name, calls]) => `${name} ${Number((calls / count).toFixed(2))}`).join(", ");
  return {
    total: delta.calls / count,
    top,
    commandUsec: delta.usec / count,
    scriptUsec: delta.scriptUsec / count,
  };
}

// "in scripts 80 µs (their commands 20, Lua 60)": where an append's Redis time goes.
function timing({ commandUsec, scriptUsec }: PerMessage): string {
  return `in scripts ${scriptUsec.toFixed(1)} µs (their commands ${commandUsec.toFixed(1)}, ` +
    `Lua ${(scriptUsec - commandUsec).toFixed(1)})`;
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
  rows.push(
    `1:1 message (recipient + own copy): ${one.total.toFixed(1)} commands, ${timing(one)}\n    ` +
      one.top,
  );
  for (const size of members) {
    const count = Math.max(20, Math.floor(20_000 / size));
    const result = await commandsPer(server, mailbox, count, (i) => topic(i, size));
    rows.push(
      `topic message to ${size} members (${size - 1} + own copy): ${result.total.toFixed(1)} ` +
        `commands, ${(result.total / size).toFixed(2)} per entry, ${timing(result)}\n    ` +
        result.top,
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
