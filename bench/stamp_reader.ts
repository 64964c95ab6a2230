/**
 * Reads the send time and sequence number the generators put at the start of
 * a message's content (`"content":"<ms since epoch>|<seq>|…"`) straight from
 * a frame's bytes: no text decoding, no strings, no allocation per frame. At
 * 200,000 frames/s on the generators' one core that is the difference between
 * measuring the server and measuring the generator.
 *
 * @module
 */

const CONTENT = Array.from('"content":"', (c) => c.charCodeAt(0));
// How a v2 entry frame ends: `…,"sent-at":<ms>,"seq":<n>}`, read backwards.
const SEQ_KEY = Array.from(',"seq":', (c) => c.charCodeAt(0));
const SENT_AT_KEY = Array.from('"sent-at":', (c) => c.charCodeAt(0));
const CLOSE = 0x7d;
const BAR = 0x7c;
const DOT = 0x2e;
const ZERO = 0x30;

/**
 * Reads stamps from the frames of one socket. Frames to one socket from one
 * sender have the same prefix, so where the content began last time is tried
 * first and a scan is needed only when the frame's shape changes.
 *
 * @example Usage
 * ```ts
 * import { StampReader } from "./stamp_reader.ts";
 * const reader = new StampReader();
 * reader.read(new TextEncoder().encode('{"content":"1700000000000.250|7|xx"}')); // true
 * // reader.sentAt === 1700000000000.25, reader.seq === 7, reader.acceptedAt is NaN (a v1 frame)
 * reader.read(new TextEncoder().encode('{"content":"1700000000000|8|","sent-at":1700000000002,"seq":3}'));
 * // reader.acceptedAt === 1700000000002: when the server accepted the send
 * ```
 */
export class StampReader {
  /** The send time of the last frame read, ms since the epoch. */
  sentAt = 0;
  /** The sequence number of the last frame read. */
  seq = 0;
  /** The server's `sent-at` of the last frame read (ms since the epoch); NaN when it had none. */
  acceptedAt = NaN;
  #start = -1;

  /** Reads a frame's stamp; false when the frame has no stamped content (a probe, a notice). */
  read(payload: Uint8Array): boolean {
    if (!(this.#start > 0 && contentAt(payload, this.#start - CONTENT.length))) {
      this.#start = findContent(payload);
      if (this.#start === -1) return false;
    }
    let at = this.#start;
    let whole = 0;
    for (; at < payload.length && payload[at] !== DOT && payload[at] !== BAR; at++) {
      whole = whole * 10 + payload[at] - ZERO;
    }
    let fraction = 0;
    let scale = 1;
    if (payload[at] === DOT) {
      for (at++; at < payload.length && payload[at] !== BAR; at++) {
        fraction = fraction * 10 + payload[at] - ZERO;
        scale *= 10;
      }
    }
    let seq = 0;
    for (at++; at < payload.length && payload[at] !== BAR; at++) {
      seq = seq * 10 + payload[at] - ZERO;
    }
    if (at >= payload.length) return false;
    this.sentAt = whole + fraction / scale;
    this.seq = seq;
    this.acceptedAt = acceptedAt(payload);
    return true;
  }
}

// The `sent-at` of a frame that ends `,"sent-at":<ms>,"seq":<n>}`, else NaN.
function acceptedAt(payload: Uint8Array): number {
  if (payload[payload.length - 1] !== CLOSE) return NaN;
  const seqKey = digitsBefore(payload, payload.length - 1) - SEQ_KEY.length;
  if (!bytesAt(payload, seqKey, SEQ_KEY)) return NaN;
  const digits = digitsBefore(payload, seqKey);
  if (digits === seqKey || !bytesAt(payload, digits - SENT_AT_KEY.length, SENT_AT_KEY)) return NaN;
  let value = 0;
  for (let at = digits; at < seqKey; at++) value = value * 10 + payload[at] - ZERO;
  return value;
}

// Where the run of digits that ends just before `end` begins.
function digitsBefore(payload: Uint8Array, end: number): number {
  let at = end;
  while (at > 0 && isDigit(payload[at - 1])) at--;
  return at;
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= ZERO && byte <= ZERO + 9;
}

function bytesAt(payload: Uint8Array, at: number, bytes: readonly number[]): boolean {
  if (at < 0 || at + bytes.length > payload.length) return false;
  for (let i = 0; i < bytes.length; i++) if (payload[at + i] !== bytes[i]) return false;
  return true;
}

function contentAt(payload: Uint8Array, at: number): boolean {
  if (at < 0 || at + CONTENT.length > payload.length) return false;
  for (let i = 0; i < CONTENT.length; i++) if (payload[at + i] !== CONTENT[i]) return false;
  return true;
}

// Where the content's first character is, or -1.
function findContent(payload: Uint8Array): number {
  for (let at = payload.indexOf(CONTENT[0]); at !== -1; at = payload.indexOf(CONTENT[0], at + 1)) {
    if (contentAt(payload, at)) return at + CONTENT.length;
  }
  return -1;
}
