/**
 * When each socket's presence entry is refreshed next.
 *
 * Refreshing every socket's entry at once made one Redis script of them all:
 * with 19,000 sockets on a node it held Redis for ~108 ms (SLOWLOG), every
 * refresh interval, for every node and every client. Here each socket has
 * its own turn, spread evenly over the interval from the moment it opened,
 * so sockets opened together (a restart's reconnects, a benchmark's logins)
 * are refreshed a few at a time, tick by tick.
 *
 * @module
 */

// Successive multiples of the golden ratio's fraction fill [0, 1) evenly
// whatever their count: sockets opened together get turns spread apart.
const GOLDEN = 0.6180339887498949;

/**
 * Turns of keys (the hub's connections), each once an interval.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RefreshSchedule } from "./refresh_schedule.ts";
 * const schedule = new RefreshSchedule(1000);
 * const a = {}, b = {};
 * schedule.add(a, 0); // first turn in [500, 1000]
 * schedule.add(b, 0);
 * assert.equal(schedule.take(a, 400), false);
 * assert.equal(schedule.take(a, 1000), true);
 * assert.equal(schedule.take(a, 1000), false, "next turn an interval later");
 * assert.equal(schedule.take(a, 2000), true);
 * ```
 */
export class RefreshSchedule {
  readonly #intervalMs: number;
  readonly #due = new WeakMap<object, number>();
  #added = 0;

  /** @param intervalMs How often each key's turn comes. */
  constructor(intervalMs: number) {
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive: ${intervalMs}`);
    this.#intervalMs = intervalMs;
  }

  /**
   * Gives `key` (whose entry was just written) its first turn: between half
   * an interval and a whole one after `now`, apart from keys added before.
   */
  add(key: object, now: number): void {
    const spread = (this.#added++ * GOLDEN) % 1;
    this.#due.set(key, now + this.#intervalMs * (0.5 + 0.5 * spread));
  }

  /** Whether `key`'s turn has come at `now`; if so, its next one is an interval later. */
  take(key: object, now: number): boolean {
    const due = this.#due.get(key);
    if (due === undefined || due > now) return false;
    this.#due.set(key, now + this.#intervalMs);
    return true;
  }
}
