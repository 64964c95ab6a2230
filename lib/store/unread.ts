/**
 * How many of a user's entries are still waiting for a socket: the count
 * that `IM_MAILBOX_MAX` caps. It must drop when entries are written and
 * when they expire undelivered, without a store query per send.
 *
 * @module
 */

/**
 * A count of undelivered entries in time buckets (1/16 of the delivery
 * TTL wide), oldest first. Entries are written in send order, so writing
 * one takes from the oldest bucket; a bucket leaves when its newest
 * possible entry has expired. An entry is counted at most one bucket width
 * past its expiry: the cap errs on the strict side, never lets more in.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnreadCounter } from "./unread.ts";
 * const unread = new UnreadCounter(16_000); // entries deliverable for 16 s
 * unread.add(0);
 * unread.add(500);
 * assert.equal(unread.count(1_000), 2);
 * unread.consume();
 * assert.equal(unread.count(1_000), 1);
 * assert.equal(unread.count(17_001), 0); // expired undelivered
 * ```
 */
export class UnreadCounter {
  readonly #ttlMs: number;
  readonly #widthMs: number;
  // Pairs of [bucket start, count], oldest first.
  #starts: number[] = [];
  #counts: number[] = [];
  #total = 0;
  // When count() next has a bucket to drop (the oldest one's end plus the
  // TTL), so that the cap check of a send reads one number in the common case.
  #expiresAt = Infinity;

  /** @param ttlMs How long an entry stays deliverable. */
  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
    this.#widthMs = Math.max(1, Math.ceil(ttlMs / 16));
  }

  /** Counts a new undelivered entry sent at `sentAt` (not older than the last one added). */
  add(sentAt: number): void {
    const start = sentAt - (sentAt % this.#widthMs);
    const last = this.#starts.length - 1;
    if (last >= 0 && this.#starts[last] >= start) this.#counts[last]++;
    else if (last === 0 && this.#counts[0] === 0) {
      this.#starts[0] = start;
      this.#counts[0] = 1;
      this.#oldestChanged();
    } else {
      this.#starts.push(start);
      this.#counts.push(1);
      if (last < 0) this.#oldestChanged();
    }
    this.#total++;
  }

  /** One entry was written to a socket: the oldest counted one. */
  consume(): void {
    if (this.#total === 0) return;
    this.#total--;
    // A caught-up socket empties its only bucket at every write: the empty
    // bucket stays for the next entry instead of leaving and coming back.
    if (--this.#counts[0] === 0 && this.#starts.length > 1) {
      this.#starts.shift();
      this.#counts.shift();
      this.#oldestChanged();
    }
  }

  /** One entry sent at `sentAt` left without being written (its topic was deleted). */
  remove(sentAt: number): void {
    if (this.#total === 0) return;
    let i = this.#starts.findIndex((start) => sentAt < start + this.#widthMs);
    if (i === -1 || this.#counts[i] === 0) i = 0;
    this.#total--;
    if (--this.#counts[i] === 0) {
      this.#starts.splice(i, 1);
      this.#counts.splice(i, 1);
      this.#oldestChanged();
    }
  }

  /** Undelivered entries that may still be deliverable at `now`. */
  count(now: number): number {
    if (now < this.#expiresAt) return this.#total;
    while (this.#starts.length > 0 && this.#starts[0] + this.#widthMs + this.#ttlMs <= now) {
      this.#total -= this.#counts[0];
      this.#starts.shift();
      this.#counts.shift();
    }
    this.#oldestChanged();
    return this.#total;
  }

  #oldestChanged(): void {
    const starts = this.#starts;
    this.#expiresAt = starts.length > 0 ? starts[0] + this.#widthMs + this.#ttlMs : Infinity;
  }
}
