/**
 * A set of strings kept in sorted order, for listing names page by page.
 *
 * @module
 */

/**
 * Sorted, unique strings with pages after a given name.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SortedNames } from "./sorted_names.ts";
 * const names = new SortedNames();
 * for (const name of ["Ron_W", "Harry", "Hermione", "Harry"]) names.add(name);
 * assert.deepEqual(names.page(undefined, 10), ["Harry", "Hermione", "Ron_W"]);
 * assert.deepEqual(names.page("Harry", 1), ["Hermione"]);
 * assert.equal(names.size, 3);
 * ```
 */
export class SortedNames {
  #names: string[] = [];

  /** How many names there are. */
  get size(): number {
    return this.#names.length;
  }

  /** Whether `name` is in the set. */
  has(name: string): boolean {
    const i = this.#indexOf(name);
    return this.#names[i] === name;
  }

  /** Adds `name`; `false` if it was there already. */
  add(name: string): boolean {
    const i = this.#indexOf(name);
    if (this.#names[i] === name) return false;
    this.#names.splice(i, 0, name);
    return true;
  }

  /** Removes `name`; `false` if it was not there. */
  delete(name: string): boolean {
    const i = this.#indexOf(name);
    if (this.#names[i] !== name) return false;
    this.#names.splice(i, 1);
    return true;
  }

  /**
   * Up to `limit` names after `after` (all of them from the start when
   * `after` is undefined); `after` need not be in the set.
   */
  page(after: string | undefined, limit: number): string[] {
    let from = 0;
    if (after !== undefined) {
      from = this.#indexOf(after);
      if (this.#names[from] === after) from++;
    }
    return this.#names.slice(from, from + limit);
  }

  // The index of the first name not below `name`.
  #indexOf(name: string): number {
    let lo = 0;
    let hi = this.#names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#names[mid] < name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
