/**
 * What the engines-agree tests share: a seeded random generator (so a
 * failure can be run again with the same sequence) and a question put to
 * every engine whose answers must all equal the first engine's.
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Numbers in [0, 1), the same sequence for the same seed (mulberry32).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "./agree.ts";
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

/**
 * Asks every engine the same question and asserts that each answer equals
 * the first engine's, which it returns. `ask` runs once per engine (its
 * index given), so it must not draw random numbers itself.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { agreeing } from "./agree.ts";
 * const all = agreeing([[1, 2], [2, 1]], ["a", "b"]);
 * assert.equal(await all((list) => list.length, "length"), 2);
 * await assert.rejects(all((list) => list[0], "first"));
 * ```
 */
export function agreeing<E>(
  engines: readonly E[],
  names: readonly string[],
): <T>(ask: (engine: E, index: number) => Promise<T> | T, what: string) => Promise<T> {
  return async (ask, what) => {
    const [first, ...others] = await Promise.all(engines.map(ask));
    for (const [i, other] of others.entries()) {
      assert.deepEqual(other, first, `${what}: ${names[i + 1]} vs ${names[0]}`);
    }
    return first;
  };
}
