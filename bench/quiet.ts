/**
 * Waits for the machine to be quiet before a measurement. Other work on these
 * two cores (a test suite, a browser) skews every figure, so a run starts only
 * once the machine has been nearly idle for a moment, or gives up waiting and
 * says so (the row's `otherCpu` then tells how much it was disturbed).
 *
 * @module
 */

import { machineBusySeconds } from "./proc_stats.ts";

/** Busy share of one core, in percent, above which the machine counts as busy. */
const QUIET_PERCENT = 20;

/**
 * Samples the machine's busy CPU over `sampleMs` until it stays under
 * {@linkcode QUIET_PERCENT} of a core, for at most `timeoutMs`. Returns how
 * long it waited, and whether the machine was quiet in the end.
 *
 * @example Usage
 * ```ts ignore
 * const { waitedMs, quiet } = await waitForQuiet();
 * ```
 */
export async function waitForQuiet(
  timeoutMs = 90_000,
  sampleMs = 1000,
): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = performance.now();
  let told = false;
  while (performance.now() - started < timeoutMs) {
    const before = await machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    const busy = (100 * (await machineBusySeconds() - before)) / (sampleMs / 1000);
    if (busy < QUIET_PERCENT) return { waitedMs: performance.now() - started, quiet: true };
    if (!told) console.error(`the machine is busy (${busy.toFixed(0)}% of a core); waiting …`);
    told = true;
  }
  return { waitedMs: performance.now() - started, quiet: false };
}
