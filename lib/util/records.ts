/**
 * A queue of fixed-size numeric records in one `Float64Array`.
 *
 * Millions of small objects that live for minutes are what V8's collector
 * likes least: each one is copied when it outlives the young generation and
 * traced by every full collection. Records kept in a typed array are one
 * object however many there are, and their numbers are not traced at all.
 *
 * @module
 */

/**
 * Records of `stride` numbers, appended at the back and removed from the
 * front (or filtered), addressed by their index from the front.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Records } from "./records.ts";
 * const pairs = new Records(2);
 * const i = pairs.push();
 * pairs.set(i, 0, 17);
 * pairs.set(i, 1, 42);
 * assert.equal(pairs.length, 1);
 * assert.equal(pairs.get(0, 1), 42);
 * pairs.shift();
 * assert.equal(pairs.length, 0);
 * ```
 */
export class Records {
  readonly #stride: number;
  #data: Float64Array;
  // Where the first record starts, in records.
  #head = 0;
  #length = 0;

  /**
   * @param stride Numbers in one record.
   * @param capacity Records to make room for up front.
   */
  constructor(stride: number, capacity = 4) {
    this.#stride = stride;
    this.#data = new Float64Array(stride * Math.max(1, capacity));
  }

  /** Records held. */
  get length(): number {
    return this.#length;
  }

  /**
   * Adds a record at the back and returns its index. Its fields hold
   * whatever the room held before: set every one of them.
   */
  push(): number {
    // Twice what is held, so the copies add up to O(1) a push however the
    // queue grows and drains.
    if ((this.#head + this.#length + 1) * this.#stride > this.#data.length) this.#resize();
    return this.#length++;
  }

  /** Field `field` of record `index`. */
  get(index: number, field: number): number {
    return this.#data[(this.#head + index) * this.#stride + field];
  }

  /** Sets field `field` of record `index`. */
  set(index: number, field: number, value: number): void {
    this.#data[(this.#head + index) * this.#stride + field] = value;
  }

  /** Removes the first `count` records (all of them when fewer are held). */
  shift(count = 1): void {
    const n = Math.min(count, this.#length);
    this.#head += n;
    this.#length -= n;
    if (this.#length === 0) this.#head = 0;
    this.#shrink();
  }

  /** Keeps the records for which `keep(index)` is true, in order. */
  retain(keep: (index: number) => boolean): void {
    const stride = this.#stride;
    let kept = 0;
    for (let i = 0; i < this.#length; i++) {
      if (!keep(i)) continue;
      if (kept !== i) {
        const from = (this.#head + i) * stride;
        this.#data.copyWithin((this.#head + kept) * stride, from, from + stride);
      }
      kept++;
    }
    this.#length = kept;
    if (kept === 0) this.#head = 0;
    this.#shrink();
  }

  // A queue that held a large backlog once gives the room back when it is
  // mostly empty, so its memory follows what it holds, not its peak.
  #shrink(): void {
    const capacity = this.#data.length / this.#stride;
    if (capacity > 64 && this.#length * 8 < capacity) this.#resize();
  }

  #resize(): void {
    const stride = this.#stride;
    const next = new Float64Array(stride * Math.max(4, this.#length * 2));
    next.set(this.#data.subarray(this.#head * stride, (this.#head + this.#length) * stride));
    this.#data = next;
    this.#head = 0;
  }
}
