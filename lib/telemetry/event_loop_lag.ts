/**
 * Event-loop lag: how late a timer fires, which is how long every other
 * callback (a frame to parse, a socket to write) waited behind synchronous
 * work.
 *
 * @module
 */

import { Histogram } from "./histogram.ts";

/** Options for {@linkcode monitorEventLoopLag}. */
export interface EventLoopLagOptions {
  /** Stops the monitor and clears its timer. */
  signal: AbortSignal;
  /**
   * How often to measure, in milliseconds. A block shorter than this may
   * fall between two timers and show less lag than it caused.
   *
   * @default {100}
   */
  intervalMs?: number;
  /**
   * Where to record lag, in seconds; for example the server's registered
   * `im_event_loop_lag_seconds`. A standalone histogram with the default
   * buckets when absent.
   */
  histogram?: Histogram;
}

/**
 * Measures event-loop lag until `signal` aborts: one timer every
 * `intervalMs`, each observing how many seconds late it fired.
 *
 * The cost is one timer callback, one clock read and one observation per
 * interval.
 *
 * @param options The signal, the interval and the histogram.
 * @returns The histogram that receives the observations.
 * @throws {RangeError} If `intervalMs` is not a positive finite number.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { monitorEventLoopLag } from "./event_loop_lag.ts";
 *
 * const controller = new AbortController();
 * const lag = monitorEventLoopLag({ signal: controller.signal, intervalMs: 10 });
 * while (lag.count === 0) await new Promise((resolve) => setTimeout(resolve, 5));
 * controller.abort();
 * assert.ok(lag.sum >= 0);
 * ```
 */
export function monitorEventLoopLag(options: EventLoopLagOptions): Histogram {
  const { signal, intervalMs = 100, histogram = new Histogram() } = options;
  if (!(intervalMs > 0 && Number.isFinite(intervalMs))) {
    throw new RangeError(`intervalMs must be a positive number of milliseconds: ${intervalMs}`);
  }
  if (signal.aborted) return histogram;
  let due = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    due = performance.now() + intervalMs;
    timer = setTimeout(tick, intervalMs);
  };
  const tick = () => {
    // Timers may fire a fraction of a millisecond early; that is no lag.
    histogram.observe(Math.max(0, performance.now() - due) / 1000);
    schedule();
  };
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  schedule();
  return histogram;
}
