/**
 * An accepted message as the server keeps it, and its frame in a mailbox.
 *
 * A message is stored once however many mailboxes hold it; each mailbox holds
 * an entry pointing at it with the receiver's own `seq`. The frame of an
 * entry is the v1 frame plus `seq`, `id` and `sent-at`, so a client that
 * ignores unknown fields sees exactly v1.
 *
 * @module
 */

/** What a message is. */
export type MessageKind =
  /** One-to-one: `to` holds the recipients as sent. */
  | "direct"
  /** A topic message: `to` holds the mentions. */
  | "topic"
  /** The `__topic_is_deleted__` notice: `topic` names the deleted topic. */
  | "topic_deleted";

/** An accepted message, shared by every mailbox entry that points at it. */
export interface Message {
  /** Unique on the server, the same for every recipient of one send. */
  readonly id: string;
  /** When the server accepted it, in ms since the epoch. */
  readonly sentAt: number;
  readonly kind: MessageKind;
  /** The sender ("" for a notice). */
  readonly from: string;
  /** Recipients as sent (direct), or mentions (topic); empty for a notice. */
  readonly to: readonly string[];
  /** The topic ("" for direct). */
  readonly topic: string;
  /** The text ("" for a notice), well-formed: the edge replaced any lone surrogate. */
  readonly content: string;
}

/**
 * A new message id, unique across restarts and nodes without coordination:
 * 16 URL-safe characters, 48 random bits drawn once per process followed by
 * a 48-bit counter that starts at a random point. Ids need to be unique, not
 * secret (nothing is reached by an id), and a counter costs a fraction of a
 * random draw per send.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { newMessageId } from "./messages.ts";
 * assert.match(newMessageId(), /^[A-Za-z0-9_-]{16}$/);
 * assert.notEqual(newMessageId(), newMessageId());
 * ```
 */
export function newMessageId(): string {
  if (++idLow === LOW_SPAN) {
    idLow = 0;
    if (++idHigh === HIGH_SPAN) {
      idPrefix = randomDigits(8);
      idHigh = 0;
    }
    idHead = idPrefix + digits(idHigh, 6);
  }
  return idHead + LOW_DIGITS[idLow];
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// The counter's last two digits come from a table; the other six change
// once every 4,096 ids.
const LOW_SPAN = 64 ** 2;
const HIGH_SPAN = 64 ** 6;
const LOW_DIGITS = Array.from({ length: LOW_SPAN }, (_, n) => digits(n, 2));

function digits(value: number, count: number): string {
  let text = "";
  for (let i = 0; i < count; i++, value = Math.floor(value / 64)) {
    text = ALPHABET[value % 64] + text;
  }
  return text;
}

function randomDigits(count: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(count)), (b) => ALPHABET[b & 63])
    .join("");
}

let idPrefix = randomDigits(8);
// The first call moves both on, to the random start.
let idHigh = Math.floor(Math.random() * HIGH_SPAN) - 1;
let idLow = LOW_SPAN - 1;
let idHead = "";

// The frame of a message without its closing brace and per-entry fields,
// so fan-out encodes the shared part once. Direct messages differ per
// recipient in `to`, so their head and tail surround it.
interface Encoded {
  head: string;
  tail: string;
  shared?: string;
  own?: string;
}

// The message encoded last. A fan-out offers one message to every member in
// one go, and a direct message's own copy follows its recipients' entries,
// so one slot catches nearly every repeat at no cost to a 1:1 send; a cache
// that lived as long as each message would keep these strings for every
// stored message, each one a copy for the GC once it outlives the young
// generation.
let lastMessage: Message | undefined;
let lastParts: Encoded | undefined;

function encode(message: Message): Encoded {
  if (message !== lastMessage) {
    lastParts = build(message);
    lastMessage = message;
  }
  return lastParts!;
}

function build(message: Message): Encoded {
  const stamp = `"id":"${message.id}","sent-at":${message.sentAt},"seq":`;
  if (message.kind === "topic_deleted") {
    const shared = `{"message-type":"system","topic":"__topic_is_deleted__",` +
      `"content-type":"application/json","content":{"topic":"${message.topic}"},${stamp}`;
    return { head: "", tail: "", shared };
  }
  if (message.kind === "topic") {
    const shared = `{"message-type":"message","from":"${message.from}","to":${
      JSON.stringify(message.to)
    },"topic":"${message.topic}","content-type":"text/plain","content":${
      JSON.stringify(message.content)
    },${stamp}`;
    return { head: "", tail: "", shared };
  }
  return {
    head: `{"message-type":"message","from":"${message.from}","to":[`,
    tail: `],"topic":"","content-type":"text/plain","content":${
      JSON.stringify(message.content)
    },${stamp}`,
  };
}

/**
 * The frame of one mailbox entry: the v1 frame of `message` as `user` gets
 * it, plus `id`, `sent-at` and `seq`.
 *
 * Names match the name rule (letters, digits, `_`, `-`), so they need no
 * escaping inside quotes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryFrame, type Message } from "./messages.ts";
 * const message: Message = {
 *   id: "m1", sentAt: 1764579600123, kind: "direct", from: "Harry",
 *   to: ["Ron_W", "Hermione"], topic: "", content: "Are you OK ?",
 * };
 * assert.deepEqual(JSON.parse(entryFrame(message, "Ron_W", false, 17)), {
 *   "message-type": "message", from: "Harry", to: ["Ron_W"], topic: "",
 *   "content-type": "text/plain", content: "Are you OK ?",
 *   id: "m1", "sent-at": 1764579600123, seq: 17,
 * });
 * // The sender's own copy names every recipient, as sent.
 * assert.deepEqual(JSON.parse(entryFrame(message, "Harry", true, 4)).to, ["Ron_W", "Hermione"]);
 * ```
 *
 * @param message The stored message.
 * @param user Whose mailbox the entry is in.
 * @param own Whether it is the sender's own copy.
 * @param seq The entry's position in that mailbox.
 * @returns The frame text.
 */
export function entryFrame(message: Message, user: string, own: boolean, seq: number): string {
  const parts = encode(message);
  if (parts.shared !== undefined) return `${parts.shared}${seq}}`;
  if (own) {
    parts.own ??= `${parts.head}${message.to.map((name) => `"${name}"`).join(",")}${parts.tail}`;
    return `${parts.own}${seq}}`;
  }
  return `${parts.head}"${user}"${parts.tail}${seq}}`;
}

/**
 * The size a message counts for in the store's byte cap
 * (`IM_STORE_MAX_BYTES`): its text and names, plus 64 for ids, times and
 * indexes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { messageBytes } from "./messages.ts";
 * const small = messageBytes({
 *   id: "m1", sentAt: 0, kind: "direct", from: "Harry", to: ["Ron_W"], topic: "", content: "",
 * });
 * assert.ok(small >= 64 && small < 200);
 * ```
 */
export function messageBytes(message: Message): number {
  let names = message.from.length + message.topic.length;
  for (const name of message.to) names += name.length + 3;
  // UTF-16 code units rather than UTF-8 bytes: exact for ASCII, cheap, and
  // no worse than a factor of 3 for any text.
  return 64 + names + message.content.length;
}
