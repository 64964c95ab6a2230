/**
 * The memory store's messages, kept outside the JS heap.
 *
 * A stored message used to be a handful of JS objects (the message, its
 * strings, its entries) that lived for the whole history TTL: every one of
 * them was copied once it outlived V8's young generation and traced by every
 * full collection, which cost the server more than the sends themselves. Here
 * each message is its text, UTF-8, in large byte chunks, with its holders
 * (mailbox, seq) beside it, and its numbers in one {@linkcode Records} table:
 * a few objects for the whole store.
 *
 * Messages are numbered (`ref`) in the order they are added and leave from
 * the front (expiry, trimming), so a chunk empties as the front passes it.
 * Messages forgotten in the middle (a deleted topic's) leave holes, which a
 * compaction gives back once dead bytes outweigh live ones. It runs in steps,
 * a chunk's worth of copying per add, so that no add pauses the server for
 * the whole store (at once it took ~100 ms per 500 MB).
 *
 * @module
 */

import type { Message, MessageKind } from "../protocol/messages.ts";
import { Records } from "../util/records.ts";

const CHUNK_BYTES = 1 << 20;
// Compacting below this would copy often for little memory.
const COMPACT_FROM_BYTES = 8 * CHUNK_BYTES;
// What a compaction step counts for each message it looks at, beside the
// bytes it copies: skipping a long run of dense chunks is bounded too.
const LOOK_WORK = 64;
// Holder i of a message: its mailbox number (u32) and its seq (f64).
const HOLDER_BYTES = 12;
// Slots of the cache of decoded messages (by ref modulo this): members of a
// topic catching up from the store read the same few messages in turn.
const DECODED_SLOTS = 256;

// Fields of a message's record.
const CHUNK = 0;
const OFFSET = 1;
const HOLDERS = 2;
const TEXT_BYTES = 3;
const SENT_AT = 4;
const COUNTED = 5;
const FLAGS = 6;
const STRIDE = 7;

// FLAGS: forgotten; whether the last holder is the sender's own copy; and
// the kind (an index into KINDS) above those two bits.
const GONE = 1;
const OWN_LAST = 2;
const KINDS: readonly MessageKind[] = ["direct", "topic", "topic_deleted"];
const KIND_SHIFT = 2;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Writes `fields` joined by NULs as bytes at `at` and returns how many, or
// -1 (having written some) at the first unit that is not ASCII. ASCII is
// the common case, and this skips the string concatenation, the view and
// the call into the runtime that encodeInto costs for every message.
function writeAscii(bytes: Uint8Array, at: number, fields: readonly string[]): number {
  let i = at;
  for (let f = 0; f < fields.length; f++) {
    if (f > 0) bytes[i++] = 0;
    const field = fields[f];
    for (let k = 0; k < field.length; k++) {
      const unit = field.charCodeAt(k);
      if (unit >= 0x80) return -1;
      bytes[i++] = unit;
    }
  }
  return i - at;
}

/** Options of a {@linkcode MessageArena}. */
export interface MessageArenaOptions {
  /**
   * Bytes one compaction step may copy (each add takes one step while a
   * compaction is under way). Default 1 MiB: well under a millisecond.
   */
  compactStepBytes?: number;
}

interface Chunk {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  // Bytes of messages in it not yet forgotten.
  live: number;
}

/**
 * Messages and their holders, by `ref`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { MessageArena } from "./message_arena.ts";
 * const arena = new MessageArena();
 * const message = {
 *   id: "m1", sentAt: 1000, kind: "direct" as const, from: "Harry",
 *   to: ["Ron_W"], topic: "", content: "Are you OK ?",
 * };
 * const ref = arena.add(message, 2, true, 150);
 * arena.setHolder(ref, 0, 7, 1); // mailbox 7 holds it as its seq 1
 * arena.setHolder(ref, 1, 3, 1); // the sender's own copy, last
 * assert.equal(arena.holderSeq(ref, 0), 1);
 * assert.equal(arena.isOwn(ref, 1), true);
 * assert.equal(arena.message(ref).content, "Are you OK ?");
 * arena.forget(ref);
 * assert.equal(arena.isGone(ref), true);
 * ```
 */
export class MessageArena {
  readonly #records = new Records(STRIDE, 1024);
  readonly #stepWork: number;
  readonly #chunks = new Map<number, Chunk>();
  readonly #decodedRefs = new Float64Array(DECODED_SLOTS);
  readonly #decoded = new Array<Message | undefined>(DECODED_SLOTS);
  // The ref of the record at the front of #records.
  #first = 1;
  #chunk = -1;
  // The chunk numbered #chunk: new messages' holders are set there.
  #current: Chunk | undefined;
  #used = CHUNK_BYTES;
  #allocated = 0;
  #live = 0;
  // A compaction under way: the chunks it empties, the next ref it looks at,
  // and the first ref added after it began (those are in no chunk it empties).
  #emptying: Set<number> | undefined;
  #compactRef = 0;
  #compactEnd = 0;

  constructor(options: MessageArenaOptions = {}) {
    this.#stepWork = Math.max(1, options.compactStepBytes ?? CHUNK_BYTES);
  }

  /** Messages held, forgotten ones at the front included until they are shifted out. */
  get length(): number {
    return this.#records.length;
  }

  /** The ref of the oldest message held. */
  get first(): number {
    return this.#first;
  }

  /** Bytes of chunks allocated (what the arena costs in memory). */
  get allocatedBytes(): number {
    return this.#allocated;
  }

  /** Whether a compaction is under way (each add takes it one step further). */
  get compacting(): boolean {
    return this.#emptying !== undefined;
  }

  /**
   * Stores `message` with room for `holders` holders, the last of them the
   * sender's own copy when `ownLast`; `counted` is what it counts against
   * the store's byte cap. Returns its ref.
   */
  add(message: Message, holders: number, ownLast: boolean, counted: number): number {
    if (this.#emptying) this.#compactStep();
    else if (
      this.#allocated > COMPACT_FROM_BYTES && this.#allocated > 2 * this.#live + CHUNK_BYTES
    ) {
      this.#startCompaction();
    }
    const to = message.to.length === 1 ? message.to[0] : message.to.join(",");
    const fields = [message.id, message.from, message.topic, to, message.content];
    let units = fields.length - 1;
    for (const field of fields) units += field.length;
    const holderBytes = holders * HOLDER_BYTES;
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    const { chunk, offset } = this.#reserve(holderBytes + units * 3);
    const start = offset + holderBytes;
    let written = writeAscii(chunk.bytes, start, fields);
    if (written < 0) {
      const text = fields.join("\0");
      written = encoder.encodeInto(text, chunk.bytes.subarray(start)).written;
    }
    const size = holderBytes + written;
    this.#used = offset + size;
    chunk.live += size;
    this.#live += size;
    const i = this.#records.push();
    this.#records.set(i, CHUNK, this.#chunk);
    this.#records.set(i, OFFSET, offset);
    this.#records.set(i, HOLDERS, holders);
    this.#records.set(i, TEXT_BYTES, written);
    this.#records.set(i, SENT_AT, message.sentAt);
    this.#records.set(i, COUNTED, counted);
    this.#records.set(
      i,
      FLAGS,
      (ownLast ? OWN_LAST : 0) | (KINDS.indexOf(message.kind) << KIND_SHIFT),
    );
    return this.#first + i;
  }

  /** Records that holder `index` of `ref` is mailbox `box` at `seq`. */
  setHolder(ref: number, index: number, box: number, seq: number): void {
    const i = ref - this.#first;
    const view = this.#chunkOf(i).view;
    const at = this.#records.get(i, OFFSET) + index * HOLDER_BYTES;
    view.setUint32(at, box, true);
    view.setFloat64(at + 4, seq, true);
  }

  /** How many holders `ref` has. */
  holders(ref: number): number {
    return this.#records.get(ref - this.#first, HOLDERS);
  }

  /** The mailbox number of holder `index` of `ref`. */
  holderBox(ref: number, index: number): number {
    const i = ref - this.#first;
    return this.#chunkOf(i).view.getUint32(
      this.#records.get(i, OFFSET) + index * HOLDER_BYTES,
      true,
    );
  }

  /** The seq of holder `index` of `ref` in its mailbox. */
  holderSeq(ref: number, index: number): number {
    const i = ref - this.#first;
    const at = this.#records.get(i, OFFSET) + index * HOLDER_BYTES + 4;
    return this.#chunkOf(i).view.getFloat64(at, true);
  }

  /** Whether holder `index` of `ref` is the sender's own copy. */
  isOwn(ref: number, index: number): boolean {
    const i = ref - this.#first;
    return (this.#records.get(i, FLAGS) & OWN_LAST) !== 0 &&
      index === this.#records.get(i, HOLDERS) - 1;
  }

  /** What kind of message `ref` is. */
  kindOf(ref: number): MessageKind {
    return KINDS[this.#records.get(ref - this.#first, FLAGS) >> KIND_SHIFT];
  }

  /** When `ref` was sent. */
  sentAt(ref: number): number {
    return this.#records.get(ref - this.#first, SENT_AT);
  }

  /** What `ref` counts against the store's byte cap. */
  counted(ref: number): number {
    return this.#records.get(ref - this.#first, COUNTED);
  }

  /** Whether `ref` was forgotten (or has left the front). */
  isGone(ref: number): boolean {
    return ref < this.#first || (this.#records.get(ref - this.#first, FLAGS) & GONE) !== 0;
  }

  /** The message `ref` holds (decoded from its bytes unless read lately). */
  message(ref: number): Message {
    const slot = ref % DECODED_SLOTS;
    if (this.#decodedRefs[slot] === ref) return this.#decoded[slot]!;
    const i = ref - this.#first;
    const start = this.#records.get(i, OFFSET) + this.#records.get(i, HOLDERS) * HOLDER_BYTES;
    const text = decoder.decode(
      this.#chunkOf(i).bytes.subarray(start, start + this.#records.get(i, TEXT_BYTES)),
    );
    const a = text.indexOf("\0");
    const b = text.indexOf("\0", a + 1);
    const c = text.indexOf("\0", b + 1);
    const d = text.indexOf("\0", c + 1);
    const to = text.slice(c + 1, d);
    const message: Message = {
      id: text.slice(0, a),
      sentAt: this.#records.get(i, SENT_AT),
      kind: this.kindOf(ref),
      from: text.slice(a + 1, b),
      to: to === "" ? [] : to.split(","),
      topic: text.slice(b + 1, c),
      content: text.slice(d + 1),
    };
    this.#decodedRefs[slot] = ref;
    this.#decoded[slot] = message;
    return message;
  }

  /**
   * Marks `ref` gone and counts its bytes free. Its holders stay readable
   * until it is shifted out: whoever removes it still has mailboxes to fix.
   */
  forget(ref: number): void {
    const i = ref - this.#first;
    const flags = this.#records.get(i, FLAGS);
    if (flags & GONE) return;
    this.#records.set(i, FLAGS, flags | GONE);
    const size = this.#size(i);
    this.#chunkOf(i).live -= size;
    this.#live -= size;
    const slot = ref % DECODED_SLOTS;
    if (this.#decodedRefs[slot] === ref) {
      this.#decodedRefs[slot] = 0;
      this.#decoded[slot] = undefined;
    }
  }

  /** Drops the oldest message (forgotten first, or it is forgotten now). */
  shift(): void {
    if (this.#records.length === 0) return;
    const ref = this.#first;
    this.forget(ref);
    const number = this.#records.get(0, CHUNK);
    this.#records.shift();
    this.#first++;
    const chunk = this.#chunks.get(number);
    if (chunk && chunk.live === 0 && number !== this.#chunk) this.#release(number);
  }

  #size(i: number): number {
    return this.#records.get(i, HOLDERS) * HOLDER_BYTES + this.#records.get(i, TEXT_BYTES);
  }

  #chunkOf(i: number): Chunk {
    const number = this.#records.get(i, CHUNK);
    return number === this.#chunk ? this.#current! : this.#chunks.get(number)!;
  }

  // Room for `size` bytes in the current chunk, or a new one.
  #reserve(size: number): { chunk: Chunk; offset: number } {
    const current = this.#current;
    if (current && this.#used + size <= current.bytes.length) {
      return { chunk: current, offset: this.#used };
    }
    if (current && current.live === 0) this.#release(this.#chunk);
    const bytes = new Uint8Array(Math.max(CHUNK_BYTES, size));
    const chunk = { bytes, view: new DataView(bytes.buffer), live: 0 };
    this.#chunks.set(++this.#chunk, chunk);
    this.#current = chunk;
    this.#allocated += bytes.length;
    this.#used = 0;
    return { chunk, offset: 0 };
  }

  #release(number: number): void {
    this.#allocated -= this.#chunks.get(number)!.bytes.length;
    this.#chunks.delete(number);
  }

  // Picks the chunks less than half live (the current one aside: it is
  // still filling) for emptying, and takes the first step. The trigger's
  // margin of a chunk leaves such a chunk unless the current one is a large
  // message's own, which the next add replaces.
  #startCompaction(): void {
    const emptying = new Set<number>();
    for (const [number, chunk] of this.#chunks) {
      if (number !== this.#chunk && 2 * chunk.live < chunk.bytes.length) emptying.add(number);
    }
    if (emptying.size === 0) return;
    this.#emptying = emptying;
    this.#compactRef = this.#first;
    this.#compactEnd = this.#first + this.#records.length;
    this.#compactStep();
  }

  // Moves live messages out of the chunks being emptied into the current
  // one, in ref order, until the step's work is done; a chunk goes as its
  // last live message leaves. Refs stay as they are.
  #compactStep(): void {
    const emptying = this.#emptying!;
    let ref = Math.max(this.#compactRef, this.#first);
    let work = 0;
    for (; ref < this.#compactEnd && work < this.#stepWork; ref++) {
      work += LOOK_WORK;
      const i = ref - this.#first;
      const number = this.#records.get(i, CHUNK);
      if (!emptying.has(number) || this.#records.get(i, FLAGS) & GONE) continue;
      const from = this.#chunks.get(number)!;
      const size = this.#size(i);
      const { chunk, offset } = this.#reserve(size);
      const start = this.#records.get(i, OFFSET);
      chunk.bytes.set(from.bytes.subarray(start, start + size), offset);
      chunk.live += size;
      from.live -= size;
      this.#used = offset + size;
      this.#records.set(i, CHUNK, this.#chunk);
      this.#records.set(i, OFFSET, offset);
      if (from.live === 0) {
        this.#release(number);
        emptying.delete(number);
      }
      work += size;
    }
    this.#compactRef = ref;
    if (ref < this.#compactEnd && emptying.size > 0) return;
    // What is left of them held only forgotten messages.
    for (const number of emptying) {
      if (this.#chunks.get(number)?.live === 0) this.#release(number);
    }
    this.#emptying = undefined;
  }
}
