/**
 * The in-memory engine of {@linkcode OfflineStore}: a queue per user.
 *
 * @module
 */

import { Fifo } from "../util/fifo.ts";
import type { OfflineStore, StoredFrame } from "./offline_store.ts";

/**
 * The in-memory store: a queue per user, freed as frames expire.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryOfflineStore } from "./offline_store_memory.ts";
 * const store = new MemoryOfflineStore(600_000);
 * store.push("Ron_W", { frame: "{}", sentAt: Date.now() });
 * assert.deepEqual(store.take("Ron_W", 10).map((stored) => stored.frame), ["{}"]);
 * assert.equal(store.has("Ron_W"), false);
 * ```
 */
export class MemoryOfflineStore implements OfflineStore {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #queues = new Map<string, Fifo<StoredFrame>>();
  #size = 0;

  /**
   * @param ttlMs How long a frame lives after its `sentAt`.
   * @param now The clock (injectable for tests).
   */
  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get size(): number {
    return this.#size;
  }

  get recipients(): number {
    return this.#queues.size;
  }

  push(user: string, delivery: StoredFrame): void {
    let queue = this.#queues.get(user);
    if (!queue) this.#queues.set(user, queue = new Fifo());
    queue.push(delivery);
    this.#size++;
  }

  requeue(user: string, deliveries: readonly StoredFrame[]): void {
    if (deliveries.length === 0) return;
    let queue = this.#queues.get(user);
    if (!queue) this.#queues.set(user, queue = new Fifo());
    queue.unshiftAll(deliveries);
    this.#size += deliveries.length;
  }

  take(user: string, max: number): StoredFrame[] {
    const queue = this.#queues.get(user);
    if (!queue) return [];
    this.#dropExpired(user, queue);
    const taken: StoredFrame[] = [];
    while (taken.length < max && queue.length > 0) taken.push(queue.shift()!);
    this.#size -= taken.length;
    if (queue.length === 0) this.#queues.delete(user);
    return taken;
  }

  has(user: string): boolean {
    return this.#queues.has(user);
  }

  purgeTopic(topic: string): number {
    let removed = 0;
    for (const [user, queue] of this.#queues) {
      removed += queue.retain((d) => d.topic !== topic);
      if (queue.length === 0) this.#queues.delete(user);
    }
    this.#size -= removed;
    return removed;
  }

  sweep(): number {
    let removed = 0;
    for (const [user, queue] of this.#queues) removed += this.#dropExpired(user, queue);
    return removed;
  }

  // A user's frames are in send order, so the expired ones are a prefix.
  #dropExpired(user: string, queue: Fifo<StoredFrame>): number {
    const oldestAlive = this.#now() - this.#ttlMs;
    let removed = 0;
    while (queue.length > 0 && queue.peek()!.sentAt <= oldestAlive) {
      queue.shift();
      removed++;
    }
    this.#size -= removed;
    if (queue.length === 0) this.#queues.delete(user);
    return removed;
  }
}
