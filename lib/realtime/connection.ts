/**
 * One live WebSocket of a session: its bounded outbox, the single loop that
 * writes it, the frames the client sends, and its heartbeat state.
 *
 * The outbox is a window onto the user's mailbox, never a second copy that
 * must be saved. The connection keeps a cursor (the last seq it queued or
 * skipped). While it is caught up, each new entry the hub offers goes
 * straight into the outbox, or to the socket itself when the writer is idle.
 * When the outbox is full, or at the start, it is "behind": new entries are
 * left in the mailbox and the writer reads them from there, after the
 * cursor, as room appears. So nothing waits anywhere but in the mailbox and
 * one bounded outbox, a slow socket costs only its own outbox, and when the
 * connection ends nothing needs putting back: the mailbox's cursor moved
 * only for what was actually written.
 *
 * @module
 */

import { Close, closedByClient, type CloseReason } from "../protocol/close_codes.ts";
import { ack, badRequest, parseClientFrame, pong } from "../protocol/frames.ts";
import { entryFrame } from "../protocol/messages.ts";
import type { Session } from "../core/sessions.ts";
import type { Entry } from "../store/mailbox.ts";
import type { DeliveryMetrics } from "../telemetry/server_metrics.ts";
import { Channel } from "../util/channel.ts";
import { Heartbeat, type HeartbeatTimings } from "./heartbeat.ts";

/** An item of a socket's outbox: a mailbox entry's frame, or a frame for this socket only. */
export interface Delivery {
  readonly frame: string;
  /** The entry it shows; none for heartbeat answers and notices, which are never stored. */
  readonly entry?: Entry;
}

/** What a connection reads from and reports to: the user's mailbox. */
export interface MailboxReader {
  /** Up to `limit` committed entries after `after`, in seq order. */
  read(user: string, after: number, limit: number): Promise<Entry[]>;
  /** `entry` was written to the socket, or skipped as undeliverable. */
  consumed(user: string, entry: Entry): void;
}

/** What a connection needs from the configuration. */
export interface ConnectionOptions extends HeartbeatTimings {
  outboxCapacity: number;
  maxFrameBytes: number;
  offlineTtlMs: number;
  /** Where deliveries are counted, if anywhere. */
  metrics?: DeliveryMetrics;
}

/** How the client opened the socket. */
export interface ConnectionMode {
  /**
   * Opened with `since`: it is given the user's own sent messages too, and
   * may be given again what an earlier socket was written (at-least-once).
   * Without it (v1), own copies are skipped.
   */
  readonly resume: boolean;
}

/** Called once, when a connection ends for any reason. */
export type OnConnectionClosed = (connection: Connection, why: CloseReason) => void;

/** Called when reading the mailbox failed (the connection closes with 1011). */
export type OnConnectionError = (connection: Connection, error: unknown) => void;

/**
 * The writer stops taking frames from the outbox while the socket holds more
 * than this many bytes not yet flushed to the kernel. A server-side WebSocket
 * has no drain event, so each pause is a timer of a millisecond or more, even
 * though the runtime flushes what one turn wrote right after it: the mark
 * decides how often a backlog's flush stops to wait. At 64 KiB a flush of
 * 10,000 entries spent most of its time asleep (docs/performance-log.md). A
 * stalled socket holds at most this much beside its kernel buffer and outbox.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { HIGH_WATER_BYTES } from "./connection.ts";
 * assert.equal(HIGH_WATER_BYTES, 256 * 1024);
 * ```
 */
export const HIGH_WATER_BYTES = 256 * 1024;
// Frames kept from before the start (the mailbox is asked where to begin);
// a client has no reason to send more than a ping or two by then.
const EARLY_FRAMES = 16;
const MAX_POLL_MS = 50;

/**
 * A session's socket.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Connection } from "./connection.ts";
 * import { MemoryMailbox } from "../store/mailbox_memory.ts";
 * import { FakeSocket } from "../../tests/realtime/fake_socket.ts";
 * const mailbox = new MemoryMailbox({
 *   offlineTtlMs: 60_000, historyTtlMs: 60_000, mailboxMax: 100, maxBytes: 1 << 20,
 *   maxMailboxes: 100,
 * });
 * const message = {
 *   id: "m1", sentAt: Date.now(), kind: "direct" as const, from: "Harry",
 *   to: ["Ron_W"], topic: "", content: "hi",
 * };
 * await mailbox.append({ message, recipients: ["Ron_W"], ownCopy: false });
 * const socket = new FakeSocket();
 * const session = { sid: "s", username: "Ron_W", lastSeen: Date.now() };
 * const connection = new Connection(session, socket.ws, mailbox, {
 *   outboxCapacity: 8, maxFrameBytes: 65536, offlineTtlMs: 60_000,
 *   clientTimeoutMs: 60_000, probeIntervalMs: 20_000, probeMaxMisses: 3,
 * }, { resume: false }, () => {});
 * connection.start(0);
 * await new Promise((resolve) => setTimeout(resolve, 10));
 * assert.equal(socket.frames[0].content, "hi");
 * assert.equal(await mailbox.cursor("Ron_W"), 1);
 * connection.close({ code: 4000, reason: "logged out" });
 * ```
 */
export class Connection {
  readonly session: Session;
  readonly heartbeat: Heartbeat;
  readonly #socket: WebSocket;
  readonly #mailbox: MailboxReader;
  readonly #options: ConnectionOptions;
  readonly #mode: ConnectionMode;
  readonly #onClosed: OnConnectionClosed;
  readonly #onError: OnConnectionError | undefined;
  readonly #outbox: Channel<Delivery>;
  // Set while the writer's poll of a full socket has a timer pending; wakes
  // it early when the connection ends.
  #wakeWriter: (() => void) | undefined;
  // The last seq queued, written or skipped; everything after it is in the mailbox.
  #cursor = 0;
  // The highest seq the hub offered: a reader that reaches it is caught up.
  #latest = 0;
  #behind = true;
  #reading = false;
  #fullSince = 0;
  // An upper bound of the socket's bufferedAmount (see #hasRoom); unknown
  // until the first write reads it.
  #bufferedAtMost = Infinity;
  // Frames the client sent before start(): answered after `first`, in order.
  #early: unknown[] | undefined = [];

  /**
   * @param session The session the socket belongs to.
   * @param socket An open WebSocket.
   * @param mailbox Where the user's entries are read from.
   * @param options Outbox size, frame limit, delivery TTL and heartbeat timings.
   * @param mode Whether the client resumes (v2) or not (v1).
   * @param onClosed Told once when the connection ends.
   * @param onError Told when the mailbox could not be read.
   */
  constructor(
    session: Session,
    socket: WebSocket,
    mailbox: MailboxReader,
    options: ConnectionOptions,
    mode: ConnectionMode,
    onClosed: OnConnectionClosed,
    onError?: OnConnectionError,
  ) {
    this.session = session;
    this.#socket = socket;
    this.#mailbox = mailbox;
    this.#options = options;
    this.#mode = mode;
    this.#onClosed = onClosed;
    this.#onError = onError;
    this.#outbox = new Channel(options.outboxCapacity);
    this.heartbeat = new Heartbeat(options, Date.now());
    this.#socket.onmessage = (event) => {
      if (!this.#early) return this.#onFrame(event.data);
      this.session.lastSeen = Date.now();
      if (this.#early.length < EARLY_FRAMES) this.#early.push(event.data);
    };
    this.#socket.onclose = (event) => this.close(closedByClient(event.code, event.reason));
    this.#socket.onerror = () => this.close(Close.abnormal);
  }

  /** The user this socket belongs to. */
  get username(): string {
    return this.session.username;
  }

  /** Since when the outbox has been full with nothing written (0: not full). */
  get fullSince(): number {
    return this.#fullSince;
  }

  /** Frames waiting in the outbox. */
  get queued(): number {
    return this.#outbox.size;
  }

  /** Whether the writer loop is waiting for the socket's send buffer to drain (a timer). */
  get waitingForDrain(): boolean {
    return this.#wakeWriter !== undefined;
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.#outbox.closed;
  }

  /**
   * Starts delivering: `first` (the `__resumed__` notice) if given, then the
   * mailbox's entries after `cursor`, then new ones as they are offered.
   * Entries offered before this call are not lost: they are read from the
   * mailbox.
   */
  start(cursor: number, first?: string): void {
    if (this.closed) return;
    this.#cursor = cursor;
    if (first !== undefined) this.#outbox.trySend({ frame: first });
    // Answered only now, so an early ping's ack cannot overtake `first`.
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const data of early) this.#onFrame(data);
    this.#writeLoop();
    this.#refill();
  }

  /**
   * Offers a newly committed entry of this user's. It is queued at once when
   * the connection is caught up and has room; otherwise it stays in the
   * mailbox for the writer to read in turn. Never waits.
   */
  offer(entry: Entry): void {
    if (this.closed || entry.seq <= this.#cursor) return;
    if (entry.seq > this.#latest) this.#latest = entry.seq;
    if (this.#behind) return;
    // A gap: something in between is not here (a missed wake-up in a
    // cluster). The mailbox knows what it was.
    if (entry.seq !== this.#cursor + 1 || !this.#take(entry)) {
      this.#behind = true;
      this.#markFull();
      this.#refill();
    }
  }

  /**
   * Reads the mailbox again from the cursor: offers may have been missed
   * (a cluster's wake-ups are best effort). Settles when the read it starts
   * has caught up or filled the outbox, and at once when a read is already
   * under way (that one reads on: the connection is marked behind). It never
   * rejects.
   */
  resync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.#behind = true;
    return this.#refill();
  }

  /** Sends a heartbeat probe with the given id. */
  probe(id: number): void {
    this.notify(pong(this.username, id));
  }

  /**
   * Queues a frame meant for this socket only (heartbeat answers, notices):
   * never stored, since a stale one means nothing on the next socket. When
   * the outbox is full it is dropped, and the slow-consumer rule closes the
   * socket soon after.
   */
  notify(frame: string): void {
    if (!this.closed && !this.#writeIfIdle(frame)) this.#outbox.trySend({ frame });
  }

  /** Drops queued entries of a deleted topic (the mailbox has dropped them already). */
  purgeTopic(topic: string): void {
    this.#outbox.retain(({ entry }) =>
      entry?.message.kind !== "topic" || entry.message.topic !== topic
    );
    this.#refill();
  }

  /**
   * Ends the connection: closes the socket with `why` and tells the owner.
   * What the outbox held stays in the mailbox, after the cursor. Safe to
   * call more than once.
   */
  close(why: CloseReason): void {
    if (this.closed) return;
    this.#outbox.close();
    this.#wakeWriter?.();
    const state = this.#socket.readyState;
    if (state === WebSocket.OPEN || state === WebSocket.CONNECTING) {
      this.#socket.close(why.code, why.reason);
    }
    this.#onClosed(this, why);
  }

  // Queues `entry` (the one after the cursor) or skips it; false when there is no room.
  #take(entry: Entry): boolean {
    if (!this.#deliverable(entry)) {
      this.#cursor = entry.seq;
      this.#mailbox.consumed(this.username, entry);
      return true;
    }
    const frame = entryFrame(entry.message, this.username, entry.own, entry.seq);
    if (this.#writeIfIdle(frame)) {
      this.#cursor = entry.seq;
      this.#written(entry);
      return true;
    }
    if (!this.#outbox.trySend({ frame, entry })) return false;
    this.#cursor = entry.seq;
    return true;
  }

  #written(entry: Entry): void {
    this.#mailbox.consumed(this.username, entry);
    const metrics = this.#options.metrics;
    if (metrics) {
      metrics.delivered.inc();
      metrics.deliverySeconds.observe((Date.now() - entry.message.sentAt) / 1000);
    }
  }

  #deliverable(entry: Entry): boolean {
    if (entry.own && !this.#mode.resume) return false;
    return entry.message.sentAt > Date.now() - this.#options.offlineTtlMs;
  }

  /**
   * When the writer is idle on an empty outbox and the socket has room,
   * writes `frame` now — exactly the write the writer would do next —
   * instead of waking the writer for one frame.
   */
  #writeIfIdle(frame: string): boolean {
    if (
      !this.#outbox.awaited || this.#socket.readyState !== WebSocket.OPEN || !this.#hasRoom()
    ) {
      return false;
    }
    this.#send(frame);
    return true;
  }

  #send(frame: string): void {
    this.#socket.send(frame);
    // UTF-8 takes at most 3 bytes a UTF-16 unit; a frame's header at most 14.
    this.#bufferedAtMost += 3 * frame.length + 14;
  }

  // Whether the socket holds no more than the high-water mark. Reading
  // `bufferedAmount` is a call into the runtime, once per write; but only
  // our own writes raise it, so while its last reading plus what was written
  // since stays under the mark there is no need to ask.
  #hasRoom(): boolean {
    if (this.#bufferedAtMost <= HIGH_WATER_BYTES) return true;
    this.#bufferedAtMost = this.#socket.bufferedAmount;
    return this.#bufferedAtMost <= HIGH_WATER_BYTES;
  }

  // Reads the mailbox after the cursor into the outbox's free room, until
  // caught up or full. One read at a time; the writer calls it again as
  // room appears.
  async #refill(): Promise<void> {
    if (this.#reading || !this.#behind || this.closed) return;
    this.#reading = true;
    try {
      while (this.#behind && !this.closed) {
        const room = this.#outbox.capacity - this.#outbox.size;
        if (room <= 0) return this.#markFull();
        const offeredBefore = this.#latest;
        const entries = await this.#mailbox.read(this.username, this.#cursor, room);
        if (this.closed) return;
        for (const entry of entries) {
          if (entry.seq > this.#cursor && !this.#take(entry)) return this.#markFull();
        }
        // Fewer than asked: nothing more was committed when it was read. An
        // entry offered while the read was on its way may be missing from it
        // (a remote store): read again. Otherwise, caught up — also when an
        // entry offered earlier was not found: it has been purged since.
        const offeredDuring = this.#latest > offeredBefore;
        if (
          entries.length < room && !offeredDuring &&
          (this.#cursor >= this.#latest || entries.length === 0)
        ) {
          this.#behind = false;
        }
      }
    } catch (error) {
      this.#onError?.(this, error);
      this.close(Close.internalError);
    } finally {
      this.#reading = false;
    }
  }

  async #writeLoop(): Promise<void> {
    const lowWater = Math.floor(this.#outbox.capacity / 2);
    for await (const first of this.#outbox) {
      // Frames already queued are written without a promise each.
      for (
        let delivery: Delivery | undefined = first;
        delivery;
        delivery = this.#outbox.tryReceive()
      ) {
        if (this.#socket.readyState !== WebSocket.OPEN) return this.close(Close.abnormal);
        this.#send(delivery.frame);
        if (delivery.entry) this.#written(delivery.entry);
        this.#fullSince = 0;
        if (this.#behind && this.#outbox.size <= lowWater) this.#refill();
        if (!this.#hasRoom()) {
          await this.#drained();
          if (this.closed) return;
          if (this.#behind) this.#refill();
        }
      }
    }
  }

  // Polls, because a server-side WebSocket has no drain event.
  async #drained(): Promise<void> {
    let pause = 1;
    while (!this.closed && !this.#hasRoom()) {
      await this.#sleep(pause);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
  }

  #sleep(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const wake = () => {
      clearTimeout(timer);
      this.#wakeWriter = undefined;
      resolve();
    };
    const timer = setTimeout(wake, ms);
    this.#wakeWriter = wake;
    return promise;
  }

  #markFull(): void {
    if (this.#fullSince === 0 && this.#outbox.full) this.#fullSince = Date.now();
  }

  #onFrame(data: unknown): void {
    if (this.closed) return;
    this.session.lastSeen = Date.now();
    if (typeof data !== "string") {
      const size = data instanceof ArrayBuffer
        ? data.byteLength
        : data instanceof Blob
        ? data.size
        : 0;
      if (size > this.#options.maxFrameBytes) return this.close(Close.tooBig);
      return this.notify(badRequest("binary frames are not supported; send JSON text"));
    }
    if (utf8Length(data, this.#options.maxFrameBytes) > this.#options.maxFrameBytes) {
      return this.close(Close.tooBig);
    }
    const parsed = parseClientFrame(data);
    if (!parsed.ok) return this.notify(badRequest(parsed.error));
    if (parsed.frame.type === "ping") this.notify(ack(parsed.frame.id));
    else this.heartbeat.acknowledge(parsed.frame.id);
  }
}

const utf8 = new TextEncoder();

// Exact UTF-8 length only when the UTF-16 length leaves it in doubt.
function utf8Length(text: string, limit: number): number {
  if (text.length * 3 <= limit || text.length > limit) return text.length;
  return utf8.encode(text).byteLength;
}
