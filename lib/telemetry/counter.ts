/**
 * A monotonic counter: the count of something since the process started.
 *
 * @module
 */

/**
 * A value that only goes up. Register one with `Registry.counter` to have it
 * exposed; a standalone counter is fine for tests.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Counter } from "./counter.ts";
 *
 * const accepted = new Counter();
 * accepted.inc();
 * accepted.inc(2);
 * assert.equal(accepted.value, 3);
 * assert.throws(() => accepted.inc(-1), RangeError);
 * ```
 */
export class Counter {
  #value = 0;

  /**
   * Adds to the counter.
   *
   * @param n How much to add, at least 0.
   * @throws {RangeError} If `n` is negative or NaN: a counter that went down
   * would read as a process restart to Prometheus's `rate()`.
   */
  inc(n = 1): void {
    if (!(n >= 0)) throw new RangeError(`Cannot increase a counter by ${n}`);
    this.#value += n;
  }

  /** The current count. */
  get value(): number {
    return this.#value;
  }
}
