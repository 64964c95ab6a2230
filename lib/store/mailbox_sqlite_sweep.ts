/**
 * How {@linkcode SqliteMailbox} removes entries: expiry (`sweep`), trimming
 * for the byte cap, and topic purges, each inside a write of the group
 * commit. Sweeps and purges do at most {@linkcode SWEEP_ROWS} rows a call,
 * since every SQLite call blocks the event loop for as long as it runs.
 *
 * @module
 */

import { countedBytes, type MailboxOptions } from "./mailbox.ts";
import type { MailboxHeads } from "./mailbox_sqlite_heads.ts";
import type { SqliteDatabase } from "./sqlite_database.ts";

/** Rows deleted by one sweep or purge chunk at most (~8 ms of deletes here). */
export const SWEEP_ROWS = 1_000;

/** What the sweeper changes in the mailbox that owns it. */
export interface SweeperHost {
  /** The mailboxes' heads in memory. */
  readonly heads: MailboxHeads;
  /** The mailbox's counts, changed in place. */
  readonly counts: { entries: number; messages: number; bodyBytes: number };
  /** The counts changed and must be written with this commit. */
  countsChanged(): void;
}

interface MessageRow {
  id: number;
  sent_at: number;
  bytes: number;
}

interface Removed {
  box: number;
  seq: number;
  own: number;
}

/**
 * Deletes a mailbox's entries and messages, keeping its counts, loss marks
 * and unread counters right. Every method runs inside a write.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteDatabase } from "./sqlite_database.ts";
 * import { SqliteMailbox } from "./mailbox_sqlite.ts";
 * import { MailboxSweeper } from "./mailbox_sqlite_sweep.ts";
 * import { MailboxHeads } from "./mailbox_sqlite_heads.ts";
 * const dir = await Deno.makeTempDir();
 * const database = await SqliteDatabase.open(dir);
 * const mailbox = new SqliteMailbox(database, {
 *   offlineTtlMs: 1, historyTtlMs: 1, mailboxMax: 10, maxBytes: 1 << 20, maxMailboxes: 10,
 * });
 * const counts = { entries: 0, messages: 0, bodyBytes: 0 };
 * const sweeper = new MailboxSweeper(database, {
 *   heads: new MailboxHeads(database, 1), counts, countsChanged: () => {},
 * });
 * assert.equal(await database.write(() => sweeper.newestMessage()), 0); // no messages yet
 * await mailbox.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class MailboxSweeper {
  readonly #db: SqliteDatabase;
  readonly #host: SweeperHost;

  /**
   * @param database The mailbox's database.
   * @param host What the sweeper updates in the mailbox.
   */
  constructor(database: SqliteDatabase, host: SweeperHost) {
    this.#db = database;
    this.#host = host;
  }

  /** The newest message's id (0 when there is none). */
  newestMessage(): number {
    return Number(this.#db.prepare("SELECT max(id) AS id FROM messages").get()?.id ?? 0);
  }

  /**
   * Removes the oldest messages whose every recipient was given them (or
   * can no longer be) until the stored bytes are at most `target`; stops at
   * the first one still waiting for someone, since trimming never skips.
   *
   * @returns Whether the bytes fit now.
   */
  trim(target: number, now: number, options: MailboxOptions): boolean {
    const deliverableFrom = now - options.offlineTtlMs;
    const holders = this.#db.prepare(
      "SELECT e.box, e.seq, e.own, b.cursor FROM entries e JOIN boxes b ON b.id = e.box " +
        "WHERE e.message = ?",
    );
    while (this.#stored() > target) {
      const oldest = this.#oldest();
      if (!oldest) return false;
      if (oldest.sent_at > deliverableFrom) {
        // A head in memory may be ahead of its row (its cursor is written lazily).
        for (const h of holders.all(oldest.id)) {
          const cursor = this.#host.heads.cached(h.box as number)?.cursor ?? (h.cursor as number);
          if (h.own === 0 && (h.seq as number) > cursor) return false;
        }
      }
      this.#removedFrom(this.#deleteEntries(oldest.id, -1), true);
      this.#deleteMessage(oldest);
    }
    return true;
  }

  /**
   * Removes up to {@linkcode SWEEP_ROWS} rows that expired: idempotency
   * receipts past the delivery TTL (up to half the rows), then messages
   * past both TTLs with their entries, oldest first, each a loss for
   * anyone who resumes from before it.
   */
  sweepChunk(now: number, options: MailboxOptions): void {
    const receipts = this.#db.prepare(
      "DELETE FROM receipts WHERE (sender, key) IN " +
        "(SELECT sender, key FROM receipts WHERE sent_at <= ? ORDER BY sent_at LIMIT ?)",
    ).run(now - options.offlineTtlMs, SWEEP_ROWS / 2);
    let budget = SWEEP_ROWS - Number(receipts.changes);
    const retainedFrom = now - Math.max(options.historyTtlMs, options.offlineTtlMs);
    while (budget > 0) {
      const oldest = this.#oldest();
      if (!oldest || oldest.sent_at > retainedFrom) return;
      const removed = this.#deleteEntries(oldest.id, budget);
      this.#removedFrom(removed, true);
      // A message leaves with its last entry, maybe in a later call.
      if (removed.length === budget) return;
      budget -= removed.length + 1;
      this.#deleteMessage(oldest);
    }
  }

  /**
   * Removes up to {@linkcode SWEEP_ROWS} rows of `topic`'s chat messages
   * with ids up to `through`, and their entries everywhere; not a loss.
   *
   * @returns Whether some may be left for another chunk.
   */
  purgeChunk(topic: string, through: number): boolean {
    let budget = SWEEP_ROWS;
    const messages = this.#db.prepare(
      "SELECT id, sent_at, bytes FROM messages WHERE kind = 'topic' AND topic = ? AND id <= ? " +
        "ORDER BY id LIMIT ?",
    ).all(topic, through, budget) as unknown as MessageRow[];
    for (const message of messages) {
      const removed = this.#deleteEntries(message.id, budget);
      for (const { box, seq, own } of removed) {
        const head = this.#host.heads.cached(box);
        if (head && own === 0 && seq > head.cursor) head.unread?.remove(message.sent_at);
      }
      this.#removedFrom(removed, false);
      if (removed.length === budget) return true;
      budget -= removed.length + 1;
      this.#deleteMessage(message);
      if (budget <= 0) return true;
    }
    return false;
  }

  #stored(): number {
    const { bodyBytes, entries } = this.#host.counts;
    return countedBytes(bodyBytes, entries);
  }

  #oldest(): MessageRow | undefined {
    return this.#db.prepare("SELECT id, sent_at, bytes FROM messages ORDER BY id LIMIT 1")
      .get() as unknown as MessageRow | undefined;
  }

  // Up to `limit` (-1: all) of message `id`'s entries.
  #deleteEntries(id: number, limit: number): Removed[] {
    const removed = this.#db.prepare(
      "DELETE FROM entries WHERE (box, seq) IN " +
        "(SELECT box, seq FROM entries WHERE message = ? LIMIT ?) RETURNING box, seq, own",
    ).all(id, limit) as unknown as Removed[];
    this.#host.counts.entries -= removed.length;
    this.#host.countsChanged();
    return removed;
  }

  #deleteMessage(message: MessageRow): void {
    this.#db.prepare("DELETE FROM messages WHERE id = ?").run(message.id);
    this.#host.counts.messages--;
    this.#host.counts.bodyBytes -= message.bytes;
    this.#host.countsChanged();
  }

  // Keeps what the rows of the mailboxes that lost `removed` must tell
  // once those entries are gone: their last seq (a row's last_seq may lag,
  // since appends leave it to the entries) and, for expiry and trimming,
  // their loss mark. In memory for a cached head, written with this commit;
  // in the row, once per mailbox, otherwise.
  #removedFrom(removed: readonly Removed[], lost: boolean): void {
    const rows = new Map<number, number>();
    for (const { box, seq } of removed) {
      const head = this.#host.heads.cached(box);
      if (!head) rows.set(box, Math.max(seq, rows.get(box) ?? 0));
      else {
        if (lost) head.lostThrough = Math.max(head.lostThrough, seq);
        this.#host.heads.changed(head);
      }
    }
    const update = this.#db.prepare(
      lost
        ? "UPDATE boxes SET last_seq = max(last_seq, ?1), lost_through = max(lost_through, ?1) " +
          "WHERE id = ?2"
        : "UPDATE boxes SET last_seq = max(last_seq, ?1) WHERE id = ?2",
    );
    for (const [box, seq] of rows) update.run(seq, box);
  }
}
