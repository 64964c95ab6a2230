/**
 * The mailbox: one append-only, ordered log per user of every entry addressed
 * to them, each with its own `seq` (1, 2, 3, … never reused), and a cursor
 * per user: the highest seq written to any of their sockets (or expired
 * before it could be), which is where a v1 socket starts.
 *
 * This file is the interface, with the one byte rule every engine caps by
 * ({@linkcode countedBytes}); each engine is a file beside it
 * (`mailbox_<engine>.ts`) and passes one contract suite
 * (`tests/store/mailbox_contract.ts`). Calls are asynchronous so an engine
 * may live across the network; what a promise resolves to is committed.
 * Every engine keeps these rules:
 *
 * - {@linkcode Mailbox.append} is atomic: every recipient's entry and the
 *   sender's copy, or none (a cap refuses the whole send).
 * - Entries are announced to {@linkcode MailboxOptions.onAppended} after they
 *   are committed, per user in seq order.
 * - A topic message's body is stored once however many members hold it.
 * - Entries stop being deliverable `offlineTtlMs` after `sentAt` and stop
 *   being readable through history `historyTtlMs` after it.
 *
 * @module
 */

import type { Message } from "../protocol/messages.ts";

/** One message's place in one user's mailbox. */
export interface Entry {
  /** The position in this user's mailbox. */
  readonly seq: number;
  readonly message: Message;
  /** The sender's own copy of what they sent. */
  readonly own: boolean;
}

/** A send, as the mailbox takes it. */
export interface AppendRequest {
  /** The message; its `id` and `sentAt` are the server's. */
  readonly message: Message;
  /** Who gets an entry, each once (the sender too, when they sent to themselves). */
  readonly recipients: readonly string[];
  /** Whether the sender (`message.from`) gets their own copy. */
  readonly ownCopy: boolean;
  /** A client's `Idempotency-Key`, scoped to the sender, with a hash of the body. */
  readonly idempotency?: { readonly key: string; readonly bodyHash: string };
  /**
   * The sid the send came with, not yet checked: the append then happens
   * only if it is the live session of `message.from`, checked in the same
   * atomic step (otherwise `unverified`, and nothing changes). Given only
   * to an engine whose {@linkcode Mailbox.checksSessions} is true.
   */
  readonly sid?: string;
}

/** What became of an {@linkcode AppendRequest}. */
export type AppendResult =
  /**
   * Committed; `seqs` in the order of `recipients`, then the own copy's.
   * `sentAt`, when present, is the time the engine stored instead of
   * `message.sentAt`: a cluster engine moves it forward to the newest time
   * stored so far, so every mailbox stays in sent-at order even when the
   * nodes' clocks differ. The server answers it as the send's `sent-at`.
   */
  | { readonly kind: "appended"; readonly seqs: readonly number[]; readonly sentAt?: number }
  /** The same key and body were accepted before: nothing was appended now. */
  | { readonly kind: "replayed"; readonly id: string; readonly sentAt: number }
  /** The same key came with another body: nothing was appended. */
  | { readonly kind: "key_conflict" }
  /** A recipient has `mailboxMax` undelivered entries: nothing was appended. */
  | { readonly kind: "mailbox_full"; readonly user: string }
  /** A recipient would be a new mailbox past `maxMailboxes`: nothing was appended. */
  | { readonly kind: "mailboxes_full" }
  /** The store holds `maxBytes` and nothing old enough could be trimmed: nothing was appended. */
  | { readonly kind: "store_full" }
  /**
   * `sid` could not be vouched for (no such session, another user's, or idle
   * as far as the engine knows): nothing was appended; check the session the
   * long way and send again.
   */
  | { readonly kind: "unverified" };

/** Where a resuming socket starts: the `__resumed__` notice's numbers. */
export interface Resume {
  /** The oldest retained (still deliverable) seq; `last + 1` when none is. */
  readonly first: number;
  /** The newest seq now (0 for a mailbox that never had an entry). */
  readonly last: number;
  /** Whether no entry with seq in `(since, last]` was lost (expired, trimmed, or gone with the store). */
  readonly recovered: boolean;
}

/** A page request for history. */
export interface HistoryQuery {
  /** Newest first, seq < before (`Infinity` for the newest). Ignored when `after` is given. */
  readonly before?: number;
  /** Oldest first, seq > after. */
  readonly after?: number;
  readonly limit: number;
  /** Only one-to-one entries with this user, both directions. */
  readonly with?: string;
  /** Only this topic's entries (the sender's own included, and its deletion notice). */
  readonly topic?: string;
}

/** A page of history. */
export interface HistoryPage {
  readonly entries: readonly Entry[];
  /** Whether more entries match beyond this page, in its direction. */
  readonly hasMore: boolean;
}

/** Counts for monitoring and leak checks. */
export interface MailboxStats {
  /** Entries stored (retained for history or delivery). */
  readonly entries: number;
  /** Messages stored (a topic message once). */
  readonly messages: number;
  /** Bytes counted against `maxBytes`. */
  readonly bytes: number;
  /** Mailboxes: every user who ever had an entry. */
  readonly mailboxes: number;
}

/** What an entry costs against `maxBytes` besides its message. */
export const ENTRY_BYTES = 32;

/**
 * The bytes counted against {@linkcode MailboxOptions.maxBytes} for messages
 * of `bodyBytes` in all (`messageBytes` of each, once however many hold it)
 * held by `entries` entries: the one rule every engine caps by.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { countedBytes, ENTRY_BYTES } from "./mailbox.ts";
 * // A topic message of 100 bytes held by 3 members and the sender's copy.
 * assert.equal(countedBytes(100, 4), 100 + 4 * ENTRY_BYTES);
 * ```
 */
export function countedBytes(bodyBytes: number, entries: number): number {
  return bodyBytes + entries * ENTRY_BYTES;
}

/**
 * How many entries `request` adds: one per recipient, and the sender's copy.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryCount } from "./mailbox.ts";
 * const message = {
 *   id: "m1", sentAt: 0, kind: "direct" as const, from: "Harry", to: ["Ron_W"], topic: "", content: "",
 * };
 * assert.equal(entryCount({ message, recipients: ["Ron_W"], ownCopy: true }), 2);
 * ```
 */
export function entryCount(request: AppendRequest): number {
  return request.recipients.length + (request.ownCopy ? 1 : 0);
}

/** Limits and clocks every engine takes. */
export interface MailboxOptions {
  /** How long an entry stays deliverable after `sentAt`. */
  readonly offlineTtlMs: number;
  /** How long an entry stays readable through history after `sentAt`. */
  readonly historyTtlMs: number;
  /** Undelivered entries (own copies not counted) per user before sends to them are refused. */
  readonly mailboxMax: number;
  /** Stored bytes in all before sends are refused (after trimming what was delivered). */
  readonly maxBytes: number;
  /**
   * Mailboxes at most. A mailbox outlives its entries (its seqs are never
   * reused), and recipients need not be users, so this caps what a flood of
   * made-up names can grow.
   */
  readonly maxMailboxes: number;
  /** Told of every committed entry, per user in seq order. */
  readonly onAppended?: (user: string, entry: Entry) => void;
  /** The clock (injectable for tests). */
  readonly now?: () => number;
}

/** The per-user ordered log of entries. */
export interface Mailbox {
  /**
   * Whether {@linkcode AppendRequest.sid} is checked with the append: true
   * for an engine that keeps the sessions beside the mailboxes (Redis), so
   * a send needs one round trip instead of a session check and then the
   * append.
   */
  readonly checksSessions?: boolean;
  /**
   * Appends a message to every recipient's mailbox and the sender's copy,
   * atomically, or refuses it whole.
   */
  append(request: AppendRequest): Promise<AppendResult>;
  /**
   * Up to `limit` of `user`'s committed entries with seq > `after`, in seq
   * order, expired ones included (the reader decides what to skip; fewer
   * than `limit` means there are no more now).
   */
  read(user: string, after: number, limit: number): Promise<Entry[]>;
  /**
   * Records that `entry` of `user`'s was written to a socket (or skipped
   * there as undeliverable): their cursor moves past it and it stops
   * counting against `mailboxMax`. Kept in memory at once, made durable
   * soon after (a durable engine says how soon).
   */
  consumed(user: string, entry: Entry): void;
  /** `user`'s cursor: where a v1 socket starts reading. */
  cursor(user: string): Promise<number>;
  /** The numbers for a socket that resumes with `since`. */
  resume(user: string, since: number): Promise<Resume>;
  /** A page of `user`'s history. */
  history(user: string, query: HistoryQuery): Promise<HistoryPage>;
  /**
   * Removes every entry of `topic`'s chat messages from every mailbox,
   * sender copies included (not deletion notices).
   */
  purgeTopic(topic: string): Promise<void>;
  /** Frees what expired; bounded work per call, so the clock can call it often. */
  sweep(): Promise<void>;
  /** Counts of what is stored. */
  stats(): MailboxStats;
  /** Makes everything durable and releases the engine's resources. */
  close(): Promise<void>;
}

/**
 * Whether a mailbox entry passes a history query's `with` and `topic` filters.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchesQuery } from "./mailbox.ts";
 * const message = {
 *   id: "m1", sentAt: 0, kind: "direct" as const, from: "Harry", to: ["Ron_W"], topic: "", content: "",
 * };
 * const query = { limit: 10, with: "Harry" };
 * assert.equal(matchesQuery({ seq: 1, message, own: false }, query), true);
 * assert.equal(matchesQuery({ seq: 1, message, own: false }, { limit: 10, topic: "quidditch" }), false);
 * ```
 */
export function matchesQuery(entry: Entry, query: HistoryQuery): boolean {
  const { message } = entry;
  if (query.with !== undefined) {
    if (message.kind !== "direct") return false;
    return entry.own ? message.to.includes(query.with) : message.from === query.with;
  }
  if (query.topic !== undefined) {
    return message.kind !== "direct" && message.topic === query.topic;
  }
  return true;
}
