/**
 * Latency summaries: percentiles over a sample of milliseconds.
 *
 * @module
 */

/** The figures a latency table shows. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The `q`-quantile (0..1) of sorted values, by nearest rank.
 *
 * @example Usage
 * ```ts
 * import { quantile } from "./stats.ts";
 * quantile([1, 2, 3, 4], 0.5); // 2
 * ```
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/**
 * Summarises latencies (any order).
 *
 * @example Usage
 * ```ts
 * import { summarize } from "./stats.ts";
 * summarize([5, 1, 3]); // { count: 3, p50: 3, p90: 5, p99: 5, max: 5 }
 * ```
 */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/**
 * The median of several runs' figures.
 *
 * @example Usage
 * ```ts
 * import { median } from "./stats.ts";
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
