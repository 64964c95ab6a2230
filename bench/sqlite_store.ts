/**
 * Measures the SQLite store by hand (not a test: figures vary with the disk):
 * appends/s with group commit, a topic send to 1,000 members, opening a
 * database of 1,000,000 entries in a fresh process, disk bytes per entry,
 * and the longest single blocking call (commit, sweep chunk, purge chunk).
 *
 * ```sh
 * deno run -A bench/sqlite_store.ts            # everything, ~1-2 min
 * deno run -A bench/sqlite_store.ts --entries 200000 --dir /tmp/huayi-sqlite-bench
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Message } from "../lib/protocol/messages.ts";
import type { MailboxOptions } from "../lib/store/mailbox.ts";
import { SqliteMailbox } from "../lib/store/mailbox_sqlite.ts";
import { SqliteDatabase, type SyncMode } from "../lib/store/sqlite_database.ts";
import { openSqliteStore } from "../lib/store/store_sqlite.ts";
import { lockMachine, unlockMachine } from "./lock.ts";
import { waitForQuiet } from "./quiet.ts";

const { values: args, positionals } = parseArgs({
  args: Deno.args,
  options: {
    dir: { type: "string", default: "/tmp/huayi-sqlite-bench" },
    entries: { type: "string", default: "1000000" },
  },
  allowPositionals: true,
});

const DAY = 86_400_000;
const MAILBOX: MailboxOptions = {
  offlineTtlMs: DAY,
  historyTtlMs: 7 * DAY,
  mailboxMax: 1_000_000,
  maxBytes: 2 ** 40,
  maxMailboxes: 1_000_000,
};
const DIRECTORY = { sessionTtlMs: DAY, maxUsers: 100_000, maxTopics: 10_000, maxSessions: 100_000 };
const CONTENT = "x".repeat(64);
const USERS = 1000;

/** Fails the run if a send was refused: a refusal is not an append. */
function appended(results: readonly { kind: string }[]): void {
  const refused = results.find((result) => result.kind !== "appended");
  if (refused) throw new Error(`a send was refused: ${JSON.stringify(refused)}`);
}

let ids = 0;
function direct(from: string, to: string, sentAt = Date.now()): Message {
  return { id: `m${++ids}`, sentAt, kind: "direct", from, to: [to], topic: "", content: CONTENT };
}
const user = (i: number) => `user_${i % USERS}`;

/** Every commit's duration, to report the longest and the median. */
class Commits {
  seconds: number[] = [];
  rows = 0;
  record = (seconds: number, rows: number) => {
    this.seconds.push(seconds);
    this.rows += rows;
  };
  get max(): number {
    return Math.max(0, ...this.seconds) * 1000;
  }
  get median(): number {
    const sorted = [...this.seconds].sort((a, b) => a - b);
    return (sorted[sorted.length >> 1] ?? 0) * 1000;
  }
}

async function fresh(name: string): Promise<string> {
  const dir = `${args.dir}/${name}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return dir;
}

/** Bytes the database uses for its live pages, after a checkpoint folds the WAL in. */
function liveBytes(database: SqliteDatabase): number {
  database.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
  const get = (pragma: string) => Number(Object.values(database.prepare(pragma).get()!)[0]);
  return (get("PRAGMA page_count") - get("PRAGMA freelist_count")) * get("PRAGMA page_size");
}

async function appendRate(sync: SyncMode, perTurn: number, total: number) {
  const commits = new Commits();
  const database = await SqliteDatabase.open(await fresh(`rate-${sync}-${perTurn}`), {
    sync,
    onCommit: commits.record,
  });
  const mailbox = new SqliteMailbox(database, MAILBOX);
  const started = performance.now();
  for (let sent = 0; sent < total; sent += perTurn) {
    appended(
      await Promise.all(
        Array.from(
          { length: perTurn },
          (_, i) =>
            mailbox.append({
              message: direct(user(sent + i), user(sent + i + 1)),
              recipients: [user(sent + i + 1)],
              ownCopy: true,
            }),
        ),
      ),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  await mailbox.close();
  return {
    test: `1:1 appends, ${perTurn}/turn, WAL+${sync.toUpperCase()}`,
    result: `${Math.round(total / seconds).toLocaleString("en")} appends/s`,
    detail: `${commits.seconds.length} commits, median ${commits.median.toFixed(2)} ms, ` +
      `max ${commits.max.toFixed(1)} ms`,
  };
}

// Topic sends one per turn: `empty` into an empty database, then
// `steady` more once every member holds `warm` entries (each member's newest
// page is then its own, so a send dirties ~one page per member).
async function topicSend(
  sync: SyncMode,
  members: number,
  { empty = 100, warm = 600, steady = 200 } = {},
) {
  const commits = new Commits();
  const database = await SqliteDatabase.open(await fresh(`topic-${sync}`), {
    sync,
    onCommit: commits.record,
  });
  const mailbox = new SqliteMailbox(database, MAILBOX);
  const recipients = Array.from({ length: members }, (_, i) => `member_${i}`).slice(1);
  const sendSome = async (count: number) => {
    commits.seconds = [];
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const message: Message = {
        id: `t${++ids}`,
        sentAt: Date.now(),
        kind: "topic",
        from: "member_0",
        to: [],
        topic: "quidditch",
        content: CONTENT,
      };
      appended([await mailbox.append({ message, recipients, ownCopy: true })]);
    }
    const ms = (performance.now() - started) / count;
    return {
      result: `${ms.toFixed(2)} ms/send (${
        Math.round(members / ms * 1000).toLocaleString("en")
      } entries/s)`,
      detail: `commit median ${commits.median.toFixed(2)} ms, max ${commits.max.toFixed(1)} ms`,
    };
  };
  const first = await sendSome(empty);
  await sendSome(warm - empty);
  const later = await sendSome(steady);
  const perEntry = liveBytes(database) / mailbox.stats().entries;
  await mailbox.close();
  const name = `topic send to ${members} members, WAL+${sync.toUpperCase()}`;
  return [
    { test: `${name}, empty database`, ...first },
    { test: `${name}, ${warm} entries a member`, ...later },
    {
      test: "disk bytes per entry, topic (1,000 members)",
      result: `${perEntry.toFixed(1)} B/entry`,
      detail: `${warm + steady} messages of ${CONTENT.length} chars, live pages after a checkpoint`,
    },
  ];
}

async function big(total: number) {
  const dir = await fresh("big");
  const commits = new Commits();
  const store = await openSqliteStore({
    dir,
    onCommit: commits.record,
    mailbox: MAILBOX,
    directory: DIRECTORY,
  });
  for (let i = 0; i < USERS; i++) await store.directory.openSession(user(i));
  const started = performance.now();
  // Two entries a send (recipient and own copy), 1,000 sends a turn.
  for (let sent = 0; sent * 2 < total; sent += 1000) {
    appended(
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          store.mailbox.append({
            message: direct(user(sent + i), user(sent + i + 7)),
            recipients: [user(sent + i + 7)],
            ownCopy: true,
          })),
      ),
    );
  }
  const fill = (performance.now() - started) / 1000;
  const entries = store.mailbox.stats().entries;
  await store.close();
  const database = await SqliteDatabase.open(dir);
  const perEntry = liveBytes(database) / entries;
  database.close();
  const file = (await Deno.stat(`${dir}/huayi.db`)).size;

  // A fresh process opens it, as a restarted server would.
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "open", dir],
    stdout: "piped",
  }).output();
  const opened = JSON.parse(new TextDecoder().decode(child.stdout));
  return [{
    test: `fill ${entries.toLocaleString("en")} entries (1:1, 1,000/turn)`,
    result: `${Math.round(entries / 2 / fill).toLocaleString("en")} appends/s`,
    detail: `${fill.toFixed(1)} s, commit max ${commits.max.toFixed(1)} ms`,
  }, {
    test: "disk bytes per entry, 1:1 (with own copy)",
    result: `${perEntry.toFixed(1)} B/entry`,
    detail: `file ${(file / 2 ** 20).toFixed(0)} MiB for ${entries.toLocaleString("en")} entries`,
  }, {
    test: `open ${entries.toLocaleString("en")} entries in a new process`,
    result: `${opened.openMs.toFixed(0)} ms to open`,
    detail:
      `process start to store open ${opened.sinceStartMs.toFixed(0)} ms; RSS ${
        opened.rssMiB.toFixed(0)
      } MiB; first resume+read of a user ${opened.firstReadMs.toFixed(1)} ms; first append ` +
      `${opened.firstAppendMs.toFixed(1)} ms; RSS after touching all ${USERS} mailboxes ` +
      `${opened.rssAfterMiB.toFixed(0)} MiB`,
  }];
}

async function measureOpen(dir: string) {
  const startedMs = performance.timeOrigin;
  const t0 = performance.now();
  const store = await openSqliteStore({ dir, mailbox: MAILBOX, directory: DIRECTORY });
  const openMs = performance.now() - t0;
  const sinceStartMs = Date.now() - startedMs;
  const rssMiB = Deno.memoryUsage().rss / 2 ** 20;
  const t1 = performance.now();
  const resume = await store.mailbox.resume(user(3), 0);
  await store.mailbox.read(user(3), resume.first - 1, 100);
  const firstReadMs = performance.now() - t1;
  const t2 = performance.now();
  appended([
    await store.mailbox.append({
      message: direct(user(4), user(5)),
      recipients: [user(5)],
      ownCopy: true,
    }),
  ]);
  const firstAppendMs = performance.now() - t2;
  for (let i = 0; i < USERS; i++) await store.mailbox.cursor(user(i));
  const rssAfterMiB = Deno.memoryUsage().rss / 2 ** 20;
  await store.close();
  console.log(
    JSON.stringify({ openMs, sinceStartMs, rssMiB, firstReadMs, firstAppendMs, rssAfterMiB }),
  );
}

async function blocking() {
  const commits = new Commits();
  const time = { now: Date.now() };
  const database = await SqliteDatabase.open(await fresh("sweep"), { onCommit: commits.record });
  const mailbox = new SqliteMailbox(database, { ...MAILBOX, now: () => time.now });
  for (let sent = 0; sent < 50_000; sent += 1000) {
    appended(
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          mailbox.append({
            message: direct(user(sent + i), user(sent + i + 1), time.now),
            recipients: [user(sent + i + 1)],
            ownCopy: true,
          })),
      ),
    );
  }
  const members = Array.from({ length: 1000 }, (_, i) => `member_${i}`);
  for (let i = 0; i < 100; i++) {
    appended([
      await mailbox.append({
        message: {
          id: `t${++ids}`,
          sentAt: time.now,
          kind: "topic",
          from: "member_0",
          to: [],
          topic: "stone",
          content: CONTENT,
        },
        recipients: members,
        ownCopy: false,
      }),
    ]);
  }
  commits.seconds = [];
  await mailbox.purgeTopic("stone");
  const purge = { chunks: commits.seconds.length, max: commits.max };
  commits.seconds = [];
  time.now += 8 * DAY;
  let calls = 0;
  while (mailbox.stats().messages > 0) {
    await mailbox.sweep();
    calls++;
  }
  const sweep = { calls, max: commits.max, median: commits.median };
  await mailbox.close();
  return [{
    test: "purge a topic of 100 × 1,000 entries",
    result: `${purge.chunks} chunks, longest ${purge.max.toFixed(1)} ms`,
    detail: "each chunk one commit of ≤ 1,000 rows",
  }, {
    test: "sweep 50,000 expired 1:1 messages (150,000 rows)",
    result: `${sweep.calls} calls, longest ${sweep.max.toFixed(1)} ms`,
    detail: `median ${sweep.median.toFixed(1)} ms a call`,
  }];
}

if (positionals[0] === "open") {
  await measureOpen(positionals[1]);
} else {
  await lockMachine();
  try {
    const rows: { test: string; result: string; detail: string }[] = [];
    // Each measurement waits for a quiet machine first, and says when it did not get one.
    const measure = async (run: () => Promise<typeof rows>) => {
      const { quiet } = await waitForQuiet(60_000);
      for (const row of await run()) {
        rows.push(quiet ? row : { ...row, detail: `${row.detail}; MACHINE BUSY` });
        console.error(`${row.test}: ${row.result}`);
      }
    };
    for (const sync of ["normal", "full"] as const) {
      for (const perTurn of [1, 100, 1000]) {
        await measure(async () => [
          await appendRate(sync, perTurn, perTurn === 1 ? 5_000 : 100_000),
        ]);
      }
    }
    await measure(() => topicSend("normal", 1000));
    await measure(async () => (await topicSend("full", 1000)).slice(0, 2));
    await measure(blocking);
    await measure(() => big(Number(args.entries)));
    const width = Math.max(...rows.map((r) => r.test.length));
    for (const row of rows) {
      console.log(`${row.test.padEnd(width)}  ${row.result}  (${row.detail})`);
    }
  } finally {
    unlockMachine();
    await Deno.remove(args.dir, { recursive: true }).catch(() => {});
  }
}
