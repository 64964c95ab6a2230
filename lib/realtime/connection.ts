/**
 * One live WebSocket of a session: its bounded outbox, the single loop that
 * writes it, the frames the client sends, and its heartbeat state.
 *
 * Delivery never waits. A frame goes into the outbox if there is room;
 * otherwise it goes to the offline store behind the frames already there
 * ("spilled"), and the writer loop pulls stored frames back in as room
 * appears. Offline messages waiting at connect time take the same path, so a
 * live message that arrives during the flush queues behind the backlog and
 * order holds. When the connection ends, whatever was not written goes back to
 * the front of the store: nothing is dropped.
 *
 * @module
 */

import { Close, closedByClient, type CloseReason } from "../protocol/close_codes.ts";
import { Channel } from "../util/channel.ts";
import { ack, badRequest, parseClientFrame, pong } from "../protocol/frames.ts";
import { Heartbeat, type HeartbeatTimings } from "./heartbeat.ts";
import type { OfflineStore, StoredFrame } from "../store/offline_store.ts";
import type { Session } from "../core/sessions.ts";

/** An item of a socket's outbox: a stored frame, or one meant for this socket only. */
export interface Delivery extends StoredFrame {
  /** Heartbeat answers and error notices: only meaningful on the socket they were meant for, never stored. */
  readonly transient?: boolean;
}

/** What a connection needs from the configuration. */
export interface ConnectionOptions extends HeartbeatTimings {
  outboxCapacity: number;
  maxFrameBytes: number;
}

/** Called once, when a connection ends for any reason. */
export type OnConnectionClosed = (connection: Connection, why: CloseReason) => void;

// The writer stops taking frames from the outbox while the socket holds more
// than this many unsent bytes. Kept small: bytes handed to the socket count as
// delivered, so they must not pile up where a dead peer would lose them.
const HIGH_WATER_BYTES = 64 * 1024;
const MAX_POLL_MS = 50;

/**
 * A session's socket.
 *
 * @example Usage
 * ```ts ignore
 * const connection = new Connection(session, socket, store, options, onClosed);
 * connection.start();
 * connection.deliver({ frame: '{"message-type":"message",...}', sentAt: Date.now() });
 * ```
 */
export class Connection {
  readonly session: Session;
  readonly heartbeat: Heartbeat;
  readonly #socket: WebSocket;
  readonly #store: OfflineStore;
  readonly #options: ConnectionOptions;
  readonly #onClosed: OnConnectionClosed;
  readonly #outbox: Channel<Delivery>;
  // Wakes the writer early from its poll of a full socket when the connection ends.
  #wakeWriter: (() => void) | undefined;
  // True while frames for this user wait in the store: new frames must queue
  // behind them rather than overtake them in the outbox.
  #spilled = false;
  #fullSince = 0;
  #waiting = false;

  /**
   * @param session The session the socket belongs to.
   * @param socket An open WebSocket.
   * @param store Where frames go that the outbox cannot take.
   * @param options Outbox size, frame limit and heartbeat timings.
   * @param onClosed Told once when the connection ends.
   */
  constructor(
    session: Session,
    socket: WebSocket,
    store: OfflineStore,
    options: ConnectionOptions,
    onClosed: OnConnectionClosed,
  ) {
    this.session = session;
    this.#socket = socket;
    this.#store = store;
    this.#options = options;
    this.#onClosed = onClosed;
    this.#outbox = new Channel(options.outboxCapacity);
    this.heartbeat = new Heartbeat(options, Date.now());
  }

  /** The user this socket belongs to. */
  get username(): string {
    return this.session.username;
  }

  /** Since when the outbox has been full with no frame written (0: not full). */
  get fullSince(): number {
    return this.#fullSince;
  }

  /** Frames waiting in the outbox. */
  get queued(): number {
    return this.#outbox.size;
  }

  /** Whether the writer loop is waiting for the socket's send buffer to drain. */
  get waitingForDrain(): boolean {
    return this.#waiting;
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.#outbox.closed;
  }

  /** Starts reading frames and writing the outbox, offline backlog first. */
  start(): void {
    this.#socket.onmessage = (event) => this.#onFrame(event.data);
    this.#socket.onclose = (event) => this.close(closedByClient(event.code, event.reason));
    this.#socket.onerror = () => this.close(Close.abnormal);
    this.#spilled = this.#store.has(this.username);
    this.#refill();
    this.#writeLoop();
  }

  /**
   * Queues a frame for this socket without waiting: into the outbox if it has
   * room and nothing is stored ahead of it, else into the offline store.
   */
  deliver(delivery: Delivery): void {
    if (this.closed) {
      this.#store.push(this.username, delivery);
    } else if (!this.#spilled && this.#writeIfIdle(delivery.frame)) {
      // Written at once: nothing was queued or stored ahead of it.
    } else if (this.#spilled || !this.#outbox.trySend(delivery)) {
      this.#store.push(this.username, delivery);
      this.#spilled = true;
      this.#markFull();
    }
  }

  /** Sends a heartbeat probe with the given id. */
  probe(id: number): void {
    this.notify(pong(this.username, id));
  }

  /**
   * Queues a frame meant for this socket only (heartbeat answers, notices):
   * never stored, since a stale one means nothing on the next socket. When the
   * outbox is full it is dropped, and the slow-consumer rule closes the socket
   * soon after.
   */
  notify(frame: string): void {
    if (!this.#writeIfIdle(frame)) {
      this.#outbox.trySend({ frame, sentAt: Date.now(), transient: true });
    }
  }

  /**
   * When the writer is idle on an empty outbox and the socket has room,
   * writes `frame` now — exactly the write the writer would do next — instead
   * of waking the writer for one frame.
   */
  #writeIfIdle(frame: string): boolean {
    if (
      !this.#outbox.awaited || this.#socket.readyState !== WebSocket.OPEN ||
      this.#socket.bufferedAmount > HIGH_WATER_BYTES
    ) {
      return false;
    }
    this.#socket.send(frame);
    return true;
  }

  /** Drops queued frames of a deleted topic, and lets stored ones into the room it makes. */
  purgeTopic(topic: string): void {
    this.#outbox.retain((d) => d.topic !== topic);
    if (this.#spilled) this.#refill();
  }

  /**
   * Ends the connection: keeps every unwritten frame in the store, closes the
   * socket with `why`, and tells the owner. Safe to call more than once.
   */
  close(why: CloseReason): void {
    if (this.closed) return;
    const unwritten = this.#outbox.close();
    this.#store.requeue(this.username, unwritten.filter((d) => !d.transient));
    this.#wakeWriter?.();
    if (
      this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING
    ) {
      this.#socket.close(why.code, why.reason);
    }
    this.#onClosed(this, why);
  }

  async #writeLoop(): Promise<void> {
    for await (const first of this.#outbox) {
      // Frames already queued are written without a promise each.
      for (
        let delivery: Delivery | undefined = first;
        delivery;
        delivery = this.#outbox.tryReceive()
      ) {
        if (this.#socket.readyState !== WebSocket.OPEN) {
          this.close(Close.abnormal);
          // After close(), which put the rest of the outbox back: this one is older.
          if (!delivery.transient) this.#store.requeue(this.username, [delivery]);
          return;
        }
        this.#socket.send(delivery.frame);
        this.#fullSince = 0;
        if (this.#spilled) this.#refill();
        if (this.#socket.bufferedAmount > HIGH_WATER_BYTES) {
          await this.#drained();
          if (this.closed) return;
          // The outbox may have been emptied meanwhile (a deleted topic): pull
          // from the store now, or the loop would wait on an empty outbox.
          if (this.#spilled) this.#refill();
        }
      }
    }
  }

  // Polls, because a server-side WebSocket has no drain event.
  async #drained(): Promise<void> {
    this.#waiting = true;
    let pause = 1;
    while (!this.closed && this.#socket.bufferedAmount > HIGH_WATER_BYTES) {
      await this.#sleep(pause);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
    this.#waiting = false;
  }

  #sleep(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, ms);
    this.#wakeWriter = () => {
      clearTimeout(timer);
      resolve();
    };
    return promise.finally(() => this.#wakeWriter = undefined);
  }

  #refill(): void {
    if (this.closed) return;
    const room = this.#outbox.capacity - this.#outbox.size;
    if (room > 0) {
      for (const delivery of this.#store.take(this.username, room)) this.#outbox.trySend(delivery);
    }
    if (!this.#store.has(this.username)) this.#spilled = false;
    else this.#markFull();
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
      if (size > this.#options.maxFrameBytes) {
        return this.close(Close.tooBig);
      }
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

// Exact UTF-8 length only when the UTF-16 length leaves it in doubt.
function utf8Length(text: string, limit: number): number {
  if (text.length * 3 <= limit) return text.length;
  if (text.length > limit) return text.length;
  return new TextEncoder().encode(text).byteLength;
}
