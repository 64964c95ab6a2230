/**
 * Opens the store the configuration names: SQLite under `IM_DATA_DIR` (the
 * default), memory (`IM_STORE=memory`), or Redis shared by a cluster
 * (`IM_REDIS_URL`), with the server's hooks wired into it.
 *
 * @module
 */

import type { Config } from "./config.ts";
import type { RedisObserver } from "./redis/client.ts";
import type { Directory, Session } from "./store/directory.ts";
import { MemoryDirectory } from "./store/directory_memory.ts";
import type { Entry, Mailbox, MailboxOptions } from "./store/mailbox.ts";
import { MemoryMailbox } from "./store/mailbox_memory.ts";
import type { Presence } from "./store/presence.ts";
import { openRedisStore } from "./store/store_redis.ts";
import { openSqliteStore } from "./store/store_sqlite.ts";

/** What the server hands the store to hear from it. */
export interface StoreHooks {
  /** A committed entry, per user in seq order. */
  onAppended(user: string, entry: Entry): void;
  /** Cluster: wake-ups may have been missed (`lost`: the store came back empty). */
  onResync(lost: boolean): void;
  /** Cluster: a session ended (on any node). */
  onSessionEnded(session: Session, reason: "replaced" | "logged_out"): void;
  /** Cluster: Redis round trips, errors and reconnects, for metrics. */
  redisObserver?: RedisObserver;
  /** SQLite: a group commit took `seconds`, for metrics. */
  onCommit?(seconds: number): void;
  /** Something went wrong that nobody waits for (a presence update). */
  onBackgroundError(error: unknown): void;
  /** Cluster: a frame another node relayed for a user whose socket may be here. */
  onRelay(user: string, frame: string): void;
}

/** An open store. */
export interface Store {
  readonly directory: Directory;
  readonly mailbox: Mailbox;
  /** Cluster presence; a single node counts its own sockets. */
  readonly presence?: Presence;
  /** Whether other nodes share it. */
  readonly cluster: boolean;
  /** This node's name in a cluster. */
  readonly nodeId?: string;
  close(): Promise<void>;
}

/**
 * Opens the store of `config`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * import { openStore } from "./stores.ts";
 * const store = await openStore(parseConfig({}, ["--store", "memory"]), {
 *   onAppended: () => {}, onResync: () => {}, onSessionEnded: () => {}, onBackgroundError: () => {},
 *   onRelay: () => {},
 * });
 * assert.equal(store.cluster, false);
 * assert.equal((await store.directory.openSession("Harry")).kind, "opened");
 * await store.close();
 * ```
 *
 * @throws {StoreUnavailableError} When the cluster's Redis cannot be reached at start.
 * @throws {DataDirError} When the data directory cannot be used or another server holds it.
 */
export async function openStore(config: Config, hooks: StoreHooks): Promise<Store> {
  const limits: MailboxOptions = {
    offlineTtlMs: config.offlineTtlMs,
    historyTtlMs: config.historyTtlMs,
    mailboxMax: config.mailboxMax,
    maxBytes: config.storeMaxBytes,
    maxMailboxes: config.maxUsers,
    onAppended: hooks.onAppended,
  };
  const directoryLimits = {
    sessionTtlMs: config.sessionTtlMs,
    maxUsers: config.maxUsers,
    maxTopics: config.maxTopics,
    maxSessions: config.maxUsers,
  };
  if (config.redisUrl !== "") {
    const nodeId = config.nodeId || randomNodeId();
    const store = await openRedisStore({
      url: config.redisUrl,
      nodeId,
      observer: hooks.redisObserver,
      mailbox: { ...limits, onResync: hooks.onResync },
      directory: {
        ...directoryLimits,
        // HTTP requests on any node are signs of life for the socket's node.
        persistEveryMs: Math.min(config.clientTimeoutMs / 4, 60_000),
        onSessionEnded: (session, reason) =>
          hooks.onSessionEnded(session, reason === "replaced" ? "replaced" : "logged_out"),
      },
      presenceTtlMs: config.clientTimeoutMs,
      onPresenceError: hooks.onBackgroundError,
      onRelay: hooks.onRelay,
    });
    return { ...store, cluster: true, nodeId };
  }
  if (config.store === "sqlite") {
    const store = await openSqliteStore({
      dir: config.dataDir,
      sync: config.sync,
      onCommit: hooks.onCommit,
      mailbox: limits,
      directory: directoryLimits,
    });
    return { ...store, cluster: false };
  }
  const mailbox = new MemoryMailbox(limits);
  const directory = new MemoryDirectory(directoryLimits);
  return {
    mailbox,
    directory,
    cluster: false,
    close: async () => {
      await Promise.all([mailbox.close(), directory.close()]);
    },
  };
}

function randomNodeId(): string {
  return `node-${crypto.getRandomValues(new Uint8Array(4)).toHex()}`;
}
