/**
 * A small seeded random generator (mulberry32), so a randomized test that
 * fails can be run again with the same sequence.
 *
 * @module
 */

/**
 * Numbers in [0, 1), the same sequence for the same seed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "./random.ts";
 * const a = random(7), b = random(7);
 * assert.equal(a(), b());
 * ```
 */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
