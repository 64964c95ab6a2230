/**
 * A keyed token-bucket rate limiter with bounded memory.
 *
 * Each key (a user, a client address) has a bucket of `burst` tokens that refills at
 * `ratePerSecond`; a request takes tokens or is refused with the whole seconds to wait. Buckets
 * start full, so a bucket that has refilled to full is the same as no bucket at all: those are
 * forgotten, and the map holds only keys that are still paying off recent requests.
 *
 * @module
 */

/** Options for {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added to each bucket per second; may be fractional (0.5 is one every 2 s). */
  ratePerSecond: number;
  /** A bucket's capacity, and so how many requests of cost 1 a fresh key may make at once. */
  burst: number;
  /** The most keys tracked at once; see {@linkcode RateLimiter} for what happens beyond. */
  maxKeys: number;
  /** The clock in milliseconds. Defaults to `performance.now()`, which never goes backwards. */
  now?: () => number;
}

/** The outcome of {@linkcode RateLimiter.prototype.take}. */
export type TakeResult =
  | { ok: true }
  | {
    ok: false;
    /** Whole seconds, at least 1, until the tokens asked for are there: a `Retry-After`. */
    retryAfterSeconds: number;
  };

interface Bucket {
  /** Tokens held at time `at`. */
  tokens: number;
  at: number;
}

// Refills are elapsed time × rate, and a sum of fractional refills (ten 0.1-token steps, say)
// can land a hair below the whole token it adds up to; without this slack a request made exactly
// on time would be refused with a Retry-After of 1.
const EPSILON = 1e-9;

// Each take inserts at most one key, so evicting up to two makes evictions outpace insertions
// while keeping any one take's work constant.
const EVICTIONS_PER_TAKE = 2;

/**
 * Token buckets per key, for limits like "5 logins per second per address, bursts of 50".
 *
 * Memory is bounded by `maxKeys` buckets plus one. A bucket is due for eviction once it has
 * refilled, at the latest `burst / ratePerSecond` seconds after its last successful take; each
 * take evicts up to two such buckets, oldest first, and {@linkcode RateLimiter.prototype.sweep}
 * evicts all of them at once (for a server timer, or after a flood of distinct keys).
 *
 * When `maxKeys` keys are tracked and the oldest has not refilled yet, a new key gets no bucket
 * of its own: all such keys share one overflow bucket with the same rate and burst until space
 * frees up. A flood of distinct keys (spoofed or many addresses) thus gets one key's allowance
 * in all, and cannot push out the buckets of keys already being limited.
 *
 * @example Limiting logins per client address
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimiter } from "./rate_limiter.ts";
 *
 * let now = 0;
 * const logins = new RateLimiter({ ratePerSecond: 1, burst: 3, maxKeys: 10_000, now: () => now });
 * for (let i = 0; i < 3; i++) assert.deepEqual(logins.take("192.0.2.1"), { ok: true });
 * assert.deepEqual(logins.take("192.0.2.1"), { ok: false, retryAfterSeconds: 1 });
 * assert.deepEqual(logins.take("198.51.100.7"), { ok: true }); // another key, another bucket
 *
 * now += 1000;
 * assert.deepEqual(logins.take("192.0.2.1"), { ok: true });
 * ```
 */
export class RateLimiter {
  readonly #ratePerSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  // Oldest successful take first: Map iterates in insertion order and a take re-inserts its
  // key, so the buckets likeliest to have refilled are at the front.
  readonly #buckets = new Map<string, Bucket>();
  readonly #overflow: Bucket;

  /**
   * Makes a limiter with no buckets yet: every key starts full.
   *
   * @param options The rate, the burst, the key cap and optionally the clock.
   * @throws {RangeError} When `ratePerSecond` is not positive, `burst` is below 1, or
   * `maxKeys` is not a positive integer.
   */
  constructor(options: RateLimiterOptions) {
    const { ratePerSecond, burst, maxKeys, now = () => performance.now() } = options;
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) {
      throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    }
    if (!(Number.isFinite(burst) && burst >= 1)) {
      throw new RangeError(`burst must be a number of at least 1, got ${burst}`);
    }
    if (!(Number.isSafeInteger(maxKeys) && maxKeys > 0)) {
      throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    }
    this.#ratePerSecond = ratePerSecond;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
    this.#now = now;
    this.#overflow = { tokens: burst, at: now() };
  }

  /** How many keys have a bucket of their own: those that have not refilled, and at most `maxKeys`. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes `cost` tokens from `key`'s bucket, or refuses without taking any.
   *
   * @example Fractional rates and costs
   * ```ts
   * import assert from "node:assert/strict";
   * import { RateLimiter } from "./rate_limiter.ts";
   *
   * let now = 0;
   * const limiter = new RateLimiter({ ratePerSecond: 0.5, burst: 4, maxKeys: 100, now: () => now });
   * assert.deepEqual(limiter.take("alice", 3), { ok: true });
   * // One token is left and three are needed: the two missing take 2 s each at 0.5 per second.
   * assert.deepEqual(limiter.take("alice", 3), { ok: false, retryAfterSeconds: 4 });
   * now += 4000;
   * assert.deepEqual(limiter.take("alice", 3), { ok: true });
   * ```
   *
   * @param key Whose bucket: a username, a client address.
   * @param cost Tokens to take, more than 0 and at most `burst`.
   * @returns `{ ok: true }`, or the whole seconds until the tokens will be there.
   * @throws {RangeError} When `cost` is not in (0, burst]: such a request could never pass.
   */
  take(key: string, cost = 1): TakeResult {
    if (!(cost > 0 && cost <= this.#burst)) {
      throw new RangeError(
        `cost must be more than 0 and at most burst (${this.#burst}), got ${cost}`,
      );
    }
    const now = this.#now();
    this.#evictOldest(now, EVICTIONS_PER_TAKE);
    const bucket = this.#buckets.get(key) ??
      (this.#buckets.size < this.#maxKeys ? { tokens: this.#burst, at: now } : this.#overflow);
    const tokens = this.#tokensAt(bucket, now);
    if (tokens + EPSILON < cost) {
      // At least 1: the deficit is more than EPSILON, so its ceiling is.
      const retryAfterSeconds = Math.ceil((cost - tokens - EPSILON) / this.#ratePerSecond);
      return { ok: false, retryAfterSeconds };
    }
    bucket.tokens = Math.max(0, tokens - cost);
    bucket.at = now;
    if (bucket !== this.#overflow) {
      this.#buckets.delete(key);
      this.#buckets.set(key, bucket);
    }
    return { ok: true };
  }

  /**
   * Gives back `cost` tokens taken from `key` for work that did not happen
   * after all (a bucket never holds more than `burst`).
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { RateLimiter } from "./rate_limiter.ts";
   *
   * const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 10, now: () => 0 });
   * limiter.take("alice");
   * limiter.give("alice");
   * assert.deepEqual(limiter.take("alice"), { ok: true });
   * ```
   *
   * @param key The bucket the tokens were taken from.
   * @param cost Tokens to give back.
   */
  give(key: string, cost = 1): void {
    const bucket = this.#buckets.get(key);
    if (!bucket) return;
    const now = this.#now();
    bucket.tokens = Math.min(this.#burst, this.#tokensAt(bucket, now) + cost);
    bucket.at = now;
  }

  /**
   * Forgets every bucket that has refilled, wherever it is in the map.
   *
   * Takes already evict from the oldest end as they go; this also finds refilled buckets behind
   * one that has not, and frees memory when no takes come. It visits every key, so call it from
   * a timer (say, once a minute), not per request.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { RateLimiter } from "./rate_limiter.ts";
   *
   * let now = 0;
   * const limiter = new RateLimiter({ ratePerSecond: 1, burst: 10, maxKeys: 100, now: () => now });
   * limiter.take("drained", 10);
   * limiter.take("sipped", 1);
   * now += 1000; // "sipped" is full again, "drained" has 1 of 10
   * assert.equal(limiter.sweep(), 1);
   * assert.equal(limiter.size, 1);
   * ```
   *
   * @returns How many buckets were forgotten.
   */
  sweep(): number {
    const now = this.#now();
    let evicted = 0;
    for (const [key, bucket] of this.#buckets) {
      if (this.#isFull(bucket, now)) {
        this.#buckets.delete(key);
        evicted++;
      }
    }
    return evicted;
  }

  #evictOldest(now: number, limit: number): void {
    let evicted = 0;
    for (const [key, bucket] of this.#buckets) {
      if (evicted === limit || !this.#isFull(bucket, now)) return;
      this.#buckets.delete(key);
      evicted++;
    }
  }

  #isFull(bucket: Bucket, now: number): boolean {
    return this.#tokensAt(bucket, now) + EPSILON >= this.#burst;
  }

  // A clock that steps back (an injected wall clock) refills nothing rather than draining.
  #tokensAt(bucket: Bucket, now: number): number {
    const elapsedSeconds = Math.max(0, now - bucket.at) / 1000;
    return Math.min(this.#burst, bucket.tokens + elapsedSeconds * this.#ratePerSecond);
  }
}
