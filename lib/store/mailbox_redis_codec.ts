/**
 * How `RedisMailbox` talks to its scripts: the arguments of an append, and
 * the entries, bodies and holder lists in their replies (formats in
 * `mailbox_redis_lua.ts`).
 *
 * @module
 */

import { type Message, messageBytes } from "../protocol/messages.ts";
import {
  type AppendRequest,
  countedBytes,
  type Entry,
  entryCount,
  type MailboxOptions,
} from "./mailbox.ts";

// Messages trimmed at most per append to make room under `maxBytes`.
const TRIM_BUDGET = 1_000;

/** What an append's arguments take besides the request. */
export interface AppendContext
  extends Pick<MailboxOptions, "offlineTtlMs" | "mailboxMax" | "maxBytes" | "maxMailboxes"> {
  /** The key prefix. */
  readonly prefix: string;
  /** The node's name, which the wake-up carries. */
  readonly nodeId: string;
  /** The caller's clock now (expiry of receipts and of undelivered entries). */
  readonly now: number;
  /** A session last seen at or before this is idle (`request.sid`'s check). */
  readonly seenAfter?: number;
}

/**
 * The ARGV of the `APPEND` script for `request`. The body goes as its JSON
 * without the leading `[sentAt`, which the script writes once it has
 * settled the time.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendArgs } from "./mailbox_redis_codec.ts";
 * const message = {
 *   id: "m1", sentAt: 5, kind: "direct" as const, from: "Harry", to: ["Ron_W"], topic: "", content: "hi",
 * };
 * const args = appendArgs({ message, recipients: ["Ron_W"], ownCopy: true }, {
 *   prefix: "im:", nodeId: "a", now: 5, offlineTtlMs: 1, mailboxMax: 1, maxBytes: 1, maxMailboxes: 1,
 * });
 * assert.equal(args[5], ',"m1","direct","Harry",["Ron_W"],"","hi"]');
 * assert.deepEqual(args.slice(7, 11), ["d", "Harry", "D", "Ron_W"]);
 * assert.equal(args.at(-1), "Ron_W");
 * ```
 */
export function appendArgs(request: AppendRequest, context: AppendContext): (string | number)[] {
  const { message, recipients, ownCopy, idempotency } = request;
  const { id, kind, from, to, topic, content } = message;
  const bytes = countedBytes(messageBytes(message), entryCount(request));
  const tail = "," + JSON.stringify([id, kind, from, to, topic, content]).slice(1);
  const direct = kind === "direct";
  const received = direct ? ["d", from] : [kind === "topic" ? "t" : "n", topic];
  const own = !ownCopy ? ["", ""] : direct ? ["D", to.join(",")] : ["T", topic];
  return [
    context.prefix,
    context.nodeId,
    id,
    message.sentAt,
    context.now,
    tail,
    bytes,
    ...received,
    ...own,
    from,
    context.offlineTtlMs,
    context.mailboxMax,
    context.maxBytes,
    context.maxMailboxes,
    idempotency?.key ?? "",
    idempotency?.bodyHash ?? "",
    kind === "topic" ? topic : "",
    TRIM_BUDGET,
    request.sid ?? "",
    context.seenAfter ?? 0,
    ...recipients,
  ];
}

/** One entry of a message, as its meta and its wake-up list it. */
export interface Holder {
  /** Whose mailbox the entry is in. */
  readonly user: string;
  /** Its seq there. */
  readonly seq: number;
  /** Whether it is the sender's own copy. */
  readonly own: boolean;
}

/**
 * Parses `user,seq,own;…`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHolders } from "./mailbox_redis_codec.ts";
 * assert.deepEqual(parseHolders("Ron_W,7,0;Harry,3,1"), [
 *   { user: "Ron_W", seq: 7, own: false },
 *   { user: "Harry", seq: 3, own: true },
 * ]);
 * ```
 */
export function parseHolders(list: string): Holder[] {
  if (list === "") return [];
  return list.split(";").map((holder) => {
    const [user, seq, own] = holder.split(",");
    return { user, seq: Number(seq), own: own === "1" };
  });
}

/**
 * Parses a message's meta, `sentAt|bytes|topic|holders`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMeta } from "./mailbox_redis_codec.ts";
 * assert.deepEqual(parseMeta("1764579600123|140||Ron_W,1,0"), {
 *   sentAt: 1764579600123,
 *   holders: [{ user: "Ron_W", seq: 1, own: false }],
 * });
 * ```
 */
export function parseMeta(meta: string): { sentAt: number; holders: Holder[] } {
  const [sentAt, , , holders] = meta.split("|");
  return { sentAt: Number(sentAt), holders: parseHolders(holders) };
}

/**
 * Parses a stored body, `[sentAt, id, kind, from, to, topic, content]`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBody } from "./mailbox_redis_codec.ts";
 * assert.deepEqual(parseBody('[7,"m1","topic","Harry",[],"quidditch","go"]'), {
 *   id: "m1", sentAt: 7, kind: "topic", from: "Harry", to: [], topic: "quidditch", content: "go",
 * });
 * ```
 */
export function parseBody(body: string): Message {
  const [sentAt, id, kind, from, to, topic, content] = JSON.parse(body);
  return { id, sentAt, kind, from, to, topic, content };
}

/**
 * Turns `member, body, …` into entries; a member whose body is gone is skipped.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairs } from "./mailbox_redis_codec.ts";
 * const [entry] = pairs(["4|7|D|Ron_W|m1", '[7,"m1","direct","Harry",["Ron_W"],"","hi"]', "5|8|d|x|m2", null]);
 * assert.equal(entry.seq, 4);
 * assert.equal(entry.own, true);
 * assert.equal(entry.message.content, "hi");
 * ```
 */
export function pairs(reply: readonly unknown[]): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const body = reply[i + 1];
    if (typeof body !== "string") continue;
    const member = reply[i] as string;
    const seq = Number(member.slice(0, member.indexOf("|")));
    const k = member.split("|", 3)[2];
    entries.push({ seq, message: parseBody(body), own: k === "D" || k === "T" });
  }
  return entries;
}
