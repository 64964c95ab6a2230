/**
 * A set of strings kept in sorted order, for listing names page by page.
 *
 * @module
 */

// Names a chunk holds at most. An add or delete moves at most this many
// names inside a chunk, plus one slot per chunk when a chunk splits or goes,
// where one sorted array moved half the set: at 100,000 names that was
// ~50,000 moves for every user who connected or left.
const CHUNK = 512;
// A chunk this small is merged into a neighbour that has room for it, so
// deletes cannot leave the set in many tiny chunks.
const SMALL = CHUNK / 4;

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
  // Sorted runs, each non-empty, in order: every name of a chunk is below
  // every name of the next one.
  #chunks: string[][] = [];
  #size = 0;

  /** How many names there are. */
  get size(): number {
    return this.#size;
  }

  /** Whether `name` is in the set. */
  has(name: string): boolean {
    const c = this.#chunkOf(name);
    if (c === this.#chunks.length) return false;
    const chunk = this.#chunks[c];
    return chunk[indexIn(chunk, name)] === name;
  }

  /** Adds `name`; `false` if it was there already. */
  add(name: string): boolean {
    const chunks = this.#chunks;
    if (chunks.length === 0) {
      chunks.push([name]);
      this.#size = 1;
      return true;
    }
    // Past the last name: it goes at the end of the last chunk.
    const c = Math.min(this.#chunkOf(name), chunks.length - 1);
    const chunk = chunks[c];
    const i = indexIn(chunk, name);
    if (chunk[i] === name) return false;
    chunk.splice(i, 0, name);
    this.#size++;
    if (chunk.length > CHUNK) chunks.splice(c + 1, 0, chunk.splice(CHUNK / 2));
    return true;
  }

  /** Removes `name`; `false` if it was not there. */
  delete(name: string): boolean {
    const chunks = this.#chunks;
    const c = this.#chunkOf(name);
    if (c === chunks.length) return false;
    const chunk = chunks[c];
    const i = indexIn(chunk, name);
    if (chunk[i] !== name) return false;
    chunk.splice(i, 1);
    this.#size--;
    if (chunk.length === 0) chunks.splice(c, 1);
    else if (chunk.length < SMALL) this.#mergeSmall(c);
    return true;
  }

  /**
   * Up to `limit` names after `after` (all of them from the start when
   * `after` is undefined); `after` need not be in the set.
   */
  page(after: string | undefined, limit: number): string[] {
    const chunks = this.#chunks;
    let c = 0;
    let i = 0;
    if (after !== undefined) {
      c = this.#chunkOf(after);
      if (c < chunks.length) {
        i = indexIn(chunks[c], after);
        if (chunks[c][i] === after) i++;
      }
    }
    const names: string[] = [];
    for (; c < chunks.length && names.length < limit; c++, i = 0) {
      const chunk = chunks[c];
      const end = Math.min(chunk.length, i + limit - names.length);
      for (; i < end; i++) names.push(chunk[i]);
    }
    return names;
  }

  // The first chunk whose last name is not below `name` (the chunk count
  // when every name is below it).
  #chunkOf(name: string): number {
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = chunks[mid];
      if (chunk[chunk.length - 1] < name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Joins the small chunk `c` to the smaller of its neighbours when the two
  // fit in one chunk.
  #mergeSmall(c: number): void {
    const chunks = this.#chunks;
    const before = c > 0 ? chunks[c - 1].length : Infinity;
    const after = c + 1 < chunks.length ? chunks[c + 1].length : Infinity;
    const into = before <= after ? c - 1 : c + 1;
    if (Math.min(before, after) + chunks[c].length > CHUNK) return;
    const [first, second] = into < c ? [into, c] : [c, into];
    chunks[first].push(...chunks[second]);
    chunks.splice(second, 1);
  }
}

// The index of the first name of `chunk` not below `name`.
function indexIn(chunk: readonly string[], name: string): number {
  let lo = 0;
  let hi = chunk.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (chunk[mid] < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
