/**
 * A queue of fixed-size numeric records in `Float64Array` pages.
 *
 * Millions of small objects that live for minutes are what V8's collector
 * likes least: each one is copied when it outlives the young generation and
 * traced by every full collection. Records kept in typed arrays are a few
 * objects however many there are, and their numbers are not traced at all.
 *
 * Past one page the queue grows a page at a time instead of doubling one
 * array: a doubling copied everything held in one step, which stalled the
 * event loop in proportion to the store (34 ms at a million 7-number
 * records here, and twice that at two million).
 *
 * @module
 */

// Records in a full page (a power of two, so a position splits by shift and mask).
const PAGE_SHIFT = 12;
const PAGE = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE - 1;

/**
 * Records of `stride` numbers, appended at the back and removed from the
 * front (or filtered), addressed by their index from the front.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Records } from "./records.ts";
 * const pairs = new Records(2);
 * const i = pairs.push();
 * pairs.set(i, 0, 17);
 * pairs.set(i, 1, 42);
 * assert.equal(pairs.length, 1);
 * assert.equal(pairs.get(0, 1), 42);
 * pairs.shift();
 * assert.equal(pairs.length, 0);
 * ```
 */
export class Records {
  readonly #stride: number;
  // The first page may be smaller than PAGE while it is the only one (a
  // short queue stays small); every other page holds PAGE records.
  #pages: Float64Array[];
  // Where the first record is, counted from the start of the first page.
  #head = 0;
  #length = 0;
  // The capacity, counted from the start of the first page: a push below it
  // needs no room made. Kept in a field because push is the hot path and
  // reading it touches nothing but this object.
  #room: number;

  /**
   * @param stride Numbers in one record.
   * @param capacity Records to make room for up front (at most a page).
   */
  constructor(stride: number, capacity = 4) {
    this.#stride = stride;
    this.#pages = [new Float64Array(stride * Math.min(PAGE, Math.max(1, capacity)))];
    this.#room = this.capacity;
  }

  /** Records held. */
  get length(): number {
    return this.#length;
  }

  /** Records there is room for without allocating (what the queue costs, in records). */
  get capacity(): number {
    const pages = this.#pages;
    return pages.length === 1 ? pages[0].length / this.#stride : pages.length * PAGE;
  }

  /**
   * Adds a record at the back and returns its index. Its fields hold
   * whatever the room held before: set every one of them.
   */
  push(): number {
    const at = this.#head + this.#length;
    if (at >= this.#room) {
      const pages = this.#pages;
      if (pages.length === 1 && pages[0].length < PAGE * this.#stride) {
        // A small first page doubles (copying at most a page) up to a full one.
        this.#resize();
      } else {
        pages.push(new Float64Array(PAGE * this.#stride));
      }
      this.#room = this.capacity;
    }
    return this.#length++;
  }

  /** Field `field` of record `index`. */
  get(index: number, field: number): number {
    const at = this.#head + index;
    return this.#pages[at >> PAGE_SHIFT][(at & PAGE_MASK) * this.#stride + field];
  }

  /** Sets field `field` of record `index`. */
  set(index: number, field: number, value: number): void {
    const at = this.#head + index;
    this.#pages[at >> PAGE_SHIFT][(at & PAGE_MASK) * this.#stride + field] = value;
  }

  /** Removes the first `count` records (all of them when fewer are held). */
  shift(count = 1): void {
    const n = Math.min(count, this.#length);
    this.#head += n;
    this.#length -= n;
    this.#dropEmpty();
  }

  /** Keeps the records for which `keep(index)` is true, in order. */
  retain(keep: (index: number) => boolean): void {
    const stride = this.#stride;
    let kept = 0;
    for (let i = 0; i < this.#length; i++) {
      if (!keep(i)) continue;
      if (kept !== i) {
        for (let field = 0; field < stride; field++) this.set(kept, field, this.get(i, field));
      }
      kept++;
    }
    this.#length = kept;
    // Pages past the new back hold nothing any more.
    if (kept > 0) this.#pages.length = ((this.#head + kept - 1) >> PAGE_SHIFT) + 1;
    this.#dropEmpty();
  }

  // Pages the front has passed go, and a lone page mostly empty shrinks: a
  // queue that held a large backlog once gives its room back as it drains.
  #dropEmpty(): void {
    const pages = this.#pages;
    if (this.#length === 0) {
      this.#head = 0;
      pages.length = 1;
    } else if (this.#head >= PAGE) {
      const passed = this.#head >> PAGE_SHIFT;
      pages.splice(0, passed);
      this.#head -= passed * PAGE;
    }
    if (pages.length === 1) {
      const capacity = pages[0].length / this.#stride;
      if (capacity > 64 && this.#length * 8 < capacity) this.#resize();
    }
    this.#room = this.capacity;
  }

  // Moves the records of the only page to the start of a new one with room
  // for twice as many (at most a page).
  #resize(): void {
    const stride = this.#stride;
    const old = this.#pages[0];
    const next = new Float64Array(stride * Math.min(PAGE, Math.max(4, this.#length * 2)));
    next.set(old.subarray(this.#head * stride, (this.#head + this.#length) * stride));
    this.#pages[0] = next;
    this.#head = 0;
  }
}
