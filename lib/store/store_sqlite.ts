/**
 * Opens the durable store of one data directory: a {@linkcode SqliteMailbox}
 * and a {@linkcode SqliteDirectory} sharing one database, so a send and a
 * login issued in the same turn share one commit.
 *
 * @module
 */

import type { DirectoryOptions } from "./directory.ts";
import { SqliteDirectory } from "./directory_sqlite.ts";
import { SqliteMailbox, type SqliteMailboxOptions } from "./mailbox_sqlite.ts";
import { SqliteDatabase, type SyncMode } from "./sqlite_database.ts";

/** Where the store lives and the options of its two engines. */
export interface SqliteStoreOptions {
  /** The data directory (`IM_DATA_DIR`), created if missing. */
  readonly dir: string;
  /** How durable a commit is (`IM_SYNC`); `"normal"` unless given. */
  readonly sync?: SyncMode;
  /** Told of every commit: its duration in seconds and the rows it changed. */
  readonly onCommit?: (seconds: number, rows: number) => void;
  readonly mailbox: SqliteMailboxOptions;
  readonly directory: DirectoryOptions;
}

/** The two engines of one data directory. */
export interface SqliteStore {
  readonly mailbox: SqliteMailbox;
  readonly directory: SqliteDirectory;
  /** Closes both engines, which commits what is pending and releases the directory. */
  close(): Promise<void>;
}

/**
 * Opens the store in `options.dir`, taking the directory's lock.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { openSqliteStore } from "./store_sqlite.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openSqliteStore({
 *   dir,
 *   mailbox: {
 *     offlineTtlMs: 600_000, historyTtlMs: 604_800_000, mailboxMax: 10_000,
 *     maxBytes: 1 << 26, maxMailboxes: 100_000,
 *   },
 *   directory: { sessionTtlMs: 86_400_000, maxUsers: 1000, maxTopics: 1000, maxSessions: 1000 },
 * });
 * assert.equal((await store.directory.openSession("Harry")).kind, "opened");
 * assert.deepEqual(store.mailbox.stats().entries, 0);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @throws {DataDirInUseError} Another live process holds the directory.
 * @throws {DataDirError} The directory cannot be used (the message says why).
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const database = await SqliteDatabase.open(options.dir, {
    sync: options.sync,
    onCommit: options.onCommit,
  });
  let mailbox: SqliteMailbox | undefined;
  try {
    mailbox = new SqliteMailbox(database, options.mailbox);
    const directory = new SqliteDirectory(database, options.directory);
    return {
      mailbox,
      directory,
      close: async () => {
        await mailbox!.close();
        await directory.close();
      },
    };
  } catch (error) {
    await mailbox?.close();
    database.close();
    throw error;
  }
}
