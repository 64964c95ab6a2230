/**
 * A deadline for awaiting an event in a test, so a regression fails the test
 * instead of hanging the whole run.
 *
 * @module
 */

/**
 * Resolves or rejects as `promise` does, or rejects once `ms` have passed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { within } from "./within.ts";
 *
 * assert.equal(await within(Promise.resolve(1)), 1);
 * await assert.rejects(within(new Promise(() => {}), 10, "never"), /never: not within 10 ms/);
 * ```
 */
export async function within<T>(promise: Promise<T>, ms = 3000, what = "event"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
