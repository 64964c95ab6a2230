/**
 * The Redis engine of {@linkcode Mailbox} (`IM_REDIS_URL`): every node of a
 * cluster reads and appends the same mailboxes. The key layout and the
 * scripts' contracts are in `mailbox_redis_lua.ts`.
 *
 * - **One script per append**, atomic across nodes: the id check, the
 *   receipt, every cap, the seqs, the body (once), the entries and one
 *   wake-up on the channel `<prefix>wake`.
 * - **Unknown outcomes.** A send whose reply was lost (the connection
 *   dropped after it was written) is run again: the script knows the
 *   message id and answers the first result instead of appending twice. If
 *   that fails too, a fence script learns the outcome and, if the append did
 *   not run, makes sure it never will; only then does `append` reject with
 *   `StoreUnavailableError` (`not_applied`), which the server answers with
 *   503. Only when Redis stays unreachable for the whole budget
 *   (`appendTimeoutMs`, default 4 s) is the outcome `unknown`.
 * - **Wake-ups.** Entries appended here are announced when the script
 *   returns; those of other nodes when their wake-up arrives (the message and
 *   every `user,seq,own`, so no read is needed). Pub/sub drops what is
 *   published while the subscriber is away, so `onResync` is called after it
 *   reconnects: re-read the mailboxes of this node's users from their last seq.
 *   The link's epoch tells it whether Redis lost its data meanwhile.
 * - **Cursors** are kept here at once and written in batches every
 *   `cursorFlushMs` (default 200 ms), so another node sees a consumed entry
 *   at most that late; and before an append of this node to a user whose
 *   cursor waits, or any append once the store is 90 % full, so the caps
 *   this node checks count what it consumed.
 * - **Stats** are the cluster-wide counters of `<prefix>stats`, as of the
 *   last script this node ran (every append and every sweep).
 *
 * @module
 */

import type {
  AppendRequest,
  AppendResult,
  Entry,
  HistoryPage,
  HistoryQuery,
  Mailbox,
  MailboxOptions,
  MailboxStats,
  Resume,
} from "./mailbox.ts";
import { CursorBuffer } from "./cursor_buffer.ts";
import { appendArgs, pairs, parseBody, parseHolders, parseMeta } from "./mailbox_redis_codec.ts";
import {
  APPEND,
  CURSORS,
  FENCE,
  HISTORY,
  LATE_MS,
  MAILBOX_SCRIPTS,
  POSITION,
  PURGE,
  READ,
  SWEEP,
} from "./mailbox_redis_lua.ts";
import {
  DEFAULT_PREFIX,
  num,
  RedisLink,
  type RedisLinkOptions,
  StoreUnavailableError,
} from "./redis_shared.ts";
import type { RedisReply } from "../redis/resp.ts";

/** Options of the Redis mailbox beyond every engine's. */
export interface RedisMailboxOptions extends MailboxOptions {
  /** Prefix of every key and of the wake-up channel. Default `im:`. */
  readonly prefix?: string;
  /** This node's name in its wake-ups, so it skips its own. Default random. */
  readonly nodeId?: string;
  /**
   * Called after the wake-up subscriber reconnected: whatever other nodes
   * appended meanwhile was not announced, so re-read the mailbox of every
   * user connected here from the last seq they were given. `lost` is true
   * when Redis came back without its data (restarted without persistence,
   * flushed): seqs start again at 1, so a cursor kept from before would skip
   * everything new; close those sockets instead (a resuming client is then
   * told `recovered: false`).
   */
  readonly onResync?: (lost: boolean) => void;
  /** How long an append may take in all, its retry and fence included. Default 4000 ms. */
  readonly appendTimeoutMs?: number;
  /** How often consumed cursors are written. Default 200 ms. */
  readonly cursorFlushMs?: number;
  /**
   * The directory's session TTL: an append's `sid` last seen longer ago is
   * `unverified` (the long way then ends the session or finds it alive).
   * Default 1 day (the server's default).
   */
  readonly sessionTtlMs?: number;
}

// The directory's default session TTL.
const SESSION_TTL_MS = 86_400_000;
// Bounded work per script call, so none holds Redis for long.
const SWEEP_BUDGET = 2_000;
const PURGE_BUDGET = 2_000;
const HISTORY_BUDGET = 2_000;
// Cursors of at most this many users per script call, and written at once past it.
const CURSOR_BATCH = 500;
// Past this share of maxBytes (as of the last script), every append writes the cursors first.
const NEAR_FULL = 0.9;

/**
 * Mailboxes in Redis, shared by every node.
 *
 * @example Usage
 * ```ts ignore
 * import { RedisMailbox } from "./mailbox_redis.ts";
 * const mailbox = await RedisMailbox.connect("redis://127.0.0.1:6379", {
 *   offlineTtlMs: 600_000, historyTtlMs: 604_800_000, mailboxMax: 10_000, maxBytes: 1 << 30,
 *   maxMailboxes: 100_000, onAppended: (user, entry) => console.log(user, entry.seq),
 * });
 * const message = {
 *   id: "m1", sentAt: Date.now(), kind: "direct" as const, from: "Harry",
 *   to: ["Ron_W"], topic: "", content: "Are you OK ?",
 * };
 * console.log(await mailbox.append({ message, recipients: ["Ron_W"], ownCopy: true }));
 * await mailbox.close();
 * ```
 */
export class RedisMailbox implements Mailbox {
  readonly checksSessions = true;
  readonly #link: RedisLink;
  readonly #owned: boolean;
  readonly #options: RedisMailboxOptions;
  readonly #now: () => number;
  readonly #prefix: string;
  readonly #nodeId: string;
  readonly #channel: string;
  readonly #onWake = (payload: string) => this.#wake(payload);
  readonly #stopResync: () => void;
  readonly #cursors: CursorBuffer;
  #closed = false;
  #stats: MailboxStats = { entries: 0, messages: 0, bytes: 0, mailboxes: 0 };

  private constructor(link: RedisLink, owned: boolean, options: RedisMailboxOptions) {
    this.#link = link;
    this.#owned = owned;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#nodeId = options.nodeId ?? crypto.randomUUID();
    this.#channel = `${this.#prefix}wake`;
    this.#stopResync = link.onResubscribed((lost) => {
      if (!this.#closed) options.onResync?.(lost);
    });
    this.#cursors = new CursorBuffer(
      (batch) => this.#writeCursors(batch),
      options.cursorFlushMs ?? 200,
      CURSOR_BATCH,
    );
  }

  /**
   * A mailbox on a shared link (see `openRedisStore`), subscribed to
   * wake-ups when it resolves.
   *
   * @throws {StoreUnavailableError} When Redis cannot be reached.
   */
  static async open(link: RedisLink, options: RedisMailboxOptions): Promise<RedisMailbox> {
    return await RedisMailbox.#start(link, false, options);
  }

  /**
   * A mailbox on connections of its own, closed with it.
   *
   * @throws {StoreUnavailableError} When Redis cannot be reached.
   */
  static connect(
    url: string,
    options: RedisMailboxOptions & { readonly link?: RedisLinkOptions },
  ): Promise<RedisMailbox> {
    const linkOptions = { prefix: options.prefix, ...options.link };
    return RedisLink.connectFor(
      url,
      linkOptions,
      (link) => RedisMailbox.#start(link, true, options),
    );
  }

  static async #start(link: RedisLink, owned: boolean, options: RedisMailboxOptions) {
    await link.load(MAILBOX_SCRIPTS);
    const mailbox = new RedisMailbox(link, owned, options);
    try {
      await link.subscriber.subscribe(mailbox.#channel, mailbox.#onWake);
      await mailbox.sweep();
    } catch (error) {
      mailbox.#detach();
      throw error;
    }
    return mailbox;
  }

  async append(request: AppendRequest): Promise<AppendResult> {
    // Sent first on the same connection when they matter, so the caps see
    // what was consumed here: a recipient's own cursor (mailboxMax), or any
    // (trimming under maxBytes keeps what is unread). Otherwise they wait
    // for their period: flushed before every append, the cursors of a
    // node's sockets went one CURSORS script each, not one per period.
    const { bytes } = this.#stats;
    if (bytes >= this.#options.maxBytes * NEAR_FULL || this.#cursors.holdsAny(request.recipients)) {
      this.#cursors.flush();
    }
    const now = this.#now();
    const args = appendArgs(request, {
      ...this.#options,
      prefix: this.#prefix,
      nodeId: this.#nodeId,
      now,
      seenAfter: now - (this.#options.sessionTtlMs ?? SESSION_TTL_MS),
    });
    const total = this.#options.appendTimeoutMs ?? 4000;
    const deadline = performance.now() + total;
    let reply: RedisReply[];
    try {
      reply = await this.#link.run(APPEND, args, total / 2);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || error.outcome !== "unknown") throw error;
      reply = await this.#settle(request.message.id, args, deadline);
    }
    return this.#result(request, reply);
  }

  // The first attempt's outcome is unknown: run it again (the script
  // answers the first result if it ran), else fence it so it never runs.
  async #settle(
    id: string,
    args: readonly (string | number)[],
    deadline: number,
  ): Promise<RedisReply[]> {
    const left = () => Math.max(1, deadline - performance.now());
    try {
      return await this.#link.run(APPEND, args, left() / 2);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
    try {
      return await this.#link.run(FENCE, [this.#prefix, id, LATE_MS], left());
    } catch (error) {
      const message = "Redis did not answer: the send may or may not have been stored";
      throw new StoreUnavailableError("unknown", message, { cause: error });
    }
  }

  #result(request: AppendRequest, reply: RedisReply[]): AppendResult {
    this.#takeStats(reply);
    switch (reply[0]) {
      case "appended":
      case "dup":
      case "gone": {
        const { sentAt, holders } = parseMeta(reply[1] as string);
        let message = request.message;
        if (sentAt !== message.sentAt) message = { ...message, sentAt };
        const entries = holders.map(({ user, seq, own }) => ({
          user,
          entry: { seq, message, own },
        }));
        // A removed message is not announced again; a duplicate is (its
        // first run's wake-up was skipped here as this node's own).
        if (reply[0] !== "gone") this.#announce(entries);
        const seqs = entries.map(({ entry }) => entry.seq);
        return sentAt === request.message.sentAt
          ? { kind: "appended", seqs }
          : { kind: "appended", seqs, sentAt };
      }
      case "replayed":
        return { kind: "replayed", id: reply[1] as string, sentAt: Number(reply[2]) };
      case "key_conflict":
        return { kind: "key_conflict" };
      case "mailbox_full":
        return { kind: "mailbox_full", user: reply[1] as string };
      case "mailboxes_full":
        return { kind: "mailboxes_full" };
      case "store_full":
        return { kind: "store_full" };
      case "unverified":
        return { kind: "unverified" };
      case "fenced":
        throw new StoreUnavailableError(
          "not_applied",
          "Redis did not answer in time: the send was cancelled and will not be stored",
        );
      default:
        throw new Error(`unexpected append reply ${String(reply[0])}`);
    }
  }

  async read(user: string, after: number, limit: number): Promise<Entry[]> {
    if (limit <= 0) return [];
    const reply = await this.#link.run(READ, [this.#prefix, user, after, limit]);
    return pairs(reply);
  }

  consumed(user: string, entry: Entry): void {
    this.#cursors.consumed(user, entry.seq);
  }

  async cursor(user: string): Promise<number> {
    const local = this.#cursors.local(user);
    const position = await this.#position(user, 0);
    if (!position) return local;
    return Math.max(position.cur, position.first - 1, local);
  }

  async resume(user: string, since: number): Promise<Resume> {
    const position = await this.#position(user, since);
    if (!position) return { first: 1, last: 0, recovered: since === 0 };
    const { first, last, lost, next } = position;
    const expiredAfterSince = next !== 0 && next < first;
    return { first, last, recovered: since <= last && lost <= since && !expiredAfterSince };
  }

  async #position(user: string, since: number) {
    const from = this.#now() - this.#options.offlineTtlMs;
    const reply = await this.#link.run(POSITION, [this.#prefix, user, since, from]);
    if (num(reply[0]) === 0) return undefined;
    const [, last, cur, lost, first, next] = reply.map(num);
    return { last, cur, lost, first, next };
  }

  async history(user: string, query: HistoryQuery): Promise<HistoryPage> {
    const forward = query.after !== undefined;
    const before = query.before ?? Infinity;
    let bound = forward ? `(${query.after}` : before === Infinity ? "+inf" : `(${before}`;
    const cutoff = this.#now() - this.#options.historyTtlMs;
    const want = query.limit + 1;
    const entries: Entry[] = [];
    for (;;) {
      const reply = await this.#link.run(HISTORY, [
        this.#prefix,
        user,
        forward ? "a" : "b",
        bound,
        want - entries.length,
        query.with ?? "",
        query.topic ?? "",
        cutoff,
        HISTORY_BUDGET,
      ]);
      entries.push(...pairs(reply.slice(1)));
      if (entries.length >= want || reply[0] === "") break;
      bound = reply[0] as string;
    }
    return { entries: entries.slice(0, query.limit), hasMore: entries.length > query.limit };
  }

  async purgeTopic(topic: string): Promise<void> {
    const now = this.#now();
    const from = now - this.#options.offlineTtlMs;
    for (let left = 1; left > 0;) {
      const reply = await this.#link.run(PURGE, [this.#prefix, topic, now, from, PURGE_BUDGET]);
      left = num(reply[0]);
      this.#takeStats(reply);
    }
  }

  async sweep(): Promise<void> {
    this.#cursors.flush();
    const now = this.#now();
    const { offlineTtlMs, historyTtlMs } = this.#options;
    const retainedFrom = now - Math.max(offlineTtlMs, historyTtlMs);
    const reply = await this.#link.run(SWEEP, [
      this.#prefix,
      now,
      retainedFrom,
      now - offlineTtlMs,
      SWEEP_BUDGET,
    ]);
    this.#takeStats(reply);
  }

  stats(): MailboxStats {
    return this.#stats;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#cursors.close();
    this.#detach();
    if (this.#owned) await this.#link.close();
  }

  #detach(): void {
    this.#stopResync();
    this.#link.subscriber.unsubscribe(this.#channel, this.#onWake);
  }

  // One CURSORS script per CURSOR_BATCH users.
  async #writeCursors(batch: [string, number][]): Promise<void> {
    const from = this.#now() - this.#options.offlineTtlMs;
    const writes = [];
    for (let i = 0; i < batch.length; i += CURSOR_BATCH) {
      const args = [this.#prefix, from, ...batch.slice(i, i + CURSOR_BATCH).flat()];
      writes.push(this.#link.run(CURSORS, args));
    }
    await Promise.all(writes);
  }

  // A wake-up from any node: `node\nbody\nholders`; this node's own were announced already.
  #wake(payload: string): void {
    const first = payload.indexOf("\n");
    if (payload.slice(0, first) === this.#nodeId) return;
    const second = payload.indexOf("\n", first + 1);
    const message = parseBody(payload.slice(first + 1, second));
    const holders = parseHolders(payload.slice(second + 1));
    this.#announce(holders.map(({ user, seq, own }) => ({ user, entry: { seq, message, own } })));
  }

  #announce(entries: readonly { user: string; entry: Entry }[]): void {
    const onAppended = this.#options.onAppended;
    if (onAppended) { for (const { user, entry } of entries) onAppended(user, entry); }
  }

  #takeStats(reply: RedisReply[]): void {
    const [entries, messages, bytes, mailboxes] = reply.slice(-4).map(num);
    this.#stats = { entries, messages, bytes, mailboxes };
  }
}
