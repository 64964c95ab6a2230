/**
 * Summaries of measurements: the latency figures, and medians over runs.
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

/**
 * The median of several runs' records, field by field: numbers are the
 * median of the runs where they are finite (a run without `/metrics` or
 * without a figure does not drag it), anything else is the first run's.
 *
 * @example Usage
 * ```ts
 * import { medianRecord } from "./stats.ts";
 * medianRecord([{ p99: 3, lag: NaN, tag: "a" }, { p99: 1, lag: 2, tag: "b" }, { p99: 2, lag: 4, tag: "c" }]);
 * // { p99: 2, lag: 3, tag: "a" }
 * medianRecord([{ calls: { get: 1 } }, { calls: { get: 3, set: 2 } }, { calls: { get: 2 } }]);
 * // { calls: { get: 2, set: 0 } }: a name a run lacks counts 0 in it
 * ```
 */
export function medianRecord<T extends object>(records: readonly T[]): T {
  if (records.length === 1) return records[0];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(records[0])) {
    const values = records.map((r) => (r as Record<string, unknown>)[key]);
    if (values.some((v) => typeof v === "number")) {
      const finite = values.filter((v): v is number => Number.isFinite(v));
      out[key] = finite.length ? median(finite) : values[0];
    } else if (values.every(isPlainObject)) {
      // Figures by name (Redis calls per command): the median of each.
      const names = [...new Set(values.flatMap((v) => Object.keys(v as object)))];
      out[key] = Object.fromEntries(names.map((name) => [
        name,
        median(values.map((v) => (v as Record<string, number>)[name] ?? 0)),
      ]));
    } else {
      out[key] = values[0];
    }
  }
  return out as T;
}

const isPlainObject = (v: unknown): boolean =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Deliveries per second of server CPU: the server's cost, even when the
 * generators (not the server) cap the rate. NaN when the run delivered
 * nothing or read no CPU.
 *
 * @example Usage
 * ```ts
 * import { perCpuSecond } from "./stats.ts";
 * perCpuSecond({ deliveredPerSecond: 6000, serverCpu: 60 }); // 10000
 * ```
 */
export function perCpuSecond(f: { deliveredPerSecond: number; serverCpu: number }): number {
  return f.serverCpu > 0 && f.deliveredPerSecond > 0
    ? f.deliveredPerSecond / (f.serverCpu / 100)
    : NaN;
}
