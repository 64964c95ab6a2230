/**
 * Frames kept for users who cannot take them now: offline users, and sockets
 * whose outbox is full. Per user, in send order, until they expire.
 *
 * {@linkcode OfflineStore} is the seam for a durable engine; it is synchronous
 * on purpose, so routing a message stays one atomic step of the event loop
 * (and `node:sqlite`, the likely durable engine, is synchronous too).
 *
 * @module
 */

import { Fifo } from "../util/fifo.ts";
import type { Delivery } from "../protocol/frames.ts";

/** Where undeliverable frames wait for their user. */
export interface OfflineStore {
  /** Appends a frame for `user`, behind everything already stored for them. */
  push(user: string, delivery: Delivery): void;
  /** Puts frames back in front of `user`'s queue (they are older than what is stored). */
  requeue(user: string, deliveries: readonly Delivery[]): void;
  /** Removes and returns up to `max` of `user`'s oldest unexpired frames. */
  take(user: string, max: number): Delivery[];
  /** Whether anything is stored for `user` (expired frames may still count until swept). */
  has(user: string): boolean;
  /** Drops every stored chat message of `topic`; returns how many. */
  purgeTopic(topic: string): number;
  /** Frees expired frames; returns how many. */
  sweep(): number;
  /** Stored frames. */
  readonly size: number;
  /** Users with stored frames. */
  readonly recipients: number;
}

/**
 * The in-memory store: a queue per user, freed as frames expire.
 *
 * @example Usage
 * ```ts
 * import { MemoryOfflineStore } from "./offline_store.ts";
 * const store = new MemoryOfflineStore(600_000);
 * store.push("Ron", { frame: "{}", sentAt: Date.now() });
 * console.log(store.take("Ron", 10).length); // 1
 * ```
 */
export class MemoryOfflineStore implements OfflineStore {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #queues = new Map<string, Fifo<Delivery>>();
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

  push(user: string, delivery: Delivery): void {
    let queue = this.#queues.get(user);
    if (!queue) this.#queues.set(user, queue = new Fifo());
    queue.push(delivery);
    this.#size++;
  }

  requeue(user: string, deliveries: readonly Delivery[]): void {
    if (deliveries.length === 0) return;
    let queue = this.#queues.get(user);
    if (!queue) this.#queues.set(user, queue = new Fifo());
    queue.unshiftAll(deliveries);
    this.#size += deliveries.length;
  }

  take(user: string, max: number): Delivery[] {
    const queue = this.#queues.get(user);
    if (!queue) return [];
    this.#dropExpired(user, queue);
    const taken: Delivery[] = [];
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
  #dropExpired(user: string, queue: Fifo<Delivery>): number {
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
