/**
 * A first-in, first-out queue with O(1) push and shift.
 *
 * `Array.prototype.shift` moves every remaining element, which turns a long
 * backlog drained one item at a time into quadratic work; this queue keeps a
 * head index instead and compacts only when the dead prefix dominates.
 *
 * @module
 */

/**
 * A FIFO queue.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Fifo } from "./fifo.ts";
 * const queue = new Fifo<number>();
 * queue.push(1);
 * queue.push(2);
 * assert.equal(queue.shift(), 1);
 * assert.equal(queue.length, 1);
 * ```
 */
export class Fifo<T> {
  #items: T[] = [];
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
    return this.length === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes and returns the oldest item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined as T;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The items, oldest first, without removing them. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i];
  }

  /** Puts `items` in front of the queue, keeping their order. */
  unshiftAll(items: readonly T[]): void {
    if (items.length === 0) return;
    this.#items = [...items, ...this.#items.slice(this.#head)];
    this.#head = 0;
  }

  /**
   * Keeps only the items for which `keep` returns `true`.
   *
   * @returns How many items were removed.
   */
  retain(keep: (item: T) => boolean): number {
    const before = this.length;
    this.#items = this.#items.slice(this.#head).filter(keep);
    this.#head = 0;
    return before - this.length;
  }

  /** Empties the queue and returns what it held, oldest first. */
  clear(): T[] {
    const items = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
