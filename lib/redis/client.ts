/**
 * A Redis client with no dependencies beyond the Deno runtime.
 *
 * - {@linkcode RedisClient} sends commands over one pipelined connection:
 *   many commands in flight, replies matched in order, the commands of one
 *   event-loop iteration written together (TCP_NODELAY: nothing waits for
 *   an ACK). Every call has a deadline (one timer for all of them), the
 *   number of unanswered calls is bounded, and a dropped connection is
 *   reopened with exponential backoff and jitter.
 * - `RedisSubscriber` (`subscriber.ts`) holds a separate pub/sub
 *   connection and resubscribes after a reconnect.
 * - `RedisScript` (`script.ts`) runs Lua by EVALSHA, loading it on NOSCRIPT.
 * - `resp.ts` is the RESP2/RESP3 codec, `url.ts` parses `redis://` URLs and
 *   `errors.ts` holds the error classes.
 *
 * Failures are typed so callers can tell a definite answer from an unknown
 * outcome: a `RedisError` is the server's error reply; a
 * `RedisConnectionError` (or its subclass `RedisTimeoutError`) with
 * `sent: true` means the command may or may not have run, and with
 * `sent: false` that it never left the process; a `RedisQueueFullError`
 * means the call was refused at once because too many were pending.
 *
 * While disconnected, calls are queued (not sent, so replaying them is
 * safe) until the next connection or their deadline, whichever comes first;
 * `maxPending` bounds the queue.
 *
 * @example Usage
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { RedisClient } from "./client.ts";
 *
 * await using client = await RedisClient.connect("redis://127.0.0.1:6379/0");
 * assert.equal(await client.command(["SET", "greeting", "hello"]), "OK");
 * assert.deepEqual(await client.pipeline([["INCR", "n"], ["GET", "greeting"]]), [1, "hello"]);
 * ```
 *
 * @module
 */

import { RedisConnection, type RedisConnectionOptions } from "./connection.ts";
import {
  RedisConnectionError,
  RedisError,
  RedisProtocolError,
  RedisQueueFullError,
  RedisTimeoutError,
} from "./errors.ts";
import { Fifo } from "../util/fifo.ts";
import {
  encodeCommand,
  type RedisArg,
  RedisPush,
  type RedisReply,
  type RespParser,
} from "./resp.ts";

/**
 * Hooks for metrics and logs, so this module needs to know nothing about
 * either. Each is called synchronously; keep them cheap.
 */
export interface RedisObserver {
  /**
   * A call settled. `name` is the command in upper case, `seconds` the time
   * from the call to its settling, and `ok` false for any failure, error
   * replies included.
   */
  onCommand?(name: string, seconds: number, ok: boolean): void;
  /** A connection was re-established after a drop. */
  onReconnect?(): void;
  /** The connection dropped, a connection attempt failed, or a callback threw. */
  onError?(error: unknown): void;
}

/** Options of {@linkcode RedisClient.connect}. */
export interface RedisClientOptions extends RedisConnectionOptions {
  /** Default deadline of each call. Default 5000 ms. */
  timeoutMs?: number;
  /** Most calls queued or in flight at once; past it, calls fail fast. Default 10,000. */
  maxPending?: number;
  /** Receives RESP3 push frames (e.g. client-side caching invalidations). */
  onPush?(data: RedisReply[]): void;
  /** Metrics and logging hooks. */
  observer?: RedisObserver;
}

/** Options of {@linkcode RedisClient.command}. */
export interface CommandOptions {
  /**
   * Aborting rejects the call with the signal's reason. A command already
   * sent still runs on the server; its reply is then discarded.
   */
  signal?: AbortSignal;
  /** This call's deadline instead of the client's `timeoutMs`. */
  timeoutMs?: number;
  /** `false` returns bulk strings as `Uint8Array` instead of UTF-8 strings. Default `true`. */
  decode?: boolean;
}

interface Pending {
  name: RedisArg;
  /** The encoded command until it is written. */
  bytes: Uint8Array | undefined;
  decode: boolean;
  timeoutMs: number;
  started: number;
  /** `performance.now()` past which it fails with `RedisTimeoutError`. */
  deadline: number;
  settled: boolean;
  resolve(reply: RedisReply): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A pipelined Redis client over one connection.
 *
 * A call whose deadline passes after it was sent rejects with
 * `RedisTimeoutError` and resets the connection: Redis answers strictly in
 * order, so a server that is late with one reply is holding every later one,
 * and a blocked command (a `BLPOP 0`, a stuck script) would otherwise wedge
 * the connection for good. The other calls in flight then reject with
 * `RedisConnectionError` (`sent: true`). Give blocking commands a
 * `timeoutMs` longer than their server-side timeout.
 *
 * Do not send SUBSCRIBE or MONITOR through it; use `RedisSubscriber`.
 *
 * @example Usage
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { RedisClient } from "./client.ts";
 * import { RedisError } from "./errors.ts";
 *
 * const client = await RedisClient.connect("redis://127.0.0.1:6379", { protocol: 3 });
 * await client.command(["HSET", "h", "a", "1"]);
 * assert.deepEqual(await client.command(["HGETALL", "h"]), new Map([["a", "1"]]));
 * const [ok, error] = await client.pipeline([["SET", "s", "x"], ["INCR", "s"]]);
 * assert.equal(ok, "OK");
 * assert.ok(error instanceof RedisError);
 * await client.close();
 * ```
 */
export class RedisClient implements AsyncDisposable {
  #connection!: RedisConnection;
  #timeoutMs: number;
  #maxPending: number;
  #onPush: ((data: RedisReply[]) => void) | undefined;
  #observer: RedisObserver | undefined;
  #queued = new Fifo<Pending>();
  #inflight = new Fifo<Pending>();
  #live = 0;
  // One timer for every deadline, set for the earliest one known: a timer
  // per call (set, then cleared within a millisecond) cost ~5 % of a
  // node's CPU at 15,000 calls/s.
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  private constructor(options: RedisClientOptions) {
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#onPush = options.onPush;
    this.#observer = options.observer;
  }

  /**
   * Connects to `url` (`redis://[[user]:password@]host[:port][/db]`), sending
   * AUTH, SELECT and (for `protocol: 3`) HELLO 3 on every connect.
   *
   * @throws {RedisConnectionError} When the first connection fails.
   * @throws {RedisError} When the server refuses the handshake.
   */
  static async connect(url: string | URL, options: RedisClientOptions = {}): Promise<RedisClient> {
    const client = new RedisClient(options);
    client.#connection = await RedisConnection.open(url, options, {
      onReadable: (parser) => client.#onReadable(parser),
      onOpen: (reconnected) => client.#onOpen(reconnected),
      onDrop: (error) => client.#onDrop(error),
      onError: (error) => client.#report(error),
      onClose: () => client.#onClose(),
    });
    return client;
  }

  /** Whether the connection is up; calls made while it is down wait in the queue. */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /** Calls queued or in flight, not yet settled. */
  get pending(): number {
    return this.#live;
  }

  /**
   * Resolves once connected: at once if connected now, else at the next
   * successful connection.
   *
   * @throws {RedisConnectionError} When the client is closed first.
   */
  whenConnected(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#connection.whenConnected(options);
  }

  /**
   * Sends one command and resolves with its reply.
   *
   * @param args The command name and its arguments, e.g. `["INCRBY", "k", 5]`.
   * @returns The reply; an error reply rejects instead.
   * @throws {RedisError} The server's error reply.
   * @throws {RedisConnectionError} The connection failed, the deadline passed
   * (`RedisTimeoutError`), or the client is closed; see `sent`.
   * @throws {RedisQueueFullError} `maxPending` calls are already pending.
   */
  command(args: readonly RedisArg[], options: CommandOptions = {}): Promise<RedisReply> {
    if (this.#connection.closed) return Promise.reject(closedError());
    // Redis answers an empty command with nothing at all, which would leave it waiting.
    if (args.length === 0) return Promise.reject(new TypeError("a command needs a name"));
    if (this.#live >= this.#maxPending) {
      return Promise.reject(new RedisQueueFullError(this.#maxPending));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let bytes: Uint8Array;
    try {
      bytes = encodeCommand(args);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
      const started = performance.now();
      const pending: Pending = {
        name: args[0],
        bytes,
        decode: options.decode ?? true,
        timeoutMs,
        started,
        deadline: started + timeoutMs,
        settled: false,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        pending.onAbort = () => this.#settle(pending, signal.reason);
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      this.#live++;
      this.#arm(pending.deadline);
      if (this.#connection.connected) this.#send(pending);
      else this.#enqueue(pending);
    });
  }

  /**
   * Sends several commands at once and resolves when all are answered. An
   * error reply takes its command's place in the result and leaves the
   * others alone; a transport failure rejects the whole call.
   *
   * @returns One reply or `RedisError` per command, in order.
   * @throws {RedisConnectionError} As {@linkcode RedisClient.command}.
   * @throws {RedisQueueFullError} When the commands would not all fit under
   * `maxPending`; then none is sent.
   */
  async pipeline(
    commands: readonly (readonly RedisArg[])[],
    options: CommandOptions = {},
  ): Promise<(RedisReply | RedisError)[]> {
    if (this.#live + commands.length > this.#maxPending) {
      throw new RedisQueueFullError(this.#maxPending);
    }
    return await Promise.all(commands.map((args) =>
      this.command(args, options).catch((error) => {
        if (error instanceof RedisError) return error;
        throw error;
      })
    ));
  }

  /**
   * Closes the connection and stops reconnecting. Calls still queued reject
   * with `sent: false`, calls in flight with `sent: true`.
   */
  async close(): Promise<void> {
    await this.#connection.close();
  }

  /** Closes the client. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #send(pending: Pending): void {
    this.#connection.write(pending.bytes!);
    pending.bytes = undefined;
    this.#inflight.push(pending);
  }

  #enqueue(pending: Pending): void {
    // Calls that expired while waiting stay in the queue until it is
    // flushed; sweep them out when they outnumber the live ones.
    if (this.#queued.length > 2 * this.#live + 1024) this.#queued.retain((p) => !p.settled);
    this.#queued.push(pending);
  }

  #onReadable(parser: RespParser): void {
    for (;;) {
      const reply = parser.next(this.#inflight.peek()?.decode ?? true);
      if (reply === undefined) return;
      if (reply instanceof RedisPush) {
        this.#push(reply);
        continue;
      }
      const pending = this.#inflight.shift();
      if (pending === undefined) {
        throw new RedisProtocolError("a reply arrived that no command was waiting for");
      }
      if (reply instanceof RedisError) this.#settle(pending, reply);
      else this.#settle(pending, undefined, reply);
    }
  }

  #push(push: RedisPush): void {
    try {
      this.#onPush?.(push.data);
    } catch (error) {
      this.#report(error);
    }
  }

  #onOpen(reconnected: boolean): void {
    for (const pending of this.#queued.clear()) {
      if (!pending.settled) this.#send(pending);
    }
    if (!reconnected) return;
    try {
      this.#observer?.onReconnect?.();
    } catch (error) {
      this.#report(error);
    }
  }

  #onDrop(error: RedisConnectionError): void {
    for (const pending of this.#inflight.clear()) this.#settle(pending, error);
  }

  #onClose(): void {
    for (const pending of this.#queued.clear()) this.#settle(pending, closedError());
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // Makes sure the timer fires by `deadline`.
  #arm(deadline: number): void {
    if (deadline >= this.#armedFor || this.#connection.closed) return;
    clearTimeout(this.#timer);
    this.#armedFor = deadline;
    this.#timer = setTimeout(() => this.#expireDue(), Math.max(0, deadline - performance.now()));
  }

  // Fails every call past its deadline and sets the timer for the next one.
  #expireDue(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    // A copy: an expiry resets the connection, which empties the queues.
    for (const pending of [...this.#inflight, ...this.#queued]) {
      if (pending.settled) continue;
      if (pending.deadline <= now) this.#expire(pending);
      else next = Math.min(next, pending.deadline);
    }
    if (next !== Infinity) this.#arm(next);
  }

  #expire(pending: Pending): void {
    if (pending.settled) return;
    const sent = pending.bytes === undefined;
    const name = commandName(pending.name);
    this.#settle(pending, new RedisTimeoutError(name, pending.timeoutMs, sent));
    if (sent) {
      this.#connection.reset(
        new RedisConnectionError(`connection reset: ${name} missed its deadline`, { sent: true }),
      );
    }
  }

  #settle(pending: Pending, error: unknown, reply?: RedisReply): void {
    if (pending.settled) return;
    pending.settled = true;
    this.#live--;
    if (pending.onAbort !== undefined) {
      pending.signal!.removeEventListener("abort", pending.onAbort);
    }
    if (this.#observer?.onCommand !== undefined) {
      const seconds = (performance.now() - pending.started) / 1000;
      try {
        this.#observer.onCommand(commandName(pending.name), seconds, error === undefined);
      } catch (hookError) {
        this.#report(hookError);
      }
    }
    if (error === undefined) pending.resolve(reply!);
    else pending.reject(error);
  }

  #report(error: unknown): void {
    try {
      this.#observer?.onError?.(error);
    } catch {
      // A failing error hook has nowhere left to report to.
    }
  }
}

function commandName(name: RedisArg): string {
  const text = name instanceof Uint8Array ? new TextDecoder().decode(name) : String(name);
  return text.toUpperCase();
}

function closedError(): RedisConnectionError {
  return new RedisConnectionError("the Redis client is closed", { sent: false });
}
