/**
 * The heads of {@linkcode SqliteMailbox}'s mailboxes kept in memory in front
 * of their `boxes` rows: last seq, cursor, loss mark and unread count. At
 * most {@linkcode MAILBOX_CACHE_SIZE} are kept by default (least recently used go
 * first), so memory does not grow with the number of mailboxes; a head that
 * left is read back from its row, and its unread count from the entries.
 *
 * @module
 */

import type { SqliteDatabase } from "./sqlite_database.ts";
import { UnreadCounter } from "./unread.ts";

/** Mailbox heads kept in memory at most, unless the mailbox is told otherwise. */
export const MAILBOX_CACHE_SIZE = 65_536;

/** A mailbox's head. */
export interface Head {
  readonly id: number;
  readonly user: string;
  /**
   * The newest seq. Appends do not write it to the row: the row's
   * `last_seq` and its newest entry's seq, whichever is larger, tell it
   * (whatever removes entries raises `last_seq` first).
   */
  last: number;
  cursor: number;
  /** The highest seq removed by expiry or trimming: a loss for a resume below it. */
  lostThrough: number;
  /** Built on first use from the entries, then kept up to date. */
  unread?: UnreadCounter;
}

interface HeadRow {
  id: number;
  last_seq: number;
  newest: number | null;
  cursor: number;
  lost_through: number;
}

/**
 * A bounded cache of mailbox heads with the rows they lag: a head whose
 * cursor or loss mark moved is "changed" until the commit that writes it,
 * and is never dropped before.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteDatabase } from "./sqlite_database.ts";
 * import { SqliteMailbox } from "./mailbox_sqlite.ts";
 * import { MailboxHeads } from "./mailbox_sqlite_heads.ts";
 * const dir = await Deno.makeTempDir();
 * const database = await SqliteDatabase.open(dir);
 * const mailbox = new SqliteMailbox(database, { // creates the tables
 *   offlineTtlMs: 1000, historyTtlMs: 1000, mailboxMax: 10, maxBytes: 1 << 20, maxMailboxes: 10,
 * });
 * const heads = new MailboxHeads(database, 1000);
 * const head = await database.write(() => heads.create("Harry"));
 * assert.equal(heads.find("Harry"), head);
 * assert.equal(heads.find("Ron_W"), undefined);
 * await mailbox.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class MailboxHeads {
  readonly #db: SqliteDatabase;
  readonly #offlineTtlMs: number;
  readonly #size: number;
  // Least recently used first.
  readonly #byUser = new Map<string, Head>();
  readonly #byId = new Map<number, Head>();
  readonly #changed = new Set<Head>();

  /**
   * @param database The mailbox's database.
   * @param offlineTtlMs How long an entry stays deliverable (for unread counts).
   * @param size How many heads to keep at most.
   */
  constructor(database: SqliteDatabase, offlineTtlMs: number, size = MAILBOX_CACHE_SIZE) {
    this.#db = database;
    this.#offlineTtlMs = offlineTtlMs;
    this.#size = size;
  }

  /** The head of `user`'s mailbox, read from its row if it is not in memory. */
  find(user: string): Head | undefined {
    let head = this.#byUser.get(user);
    if (head) {
      this.#byUser.delete(user);
      this.#byUser.set(user, head);
      return head;
    }
    const row = this.#db.prepare(
      "SELECT id, last_seq, cursor, lost_through, " +
        "(SELECT max(seq) FROM entries WHERE box = boxes.id) AS newest FROM boxes WHERE user = ?",
    ).get(user) as unknown as HeadRow | undefined;
    if (!row) return undefined;
    head = {
      id: row.id,
      user,
      last: Math.max(row.last_seq, row.newest ?? 0),
      cursor: row.cursor,
      lostThrough: row.lost_through,
    };
    this.#keep(head);
    return head;
  }

  /** The head of mailbox `id` if it is in memory (else its row is current). */
  cached(id: number): Head | undefined {
    return this.#byId.get(id);
  }

  /** Makes a mailbox for `user` (inside a write). */
  create(user: string): Head {
    const { lastInsertRowid } = this.#db.prepare(
      "INSERT INTO boxes (user, last_seq, cursor, lost_through) VALUES (?, 0, 0, 0)",
    ).run(user);
    const head: Head = {
      id: Number(lastInsertRowid),
      user,
      last: 0,
      cursor: 0,
      lostThrough: 0,
      unread: new UnreadCounter(this.#offlineTtlMs),
    };
    this.#keep(head);
    return head;
  }

  /** `head` changed in memory: it is written with the next commit. */
  changed(head: Head): void {
    this.#changed.add(head);
  }

  /**
   * The count of `head`'s undelivered entries, rebuilt from the entries the
   * first time: after the cursor, still deliverable, not own copies.
   */
  unread(head: Head, now: number): UnreadCounter {
    if (head.unread) return head.unread;
    const unread = new UnreadCounter(this.#offlineTtlMs);
    const rows = this.#db.prepare(
      "SELECT m.sent_at FROM entries e JOIN messages m ON m.id = e.message " +
        "WHERE e.box = ? AND e.seq > ? AND e.own = 0 AND m.sent_at > ? ORDER BY e.seq",
    ).all(head.id, head.cursor, now - this.#offlineTtlMs);
    for (const row of rows) unread.add(row.sent_at as number);
    return head.unread = unread;
  }

  /** Writes the changed heads' rows (inside the transaction). */
  write(): void {
    const update = this.#db.prepare(
      "UPDATE boxes SET last_seq = ?, cursor = ?, lost_through = ? WHERE id = ?",
    );
    for (const head of this.#changed) update.run(head.last, head.cursor, head.lostThrough, head.id);
  }

  /** The rows are written: nothing is changed any more, and old heads may go. */
  committed(): void {
    this.#changed.clear();
    this.#evict();
  }

  /**
   * After a failed commit: every head goes back to its row, except cursors
   * moved since, which are kept to be written with the next commit.
   *
   * @returns Whether some heads are changed (their cursors).
   */
  reload(): boolean {
    const cursors = new Map<string, number>();
    for (const head of this.#byUser.values()) cursors.set(head.user, head.cursor);
    this.#byUser.clear();
    this.#byId.clear();
    this.#changed.clear();
    for (const [user, cursor] of cursors) {
      const head = this.find(user);
      if (head && cursor > head.cursor) {
        head.cursor = cursor;
        this.#changed.add(head);
      }
    }
    return this.#changed.size > 0;
  }

  #keep(head: Head): void {
    this.#byUser.set(head.user, head);
    this.#byId.set(head.id, head);
    // Inside a transaction a write may still hold a head it looked up.
    if (!this.#db.inTransaction) this.#evict();
  }

  #evict(): void {
    if (this.#byUser.size <= this.#size) return;
    for (const head of this.#byUser.values()) {
      if (this.#byUser.size <= this.#size) break;
      if (this.#changed.has(head)) continue;
      this.#byUser.delete(head.user);
      this.#byId.delete(head.id);
    }
  }
}
