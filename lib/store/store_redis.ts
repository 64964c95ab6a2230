/**
 * Opens the whole store on Redis for one node of a cluster: the mailbox and
 * the directory on one command connection and one subscriber.
 *
 * @module
 */

import type { Directory } from "./directory.ts";
import { RedisDirectory, type RedisDirectoryOptions } from "./directory_redis.ts";
import type { Mailbox } from "./mailbox.ts";
import { RedisMailbox, type RedisMailboxOptions } from "./mailbox_redis.ts";
import type { Presence } from "./presence.ts";
import { RedisPresence } from "./presence_redis.ts";
import { RedisLink, type RedisLinkOptions } from "./redis_shared.ts";

/** Options of {@linkcode openRedisStore}. */
export interface RedisStoreOptions extends RedisLinkOptions {
  /** `redis://host:port[/db]` or `unix:///path` (`IM_REDIS_URL`). */
  readonly url: string;
  /** This node's name (`IM_NODE_ID`), unique in the cluster. */
  readonly nodeId: string;
  /** Prefix of every key and channel. Default `im:`. */
  readonly prefix?: string;
  /** The mailbox's limits, clock and hooks (`onAppended`, `onResync`). */
  readonly mailbox: Omit<RedisMailboxOptions, "prefix" | "nodeId">;
  /** The directory's limits, clock and hook (`onSessionEnded`). */
  readonly directory: Omit<RedisDirectoryOptions, "prefix" | "nodeId">;
  /** How long a presence entry lives without a refresh (`IM_CLIENT_TIMEOUT_MS`). */
  readonly presenceTtlMs: number;
  /** Told when a presence update could not be made. */
  readonly onPresenceError?: (error: unknown) => void;
  /** A frame another node relayed for a user whose socket may be here. */
  readonly onRelay?: (user: string, frame: string) => void;
}

/** A store open on Redis. */
export interface RedisStore {
  /** The node's mailbox engine. */
  readonly mailbox: Mailbox;
  /** The node's directory engine. */
  readonly directory: Directory;
  /** Who is online on any node. */
  readonly presence: Presence;
  /** Flushes what the engines hold back (cursors, signs of life) and closes both connections. */
  close(): Promise<void>;
}

/**
 * Connects to Redis and opens both engines on it.
 *
 * @example Usage
 * ```ts ignore
 * import { openRedisStore } from "./store_redis.ts";
 * const store = await openRedisStore({
 *   url: "redis://127.0.0.1:6379",
 *   nodeId: "node-a",
 *   mailbox: {
 *     offlineTtlMs: 600_000, historyTtlMs: 604_800_000, mailboxMax: 10_000,
 *     maxBytes: 1 << 30, maxMailboxes: 100_000,
 *     onAppended: (user, entry) => console.log(user, entry.seq),
 *     onResync: (lost) => console.log(lost ? "close every socket" : "re-read every local mailbox"),
 *   },
 *   directory: { sessionTtlMs: 86_400_000, maxUsers: 100_000, maxTopics: 10_000, maxSessions: 100_000 },
 *   presenceTtlMs: 60_000,
 *   observer: { onReconnect: () => console.log("Redis is back") },
 * });
 * await store.close();
 * ```
 *
 * @throws {StoreUnavailableError} When Redis cannot be reached at start.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const link = await RedisLink.connect(options.url, options);
  try {
    const { prefix, nodeId } = options;
    const mailbox = await RedisMailbox.open(link, {
      sessionTtlMs: options.directory.sessionTtlMs,
      ...options.mailbox,
      prefix,
      nodeId,
    });
    const directory = await RedisDirectory.open(link, { ...options.directory, prefix, nodeId });
    const presence = await RedisPresence.open(link, {
      nodeId,
      ttlMs: options.presenceTtlMs,
      prefix,
      onError: options.onPresenceError,
      onRelay: options.onRelay,
    });
    return {
      mailbox,
      directory,
      presence,
      async close() {
        await Promise.all([mailbox.close(), directory.close(), presence.close()]);
        await link.close();
      },
    };
  } catch (error) {
    await link.close();
    throw error;
  }
}
