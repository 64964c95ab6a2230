/**
 * RESP, the Redis serialization protocol: commands are encoded as arrays of
 * bulk strings, and replies in RESP2 or RESP3 are parsed incrementally from a
 * byte stream that TCP may cut at any point.
 *
 * @module
 */

import { RedisError, RedisProtocolError } from "./errors.ts";

/** One argument of a command; numbers and bigints are sent in decimal. */
export type RedisArg = string | number | bigint | Uint8Array;

/**
 * A parsed reply. Bulk strings are `string` (or `Uint8Array` when not
 * decoded), integers are `number` when safe and `bigint` beyond 2^53, RESP3
 * big numbers are `bigint`, maps are `Map`, sets are `Set`, and an error
 * nested in an aggregate (as in an `EXEC` result) is a {@linkcode RedisError}.
 */
export type RedisReply =
  | string
  | number
  | bigint
  | boolean
  | null
  | Uint8Array
  | RedisError
  | RedisReply[]
  | Map<RedisReply, RedisReply>
  | Set<RedisReply>;

/**
 * A RESP3 push frame (`>`): out-of-band data such as a pub/sub message, which
 * answers no command and must not be matched to one.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisPush } from "./resp.ts";
 *
 * const push = new RedisPush(["message", "news", "hello"]);
 * assert.equal(push.data[0], "message");
 * ```
 */
export class RedisPush {
  /**
   * Wraps a push frame.
   *
   * @param data The frame's elements, kept as `data`; the first names its kind.
   */
  constructor(readonly data: RedisReply[]) {}
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;
const MAX_SAFE_DIGITS = 15;

/**
 * Encodes a command as a RESP array of bulk strings, in one buffer.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeCommand } from "./resp.ts";
 *
 * const bytes = encodeCommand(["SET", "k", 42]);
 * assert.equal(new TextDecoder().decode(bytes), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n");
 * ```
 *
 * @param args The command name and its arguments.
 * @returns The bytes to write.
 */
export function encodeCommand(args: readonly RedisArg[]): Uint8Array {
  // One string for the whole command, encoded by one native call: building
  // it costs less than measuring and copying argument by argument, which
  // was ~6 % of a cluster node's CPU. Bytes arguments take the slow path.
  let text = "*" + args.length + "\r\n";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg instanceof Uint8Array) return encodeWithBytes(args);
    const part = toText(arg);
    const length = NON_ASCII.test(part) ? utf8Length(part) : part.length;
    text += "$" + length + "\r\n" + part + "\r\n";
  }
  // A UTF-16 unit takes at most 3 bytes in UTF-8.
  if (text.length * 3 > scratch.length) return encoder.encode(text);
  const { written } = encoder.encodeInto(text, scratch);
  return scratch.slice(0, written);
}

// Where encodeInto writes a command before it is copied out at its size.
const scratch = new Uint8Array(64 * 1024);
const NON_ASCII = /[\u0080-\uffff]/;

/** How many bytes `text` takes in UTF-8, as TextEncoder writes it (a lone surrogate as U+FFFD). */
function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c < 0xdc00 && c >= 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: two units, four bytes
      i++;
    } else n += 2;
  }
  return n;
}

function toText(arg: string | number | bigint): string {
  if (typeof arg === "string") return arg;
  if (typeof arg === "bigint") return String(arg);
  if (typeof arg === "number") {
    if (Number.isNaN(arg)) throw new TypeError("NaN cannot be sent to Redis");
    // Redis spells infinity "inf"; JavaScript's "Infinity" would be refused.
    return arg === Infinity ? "inf" : arg === -Infinity ? "-inf" : String(arg);
  }
  throw new TypeError(`cannot send a ${typeof arg} to Redis`);
}

/** A command with bytes among its arguments, measured and copied part by part. */
function encodeWithBytes(args: readonly RedisArg[]): Uint8Array {
  const parts: Uint8Array[] = new Array(args.length);
  let size = 1 + digits(args.length) + 2;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const part = arg instanceof Uint8Array ? arg : encoder.encode(toText(arg));
    parts[i] = part;
    size += 1 + digits(part.length) + 2 + part.length + 2;
  }
  const out = new Uint8Array(size);
  let at = writeHeader(out, 0, 42, /* '*' */ args.length);
  for (const part of parts) {
    at = writeHeader(out, at, 36, /* '$' */ part.length);
    out.set(part, at);
    at += part.length;
    out[at++] = 13;
    out[at++] = 10;
  }
  return out;
}

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length;
}

function writeHeader(out: Uint8Array, at: number, type: number, n: number): number {
  out[at++] = type;
  const text = String(n);
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  out[at++] = 13;
  out[at++] = 10;
  return at;
}

/** An aggregate whose elements are still arriving. */
interface Frame {
  type: number;
  remaining: number;
  items: RedisReply[];
}

const ATTRIBUTE = 124; // '|'
const INITIAL_CAPACITY = 16 * 1024;
// After a large reply the buffer is given back, not kept for the connection's life.
const RETAINED_CAPACITY = 1024 * 1024;

/**
 * An incremental RESP2/RESP3 reply parser. Feed it bytes as they arrive and
 * take complete replies with {@linkcode RespParser.next}; a reply cut at any
 * byte waits for the rest. Finished elements of a partly received aggregate
 * are kept, so a long reply is never parsed twice. Attributes (`|`) are
 * skipped.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RespParser } from "./resp.ts";
 *
 * const parser = new RespParser();
 * const bytes = new TextEncoder().encode("*2\r\n:1\r\n$5\r\nhello\r\n+OK\r\n");
 * parser.feed(bytes.subarray(0, 9));
 * assert.equal(parser.next(), undefined);
 * parser.feed(bytes.subarray(9));
 * assert.deepEqual(parser.next(), [1, "hello"]);
 * assert.equal(parser.next(), "OK");
 * assert.equal(parser.next(), undefined);
 * ```
 */
export class RespParser {
  #buf = new Uint8Array(INITIAL_CAPACITY);
  #start = 0;
  #end = 0;
  #stack: Frame[] = [];

  /** How many received bytes are not yet part of a returned reply. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Appends received bytes; they are copied, so `chunk` may be reused. */
  feed(chunk: Uint8Array): void {
    const live = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      const needed = live + chunk.length;
      if (needed * 2 <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(needed, this.#buf.length * 2));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * The next complete reply, or `undefined` when more bytes are needed.
   *
   * @param decode Whether bulk strings become UTF-8 strings (`true`) or stay
   * bytes (`false`) — binary values would not survive decoding.
   * @throws {RedisProtocolError} When the bytes are not valid RESP.
   */
  next(decode = true): RedisReply | RedisPush | undefined {
    const buf = this.#buf;
    for (;;) {
      const start = this.#start;
      if (start >= this.#end) return undefined;
      const type = buf[start];
      const cr = buf.indexOf(CR, start + 1);
      if (cr < 0 || cr + 1 >= this.#end) return undefined;
      if (buf[cr + 1] !== 10) throw new RedisProtocolError("CR without LF");
      let value: RedisReply | RedisPush;
      let after = cr + 2;
      switch (type) {
        case 43: // '+' simple string
          value = decoder.decode(buf.subarray(start + 1, cr));
          break;
        case 45: // '-' error
          value = new RedisError(decoder.decode(buf.subarray(start + 1, cr)));
          break;
        case 58: // ':' integer
          value = this.#integer(start + 1, cr);
          break;
        case 95: // '_' null
          value = null;
          break;
        case 35: // '#' boolean
          value = buf[start + 1] === 116; // 't'
          break;
        case 44: // ',' double
          value = double(latin1(buf, start + 1, cr));
          break;
        case 40: // '(' big number
          value = BigInt(latin1(buf, start + 1, cr));
          break;
        case 36: // '$' bulk string
        case 33: // '!' bulk error
        case 61: { // '=' verbatim string
          const length = this.#length(start + 1, cr);
          if (length < 0) {
            value = null;
            break;
          }
          after = cr + 2 + length + 2;
          if (after > this.#end) return undefined;
          if (buf[after - 2] !== CR || buf[after - 1] !== 10) {
            throw new RedisProtocolError("bulk string not followed by CRLF");
          }
          // A verbatim string starts with its format ("txt:"), which callers never want.
          const from = type === 61 ? cr + 2 + 4 : cr + 2;
          const bytes = buf.subarray(from, after - 2);
          if (type === 33) value = new RedisError(decoder.decode(bytes));
          else value = decode ? decoder.decode(bytes) : bytes.slice();
          break;
        }
        case 42: // '*' array
        case 37: // '%' map
        case 126: // '~' set
        case 62: // '>' push
        case ATTRIBUTE: {
          const count = this.#length(start + 1, cr);
          this.#start = after;
          if (count < 0) {
            value = null;
            break;
          }
          const remaining = type === 37 || type === ATTRIBUTE ? count * 2 : count;
          if (remaining > 0) {
            this.#stack.push({ type, remaining, items: [] });
            continue;
          }
          if (type === ATTRIBUTE) continue;
          value = build(type, []);
          break;
        }
        default:
          throw new RedisProtocolError(`unexpected RESP type byte 0x${type.toString(16)}`);
      }
      this.#start = after;
      const reply = this.#complete(value);
      if (reply !== undefined) {
        this.#release();
        return reply;
      }
    }
  }

  /** Adds a finished value to the open aggregates; returns it when it is a whole reply. */
  #complete(value: RedisReply | RedisPush): RedisReply | RedisPush | undefined {
    for (;;) {
      const top = this.#stack.at(-1);
      if (top === undefined) return value;
      top.items.push(value as RedisReply);
      if (--top.remaining > 0) return undefined;
      this.#stack.pop();
      // An attribute annotates the value that follows it, which takes its place.
      if (top.type === ATTRIBUTE) return undefined;
      value = build(top.type, top.items);
    }
  }

  #release(): void {
    if (this.#start !== this.#end) return;
    this.#start = this.#end = 0;
    if (this.#buf.length > RETAINED_CAPACITY) this.#buf = new Uint8Array(INITIAL_CAPACITY);
  }

  #integer(from: number, to: number): number | bigint {
    const buf = this.#buf;
    const negative = buf[from] === 45; // '-'
    const first = negative ? from + 1 : from;
    if (first === to) throw new RedisProtocolError("empty integer");
    if (to - first > MAX_SAFE_DIGITS) {
      const text = latin1(buf, from, to);
      if (!/^-?\d+$/.test(text)) throw new RedisProtocolError(`bad integer ${text}`);
      const big = BigInt(text);
      return big >= -Number.MAX_SAFE_INTEGER && big <= Number.MAX_SAFE_INTEGER ? Number(big) : big;
    }
    let n = 0;
    for (let i = first; i < to; i++) {
      const digit = buf[i] - 48;
      if (digit < 0 || digit > 9) throw new RedisProtocolError("bad integer");
      n = n * 10 + digit;
    }
    return negative ? -n : n;
  }

  #length(from: number, to: number): number {
    const n = this.#integer(from, to);
    if (typeof n === "bigint" || n < -1) throw new RedisProtocolError(`bad length ${n}`);
    return n;
  }
}

function build(type: number, items: RedisReply[]): RedisReply | RedisPush {
  switch (type) {
    case 37: {
      const map = new Map<RedisReply, RedisReply>();
      for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
      return map;
    }
    case 126:
      return new Set(items);
    case 62:
      return new RedisPush(items);
    default:
      return items;
  }
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...buf.subarray(from, to));
}

function double(text: string): number {
  if (text === "inf") return Infinity;
  if (text === "-inf") return -Infinity;
  if (text === "nan" || text === "-nan") return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new RedisProtocolError(`bad double ${text}`);
  return n;
}
