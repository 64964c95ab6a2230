/**
 * A histogram with fixed buckets, cheap enough to observe on every message.
 *
 * @module
 */

/**
 * Default upper bounds in seconds, from 100 µs to 10 s: Centrifugo's set for
 * round-trip times, which spans both an in-memory hop and a stalled socket.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_BUCKETS } from "./histogram.ts";
 *
 * assert.equal(DEFAULT_BUCKETS[0], 0.0001);
 * assert.equal(DEFAULT_BUCKETS.at(-1), 10);
 * ```
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

/** Options for {@linkcode Histogram}. */
export interface HistogramOptions {
  /**
   * Upper bounds, finite and strictly increasing; the `+Inf` bucket is
   * implicit.
   *
   * @default {DEFAULT_BUCKETS}
   */
  buckets?: readonly number[];
}

/**
 * Counts observations into buckets and keeps their sum. A value equal to a
 * bound counts in that bound's bucket (`le` means "less than or equal").
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Histogram } from "./histogram.ts";
 *
 * const latency = new Histogram({ buckets: [0.01, 0.1] });
 * latency.observe(0.005);
 * latency.observe(0.1);
 * latency.observe(3);
 * assert.equal(latency.count, 3);
 * assert.equal(latency.sum, 3.105);
 * assert.deepEqual(latency.cumulativeCounts(), [1, 2, 3]);
 * ```
 */
export class Histogram {
  readonly #bounds: Float64Array;
  // Per bucket rather than cumulative, so that an observation adds to one
  // slot; the last slot holds observations above every bound.
  readonly #counts: Float64Array;
  #sum = 0;

  /**
   * @param options The bucket bounds.
   * @throws {RangeError} If a bound is not finite or the bounds do not
   * strictly increase.
   */
  constructor(options: HistogramOptions = {}) {
    const buckets = options.buckets ?? DEFAULT_BUCKETS;
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i])) {
        throw new RangeError(`Bucket bound ${buckets[i]} is not finite; +Inf is implicit`);
      }
      if (i > 0 && !(buckets[i] > buckets[i - 1])) {
        throw new RangeError(
          `Bucket bounds must strictly increase: ${buckets[i - 1]}, ${buckets[i]}`,
        );
      }
    }
    this.#bounds = Float64Array.from(buckets);
    this.#counts = new Float64Array(buckets.length + 1);
  }

  /**
   * Records one observation.
   *
   * @param value The observed value, in the metric's base unit. NaN counts
   * only in the `+Inf` bucket, as in Prometheus's own clients.
   */
  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    // `!(value <= bound)` rather than `value > bound` sends NaN past every bound.
    while (i < bounds.length && !(value <= bounds[i])) i++;
    this.#counts[i]++;
    this.#sum += value;
  }

  /** The bucket upper bounds, without the implicit `+Inf`. */
  get buckets(): number[] {
    return Array.from(this.#bounds);
  }

  /** How many observations were recorded. */
  get count(): number {
    let count = 0;
    for (const n of this.#counts) count += n;
    return count;
  }

  /** The sum of all observations. */
  get sum(): number {
    return this.#sum;
  }

  /**
   * The count at or below each bound, as Prometheus exposes them.
   *
   * @returns One count per bound, then the `+Inf` count (equal to
   * {@linkcode Histogram.count}).
   */
  cumulativeCounts(): number[] {
    const cumulative: number[] = [];
    let running = 0;
    for (const n of this.#counts) cumulative.push(running += n);
    return cumulative;
  }
}
