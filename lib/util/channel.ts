/**
 * A bounded, closable, async-iterable channel: the one queue between the
 * producers of a socket's frames and the loop that writes them.
 *
 * Producers choose how to meet a full channel: {@linkcode Channel.trySend}
 * answers at once, {@linkcode Channel.send} waits for room until an
 * `AbortSignal` (for example `AbortSignal.timeout(ms)`) gives up. Nothing ever
 * queues without bound: waiting senders hold their own value, and each has a
 * deadline of the caller's choosing.
 *
 * @module
 */

import { Fifo } from "./fifo.ts";

/**
 * Raised by {@linkcode Channel.send} when the channel is or becomes closed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Channel, ChannelClosedError } from "./channel.ts";
 * const channel = new Channel<string>(1);
 * channel.close();
 * await assert.rejects(channel.send("late"), ChannelClosedError);
 * ```
 */
export class ChannelClosedError extends Error {
  override name = "ChannelClosedError";
  constructor() {
    super("channel is closed");
  }
}

interface WaitingSender<T> {
  value: T;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * A FIFO queue holding at most `capacity` values.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Channel } from "./channel.ts";
 * const channel = new Channel<string>(2);
 * assert.equal(channel.trySend("a"), true);
 * assert.equal(channel.trySend("b"), true);
 * assert.equal(channel.trySend("c"), false); // full
 * assert.deepEqual(channel.close(), ["a", "b"]); // what it held goes back to the caller
 * ```
 */
export class Channel<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  readonly #items = new Fifo<T>();
  #closed = false;
  #receivers: ((result: IteratorResult<T>) => void)[] = [];
  #senders: WaitingSender<T>[] = [];

  /**
   * @param capacity How many values the channel holds before it is full (≥ 1).
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`channel capacity must be a whole number ≥ 1, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  /** How many values the channel holds when full. */
  get capacity(): number {
    return this.#capacity;
  }

  /** How many values are buffered now. */
  get size(): number {
    return this.#items.length;
  }

  /** Whether a {@linkcode Channel.trySend} would fail for lack of room. */
  get full(): boolean {
    return this.size >= this.#capacity;
  }

  /** Whether a receiver is waiting: the channel is empty and its reader idle. */
  get awaited(): boolean {
    return this.#receivers.length > 0;
  }

  /** Whether {@linkcode Channel.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Adds a value if there is room, without waiting.
   *
   * @param value The value to queue.
   * @returns `true` if queued (or handed straight to a waiting receiver);
   * `false` if the channel is full or closed.
   */
  trySend(value: T): boolean {
    if (this.#closed) return false;
    const receiver = this.#receivers.shift();
    if (receiver) {
      receiver({ value, done: false });
      return true;
    }
    if (this.full) return false;
    this.#items.push(value);
    return true;
  }

  /**
   * Adds a value, waiting for room while the channel is full.
   *
   * @param value The value to queue.
   * @param options.signal Gives up waiting when aborted (use
   * `AbortSignal.timeout(ms)` for a deadline); the value is then not queued.
   * @returns A promise that resolves once the value is queued.
   * @throws {ChannelClosedError} If the channel is closed before there is room.
   */
  send(value: T, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (this.#closed) return Promise.reject(new ChannelClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.trySend(value)) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const waiter: WaitingSender<T> = { value, resolve, reject, signal };
    if (signal) {
      waiter.onAbort = () => {
        this.#senders = this.#senders.filter((s) => s !== waiter);
        reject(signal.reason);
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
    }
    this.#senders.push(waiter);
    return promise;
  }

  /**
   * Takes the oldest value if one is buffered, without waiting.
   *
   * @returns The value, or `undefined` when the channel is empty.
   */
  tryReceive(): T | undefined {
    if (this.#items.length === 0) return undefined;
    const value = this.#items.shift();
    this.#admitWaitingSender();
    return value;
  }

  /**
   * Takes the oldest value, waiting for one while the channel is empty.
   *
   * @returns `{ value, done: false }`, or `{ done: true }` once the channel is
   * closed and empty.
   */
  receive(): Promise<IteratorResult<T>> {
    if (this.size > 0) return Promise.resolve({ value: this.tryReceive() as T, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    const { promise, resolve } = Promise.withResolvers<IteratorResult<T>>();
    this.#receivers.push(resolve);
    return promise;
  }

  /**
   * Removes every buffered value for which `keep` returns `false`, and admits
   * waiting senders into the room this makes.
   *
   * @param keep Decides which values stay.
   * @returns How many values were removed.
   */
  retain(keep: (value: T) => boolean): number {
    const removed = this.#items.retain(keep);
    while (!this.full && this.#admitWaitingSender());
    return removed;
  }

  /**
   * Closes the channel and hands back what it still held. Waiting senders are
   * rejected with {@linkcode ChannelClosedError}; waiting receivers finish.
   *
   * @returns The values that were buffered, oldest first (nothing was lost:
   * the caller decides where they go).
   */
  close(): T[] {
    if (this.#closed) return [];
    this.#closed = true;
    const left = this.#items.clear();
    for (const sender of this.#senders.splice(0)) {
      sender.signal?.removeEventListener("abort", sender.onAbort!);
      sender.reject(new ChannelClosedError());
    }
    for (const receiver of this.#receivers.splice(0)) receiver({ value: undefined, done: true });
    return left;
  }

  /** Iterates values as they arrive, until the channel is closed and empty. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    // A plain iterator rather than an async generator: one small object per
    // loop instead of a generator and its promise chain (a socket each).
    return { next: () => this.receive() };
  }

  #admitWaitingSender(): boolean {
    const sender = this.#senders.shift();
    if (!sender) return false;
    sender.signal?.removeEventListener("abort", sender.onAbort!);
    this.#items.push(sender.value);
    sender.resolve();
    return true;
  }
}
