/**
 * A gauge: a value that goes up and down, such as open connections.
 *
 * @module
 */

/**
 * A value that can be set, raised and lowered. Register one with
 * `Registry.gauge` to have it exposed; a standalone gauge is fine for tests.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Gauge } from "./gauge.ts";
 *
 * const open = new Gauge();
 * open.inc();
 * open.inc();
 * open.dec();
 * assert.equal(open.value, 1);
 * open.set(10);
 * assert.equal(open.value, 10);
 * ```
 */
export class Gauge {
  #value = 0;

  /**
   * Replaces the value.
   *
   * @param value The new value.
   */
  set(value: number): void {
    this.#value = value;
  }

  /**
   * Raises the value.
   *
   * @param n How much to add.
   */
  inc(n = 1): void {
    this.#value += n;
  }

  /**
   * Lowers the value.
   *
   * @param n How much to subtract.
   */
  dec(n = 1): void {
    this.#value -= n;
  }

  /** The current value. */
  get value(): number {
    return this.#value;
  }
}
