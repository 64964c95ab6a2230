/**
 * One logical connection to Redis that stays up: it opens the socket, runs
 * the handshake (HELLO, AUTH, SELECT), coalesces the writes of one event-loop
 * iteration into one, feeds received bytes to a parser, and after a drop
 * reconnects with exponential backoff and jitter. What the bytes mean is
 * left to its owner (`RedisClient` matches replies to commands;
 * `RedisSubscriber` dispatches messages).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { RedisConnectionError, RedisError, RedisTimeoutError } from "./errors.ts";
import { encodeCommand, type RedisArg, RespParser } from "./resp.ts";
import { parseRedisUrl, type RedisUrl } from "./url.ts";

/** Options of {@linkcode RedisConnection.open}. */
export interface RedisConnectionOptions {
  /** RESP version; 3 sends `HELLO 3` on every connect. Default 2. */
  protocol?: 2 | 3;
  /** Deadline for the TCP connect plus the handshake. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect delays: the first, doubled per failed attempt up to the max. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Closes the connection for good when aborted. */
  signal?: AbortSignal;
}

/** What a {@linkcode RedisConnection} tells its owner. */
export interface RedisConnectionHandler {
  /** Bytes arrived: take whole replies from `parser`. Throwing resets the connection. */
  onReadable(parser: RespParser): void;
  /** A connection and its handshake succeeded; `reconnected` is false the first time. */
  onOpen(reconnected: boolean): void;
  /** The connection is gone; what was written on it has an unknown outcome. */
  onDrop(error: RedisConnectionError): void;
  /** A connection dropped or an attempt failed; more attempts follow. */
  onError(error: unknown): void;
  /** Closed for good: nothing more will be delivered. */
  onClose(): void;
}

interface Session {
  conn: Deno.Conn;
  parser: RespParser;
  outbox: Uint8Array[];
  flushing: boolean;
  reason?: RedisConnectionError;
}

const READ_SIZE = 64 * 1024;

/**
 * A self-healing connection to one Redis server.
 *
 * @example Usage
 * ```ts ignore
 * import { RedisConnection } from "./connection.ts";
 * import { encodeCommand } from "./resp.ts";
 *
 * const connection = await RedisConnection.open("redis://127.0.0.1:6379", {}, {
 *   onReadable(parser) {
 *     for (let reply = parser.next(); reply !== undefined; reply = parser.next()) {
 *       console.log(reply);
 *     }
 *   },
 *   onOpen() {},
 *   onDrop() {},
 *   onError() {},
 *   onClose() {},
 * });
 * connection.write(encodeCommand(["PING"]));
 * await connection.close();
 * ```
 */
export class RedisConnection {
  #address: RedisUrl;
  #options: RedisConnectionOptions;
  #handler: RedisConnectionHandler;
  #session: Session | undefined;
  #closed = false;
  #lifetime = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  #waiters = new Set<{ resolve(): void; reject(error: unknown): void }>();
  #onAbort = () => void this.close();

  private constructor(
    url: string | URL,
    options: RedisConnectionOptions,
    handler: RedisConnectionHandler,
  ) {
    this.#address = parseRedisUrl(url);
    this.#options = options;
    this.#handler = handler;
  }

  /**
   * Connects and runs the handshake. A first attempt that fails is not
   * retried: a wrong address or password should surface at startup.
   *
   * @throws {RedisConnectionError} When the server cannot be reached in time.
   * @throws {RedisError} When the server refuses the handshake (e.g. a wrong password).
   */
  static async open(
    url: string | URL,
    options: RedisConnectionOptions,
    handler: RedisConnectionHandler,
  ): Promise<RedisConnection> {
    options.signal?.throwIfAborted();
    const connection = new RedisConnection(url, options, handler);
    const session = await connection.#attempt();
    if (options.signal?.aborted) {
      closeQuietly(session.conn);
      throw options.signal.reason;
    }
    options.signal?.addEventListener("abort", connection.#onAbort, { once: true });
    connection.#loop = connection.#run(session);
    return connection;
  }

  /** Whether a connection is up and past its handshake. */
  get connected(): boolean {
    return this.#session !== undefined;
  }

  /** Whether {@linkcode RedisConnection.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues bytes for the socket; everything queued until the event loop's
   * next check phase goes out in one write.
   *
   * @throws {RedisConnectionError} When not connected.
   */
  write(bytes: Uint8Array): void {
    const session = this.#session;
    if (session === undefined) throw new RedisConnectionError("not connected", { sent: false });
    session.outbox.push(bytes);
    if (session.flushing) return;
    session.flushing = true;
    // After every callback of this I/O batch, not after this microtask: the
    // HTTP requests that arrived together then share one write (and Redis
    // one read), where a write per command cost ~10 % of a node's CPU.
    setImmediate(() => this.#flush(session));
  }

  /**
   * Resolves when connected: at once if connected now, else at the next
   * successful connection.
   *
   * @throws {RedisConnectionError} When the connection is closed first.
   */
  whenConnected(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#session !== undefined) return Promise.resolve();
    if (this.#closed) return Promise.reject(closedError());
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const signal = options.signal;
    const onAbort = () => waiter.reject(signal?.reason);
    const waiter = {
      resolve: () => settle(resolve),
      reject: (error: unknown) => settle(() => reject(error)),
    };
    const settle = (then: () => void) => {
      this.#waiters.delete(waiter);
      signal?.removeEventListener("abort", onAbort);
      then();
    };
    if (signal?.aborted) return Promise.reject(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiters.add(waiter);
    return promise;
  }

  /**
   * Drops the current socket (its pending replies can no longer be trusted)
   * and reconnects.
   */
  reset(reason: RedisConnectionError): void {
    if (this.#session !== undefined) this.#drop(this.#session, reason);
  }

  /** Closes the socket and stops reconnecting; resolves once everything has stopped. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#options.signal?.removeEventListener("abort", this.#onAbort);
      this.#lifetime.abort();
      if (this.#session !== undefined) this.#drop(this.#session, closedError(true));
      for (const waiter of [...this.#waiters]) waiter.reject(closedError());
    }
    await this.#loop;
  }

  async #run(session: Session | undefined): Promise<void> {
    let reconnected = false;
    while (session !== undefined) {
      this.#session = session;
      this.#handler.onOpen(reconnected);
      for (const waiter of [...this.#waiters]) waiter.resolve();
      const reason = await this.#read(session);
      this.#handler.onDrop(reason);
      if (this.#closed) break;
      this.#handler.onError(reason);
      session = await this.#reconnect();
      reconnected = true;
    }
    this.#handler.onClose();
  }

  /** Reads until the session ends; returns why it ended. */
  async #read(session: Session): Promise<RedisConnectionError> {
    const buffer = new Uint8Array(READ_SIZE);
    try {
      if (session.parser.buffered > 0) this.#handler.onReadable(session.parser);
      for (;;) {
        const n = await session.conn.read(buffer);
        if (n === null) {
          this.#drop(session, new RedisConnectionError("closed by the server", { sent: true }));
          break;
        }
        session.parser.feed(buffer.subarray(0, n));
        this.#handler.onReadable(session.parser);
      }
    } catch (error) {
      this.#drop(
        session,
        new RedisConnectionError("connection lost", { sent: true, cause: error }),
      );
    }
    return session.reason!;
  }

  async #flush(session: Session): Promise<void> {
    try {
      while (session.outbox.length > 0 && session.reason === undefined) {
        const chunks = session.outbox;
        session.outbox = [];
        const bytes = chunks.length === 1 ? chunks[0] : concat(chunks);
        // A write may take only part of the buffer; the rest must follow in order.
        for (let at = 0; at < bytes.length;) at += await session.conn.write(bytes.subarray(at));
      }
    } catch (error) {
      this.#drop(session, new RedisConnectionError("write failed", { sent: true, cause: error }));
    } finally {
      session.flushing = false;
    }
  }

  #drop(session: Session, reason: RedisConnectionError): void {
    if (session.reason !== undefined) return;
    session.reason = reason;
    // From now on writes wait for the next connection, not for this dying one.
    if (this.#session === session) this.#session = undefined;
    closeQuietly(session.conn);
  }

  /** Attempts until one succeeds; `undefined` when closed meanwhile. */
  async #reconnect(): Promise<Session | undefined> {
    const initial = this.#options.backoff?.initialMs ?? 50;
    const max = this.#options.backoff?.maxMs ?? 2000;
    for (let attempt = 0;; attempt++) {
      // Jitter spreads the reconnects of many clients after a shared outage.
      const delay = Math.min(max, initial * 2 ** attempt) * (0.5 + Math.random() / 2);
      await sleep(delay, this.#lifetime.signal);
      if (this.#closed) return undefined;
      try {
        return await this.#attempt();
      } catch (error) {
        if (this.#closed) return undefined;
        this.#handler.onError(error);
      }
    }
  }

  async #attempt(): Promise<Session> {
    const address = this.#address;
    const timeoutMs = this.#options.connectTimeoutMs ?? 5000;
    const attempt = new AbortController();
    const abort = () => attempt.abort();
    const timer = setTimeout(abort, timeoutMs);
    this.#lifetime.signal.addEventListener("abort", abort);
    let conn: Deno.Conn | undefined;
    try {
      if (address.transport === "unix") {
        // A local socket answers or refuses at once: no wait to bound.
        conn = await Deno.connect({ transport: "unix", path: address.path });
      } else {
        const { hostname, port } = address;
        const tcp = await Deno.connect({ hostname, port, signal: attempt.signal });
        // Writes are already coalesced per event-loop iteration; Nagle would
        // hold the next one back until Redis acknowledged the last.
        tcp.setNoDelay(true);
        conn = tcp;
      }
      const opened = conn;
      attempt.signal.addEventListener("abort", () => closeQuietly(opened));
      const parser = await this.#handshake(conn);
      return { conn, parser, outbox: [], flushing: false };
    } catch (error) {
      if (conn !== undefined) closeQuietly(conn);
      if (error instanceof RedisError) throw error;
      if (attempt.signal.aborted && !this.#closed) {
        throw new RedisTimeoutError("CONNECT", timeoutMs, false);
      }
      // The cause says why (refused, unknown host, a permission Deno lacks).
      const why = error instanceof Error ? error.message : String(error);
      throw new RedisConnectionError(`cannot connect to ${describe(address)}: ${why}`, {
        sent: false,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      this.#lifetime.signal.removeEventListener("abort", abort);
    }
  }

  /** Sends HELLO/AUTH/SELECT and reads their replies before anyone else may write. */
  async #handshake(conn: Deno.Conn): Promise<RespParser> {
    const parser = new RespParser();
    const { username, password, db } = this.#address;
    const commands: RedisArg[][] = [];
    if (this.#options.protocol === 3) {
      const hello: RedisArg[] = ["HELLO", 3];
      if (password !== undefined) hello.push("AUTH", username ?? "default", password);
      commands.push(hello);
    } else if (password !== undefined) {
      commands.push(username === undefined ? ["AUTH", password] : ["AUTH", username, password]);
    }
    if (db !== 0) commands.push(["SELECT", db]);
    if (commands.length === 0) return parser;
    const bytes = concat(commands.map(encodeCommand));
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
    const buffer = new Uint8Array(READ_SIZE);
    for (let answered = 0; answered < commands.length;) {
      const reply = parser.next();
      if (reply instanceof RedisError) throw reply;
      if (reply !== undefined) {
        answered++;
        continue;
      }
      const n = await conn.read(buffer);
      if (n === null) throw new Error("connection closed during the handshake");
      parser.feed(buffer.subarray(0, n));
    }
    return parser;
  }
}

function closedError(sent = false): RedisConnectionError {
  return new RedisConnectionError("the Redis connection is closed", { sent });
}

// Where a URL points, for messages (never with its password).
function describe(address: RedisUrl): string {
  return address.transport === "unix" ? address.path : `${address.hostname}:${address.port}`;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed: closing is the goal either way.
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
