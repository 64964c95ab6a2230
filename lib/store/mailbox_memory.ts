/**
 * The in-memory engine of {@linkcode Mailbox} (`IM_STORE=memory`): what v1
 * kept, with seqs and history. Everything is lost with the process; a client
 * that resumes afterwards is told `recovered: false`.
 *
 * @module
 */

import { messageBytes } from "../protocol/messages.ts";
import { Fifo } from "../util/fifo.ts";
import { Records } from "../util/records.ts";
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
  matchesQuery,
  type Resume,
} from "./mailbox.ts";
import { MessageArena } from "./message_arena.ts";
import { UnreadCounter } from "./unread.ts";

// Fields of a mailbox's entry record: its seq, and its message's ref times
// two plus one for the sender's own copy.
const SEQ = 0;
const REF = 1;

interface Box {
  readonly number: number;
  readonly user: string;
  // In seq order (and so in send order, and in ref order).
  readonly entries: Records;
  last: number;
  cursor: number;
  // The highest seq removed by expiry or trimming: a loss for a resume below it.
  lostThrough: number;
  unread: UnreadCounter;
}

// An entry handed out by this engine points at its mailbox, so that the
// socket's report of having written it (once per delivery) needs no lookup.
interface HeldEntry extends Entry {
  readonly box: Box;
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
  readonly #byNumber: Box[] = [];
  // Every stored message, oldest first: expiry and trimming take from the front.
  readonly #arena = new MessageArena();
  readonly #byTopic = new Map<string, Set<number>>();
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
    const count = entryCount(request);
    const boxes = new Array<Box | undefined>(count);
    for (let i = 0; i < recipients.length; i++) {
      const box = boxes[i] = this.#boxes.get(recipients[i]);
      if (!box) newBoxes++;
      else if (box.unread.count(now) >= this.#options.mailboxMax) {
        return { kind: "mailbox_full", user: recipients[i] };
      }
    }
    // A sender who sent to themselves was counted among the recipients.
    if (ownCopy && !this.#boxes.has(message.from) && !recipients.includes(message.from)) {
      newBoxes++;
    }
    if (newBoxes > 0 && this.#boxes.size + newBoxes > this.#options.maxMailboxes) {
      return { kind: "mailboxes_full" };
    }
    const bytes = countedBytes(messageBytes(message), count);
    if (this.#bytes + bytes > this.#options.maxBytes && !this.#trim(bytes, now)) {
      return { kind: "store_full" };
    }

    const ref = this.#arena.add(message, count, ownCopy, bytes);
    const seqs = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const own = i === recipients.length;
      const box = (own ? undefined : boxes[i]) ?? this.#box(own ? message.from : recipients[i]);
      boxes[i] = box;
      const seq = ++box.last;
      const at = box.entries.push();
      box.entries.set(at, SEQ, seq);
      box.entries.set(at, REF, ref * 2 + (own ? 1 : 0));
      if (!own) box.unread.add(message.sentAt);
      this.#arena.setHolder(ref, i, box.number, seq);
      seqs[i] = seq;
    }
    this.#messageCount++;
    this.#bytes += bytes;
    this.#entries += count;
    if (message.kind === "topic") {
      let set = this.#byTopic.get(message.topic);
      if (!set) this.#byTopic.set(message.topic, set = new Set());
      set.add(ref);
    }
    if (receiptKey) {
      this.#receipts.set(receiptKey, {
        bodyHash: idempotency!.bodyHash,
        id: message.id,
        sentAt: message.sentAt,
      });
      this.#receiptOrder.push({ key: receiptKey, sentAt: message.sentAt });
    }
    const onAppended = this.#options.onAppended;
    if (onAppended) {
      for (let i = 0; i < count; i++) {
        const box = boxes[i]!;
        const entry: HeldEntry = { seq: seqs[i], message, own: i === recipients.length, box };
        onAppended(box.user, entry);
      }
    }
    return { kind: "appended", seqs };
  }

  read(user: string, after: number, limit: number): Promise<Entry[]> {
    const box = this.#boxes.get(user);
    if (!box) return Promise.resolve([]);
    const from = this.#indexAfter(box, after);
    const to = Math.min(box.entries.length, from + limit);
    const entries = new Array<Entry>(Math.max(0, to - from));
    for (let i = from; i < to; i++) entries[i - from] = this.#entry(box, i);
    return Promise.resolve(entries);
  }

  consumed(user: string, entry: Entry): void {
    const box = (entry as Partial<HeldEntry>).box ?? this.#boxes.get(user);
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
    const next = this.#indexAfter(box, since);
    const expiredAfterSince = next < box.entries.length && box.entries.get(next, SEQ) < first;
    const recovered = since <= box.last && box.lostThrough <= since && !expiredAfterSince;
    return Promise.resolve({ first, last: box.last, recovered });
  }

  history(user: string, query: HistoryQuery): Promise<HistoryPage> {
    const box = this.#boxes.get(user);
    if (!box) return Promise.resolve({ entries: [], hasMore: false });
    const oldest = this.#now() - this.#options.historyTtlMs;
    const entries: Entry[] = [];
    let hasMore = false;
    const after = query.after !== undefined;
    const step = after ? 1 : -1;
    const length = box.entries.length;
    let i = after
      ? this.#indexAfter(box, query.after!)
      : this.#indexAfter(box, (query.before ?? Infinity) - 1) - 1;
    for (; i >= 0 && i < length; i += step) {
      if (this.#arena.sentAt(this.#ref(box, i)) <= oldest) continue;
      const entry = this.#entry(box, i);
      if (!matchesQuery(entry, query)) continue;
      if (entries.length === query.limit) {
        hasMore = true;
        break;
      }
      entries.push(entry);
    }
    return Promise.resolve({ entries, hasMore });
  }

  purgeTopic(topic: string): Promise<void> {
    const refs = this.#byTopic.get(topic);
    if (!refs) return Promise.resolve();
    this.#byTopic.delete(topic);
    const holders = new Set<Box>();
    for (const ref of refs) {
      for (let h = 0; h < this.#arena.holders(ref); h++) {
        const box = this.#byNumber[this.#arena.holderBox(ref, h)];
        holders.add(box);
        const seq = this.#arena.holderSeq(ref, h);
        if (!this.#arena.isOwn(ref, h) && seq > box.cursor) {
          box.unread.remove(this.#arena.sentAt(ref));
        }
      }
      this.#forget(ref);
    }
    // Work proportional to the holders' mailboxes, not to every stored entry.
    for (const box of holders) {
      box.entries.retain((i) => !refs.has(this.#ref(box, i)));
    }
    return Promise.resolve();
  }

  sweep(): Promise<void> {
    const now = this.#now();
    const retainedFrom = now - Math.max(this.#options.historyTtlMs, this.#options.offlineTtlMs);
    while (this.#arena.length > 0) {
      const ref = this.#arena.first;
      if (!this.#arena.isGone(ref)) {
        if (this.#arena.sentAt(ref) > retainedFrom) break;
        this.#remove(ref);
      }
      this.#arena.shift();
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
        number: this.#byNumber.length,
        user,
        entries: new Records(2),
        last: 0,
        cursor: 0,
        lostThrough: 0,
        unread: new UnreadCounter(this.#options.offlineTtlMs),
      };
      this.#boxes.set(user, box);
      this.#byNumber.push(box);
    }
    return box;
  }

  #ref(box: Box, i: number): number {
    return Math.floor(box.entries.get(i, REF) / 2);
  }

  #entry(box: Box, i: number): HeldEntry {
    const tagged = box.entries.get(i, REF);
    return {
      seq: box.entries.get(i, SEQ),
      message: this.#arena.message(Math.floor(tagged / 2)),
      own: tagged % 2 === 1,
      box,
    };
  }

  // Releases a message's bytes and counts; its record leaves the arena when
  // it reaches the front.
  #forget(ref: number): void {
    this.#messageCount--;
    this.#bytes -= this.#arena.counted(ref);
    this.#entries -= this.#arena.holders(ref);
    this.#arena.forget(ref);
  }

  // Expired past history, or trimmed: gone from every mailbox, and a loss
  // for anyone who resumes from before it. `ref` is the arena's first.
  #remove(ref: number): void {
    if (this.#arena.kindOf(ref) === "topic") {
      const topic = this.#arena.message(ref).topic;
      const refs = this.#byTopic.get(topic);
      refs?.delete(ref);
      if (refs?.size === 0) this.#byTopic.delete(topic);
    }
    this.#forget(ref);
    for (let h = 0; h < this.#arena.holders(ref); h++) {
      const box = this.#byNumber[this.#arena.holderBox(ref, h)];
      // Messages leave oldest first, so a holder's entry is at the head of
      // its list (behind nothing but other leaving entries).
      let drop = 0;
      while (drop < box.entries.length && this.#arena.isGone(this.#ref(box, drop))) drop++;
      box.entries.shift(drop);
      box.lostThrough = Math.max(box.lostThrough, this.#arena.holderSeq(ref, h));
    }
  }

  // Trims the oldest messages that every recipient has been given (or can
  // no longer be given) until `need` more bytes fit; stops at the first one
  // still waiting for someone, since trimming never skips.
  #trim(need: number, now: number): boolean {
    const deliverableFrom = now - this.#options.offlineTtlMs;
    const target = this.#options.maxBytes - need;
    while (this.#bytes > target) {
      if (this.#arena.length === 0) return false;
      const ref = this.#arena.first;
      if (!this.#arena.isGone(ref)) {
        if (this.#arena.sentAt(ref) > deliverableFrom && this.#waiting(ref)) return false;
        this.#remove(ref);
      }
      this.#arena.shift();
    }
    return true;
  }

  // Whether a recipient of `ref` has not been given it yet.
  #waiting(ref: number): boolean {
    for (let h = 0; h < this.#arena.holders(ref); h++) {
      if (this.#arena.isOwn(ref, h)) continue;
      const box = this.#byNumber[this.#arena.holderBox(ref, h)];
      if (this.#arena.holderSeq(ref, h) > box.cursor) return true;
    }
    return false;
  }

  // The index in box.entries of the first entry with seq > after.
  #indexAfter(box: Box, after: number): number {
    let lo = 0;
    let hi = box.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (box.entries.get(mid, SEQ) <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #firstRetained(box: Box): number {
    const from = this.#now() - this.#options.offlineTtlMs;
    let lo = 0;
    let hi = box.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#arena.sentAt(this.#ref(box, mid)) <= from) lo = mid + 1;
      else hi = mid;
    }
    return lo < box.entries.length ? box.entries.get(lo, SEQ) : box.last + 1;
  }
}
