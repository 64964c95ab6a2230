/**
 * The cluster engine of {@linkcode Presence}: who is online on any node,
 * through one Redis.
 *
 * Keys (`<prefix>` default `im:`):
 * - `<prefix>p:owner` — hash user → the node holding their socket, so a
 *   node only ever removes or refreshes its own entries (compare-and-delete,
 *   never a blind DEL: a user who moved to another node stays online);
 * - `<prefix>p:expires` — sorted set user → when the entry lapses (ms, by
 *   Redis's clock), refreshed by the holding node's clock; a node killed
 *   with `kill -9` stops refreshing, so its users drop out within the time
 *   to live (`IM_CLIENT_TIMEOUT_MS`);
 * - `<prefix>p:names` — sorted set, every score 0, for listing by name.
 *
 * Calls that change presence are fire-and-forget: a failure (Redis away) is
 * reported to `onError` and mended by the next refresh or by expiry.
 *
 * @module
 */

import type { RedisCommander } from "../redis/script.ts";
import type { RedisSubscriber } from "../redis/subscriber.ts";
import { RedisScript } from "../redis/script.ts";
import type { NamePage, PageQuery } from "./directory.ts";
import type { Presence } from "./presence.ts";
import { DEFAULT_PREFIX, type RedisLink } from "./redis_shared.ts";
import { Fifo } from "../util/fifo.ts";

/** Options of {@linkcode RedisPresence}. */
export interface RedisPresenceOptions {
  /** Commands go here (a `RedisClient`). */
  readonly redis: RedisCommander;
  /** This node's name (`IM_NODE_ID`). */
  readonly nodeId: string;
  /** How long an entry lives without a refresh, in ms (`IM_CLIENT_TIMEOUT_MS`). */
  readonly ttlMs: number;
  /** Prefix of every key. Default `im:`. */
  readonly prefix?: string;
  /** Told when a presence update could not be made. */
  readonly onError?: (error: unknown) => void;
  /** Where relayed frames arrive (`<prefix>p:relay`); without it frames are not relayed. */
  readonly subscriber?: RedisSubscriber;
  /** A frame another node relayed for `user`, whose socket may be here. */
  readonly onRelay?: (user: string, frame: string) => void;
}

const NOW = `local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

// ARGV: prefix, node, ttl, user
const ONLINE = new RedisScript(`${NOW}
local p = ARGV[1]
redis.call('HSET', p .. 'p:owner', ARGV[4], ARGV[2])
redis.call('ZADD', p .. 'p:expires', now + tonumber(ARGV[3]), ARGV[4])
redis.call('ZADD', p .. 'p:names', 0, ARGV[4])
return 1`);

// ARGV: prefix, node, user
const OFFLINE = new RedisScript(`
local p = ARGV[1]
if redis.call('HGET', p .. 'p:owner', ARGV[3]) ~= ARGV[2] then return 0 end
redis.call('HDEL', p .. 'p:owner', ARGV[3])
redis.call('ZREM', p .. 'p:expires', ARGV[3])
redis.call('ZREM', p .. 'p:names', ARGV[3])
return 1`);

// ARGV: prefix, node, ttl, users... An entry that lapsed (or a write that
// was lost while Redis was away) is claimed again; another node's is left alone.
const REFRESH = new RedisScript(`${NOW}
local p = ARGV[1]
local refreshed = 0
for i = 4, #ARGV do
  local owner = redis.call('HGET', p .. 'p:owner', ARGV[i])
  if owner == ARGV[2] or not owner then
    redis.call('HSET', p .. 'p:owner', ARGV[i], ARGV[2])
    redis.call('ZADD', p .. 'p:expires', now + tonumber(ARGV[3]), ARGV[i])
    redis.call('ZADD', p .. 'p:names', 0, ARGV[i])
    refreshed = refreshed + 1
  end
end
return refreshed`);

// ARGV: prefix, after ("" for the start), limit. Drops lapsed entries first.
const LIST = new RedisScript(`${NOW}
local p = ARGV[1]
local lapsed = redis.call('ZRANGEBYSCORE', p .. 'p:expires', '-inf', now, 'LIMIT', 0, 1000)
for _, user in ipairs(lapsed) do
  redis.call('ZREM', p .. 'p:expires', user)
  redis.call('ZREM', p .. 'p:names', user)
  redis.call('HDEL', p .. 'p:owner', user)
end
local from = '-'
if ARGV[2] ~= '' then from = '(' .. ARGV[2] end
local names = redis.call('ZRANGEBYLEX', p .. 'p:names', from, '+', 'LIMIT', 0, tonumber(ARGV[3]))
return { redis.call('ZCARD', p .. 'p:expires'), names }`);

// Loaded by open() at start and after a reconnect: a script Redis does not
// know yet is answered NOSCRIPT and sent again by EVAL, behind what was sent
// after it — a reconnect's OFFLINE would land after its ONLINE and leave the
// user offline.
const SCRIPTS: readonly RedisScript[] = [ONLINE, OFFLINE, REFRESH, LIST];

/** ONLINE and OFFLINE scripts in flight at once. */
const WRITES_IN_FLIGHT = 256;

/** Users refreshed by one script at most: ~1.4 ms of Redis. */
export const REFRESH_SLICE = 256;

/** The most names one list call returns when no limit is given. */
const WHOLE_LIST = 1_000_000;

/**
 * Presence shared by every node of a cluster.
 *
 * @example Usage
 * ```ts ignore
 * const presence = new RedisPresence({ redis: client, nodeId: "node-a", ttlMs: 60_000 });
 * presence.online("Ron_W");
 * console.log(await presence.list({})); // { names: ["Ron_W", ...], total: ... }
 * ```
 */
export class RedisPresence implements Presence {
  readonly #options: RedisPresenceOptions;
  readonly #prefix: string;
  // This node's users, so close() can take exactly them offline.
  readonly #held = new Set<string>();
  readonly #writes = new Fifo<[RedisScript, (string | number)[]]>();
  #writing = 0;
  readonly #idlers: (() => void)[] = [];

  /**
   * Presence on a store's link, as a cluster node opens it: its scripts
   * loaded first (and again after a reconnect), relayed frames subscribed.
   *
   * @throws {StoreUnavailableError} When Redis cannot be reached.
   */
  static async open(
    link: RedisLink,
    options: Omit<RedisPresenceOptions, "redis" | "subscriber">,
  ): Promise<RedisPresence> {
    await link.load(SCRIPTS);
    const presence = new RedisPresence({
      ...options,
      redis: link.client,
      subscriber: link.subscriber,
    });
    await presence.#listen();
    return presence;
  }

  /** @param options The Redis connection, this node's name, the time to live. */
  constructor(options: RedisPresenceOptions) {
    this.#options = options;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  // Subscribes to relayed frames; resolves once Redis confirmed it.
  async #listen(): Promise<void> {
    const { subscriber, onRelay } = this.#options;
    if (!subscriber || !onRelay) return;
    await subscriber.subscribe(`${this.#prefix}p:relay`, (payload) => {
      const newline = payload.indexOf("\n");
      if (newline > 0) onRelay(payload.slice(0, newline), payload.slice(newline + 1));
    });
  }

  online(user: string): void {
    this.#held.add(user);
    this.#write(ONLINE, [this.#options.nodeId, this.#options.ttlMs, user]);
  }

  offline(user: string): void {
    this.#held.delete(user);
    this.#write(OFFLINE, [this.#options.nodeId, user]);
  }

  refresh(users: readonly string[]): void {
    if (users.length > 0) this.#refreshInSlices(users);
  }

  // A script holds Redis while it runs (~5.5 µs a user here), so a long list
  // goes in slices, each sent once the one before is done: other clients'
  // commands run between them. A failed slice ends it; the next turns mend it.
  async #refreshInSlices(users: readonly string[]): Promise<void> {
    const { nodeId, ttlMs } = this.#options;
    for (let i = 0; i < users.length; i += REFRESH_SLICE) {
      // Not those whose socket closed since: their entry is gone, a refresh would bring it back.
      const slice = users.slice(i, i + REFRESH_SLICE).filter((user) => this.#held.has(user));
      if (slice.length === 0) continue;
      if (await this.#run(REFRESH, [nodeId, ttlMs, ...slice]) === undefined) return;
    }
  }

  relay(user: string, frame: string): void {
    this.#options.redis.command(["PUBLISH", `${this.#prefix}p:relay`, `${user}\n${frame}`])
      .catch((error) => this.#options.onError?.(error));
  }

  async list({ after, limit }: PageQuery): Promise<NamePage> {
    const reply = await LIST.run(this.#options.redis, [], [
      this.#prefix,
      after ?? "",
      limit ?? WHOLE_LIST,
    ]) as [number, string[]];
    return { names: reply[1], total: reply[0] };
  }

  async close(): Promise<void> {
    for (const user of this.#held) this.#write(OFFLINE, [this.#options.nodeId, user]);
    this.#held.clear();
    await this.#idle();
  }

  // Sends in the order of the calls (a user's OFFLINE must not overtake their
  // next ONLINE), at most WRITES_IN_FLIGHT at once: a node's 19,000 sockets
  // closing at shutdown sent 19,000 at once and overflowed the client's queue
  // (10,000 commands), and the users refused stayed online until their ttl.
  #write(script: RedisScript, args: (string | number)[]): void {
    this.#writes.push([script, args]);
    this.#pump();
  }

  #pump(): void {
    while (this.#writing < WRITES_IN_FLIGHT) {
      const next = this.#writes.shift();
      if (!next) break;
      this.#writing++;
      this.#run(...next).finally(() => {
        this.#writing--;
        this.#pump();
      });
    }
    if (this.#writing === 0) { for (const resolve of this.#idlers.splice(0)) resolve(); }
  }

  // Settles once every write asked for so far has been answered.
  #idle(): Promise<void> {
    if (this.#writing === 0) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#idlers.push(resolve);
    return promise;
  }

  #run(script: RedisScript, args: (string | number)[]): Promise<unknown> {
    return script.run(this.#options.redis, [], [this.#prefix, ...args]).catch((error) => {
      this.#options.onError?.(error);
      return undefined;
    });
  }
}
