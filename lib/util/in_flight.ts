/**
 * Runs an async task for every item, a bounded number at a time.
 *
 * @module
 */

/**
 * Calls `task` for each of `items`, at most `limit` at once, each next one
 * as soon as one finishes; settles when all have. A task that rejects
 * rejects the whole, and no new task starts after it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { eachInFlight } from "./in_flight.ts";
 * let running = 0, most = 0;
 * const done: number[] = [];
 * await eachInFlight([1, 2, 3, 4, 5], 2, async (n) => {
 *   most = Math.max(most, ++running);
 *   await new Promise((resolve) => setTimeout(resolve, 5));
 *   running--;
 *   done.push(n);
 * });
 * assert.equal(most, 2);
 * assert.deepEqual(done.sort(), [1, 2, 3, 4, 5]);
 * ```
 *
 * @param items What to run the task for.
 * @param limit How many tasks may run at once (at least 1).
 * @param task The task.
 */
export async function eachInFlight<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  if (!(limit >= 1)) throw new RangeError(`limit must be at least 1: ${limit}`);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (error) {
        next = items.length;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
