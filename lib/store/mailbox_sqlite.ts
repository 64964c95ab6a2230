/**
 * The durable engine of {@linkcode Mailbox} (`IM_STORE=sqlite`, the default):
 * entries in SQLite, written by group commit (`sqlite_database.ts`).
 *
 * Every change is made inside a write's `apply`, in call order, so what is
 * in memory (seq counters, cursors, counts) is what is committed, and seqs
 * follow the order of the calls. Entries are never kept in memory; what is
 * is bounded: the heads of the most recently used mailboxes (last seq,
 * cursor, loss mark, unread count; `mailbox_sqlite_heads.ts`).
 *
 * Cursors are the one thing written lazily: {@linkcode SqliteMailbox.consumed}
 * moves a cursor in memory at once, and it reaches the disk with the next
 * commit or within {@linkcode CURSOR_FLUSH_MS}. After `kill -9`, a v1 socket
 * may be sent again what was written to a socket in that window; a `since`
 * socket is unaffected (it dedupes by seq).
 *
 * @module
 */

import { messageBytes } from "../protocol/messages.ts";
import {
  type AppendRequest,
  type AppendResult,
  countedBytes,
  type Entry,
  entryCount,
  type HistoryPage,
  type HistoryQuery,
  type Mailbox,
  type MailboxOptions,
  type MailboxStats,
  type Resume,
} from "./mailbox.ts";
import {
  ENTRY_COLUMNS,
  entryOf,
  type EntryRow,
  historySql,
  MAILBOX_SCHEMA,
  MAILBOX_SCHEMA_VERSION,
} from "./mailbox_sqlite_schema.ts";
import { MailboxSweeper } from "./mailbox_sqlite_sweep.ts";
import { type Head, MailboxHeads } from "./mailbox_sqlite_heads.ts";
import type { Participant, SqliteDatabase } from "./sqlite_database.ts";

export { MAILBOX_CACHE_SIZE } from "./mailbox_sqlite_heads.ts";

/** The longest a consumed cursor waits in memory before it is committed. */
export const CURSOR_FLUSH_MS = 200;

/** What {@linkcode SqliteMailbox} takes besides every engine's options. */
export interface SqliteMailboxOptions extends MailboxOptions {
  /** Mailbox heads kept in memory at most; {@linkcode MAILBOX_CACHE_SIZE} unless given. */
  readonly cachedHeads?: number;
}

interface Appended {
  readonly result: AppendResult;
  readonly holders?: readonly { readonly user: string; readonly entry: Entry }[];
}

const COUNTERS = ["entries", "messages", "bodyBytes", "mailboxes"] as const;

// A read's result, or its error (a closed database) as a rejection.
function attempt<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Mailboxes in a SQLite database.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteDatabase } from "./sqlite_database.ts";
 * import { SqliteMailbox } from "./mailbox_sqlite.ts";
 * const dir = await Deno.makeTempDir();
 * const options = {
 *   offlineTtlMs: 600_000, historyTtlMs: 604_800_000, mailboxMax: 10_000, maxBytes: 1 << 26,
 *   maxMailboxes: 100_000,
 * };
 * const message = {
 *   id: "m1", sentAt: Date.now(), kind: "direct" as const, from: "Harry",
 *   to: ["Ron_W"], topic: "", content: "Are you OK ?",
 * };
 * let mailbox = new SqliteMailbox(await SqliteDatabase.open(dir), options);
 * const result = await mailbox.append({ message, recipients: ["Ron_W"], ownCopy: true });
 * assert.deepEqual(result, { kind: "appended", seqs: [1, 1] }); // committed when it resolves
 * await mailbox.close(); // the last engine on the database closes it
 * mailbox = new SqliteMailbox(await SqliteDatabase.open(dir), options);
 * const [entry] = await mailbox.read("Ron_W", 0, 10);
 * assert.equal(entry.message.content, "Are you OK ?");
 * await mailbox.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SqliteMailbox implements Mailbox {
  readonly #db: SqliteDatabase;
  readonly #options: MailboxOptions;
  readonly #now: () => number;
  readonly #participant: Participant;
  readonly #sweeper: MailboxSweeper;
  readonly #heads: MailboxHeads;
  readonly #counts = { entries: 0, messages: 0, bodyBytes: 0, mailboxes: 0 };
  #countsChanged = false;

  /**
   * Creates the tables if needed and attaches to `database`, which stays
   * open until every engine on it is closed.
   *
   * @param database The data directory's database.
   * @param options Limits, the clock, and who to tell of new entries.
   */
  constructor(database: SqliteDatabase, options: SqliteMailboxOptions) {
    this.#db = database;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    database.migrate("mailbox", MAILBOX_SCHEMA_VERSION, MAILBOX_SCHEMA);
    this.#loadCounts();
    this.#heads = new MailboxHeads(database, options.offlineTtlMs, options.cachedHeads);
    this.#sweeper = new MailboxSweeper(database, {
      heads: this.#heads,
      counts: this.#counts,
      countsChanged: () => this.#countsChanged = true,
    });
    this.#participant = {
      beforeCommit: () => this.#write(),
      afterCommit: () => this.#heads.committed(),
      afterRollback: () => this.#reload(),
    };
    database.attach(this.#participant);
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return this.#db.write(() => this.#append(request), (appended) => {
      const onAppended = this.#options.onAppended;
      if (!onAppended || !appended.holders) return;
      for (const { user, entry } of appended.holders) onAppended(user, entry);
    }).then((appended) => appended.result);
  }

  read(user: string, after: number, limit: number): Promise<Entry[]> {
    return attempt(() => {
      const head = this.#heads.find(user);
      if (!head || limit <= 0) return [];
      const rows = this.#db.prepare(
        `SELECT ${ENTRY_COLUMNS} FROM entries e JOIN messages m ON m.id = e.message ` +
          "WHERE e.box = ? AND e.seq > ? ORDER BY e.seq LIMIT ?",
      ).all(head.id, after, limit) as unknown as EntryRow[];
      return rows.map(entryOf);
    });
  }

  consumed(user: string, entry: Entry): void {
    if (this.#db.closed) return;
    const head = this.#heads.find(user);
    if (!head || entry.seq <= head.cursor) return;
    head.cursor = entry.seq;
    if (!entry.own) head.unread?.consume();
    this.#heads.changed(head);
    this.#db.flushWithin(CURSOR_FLUSH_MS);
  }

  cursor(user: string): Promise<number> {
    return attempt(() => {
      const head = this.#heads.find(user);
      if (!head) return 0;
      return Math.max(head.cursor, this.#firstRetained(head) - 1);
    });
  }

  resume(user: string, since: number): Promise<Resume> {
    return attempt(() => {
      const head = this.#heads.find(user);
      if (!head) return { first: 1, last: 0, recovered: since === 0 };
      const first = this.#firstRetained(head);
      const next = this.#db.prepare(
        "SELECT seq FROM entries WHERE box = ? AND seq > ? ORDER BY seq LIMIT 1",
      ).get(head.id, since)?.seq as number | undefined;
      const expiredAfterSince = next !== undefined && next < first;
      const recovered = since <= head.last && head.lostThrough <= since && !expiredAfterSince;
      return { first, last: head.last, recovered };
    });
  }

  history(user: string, query: HistoryQuery): Promise<HistoryPage> {
    return attempt(() => {
      const head = this.#heads.find(user);
      if (!head) return { entries: [], hasMore: false };
      const { sql, params } = historySql(query);
      const oldest = this.#now() - this.#options.historyTtlMs;
      const rows = this.#db.prepare(sql).all(head.id, oldest, ...params) as unknown as EntryRow[];
      const hasMore = rows.length > query.limit;
      return { entries: rows.slice(0, query.limit).map(entryOf), hasMore };
    });
  }

  async purgeTopic(topic: string): Promise<void> {
    // Fixed by the first chunk, so a topic of the same name created
    // meanwhile keeps its new messages.
    let through: number | undefined;
    let more = true;
    while (more) {
      more = await this.#db.write(() => {
        through ??= this.#sweeper.newestMessage();
        return this.#sweeper.purgeChunk(topic, through);
      });
    }
  }

  sweep(): Promise<void> {
    return this.#db.write(() => this.#sweeper.sweepChunk(this.#now(), this.#options));
  }

  stats(): MailboxStats {
    const { entries, messages, bodyBytes, mailboxes } = this.#counts;
    return { entries, messages, bytes: countedBytes(bodyBytes, entries), mailboxes };
  }

  async close(): Promise<void> {
    if (this.#db.closed) return;
    // Commits the lazy cursors before letting go of the database.
    await this.#db.write(() => {});
    this.#db.detach(this.#participant);
  }

  #append(request: AppendRequest): Appended {
    const { message, recipients, ownCopy, idempotency } = request;
    const now = this.#now();
    const { offlineTtlMs, mailboxMax, maxMailboxes, maxBytes } = this.#options;
    if (idempotency) {
      const receipt = this.#db.prepare(
        "SELECT body_hash, message_id, sent_at FROM receipts WHERE sender = ? AND key = ?",
      ).get(message.from, idempotency.key);
      if (receipt && (receipt.sent_at as number) > now - offlineTtlMs) {
        const result: AppendResult = receipt.body_hash === idempotency.bodyHash
          ? {
            kind: "replayed",
            id: receipt.message_id as string,
            sentAt: receipt.sent_at as number,
          }
          : { kind: "key_conflict" };
        return { result };
      }
    }
    // Found once, for the caps and again for the entries (undefined: made with its entry).
    const heads: (Head | undefined)[] = new Array(recipients.length);
    let newBoxes = 0;
    for (let i = 0; i < recipients.length; i++) {
      const head = heads[i] = this.#heads.find(recipients[i]);
      if (!head) newBoxes++;
      else if (this.#heads.unread(head, now).count(now) >= mailboxMax) {
        return { result: { kind: "mailbox_full", user: recipients[i] } };
      }
    }
    // A sender who sent to themselves was counted among the recipients.
    if (ownCopy && !this.#heads.find(message.from) && !recipients.includes(message.from)) {
      newBoxes++;
    }
    if (newBoxes > 0 && this.#counts.mailboxes + newBoxes > maxMailboxes) {
      return { result: { kind: "mailboxes_full" } };
    }
    const body = messageBytes(message);
    const bytes = countedBytes(body, entryCount(request));
    if (
      this.stats().bytes + bytes > maxBytes &&
      !this.#sweeper.trim(maxBytes - bytes, now, this.#options)
    ) {
      return { result: { kind: "store_full" } };
    }

    const row = this.#db.prepare(
      "INSERT INTO messages (message_id, sent_at, kind, sender, recipients, topic, content, bytes) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      message.id,
      message.sentAt,
      message.kind,
      message.from,
      JSON.stringify(message.to),
      message.topic,
      message.content,
      body,
    );
    const insert = this.#db.prepare(
      "INSERT INTO entries (box, seq, message, own) VALUES (?, ?, ?, ?)",
    );
    const holders: { user: string; entry: Entry }[] = [];
    const seqs: number[] = [];
    const add = (user: string, head: Head, own: boolean) => {
      const entry: Entry = { seq: ++head.last, message, own };
      insert.run(head.id, entry.seq, row.lastInsertRowid, own ? 1 : 0);
      if (!own) this.#heads.unread(head, now).add(message.sentAt);
      holders.push({ user, entry });
      seqs.push(entry.seq);
    };
    for (let i = 0; i < recipients.length; i++) {
      add(recipients[i], heads[i] ?? this.#mailbox(recipients[i]), false);
    }
    if (ownCopy) add(message.from, this.#mailbox(message.from), true);
    this.#counts.entries += holders.length;
    this.#counts.messages++;
    this.#counts.bodyBytes += body;
    this.#countsChanged = true;
    if (idempotency) {
      this.#db.prepare(
        "INSERT OR REPLACE INTO receipts (sender, key, body_hash, message_id, sent_at) " +
          "VALUES (?, ?, ?, ?, ?)",
      ).run(message.from, idempotency.key, idempotency.bodyHash, message.id, message.sentAt);
    }
    return { result: { kind: "appended", seqs }, holders };
  }

  // Looked up again, not assumed new: the mailbox may have been made by this
  // very append (a sender who is also a recipient).
  #mailbox(user: string): Head {
    const found = this.#heads.find(user);
    if (found) return found;
    this.#counts.mailboxes++;
    this.#countsChanged = true;
    return this.#heads.create(user);
  }

  // The oldest still deliverable seq (`last + 1` when none is). An entry's
  // sent_at rises with its seq, so a binary search over seqs finds it.
  #firstRetained(head: Head): number {
    const from = this.#now() - this.#options.offlineTtlMs;
    const at = this.#db.prepare(
      "SELECT e.seq, m.sent_at FROM entries e JOIN messages m ON m.id = e.message " +
        "WHERE e.box = ? AND e.seq >= ? ORDER BY e.seq LIMIT 1",
    );
    const probe = (seq: number) =>
      at.get(head.id, seq) as unknown as { seq: number; sent_at: number } | undefined;
    const oldest = probe(0);
    if (!oldest) return head.last + 1;
    if (oldest.sent_at > from) return oldest.seq;
    const newest = this.#db.prepare(
      "SELECT e.seq, m.sent_at FROM entries e JOIN messages m ON m.id = e.message " +
        "WHERE e.box = ? ORDER BY e.seq DESC LIMIT 1",
    ).get(head.id) as unknown as { seq: number; sent_at: number };
    if (newest.sent_at <= from) return head.last + 1;
    // probe(lo) has expired, probe(hi) has not.
    let lo = oldest.seq;
    let hi = newest.seq;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (probe(mid)!.sent_at > from) hi = mid;
      else lo = mid;
    }
    return probe(hi)!.seq;
  }

  #write(): void {
    this.#heads.write();
    if (!this.#countsChanged) return;
    for (const name of COUNTERS) this.#db.setMeta(`mailbox.${name}`, this.#counts[name]);
    this.#countsChanged = false;
  }

  #loadCounts(): void {
    for (const name of COUNTERS) this.#counts[name] = this.#db.meta(`mailbox.${name}`) ?? 0;
  }

  // After a failed commit: memory goes back to the rows.
  #reload(): void {
    this.#loadCounts();
    this.#countsChanged = false;
    if (this.#heads.reload()) this.#db.flushWithin(CURSOR_FLUSH_MS);
  }
}
