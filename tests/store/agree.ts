/**
 * What the engines-agree tests share: a seeded random generator (so a
 * failure can be run again with the same sequence) and a question put to
 * every engine whose answers must all equal the first engine's.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RedisServer } from "../redis/redis_server.ts";

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
 * A function that picks one item of a list with `next` (a {@linkcode random}).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { picker, random } from "./agree.ts";
 * const pick = picker(random(7));
 * assert.ok(["a", "b"].includes(pick(["a", "b"])));
 * ```
 */
export function picker(next: () => number): <T>(list: readonly T[]) => T {
  return (list) => list[Math.floor(next() * list.length)];
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

/** Two engines on one fresh redis-server, as two nodes of a cluster. */
export interface TwoNodes<E> {
  /** Either node, at random (from its own seeded sequence). */
  any(): E;
  /** Either node, at random, remembered as the last to change something. */
  writer(): E;
  /** The node that changed something last: its counts are the newest. */
  readonly wrote: E;
  readonly a: E;
  readonly b: E;
  /** Closes both and kills the server. */
  close(): Promise<void>;
}

/**
 * Starts a redis-server and connects two nodes (`a`, `b`) to it.
 *
 * @example Usage
 * ```ts ignore
 * const nodes = await twoNodes((url, nodeId) => RedisMailbox.connect(url, { ...options, nodeId }), 1);
 * await nodes.writer().append(request);
 * await nodes.close();
 * ```
 */
export async function twoNodes<E extends { close(): Promise<void> }>(
  connect: (url: string, nodeId: string) => Promise<E>,
  seed: number,
): Promise<TwoNodes<E>> {
  const server = await RedisServer.start();
  const [a, b] = await Promise.all(["a", "b"].map((nodeId) => connect(server.url, nodeId)));
  const coin = random(seed + 1000);
  const any = () => coin() < 0.5 ? a : b;
  const nodes = {
    a,
    b,
    any,
    wrote: a,
    writer: () => nodes.wrote = any(),
    async close() {
      await Promise.all([a.close(), b.close()]);
      await server.kill9();
    },
  };
  return nodes;
}
