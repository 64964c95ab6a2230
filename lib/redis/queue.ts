/**
 * A first-in, first-out queue with O(1) push and shift, for the commands a
 * client holds. (`lib/redis` imports nothing from the rest of `lib/`, so it
 * keeps its own.)
 *
 * @module
 */

/**
 * A FIFO queue that keeps a head index instead of shifting arrays, so
 * draining a long backlog one item at a time stays linear.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Queue } from "./queue.ts";
 *
 * const queue = new Queue<number>();
 * queue.push(1);
 * queue.push(2);
 * assert.equal(queue.peek(), 1);
 * assert.equal(queue.shift(), 1);
 * assert.deepEqual(queue.clear(), [2]);
 * assert.equal(queue.length, 0);
 * ```
 */
export class Queue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** How many items are queued. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Appends an item at the back. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest item, left in place; `undefined` when empty. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Removes and returns the oldest item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Keeps only the items for which `keep` returns `true`, in order. */
  retain(keep: (item: T) => boolean): void {
    this.#items = (this.#items.slice(this.#head) as T[]).filter(keep);
    this.#head = 0;
  }

  /** Empties the queue and returns what it held, oldest first. */
  clear(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
