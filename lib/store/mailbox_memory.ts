/**
 * The in-memory engine of {@linkcode Mailbox} (`IM_STORE=memory`): what v1
 * kept, with seqs and history. Everything is lost with the process; a client
 * that resumes afterwards is told `recovered: false`.
 *
 * @module
 */

import { type Message, messageBytes } from "../protocol/messages.ts";
import { Fifo } from "../util/fifo.ts";
import {
  type AppendRequest,
  type AppendResult,
  countedBytes,
  type Entry,
  entryCount,
  type HistoryPage,
  type HistoryQuery,
  type Mailbox,
  type MailboxOptions,
  type MailboxStats,
  type Resume,
} from "./mailbox.ts";
import { UnreadCounter } from "./unread.ts";

interface Box {
  // Entries in seq order (and so in send order); `start` skips the removed head.
  list: Held[];
  start: number;
  last: number;
  cursor: number;
  // The highest seq removed by expiry or trimming: a loss for a resume below it.
  lostThrough: number;
  unread: UnreadCounter;
}

// A stored message's entries point back at it, so nothing else maps one to
// the other: a stored message is a handful of objects, since the GC copies
// each of them once it outlives the young generation.
interface Stored {
  readonly message: Message;
  readonly bytes: number;
  readonly holders: Held[];
  gone: boolean;
}

interface Held extends Entry {
  readonly user: string;
  readonly stored: Stored;
}

interface Receipt {
  readonly bodyHash: string;
  readonly id: string;
  readonly sentAt: number;
}

/**
 * Mailboxes in memory.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryMailbox } from "./mailbox_memory.ts";
 * const mailbox = new MemoryMailbox({
 *   offlineTtlMs: 600_000, historyTtlMs: 604_800_000, mailboxMax: 10_000, maxBytes: 1 << 26,
 *   maxMailboxes: 100_000,
 * });
 * const message = {
 *   id: "m1", sentAt: Date.now(), kind: "direct" as const, from: "Harry",
 *   to: ["Ron_W"], topic: "", content: "Are you OK ?",
 * };
 * const result = await mailbox.append({ message, recipients: ["Ron_W"], ownCopy: true });
 * assert.deepEqual(result, { kind: "appended", seqs: [1, 1] }); // Ron's first, Harry's copy
 * const [entry] = await mailbox.read("Ron_W", 0, 10);
 * assert.equal(entry.message.content, "Are you OK ?");
 * ```
 */
export class MemoryMailbox implements Mailbox {
  readonly #options: MailboxOptions;
  readonly #now: () => number;
  readonly #boxes = new Map<string, Box>();
  // Every stored message, oldest first: expiry and trimming take from the front.
  readonly #messages = new Fifo<Stored>();
  readonly #byTopic = new Map<string, Set<Stored>>();
  readonly #receipts = new Map<string, Receipt>();
  readonly #receiptOrder = new Fifo<{ key: string; sentAt: number }>();
  #bytes = 0;
  #entries = 0;
  #messageCount = 0;

  /** @param options Limits, the clock, and who to tell of new entries. */
  constructor(options: MailboxOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return Promise.resolve(this.#append(request));
  }

  #append(request: AppendRequest): AppendResult {
    const { message, recipients, ownCopy, idempotency } = request;
    const now = this.#now();
    const receiptKey = idempotency && `${message.from}\n${idempotency.key}`;
    if (receiptKey) {
      const receipt = this.#receipts.get(receiptKey);
      if (receipt && receipt.sentAt > now - this.#options.offlineTtlMs) {
        return receipt.bodyHash === idempotency.bodyHash
          ? { kind: "replayed", id: receipt.id, sentAt: receipt.sentAt }
          : { kind: "key_conflict" };
      }
    }
    let newBoxes = 0;
    for (const user of recipients) {
      const box = this.#boxes.get(user);
      if (!box) newBoxes++;
      else if (box.unread.count(now) >= this.#options.mailboxMax) {
        return { kind: "mailbox_full", user };
      }
    }
    if (ownCopy && !this.#boxes.has(message.from)) newBoxes++;
    if (newBoxes > 0 && this.#boxes.size + newBoxes > this.#options.maxMailboxes) {
      return { kind: "mailboxes_full" };
    }
    const bytes = countedBytes(messageBytes(message), entryCount(request));
    if (this.#bytes + bytes > this.#options.maxBytes && !this.#trim(bytes, now)) {
      return { kind: "store_full" };
    }

    // Sized once: arrays grown by push keep spare room for as long as the
    // message is stored.
    const count = recipients.length + (ownCopy ? 1 : 0);
    const holders = new Array<Held>(count);
    const seqs = new Array<number>(count);
    const stored: Stored = { message, bytes, holders, gone: false };
    for (let i = 0; i < count; i++) {
      const own = i === recipients.length;
      const user = own ? message.from : recipients[i];
      const box = this.#box(user);
      const entry: Held = { seq: ++box.last, message, own, user, stored };
      box.list.push(entry);
      if (!own) box.unread.add(message.sentAt);
      holders[i] = entry;
      seqs[i] = entry.seq;
    }
    this.#store(stored);
    if (receiptKey) {
      this.#receipts.set(receiptKey, {
        bodyHash: idempotency!.bodyHash,
        id: message.id,
        sentAt: message.sentAt,
      });
      this.#receiptOrder.push({ key: receiptKey, sentAt: message.sentAt });
    }
    const onAppended = this.#options.onAppended;
    if (onAppended) { for (const entry of stored.holders) onAppended(entry.user, entry); }
    return { kind: "appended", seqs };
  }

  read(user: string, after: number, limit: number): Promise<Entry[]> {
    const box = this.#boxes.get(user);
    if (!box) return Promise.resolve([]);
    const from = this.#indexAfter(box, after);
    return Promise.resolve(box.list.slice(from, from + limit));
  }

  consumed(user: string, entry: Entry): void {
    const box = this.#boxes.get(user);
    if (!box || entry.seq <= box.cursor) return;
    box.cursor = entry.seq;
    if (!entry.own) box.unread.consume();
  }

  cursor(user: string): Promise<number> {
    const box = this.#boxes.get(user);
    if (!box) return Promise.resolve(0);
    return Promise.resolve(Math.max(box.cursor, this.#firstRetained(box) - 1));
  }

  resume(user: string, since: number): Promise<Resume> {
    const box = this.#boxes.get(user);
    if (!box) return Promise.resolve({ first: 1, last: 0, recovered: since === 0 });
    const first = this.#firstRetained(box);
    const next = box.list[this.#indexAfter(box, since)];
    const expiredAfterSince = next !== undefined && next.seq < first;
    const recovered = since <= box.last && box.lostThrough <= since && !expiredAfterSince;
    return Promise.resolve({ first, last: box.last, recovered });
  }

  history(user: string, query: HistoryQuery): Promise<HistoryPage> {
    const box = this.#boxes.get(user);
    if (!box) return Promise.resolve({ entries: [], hasMore: false });
    const oldest = this.#now() - this.#options.historyTtlMs;
    const matches = (entry: Entry) => entry.message.sentAt > oldest && matchesQuery(entry, query);
    const entries: Entry[] = [];
    let hasMore = false;
    if (query.after !== undefined) {
      for (let i = this.#indexAfter(box, query.after); i < box.list.length; i++) {
        if (!matches(box.list[i])) continue;
        if (entries.length === query.limit) {
          hasMore = true;
          break;
        }
        entries.push(box.list[i]);
      }
    } else {
      const before = query.before ?? Infinity;
      for (let i = this.#indexAfter(box, before - 1) - 1; i >= box.start; i--) {
        if (!matches(box.list[i])) continue;
        if (entries.length === query.limit) {
          hasMore = true;
          break;
        }
        entries.push(box.list[i]);
      }
    }
    return Promise.resolve({ entries, hasMore });
  }

  purgeTopic(topic: string): Promise<void> {
    const messages = this.#byTopic.get(topic);
    if (!messages) return Promise.resolve();
    this.#byTopic.delete(topic);
    const holders = new Set<string>();
    for (const stored of messages) {
      for (const entry of stored.holders) {
        holders.add(entry.user);
        const box = this.#boxes.get(entry.user);
        if (box && !entry.own && entry.seq > box.cursor) box.unread.remove(entry.message.sentAt);
      }
      this.#forget(stored);
    }
    // Work proportional to the holders' mailboxes, not to every stored entry.
    for (const user of holders) {
      const box = this.#boxes.get(user)!;
      const kept = box.list.slice(box.start).filter(({ message }) =>
        message.kind !== "topic" || message.topic !== topic
      );
      box.list = kept;
      box.start = 0;
    }
    return Promise.resolve();
  }

  sweep(): Promise<void> {
    const now = this.#now();
    const retainedFrom = now - Math.max(this.#options.historyTtlMs, this.#options.offlineTtlMs);
    for (let stored = this.#messages.peek(); stored; stored = this.#messages.peek()) {
      if (!stored.gone && stored.message.sentAt > retainedFrom) break;
      this.#messages.shift();
      if (!stored.gone) this.#remove(stored);
    }
    const receiptsFrom = now - this.#options.offlineTtlMs;
    for (
      let r = this.#receiptOrder.peek();
      r && r.sentAt <= receiptsFrom;
      r = this.#receiptOrder.peek()
    ) {
      this.#receiptOrder.shift();
      const receipt = this.#receipts.get(r.key);
      if (receipt && receipt.sentAt <= receiptsFrom) this.#receipts.delete(r.key);
    }
    return Promise.resolve();
  }

  stats(): MailboxStats {
    return {
      entries: this.#entries,
      messages: this.#messageCount,
      bytes: this.#bytes,
      mailboxes: this.#boxes.size,
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #box(user: string): Box {
    let box = this.#boxes.get(user);
    if (!box) {
      box = {
        list: [],
        start: 0,
        last: 0,
        cursor: 0,
        lostThrough: 0,
        unread: new UnreadCounter(this.#options.offlineTtlMs),
      };
      this.#boxes.set(user, box);
    }
    return box;
  }

  #store(stored: Stored): void {
    this.#messages.push(stored);
    this.#messageCount++;
    if (stored.message.kind === "topic") {
      let set = this.#byTopic.get(stored.message.topic);
      if (!set) this.#byTopic.set(stored.message.topic, set = new Set());
      set.add(stored);
    }
    this.#bytes += stored.bytes;
    this.#entries += stored.holders.length;
  }

  // Releases a message's bytes and index entries; its place in #messages
  // is dropped when it reaches the front.
  #forget(stored: Stored): void {
    stored.gone = true;
    this.#messageCount--;
    this.#bytes -= stored.bytes;
    this.#entries -= stored.holders.length;
  }

  // Expired past history, or trimmed: gone from every mailbox, and a loss
  // for anyone who resumes from before it.
  #remove(stored: Stored): void {
    this.#forget(stored);
    this.#byTopic.get(stored.message.topic)?.delete(stored);
    if (this.#byTopic.get(stored.message.topic)?.size === 0) {
      this.#byTopic.delete(stored.message.topic);
    }
    for (const entry of stored.holders) {
      const box = this.#boxes.get(entry.user);
      if (!box) continue;
      // Messages leave oldest first, so a holder's entry is at the head of
      // its list (behind nothing but other leaving entries).
      while (box.start < box.list.length && box.list[box.start].stored.gone) {
        box.start++;
      }
      box.lostThrough = Math.max(box.lostThrough, entry.seq);
      if (box.start > 1024 && box.start * 2 > box.list.length) {
        box.list = box.list.slice(box.start);
        box.start = 0;
      }
    }
  }

  // Trims the oldest messages that every recipient has been given (or can
  // no longer be given) until `need` more bytes fit; stops at the first one
  // still waiting for someone, since trimming never skips.
  #trim(need: number, now: number): boolean {
    const deliverableFrom = now - this.#options.offlineTtlMs;
    const target = this.#options.maxBytes - need;
    while (this.#bytes > target) {
      const stored = this.#messages.peek();
      if (!stored) return false;
      if (!stored.gone) {
        const waiting = stored.message.sentAt > deliverableFrom &&
          stored.holders.some((h) => !h.own && h.seq > (this.#boxes.get(h.user)?.cursor ?? 0));
        if (waiting) return false;
        this.#remove(stored);
      }
      this.#messages.shift();
    }
    return true;
  }

  // The index in box.list of the first entry with seq > after.
  #indexAfter(box: Box, after: number): number {
    let lo = box.start;
    let hi = box.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (box.list[mid].seq <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #firstRetained(box: Box): number {
    const from = this.#now() - this.#options.offlineTtlMs;
    let lo = box.start;
    let hi = box.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (box.list[mid].message.sentAt <= from) lo = mid + 1;
      else hi = mid;
    }
    return lo < box.list.length ? box.list[lo].seq : box.last + 1;
  }
}

/**
 * Whether a mailbox entry passes a history query's `with` and `topic` filters.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchesQuery } from "./mailbox_memory.ts";
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
