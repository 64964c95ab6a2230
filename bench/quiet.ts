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
 * {@linkcode QUIET_PERCENT} of a core for `quietSamples` samples in a row
 * (other people's test suites here come in bursts with short lulls between
 * them: one quiet second is often the middle of a burst), for at most
 * `timeoutMs`. Returns how long it waited, and whether the machine was quiet
 * in the end.
 *
 * @example Usage
 * ```ts ignore
 * const { waitedMs, quiet } = await waitForQuiet();
 * ```
 */
export async function waitForQuiet(
  timeoutMs = 180_000,
  sampleMs = 1000,
  quietSamples = 3,
): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = performance.now();
  let told = false;
  let quietInARow = 0;
  while (performance.now() - started < timeoutMs) {
    const before = await machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    const busy = (100 * (await machineBusySeconds() - before)) / (sampleMs / 1000);
    quietInARow = busy < QUIET_PERCENT ? quietInARow + 1 : 0;
    if (quietInARow >= quietSamples) {
      return { waitedMs: performance.now() - started, quiet: true };
    }
    if (!told && quietInARow === 0) {
      console.error(`the machine is busy (${busy.toFixed(0)}% of a core); waiting …`);
      told = true;
    }
  }
  if (told) console.error("the machine stayed busy: measuring anyway (see other% in the table)");
  return { waitedMs: performance.now() - started, quiet: false };
}
