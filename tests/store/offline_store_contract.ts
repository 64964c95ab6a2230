/**
 * The contract every {@linkcode OfflineStore} engine keeps: one suite, run by
 * each engine's own test file with a factory for that engine (the pattern of
 * Hono's `router/common.case.test.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { OfflineStore, StoredFrame } from "../../lib/store/offline_store.ts";

/** Makes a fresh, empty store of the engine under test. */
export type MakeOfflineStore = (ttlMs: number, now: () => number) => OfflineStore;

const TTL = 1000;

function fakeClock(start = 10_000) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

function d(frame: string, sentAt: number, topic?: string): StoredFrame {
  return topic === undefined ? { frame, sentAt } : { frame, sentAt, topic };
}

const frames = (list: StoredFrame[]) => list.map((x) => x.frame);

/** Registers the contract's tests for one engine. */
export function testOfflineStore(engine: string, make: MakeOfflineStore): void {
  const test = (name: string, fn: () => void) =>
    Deno.test(`offline store (${engine}): ${name}`, fn);

  test("frames come back per user in push order", () => {
    const clock = fakeClock();
    const store = make(TTL, clock.read);
    store.push("Ron", d("r1", clock.now));
    store.push("Hermione", d("h1", clock.now));
    store.push("Ron", d("r2", clock.now));
    store.push("Ron", d("r3", clock.now));
    assert.equal(store.size, 4);
    assert.equal(store.recipients, 2);
    assert.deepEqual(frames(store.take("Ron", 10)), ["r1", "r2", "r3"]);
    assert.deepEqual(frames(store.take("Hermione", 10)), ["h1"]);
    assert.equal(store.size, 0);
    assert.equal(store.recipients, 0);
    assert.deepEqual(store.take("Nobody", 10), []);
  });

  test("take(max) pages through the queue", () => {
    const clock = fakeClock();
    const store = make(TTL, clock.read);
    for (let i = 0; i < 7; i++) store.push("Ron", d(`m${i}`, clock.now));
    assert.deepEqual(frames(store.take("Ron", 3)), ["m0", "m1", "m2"]);
    assert.equal(store.size, 4);
    assert.equal(store.has("Ron"), true);
    assert.deepEqual(frames(store.take("Ron", 3)), ["m3", "m4", "m5"]);
    assert.deepEqual(frames(store.take("Ron", 3)), ["m6"]);
    assert.equal(store.has("Ron"), false);
    assert.equal(store.size, 0);
    assert.equal(store.recipients, 0);
  });

  test("take(0) takes nothing", () => {
    const store = make(TTL, () => 0);
    store.push("Ron", d("a", 0));
    assert.deepEqual(store.take("Ron", 0), []);
    assert.equal(store.size, 1);
  });

  test("requeue puts frames in front, in their order", () => {
    const clock = fakeClock();
    const store = make(TTL, clock.read);
    store.push("Ron", d("c", clock.now));
    store.push("Ron", d("d", clock.now));
    store.requeue("Ron", [d("a", clock.now), d("b", clock.now)]);
    assert.equal(store.size, 4);
    store.requeue("Ron", []);
    store.requeue("Harry", [d("x", clock.now)]);
    assert.equal(store.recipients, 2);
    assert.equal(store.size, 5);
    assert.deepEqual(frames(store.take("Ron", 10)), ["a", "b", "c", "d"]);
    assert.deepEqual(frames(store.take("Harry", 10)), ["x"]);
  });

  test("frames at or after their ttl are never returned", () => {
    const clock = fakeClock(0);
    const store = make(TTL, clock.read);
    store.push("Ron", d("old", 0));
    store.push("Ron", d("mid", 500));
    store.push("Ron", d("new", 900));
    clock.now = 999;
    assert.equal(store.has("Ron"), true);
    clock.now = 1000; // "old" is exactly ttl old: expired
    assert.deepEqual(frames(store.take("Ron", 1)), ["mid"]);
    clock.now = 1900; // "new" is exactly ttl old
    assert.deepEqual(store.take("Ron", 10), []);
    assert.equal(store.size, 0);
    assert.equal(store.recipients, 0);
    assert.equal(store.has("Ron"), false);
  });

  test("sweep() frees expired frames; size and recipients drop to 0", () => {
    const clock = fakeClock(0);
    const store = make(TTL, clock.read);
    for (let i = 0; i < 5; i++) store.push("Ron", d(`r${i}`, i * 100));
    store.push("Hermione", d("h", 300));
    assert.equal(store.sweep(), 0);
    clock.now = 1150; // r0 (0) and r1 (100) are past ttl
    assert.equal(store.sweep(), 2);
    assert.equal(store.size, 4);
    assert.equal(store.recipients, 2);
    clock.now = 1400;
    assert.equal(store.sweep(), 4);
    assert.equal(store.size, 0);
    assert.equal(store.recipients, 0);
    assert.equal(store.has("Ron"), false);
    assert.equal(store.has("Hermione"), false);
  });

  test("purgeTopic removes only that topic's frames and frees empty users", () => {
    const clock = fakeClock();
    const store = make(TTL, clock.read);
    const t = clock.now;
    store.push("Ron", d("stone-1", t, "philosophers_stone"));
    store.push("Ron", d("direct", t));
    store.push("Ron", d("chamber-1", t, "chamber_of_secrets"));
    store.push("Ron", d("stone-2", t, "philosophers_stone"));
    store.push("Ron", d("notice", t)); // a notice without a topic stays
    store.push("Hermione", d("stone-3", t, "philosophers_stone"));
    assert.equal(store.purgeTopic("philosophers_stone"), 3);
    assert.equal(store.size, 3);
    assert.equal(store.recipients, 1);
    assert.equal(store.has("Hermione"), false);
    assert.equal(store.purgeTopic("nonexistent"), 0);
    assert.deepEqual(frames(store.take("Ron", 10)), ["direct", "chamber-1", "notice"]);
  });

  test("has() tells whether anything is stored", () => {
    const store = make(TTL, () => 0);
    assert.equal(store.has("Ron"), false);
    store.push("Ron", d("a", 0));
    assert.equal(store.has("Ron"), true);
    assert.equal(store.has("Harry"), false);
    store.take("Ron", 1);
    assert.equal(store.has("Ron"), false);
  });
}
