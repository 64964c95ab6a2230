/**
 * What the Redis engines of the store share: the connection pair they run
 * on ({@linkcode RedisLink}), the typed error a caller maps to 503
 * ({@linkcode StoreUnavailableError}), and the translation of the client's
 * failures into it.
 *
 * Every engine names its keys `<prefix><name>` (prefix default `im:`), so
 * several clusters, or the tests, can share one Redis. The scripts build
 * key names from the prefix they are given instead of declaring them in
 * `KEYS`, which ties the engines to one Redis server (not Redis Cluster).
 *
 * @module
 */

import { RedisClient, type RedisClientOptions, type RedisObserver } from "../redis/client.ts";
import { RedisConnectionError, RedisError, RedisQueueFullError } from "../redis/errors.ts";
import type { RedisArg, RedisReply } from "../redis/resp.ts";
import type { RedisScript } from "../redis/script.ts";
import { RedisSubscriber } from "../redis/subscriber.ts";
import { StoreUnavailableError } from "./store_error.ts";

export { type StoreOutcome, StoreUnavailableError } from "./store_error.ts";

/** The key prefix when none is given. */
export const DEFAULT_PREFIX = "im:";

// Error replies that mean "not now" rather than "wrong": out of memory,
// a busy script, a replica or a server still loading its data.
const TRANSIENT_CODES = new Set(["OOM", "BUSY", "LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN"]);

/**
 * The {@linkcode StoreUnavailableError} for a failed Redis call, or the
 * error itself when it is not about availability (a bug in a script).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisConnectionError, RedisError } from "../redis/errors.ts";
 * import { StoreUnavailableError, unavailable } from "./redis_shared.ts";
 * const lost = unavailable(new RedisConnectionError("connection lost", { sent: true }));
 * assert.ok(lost instanceof StoreUnavailableError && lost.outcome === "unknown");
 * const oom = unavailable(new RedisError("OOM command not allowed"));
 * assert.ok(oom instanceof StoreUnavailableError && oom.outcome === "not_applied");
 * const bug = new RedisError("ERR user_script:1: Script attempted to access nonexistent global");
 * assert.equal(unavailable(bug), bug);
 * ```
 */
export function unavailable(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  if (error instanceof RedisConnectionError) {
    const outcome = error.sent ? "unknown" : "not_applied";
    return new StoreUnavailableError(outcome, `Redis: ${error.message}`, { cause: error });
  }
  if (error instanceof RedisQueueFullError) {
    return new StoreUnavailableError("not_applied", `Redis: ${error.message}`, { cause: error });
  }
  if (error instanceof RedisError && TRANSIENT_CODES.has(error.code)) {
    return new StoreUnavailableError("not_applied", `Redis: ${error.message}`, { cause: error });
  }
  return error;
}

/** Options of {@linkcode RedisLink.connect}. */
export interface RedisLinkOptions {
  /** Prefix of the epoch key `<prefix>epoch`. Default `im:`. */
  readonly prefix?: string;
  /** Deadline of each command. Default 4000 ms, so a 503 comes within 5 s. */
  readonly timeoutMs?: number;
  /** Reconnect delays of both connections. */
  readonly backoff?: { initialMs?: number; maxMs?: number };
  /** Metrics hooks of the command connection (errors, reconnects, latency). */
  readonly observer?: RedisObserver;
  /** More options of the command connection. */
  readonly client?: RedisClientOptions;
}

/**
 * One command connection and one subscriber, shared by the engines of a
 * node. Listeners added with {@linkcode RedisLink.onResubscribed} run after
 * the subscriber came back from a drop (its subscriptions confirmed again),
 * told whether Redis lost its data meanwhile: a random `<prefix>epoch`,
 * set once by whichever node asks first (SET NX), changes only when Redis
 * starts empty (a restart without persistence, a flush). The store needs
 * `maxmemory-policy noeviction` (Debian's default), or the epoch could be
 * evicted like any key.
 *
 * @example Usage
 * ```ts ignore
 * import { RedisLink } from "./redis_shared.ts";
 * const link = await RedisLink.connect("redis://127.0.0.1:6379");
 * link.onResubscribed((lost) => console.log(lost ? "Redis lost its data" : "wake-ups may be missed"));
 * await link.close();
 * ```
 */
export class RedisLink {
  readonly #listeners = new Set<(lost: boolean) => void>();
  readonly #scripts = new Set<RedisScript>();
  readonly #epochKey: string;
  #epoch = "";

  private constructor(
    readonly client: RedisClient,
    readonly subscriber: RedisSubscriber,
    prefix: string,
  ) {
    this.#epochKey = `${prefix}epoch`;
  }

  /**
   * Opens both connections to `url`.
   *
   * @throws {StoreUnavailableError} When Redis cannot be reached at first.
   */
  static async connect(url: string, options: RedisLinkOptions = {}): Promise<RedisLink> {
    const timeoutMs = options.timeoutMs ?? 4000;
    const base = { backoff: options.backoff, connectTimeoutMs: timeoutMs };
    let client: RedisClient | undefined;
    let subscriber: RedisSubscriber | undefined;
    try {
      // The connections' hooks reach the link made from them.
      const ref: { link?: RedisLink } = {};
      const observer = options.observer;
      client = await RedisClient.connect(url, {
        ...base,
        timeoutMs,
        ...options.client,
        observer: {
          onCommand: observer?.onCommand?.bind(observer),
          onError: observer?.onError?.bind(observer),
          onReconnect: () => {
            if (ref.link) ref.link.#reload();
            observer?.onReconnect?.();
          },
        },
      });
      subscriber = await RedisSubscriber.connect(url, {
        ...base,
        timeoutMs,
        onReconnect: () => ref.link && ref.link.#resubscribed(),
        onError: (error) => options.observer?.onError?.(error),
      });
      ref.link = new RedisLink(client, subscriber, options.prefix ?? DEFAULT_PREFIX);
      ref.link.#epoch = await ref.link.#readEpoch();
      return ref.link;
    } catch (error) {
      await Promise.all([client?.close(), subscriber?.close()]);
      throw unavailable(error);
    }
  }

  /**
   * Opens a link of its own for `start` (an engine that will own it), and
   * closes it again if `start` fails.
   *
   * @throws {StoreUnavailableError} When Redis cannot be reached.
   */
  static async connectFor<T>(
    url: string,
    options: RedisLinkOptions,
    start: (link: RedisLink) => Promise<T>,
  ): Promise<T> {
    const link = await RedisLink.connect(url, options);
    try {
      return await start(link);
    } catch (error) {
      await link.close();
      throw error;
    }
  }

  /** Adds `listener` for resubscriptions; returns a function removing it. */
  onResubscribed(listener: (lost: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Loads `scripts` into Redis now and again after every reconnect (a
   * restarted Redis has forgotten them). A script run for the first time
   * would otherwise be answered NOSCRIPT and sent again by EVAL, behind
   * whatever was sent after it: a cursor flush could land after the append
   * it was meant to precede.
   *
   * @throws {StoreUnavailableError} When Redis cannot be reached.
   */
  async load(scripts: readonly RedisScript[]): Promise<void> {
    for (const script of scripts) this.#scripts.add(script);
    try {
      const replies = await this.client.pipeline(
        scripts.map((script) => ["SCRIPT", "LOAD", script.source]),
      );
      // A script that does not compile is a bug, not an outage: say so now.
      const refused = replies.find((reply) => reply instanceof RedisError);
      if (refused) throw refused;
      await Promise.all(scripts.map((script) => script.sha1()));
    } catch (error) {
      throw unavailable(error);
    }
  }

  /**
   * Runs `script`, turning transport failures into
   * {@linkcode StoreUnavailableError}.
   */
  async run(
    script: RedisScript,
    args: readonly RedisArg[],
    timeoutMs?: number,
  ): Promise<RedisReply[]> {
    try {
      return await script.run(this.client, [], args, { timeoutMs }) as RedisReply[];
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Closes both connections. */
  async close(): Promise<void> {
    this.#listeners.clear();
    await Promise.all([this.client.close(), this.subscriber.close()]);
  }

  async #readEpoch(): Promise<string> {
    const [, epoch] = await this.client.pipeline([
      ["SET", this.#epochKey, crypto.randomUUID(), "NX"],
      ["GET", this.#epochKey],
    ]);
    return String(epoch);
  }

  #reload(): void {
    const scripts = [...this.#scripts].map((script) => ["SCRIPT", "LOAD", script.source]);
    // Should this fail, a script's first EVALSHA falls back to EVAL by itself.
    if (scripts.length > 0) this.client.pipeline(scripts).catch(() => {});
  }

  async #resubscribed(): Promise<void> {
    let lost = false;
    try {
      const epoch = await this.#readEpoch();
      lost = epoch !== this.#epoch;
      this.#epoch = epoch;
    } catch {
      // Unknown for now; the next resubscription compares again.
    }
    for (const listener of this.#listeners) {
      try {
        listener(lost);
      } catch {
        // One listener's failure must not keep the others from resyncing.
      }
    }
  }
}

/**
 * A reply element as a number (`null`, a missing field, is 0).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { num } from "./redis_shared.ts";
 * assert.equal(num("42"), 42);
 * assert.equal(num(null), 0);
 * ```
 */
export function num(reply: RedisReply | undefined): number {
  return reply === null || reply === undefined ? 0 : Number(reply);
}
