/**
 * A fixed-resolution latency histogram that several generator processes can
 * fill and the coordinator can merge: far smaller than every sample when a run
 * delivers millions of frames.
 *
 * @module
 */

import type { LatencySummary } from "./stats.ts";

/** Bucket width in milliseconds. */
const RESOLUTION_MS = 0.05;
/** Latencies at or above this land in the last bucket (and `max` keeps the truth). */
const RANGE_MS = 30_000;

/**
 * Latency counts in buckets of 0.05 ms.
 *
 * @example Usage
 * ```ts
 * import { Histogram } from "./histogram.ts";
 * const h = new Histogram();
 * h.record(1.2);
 * h.record(3.4);
 * h.summary().p50; // 1.2 (to the bucket)
 * ```
 */
export class Histogram {
  readonly #counts = new Uint32Array(Math.ceil(RANGE_MS / RESOLUTION_MS) + 1);
  #count = 0;
  #max = 0;

  /** Adds one latency (ms). */
  record(ms: number): void {
    const bucket = Math.min(this.#counts.length - 1, Math.max(0, Math.round(ms / RESOLUTION_MS)));
    this.#counts[bucket]++;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  /** How many latencies were recorded. */
  get count(): number {
    return this.#count;
  }

  /** A compact form for sending between processes: `[bucket, count]` pairs and the max. */
  toJSON(): { buckets: [number, number][]; max: number } {
    const buckets: [number, number][] = [];
    this.#counts.forEach((count, bucket) => count && buckets.push([bucket, count]));
    return { buckets, max: this.#max };
  }

  /** Adds another histogram's `toJSON()` form into this one. */
  merge(other: { buckets: [number, number][]; max: number }): void {
    for (const [bucket, count] of other.buckets) {
      this.#counts[bucket] += count;
      this.#count += count;
    }
    if (other.max > this.#max) this.#max = other.max;
  }

  /** Percentiles, to the bucket (0.05 ms). */
  summary(): LatencySummary {
    const at = (q: number) => {
      const rank = Math.max(1, Math.ceil(q * this.#count));
      let seen = 0;
      for (let bucket = 0; bucket < this.#counts.length; bucket++) {
        seen += this.#counts[bucket];
        if (seen >= rank) return bucket * RESOLUTION_MS;
      }
      return NaN;
    };
    return {
      count: this.#count,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: this.#count ? this.#max : NaN,
    };
  }
}
