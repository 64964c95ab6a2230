import assert from "node:assert/strict";
import type { Message } from "../../lib/protocol/messages.ts";
import type { Entry, Mailbox } from "../../lib/store/mailbox.ts";
import {
  CURSOR_FLUSH_MS,
  SqliteMailbox,
  type SqliteMailboxOptions,
} from "../../lib/store/mailbox_sqlite.ts";
import { SWEEP_ROWS } from "../../lib/store/mailbox_sqlite_sweep.ts";
import { CommitError, SqliteDatabase } from "../../lib/store/sqlite_database.ts";
import { testMailbox } from "./mailbox_contract.ts";
import { CHILD_MAILBOX, startChild } from "./sqlite_child.ts";

const root = await Deno.makeTempDir({ prefix: "huayi_mailbox_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
let dirCount = 0;
const freshDir = () => `${root}/${++dirCount}`;

const dirs = new WeakMap<Mailbox, string>();

testMailbox("sqlite", {
  async open(options) {
    const dir = freshDir();
    const mailbox = new SqliteMailbox(await SqliteDatabase.open(dir), options);
    dirs.set(mailbox, dir);
    return mailbox;
  },
  async reopen(mailbox, options) {
    const dir = dirs.get(mailbox)!;
    await mailbox.close();
    const reopened = new SqliteMailbox(await SqliteDatabase.open(dir), options);
    dirs.set(reopened, dir);
    return reopened;
  },
});

const HOUR = 3_600_000;

/** A mailbox in a fresh directory, with its database, clock and commit log. */
async function setup(overrides: Partial<SqliteMailboxOptions> = {}, dir = freshDir()) {
  const time = { now: 1_000_000_000 };
  const commits: number[] = [];
  const appended: { user: string; entry: Entry }[] = [];
  const options: SqliteMailboxOptions = {
    offlineTtlMs: HOUR,
    historyTtlMs: 2 * HOUR,
    mailboxMax: 100_000,
    maxBytes: 1 << 30,
    maxMailboxes: 100_000,
    now: () => time.now,
    onAppended: (user, entry) => appended.push({ user, entry }),
    ...overrides,
  };
  const database = await SqliteDatabase.open(dir, {
    onCommit: (_, rows) => commits.push(rows),
  });
  return { mailbox: new SqliteMailbox(database, options), database, time, commits, appended, dir };
}

let ids = 0;
function direct(from: string, to: string, content: string, sentAt: number): Message {
  return { id: `d${++ids}`, sentAt, kind: "direct", from, to: [to], topic: "", content };
}
function topicMessage(from: string, topic: string, sentAt: number): Message {
  return { id: `t${++ids}`, sentAt, kind: "topic", from, to: [], topic, content: "hi" };
}

function send(mailbox: Mailbox, from: string, to: string, at: number, content = "hi") {
  return mailbox.append({
    message: direct(from, to, content, at),
    recipients: [to],
    ownCopy: true,
  });
}

/** How many rows the mailbox's tables hold, counted. */
function rows(database: SqliteDatabase) {
  const count = (table: string) =>
    Number(database.prepare(`SELECT count(*) AS n FROM ${table}`).get()!.n);
  return { entries: count("entries"), messages: count("messages"), mailboxes: count("boxes") };
}

Deno.test("mailbox (sqlite): kill -9 mid-stream loses no acknowledged append", async () => {
  for (const sync of ["normal", "full", "normal", "full", "normal", "full"]) {
    const dir = freshDir();
    const child = startChild(["append", dir, sync]);
    const acknowledged: number[] = [];
    // Killed at a different point each time, while it keeps appending.
    const killAt = 100 + Math.floor(Math.random() * 2000);
    for (let line = await child.next(); line !== undefined; line = await child.next()) {
      acknowledged.push(Number(line.slice("seq ".length)));
      if (acknowledged.length === killAt) child.process.kill("SIGKILL");
    }
    assert.equal((await child.process.status).signal, "SIGKILL");
    assert.ok(acknowledged.length >= killAt, `${sync}: ${acknowledged.length} acknowledged`);

    const mailbox = new SqliteMailbox(await SqliteDatabase.open(dir), CHILD_MAILBOX);
    try {
      const stored = new Set<number>();
      for (let after = 0;;) {
        const page = await mailbox.read("Ron_W", after, 1000);
        if (page.length === 0) break;
        for (const entry of page) stored.add(entry.seq);
        after = page.at(-1)!.seq;
      }
      const lost = acknowledged.filter((seq) => !stored.has(seq));
      assert.deepEqual(lost, [], `${sync}: acknowledged seqs missing after kill -9`);
      // What is stored is a prefix 1..n (the batch in flight went whole or not at all).
      assert.deepEqual([...stored], Array.from({ length: stored.size }, (_, i) => i + 1));
      const next = await send(mailbox, "Harry", "Ron_W", Date.now());
      assert.deepEqual(next, { kind: "appended", seqs: [stored.size + 1, 1] });
    } finally {
      await mailbox.close();
    }
  }
});

Deno.test("mailbox (sqlite): 1,000 appends in one turn are one commit, seqs in call order", async () => {
  const { mailbox, commits, appended, time } = await setup();
  try {
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => send(mailbox, "Harry", "Ron_W", time.now, `m${i}`)),
    );
    assert.equal(commits.length, 1, "one transaction");
    assert.ok(commits[0] >= 3000, `${commits[0]} rows: a message and two entries per send`);
    assert.deepEqual(
      results.map((r) => r.kind === "appended" && r.seqs[0]),
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    const ron = appended.filter((a) => a.user === "Ron_W");
    assert.deepEqual(ron.map((a) => a.entry.message.content), results.map((_, i) => `m${i}`));
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (sqlite): nothing is readable before its commit; it is when announced", async () => {
  const reads: Promise<Entry[]>[] = [];
  const { mailbox, time } = await setup({
    onAppended: (user) => reads.push(mailbox.read(user, 0, 10)),
  });
  try {
    const pending = send(mailbox, "Harry", "Ron_W", time.now);
    assert.deepEqual(await mailbox.read("Ron_W", 0, 10), []);
    assert.deepEqual(await mailbox.resume("Ron_W", 0), { first: 1, last: 0, recovered: true });
    assert.equal((await mailbox.history("Harry", { limit: 5 })).entries.length, 0);
    assert.deepEqual(await pending, { kind: "appended", seqs: [1, 1] });
    assert.equal(reads.length, 2);
    for (const read of reads) assert.equal((await read).length, 1, "committed when announced");
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (sqlite): a failed commit rejects the send and memory stays equal to the rows", async () => {
  const { mailbox, database, time, appended, dir } = await setup();
  const [first] = [await send(mailbox, "Harry", "Ron_W", time.now)];
  assert.equal(first.kind, "appended");
  const [entry] = await mailbox.read("Ron_W", 0, 1);
  mailbox.consumed("Ron_W", entry);
  const before = mailbox.stats();
  // The disk is full for this commit.
  const pages = database.prepare("PRAGMA page_count").get()!.page_count;
  database.prepare(`PRAGMA max_page_count = ${pages}`).get();
  const failed = send(mailbox, "Harry", "Ron_W", time.now, "x".repeat(1 << 20));
  const alsoFailed = send(mailbox, "Hermione", "Neville", time.now);
  for (const write of [failed, alsoFailed]) {
    await assert.rejects(() => write, CommitError);
  }
  assert.equal(appended.length, 2, "only the first send was announced");
  assert.deepEqual(mailbox.stats(), before);
  assert.deepEqual(await mailbox.resume("Ron_W", 0), { first: 1, last: 1, recovered: true });
  assert.equal(await mailbox.cursor("Ron_W"), 1, "a consumed cursor is kept");
  database.prepare("PRAGMA max_page_count = 1000000").get();
  // Seq 2 was never shown to anyone, so it may be given again.
  assert.deepEqual(await send(mailbox, "Harry", "Ron_W", time.now), {
    kind: "appended",
    seqs: [2, 2],
  });
  const stats = mailbox.stats();
  assert.deepEqual(rows(database), {
    entries: stats.entries,
    messages: stats.messages,
    mailboxes: stats.mailboxes,
  });
  await mailbox.close();
  const again = await setup({}, dir);
  try {
    assert.deepEqual(again.mailbox.stats(), stats);
    assert.equal(await again.mailbox.cursor("Ron_W"), 1);
  } finally {
    await again.mailbox.close();
  }
});

Deno.test("mailbox (sqlite): a consumed cursor is committed within CURSOR_FLUSH_MS without any write", async () => {
  const { mailbox, database, time, commits } = await setup();
  try {
    await send(mailbox, "Harry", "Ron_W", time.now);
    const [entry] = await mailbox.read("Ron_W", 0, 1);
    const written = () =>
      database.prepare("SELECT cursor FROM boxes WHERE user = 'Ron_W'").get()!.cursor;
    mailbox.consumed("Ron_W", entry);
    assert.equal(written(), 0, "in memory at once, on disk lazily");
    assert.equal(await mailbox.cursor("Ron_W"), 1);
    await new Promise((resolve) => setTimeout(resolve, CURSOR_FLUSH_MS + 100));
    assert.equal(written(), 1);
    assert.equal(commits.length, 2);
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (sqlite): sweep deletes at most SWEEP_ROWS rows a call", async () => {
  const { mailbox, time, database } = await setup();
  try {
    await Promise.all(
      Array.from({ length: 5000 }, (_, i) => send(mailbox, "Harry", `user_${i % 50}`, time.now)),
    );
    const members = Array.from({ length: 2500 }, (_, i) => `member_${i}`);
    await mailbox.append({
      message: topicMessage("Harry", "quidditch", time.now),
      recipients: members,
      ownCopy: false,
    });
    assert.deepEqual(mailbox.stats().entries, 12_500);
    time.now += 2 * HOUR + 1;
    let calls = 0;
    for (let left = rows(database); left.messages > 0; calls++) {
      await mailbox.sweep();
      const now = rows(database);
      const deleted = left.entries - now.entries + left.messages - now.messages;
      assert.ok(deleted > 0 && deleted <= SWEEP_ROWS, `call ${calls}: ${deleted} rows`);
      left = now;
    }
    assert.ok(calls >= 17, `${calls} calls for 20,001 rows`);
    const { entries, messages, bytes } = mailbox.stats();
    assert.deepEqual([entries, messages, bytes], [0, 0, 0]);
    assert.deepEqual(await mailbox.resume("member_9", 0), { first: 2, last: 1, recovered: false });
    assert.deepEqual(await mailbox.resume("user_7", 100), {
      first: 101,
      last: 100,
      recovered: true,
    });
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (sqlite): purgeTopic goes in chunks and spares messages sent after it", async () => {
  const { mailbox, time, commits } = await setup();
  try {
    const stone = (recipients: string[]) =>
      mailbox.append({
        message: topicMessage("Harry", "stone", time.now),
        recipients,
        ownCopy: true,
      });
    await Promise.all(Array.from({ length: 1200 }, () => stone(["Ron_W"])));
    await mailbox.append({
      message: topicMessage("Harry", "chamber", time.now),
      recipients: ["Ron_W"],
      ownCopy: true,
    });
    commits.length = 0;
    const purge = mailbox.purgeTopic("stone");
    const after = stone(["Hermione"]); // the topic was made again, and sent to
    await purge;
    assert.equal((await after).kind, "appended");
    assert.ok(commits.length >= 4, `${commits.length} commits for 3,600 rows`);
    for (const rows of commits) assert.ok(rows <= SWEEP_ROWS + 10, `${rows} rows in one commit`);
    assert.deepEqual((await mailbox.read("Ron_W", 0, 10)).map((e) => e.message.topic), [
      "chamber",
    ]);
    assert.equal((await mailbox.read("Hermione", 0, 10)).length, 1);
    assert.deepEqual(mailbox.stats().messages, 2);
    assert.deepEqual(mailbox.stats().entries, 4);
  } finally {
    await mailbox.close();
  }
});

Deno.test("mailbox (sqlite): unread counts are rebuilt after reopening and after eviction", async () => {
  const { mailbox, time, dir } = await setup({ mailboxMax: 3, cachedHeads: 2 });
  for (let i = 0; i < 3; i++) await send(mailbox, "Harry", "Ron_W", time.now);
  // Other mailboxes push Ron's head out of memory.
  for (let i = 0; i < 5; i++) await send(mailbox, "Hermione", `user_${i}`, time.now);
  assert.equal((await send(mailbox, "Neville", "Ron_W", time.now)).kind, "mailbox_full");
  const [entry] = await mailbox.read("Ron_W", 0, 1);
  mailbox.consumed("Ron_W", entry);
  await mailbox.close();
  const again = await setup({ mailboxMax: 3, cachedHeads: 2 }, dir);
  try {
    assert.equal(await again.mailbox.cursor("Ron_W"), 1);
    assert.deepEqual(await send(again.mailbox, "Neville", "Ron_W", time.now), {
      kind: "appended",
      seqs: [4, 1],
    });
    assert.equal((await send(again.mailbox, "Neville", "Ron_W", time.now)).kind, "mailbox_full");
    assert.deepEqual(await send(again.mailbox, "Harry", "user_3", time.now), {
      kind: "appended",
      seqs: [2, 4],
    });
  } finally {
    await again.mailbox.close();
  }
});

Deno.test("mailbox (sqlite): counts survive reopening and match the rows", async () => {
  const { mailbox, time, database, dir } = await setup({ maxBytes: 20_000 });
  for (let i = 0; i < 30; i++) {
    const entries = await mailbox.read("Ron_W", 0, 1000);
    for (const entry of entries) mailbox.consumed("Ron_W", entry);
    await send(mailbox, "Harry", "Ron_W", time.now, "x".repeat(500)); // trims the delivered
    await mailbox.append({
      message: topicMessage("Ron_W", i % 2 ? "stone" : "chamber", time.now),
      recipients: ["Harry", "Hermione"],
      ownCopy: true,
    });
  }
  await mailbox.purgeTopic("stone");
  const stats = mailbox.stats();
  assert.ok(stats.bytes <= 20_000);
  assert.deepEqual(rows(database), {
    entries: stats.entries,
    messages: stats.messages,
    mailboxes: stats.mailboxes,
  });
  await mailbox.close();
  const again = await setup({ maxBytes: 20_000 }, dir);
  try {
    assert.deepEqual(again.mailbox.stats(), stats);
  } finally {
    await again.mailbox.close();
  }
});

Deno.test("mailbox (sqlite): no seq is reused when the newest entries go while the head is out of memory", async () => {
  const { mailbox, time, dir } = await setup({ cachedHeads: 1 });
  await mailbox.append({
    message: topicMessage("Harry", "stone", time.now),
    recipients: ["Ron_W", "Neville"],
    ownCopy: false,
  });
  time.now += 2 * HOUR + 1; // the first one will be swept
  await mailbox.append({
    message: topicMessage("Harry", "stone", time.now),
    recipients: ["Ron_W", "Neville"],
    ownCopy: false,
  });
  await send(mailbox, "Hermione", "Luna", time.now); // pushes the other heads out
  await mailbox.sweep();
  await mailbox.purgeTopic("stone");
  assert.deepEqual(await mailbox.read("Ron_W", 0, 10), []);
  await mailbox.close();
  const again = await setup({ cachedHeads: 1 }, dir);
  try {
    again.time.now = time.now;
    assert.deepEqual(await send(again.mailbox, "Luna", "Ron_W", time.now), {
      kind: "appended",
      seqs: [3, 2],
    });
    assert.deepEqual(await again.mailbox.resume("Neville", 0), {
      first: 3,
      last: 2,
      recovered: false,
    });
  } finally {
    await again.mailbox.close();
  }
});

Deno.test("mailbox (sqlite): after close, sends and reads reject and consumed does nothing", async () => {
  const { mailbox, time } = await setup();
  await send(mailbox, "Harry", "Ron_W", time.now);
  const [entry] = await mailbox.read("Ron_W", 0, 1);
  await mailbox.close();
  await assert.rejects(() => send(mailbox, "Harry", "Ron_W", time.now), CommitError);
  await assert.rejects(() => mailbox.read("Ron_W", 0, 1));
  mailbox.consumed("Ron_W", entry);
  await mailbox.close();
});
