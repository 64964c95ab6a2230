/**
 * The SQLite database of one data directory, shared by the durable engines
 * (`mailbox_sqlite.ts`, `directory_sqlite.ts`), with group commit.
 *
 * **Group commit.** Every write an engine issues is queued; once per
 * event-loop turn (a `setImmediate`, which runs after the turn's I/O
 * callbacks, ~3 µs later, where `setTimeout(0)` costs ~1–2 ms) one
 * transaction applies the whole queue in call order, and each write's
 * promise settles after that one COMMIT. A write's `apply` runs inside the
 * transaction, so engines that change their memory only there keep memory
 * equal to what is committed: nothing a reader sees can be taken back by a
 * crash. If the transaction fails, it is rolled back, every engine is told
 * to reload what it keeps in memory, and the batch's promises reject with a
 * {@linkcode CommitError} (the server answers 503).
 *
 * **One server per data directory.** The file is opened with
 * `locking_mode=EXCLUSIVE` before its first access and a write transaction
 * is taken at once with `busy_timeout=0`: the connection then holds an
 * exclusive lock on the file until it closes, so a second process fails
 * with a {@linkcode DataDirInUseError}. The lock is a POSIX file lock, which
 * the kernel drops when its process dies, so after `kill -9` the next open
 * takes over (SQLite replays the WAL) with nothing to clean up.
 *
 * @module
 */

import { StoreUnavailableError } from "./store_error.ts";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { clearImmediate, setImmediate } from "node:timers";

/** The database file's name inside the data directory. */
export const DATABASE_FILE = "huayi.db";

/**
 * Writes applied in one transaction at most; the rest go in the next turn's,
 * so one commit blocks the event loop for tens of milliseconds at most
 * (1,000 one-to-one sends: ~15 ms here).
 */
export const MAX_BATCH = 1024;

/**
 * SQLite's page cache, in KiB (its default is 2,000). A topic send touches
 * the newest page of every member's mailbox; with 1,000 members those pages
 * no longer fit the default cache, and its inserts took 8–11 ms instead of
 * ~4 ms here.
 */
export const CACHE_KIB = 65_536;

/**
 * WAL pages before a commit checkpoints them into the database file (16 MiB;
 * SQLite's default is 1,000). A checkpoint copies every page and syncs
 * twice; after a 1,000-member topic send (~1,000 pages) the default made
 * almost every such commit a checkpoint (19–24 ms instead of 4–7 ms here).
 */
export const WAL_CHECKPOINT_PAGES = 4_000;

/** How hard a commit is made durable (`IM_SYNC`). */
export type SyncMode =
  /** WAL with `synchronous=NORMAL`: survives a crash of the process, not of the machine. */
  | "normal"
  /** WAL with `synchronous=FULL`: every commit is on disk (survives a power loss). */
  | "full";

/** How to open a {@linkcode SqliteDatabase}. */
export interface SqliteDatabaseOptions {
  /** Durability of a commit; `"normal"` unless given. */
  readonly sync?: SyncMode;
  /** Told of every commit: how long its transaction took, and the rows it changed. */
  readonly onCommit?: (seconds: number, rows: number) => void;
}

/**
 * An engine's hooks into every transaction, for state it keeps in memory and
 * writes lazily (cursors, counters, signs of life).
 */
export interface Participant {
  /** Inside the transaction, after its writes: write what changed in memory. */
  beforeCommit(): void;
  /** After COMMIT: what `beforeCommit` wrote is durable now. */
  afterCommit(): void;
  /** After a failed transaction was rolled back: make memory agree with the database again. */
  afterRollback(): void;
}

/**
 * The data directory cannot be used: not a directory, not writable, written
 * by a newer version. The message names the directory and says why.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataDirError, SqliteDatabase } from "./sqlite_database.ts";
 * const file = await Deno.makeTempFile();
 * await assert.rejects(() => SqliteDatabase.open(file), DataDirError);
 * await Deno.remove(file);
 * ```
 */
export class DataDirError extends Error {
  override name = "DataDirError";

  /**
   * @param dir The data directory.
   * @param message What is wrong with it, naming it.
   */
  constructor(readonly dir: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Another live process holds the data directory (one server per directory).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataDirError, DataDirInUseError } from "./sqlite_database.ts";
 * const error = new DataDirInUseError("./data");
 * assert.ok(error instanceof DataDirError);
 * assert.match(error.message, /\.\/data is in use by another process/);
 * ```
 */
export class DataDirInUseError extends DataDirError {
  override name = "DataDirInUseError";

  /** @param dir The data directory. */
  constructor(dir: string, options?: ErrorOptions) {
    super(dir, `data directory ${dir} is in use by another process`, options);
  }
}

/**
 * A write was not committed: its transaction failed (disk full, I/O error)
 * or the database is closed. Nothing of the write is stored.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitError, SqliteDatabase } from "./sqlite_database.ts";
 * const database = await SqliteDatabase.open(await Deno.makeTempDir());
 * database.close();
 * await assert.rejects(() => database.write(() => 1), CommitError);
 * ```
 */
export class CommitError extends StoreUnavailableError {
  override name = "CommitError";

  /**
   * @param message What failed.
   * @param options The underlying error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("not_applied", message, options);
  }
}

interface Write {
  apply(): unknown;
  committed?: (value: unknown) => void;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

// SQLite's result codes that mean another connection holds the lock.
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

/**
 * One data directory's database: one connection, an exclusive lock, and
 * group commit.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteDatabase } from "./sqlite_database.ts";
 * const dir = await Deno.makeTempDir();
 * const database = await SqliteDatabase.open(dir, { sync: "normal" });
 * database.migrate("example", 1, "CREATE TABLE notes (text TEXT NOT NULL)");
 * const insert = database.prepare("INSERT INTO notes (text) VALUES (?)");
 * // Both writes are issued in one turn, so they share one transaction.
 * await Promise.all([database.write(() => insert.run("a")), database.write(() => insert.run("b"))]);
 * assert.equal(database.prepare("SELECT count(*) AS n FROM notes").get()?.n, 2);
 * database.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SqliteDatabase {
  /** The data directory. */
  readonly dir: string;
  /** The database file. */
  readonly path: string;
  readonly #sql: DatabaseSync;
  readonly #onCommit: ((seconds: number, rows: number) => void) | undefined;
  readonly #statements = new Map<string, StatementSync>();
  readonly #participants = new Set<Participant>();
  #queue: Write[] = [];
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = Infinity;
  #closed = false;

  private constructor(
    dir: string,
    path: string,
    sql: DatabaseSync,
    options: SqliteDatabaseOptions,
  ) {
    this.dir = dir;
    this.path = path;
    this.#sql = sql;
    this.#onCommit = options.onCommit;
  }

  /**
   * Opens (creating it if missing) the database of data directory `dir`
   * and takes its lock.
   *
   * @throws {DataDirInUseError} Another live process holds the directory.
   * @throws {DataDirError} The directory cannot be created, is not a
   * directory, or cannot be written.
   */
  static async open(dir: string, options: SqliteDatabaseOptions = {}): Promise<SqliteDatabase> {
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (error) {
      const reason = error instanceof Deno.errors.AlreadyExists
        ? "it exists and is not a directory"
        : (error as Error).message;
      throw new DataDirError(dir, `cannot use data directory ${dir}: ${reason}`, { cause: error });
    }
    const path = `${dir.replace(/\/+$/, "") || "/"}/${DATABASE_FILE}`;
    let sql: DatabaseSync;
    try {
      sql = new DatabaseSync(path);
    } catch (error) {
      throw new DataDirError(dir, `cannot open ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      sql.exec("PRAGMA busy_timeout = 0");
      // Before the first access, so the lock is held from then on and WAL
      // needs no shared-memory file (which is what lets a second process in).
      sql.exec("PRAGMA locking_mode = EXCLUSIVE");
      const mode = sql.prepare("PRAGMA journal_mode = WAL").get()?.journal_mode;
      if (mode !== "wal") throw new Error(`journal_mode is ${mode}, not wal`);
      sql.exec(`PRAGMA synchronous = ${options.sync === "full" ? "FULL" : "NORMAL"}`);
      sql.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
      sql.exec(`PRAGMA wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      // A write transaction takes the exclusive lock now, not at the first send.
      sql.exec("BEGIN IMMEDIATE");
      sql.exec(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
      );
      sql.exec("COMMIT");
    } catch (error) {
      sql.close();
      const code = (error as { errcode?: number }).errcode;
      if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
        throw new DataDirInUseError(dir, { cause: error });
      }
      throw new DataDirError(dir, `cannot write ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return new SqliteDatabase(dir, path, sql, options);
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a transaction is open: a group commit is running its writes. */
  get inTransaction(): boolean {
    return !this.#closed && this.#sql.isTransaction;
  }

  /** A prepared statement for `sql`, prepared once per database. */
  prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, statement = this.#sql.prepare(sql));
    return statement;
  }

  /**
   * Creates the tables of `name` the first time (`schema` is SQL, run in one
   * transaction) and records `version` in the meta table.
   *
   * @throws {DataDirError} The directory was written with another version of `name`'s tables.
   */
  migrate(name: string, version: number, schema: string): void {
    const key = `schema.${name}`;
    const found = this.meta(key);
    if (found === version) return;
    if (found !== undefined) {
      throw new DataDirError(
        this.dir,
        `data directory ${this.dir} holds ${name} tables of version ${found}; ` +
          `this server knows version ${version}`,
      );
    }
    this.#sql.exec("BEGIN");
    try {
      this.#sql.exec(schema);
      this.setMeta(key, version);
      this.#sql.exec("COMMIT");
    } catch (error) {
      this.#sql.exec("ROLLBACK");
      throw error;
    }
  }

  /** The integer stored under `key` in the meta table. */
  meta(key: string): number | undefined {
    const row = this.prepare("SELECT value FROM meta WHERE key = ?").get(key);
    return row === undefined ? undefined : Number(row.value);
  }

  /** Stores `value` under `key` in the meta table (inside a write, to be part of its commit). */
  setMeta(key: string, value: number): void {
    this.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, value);
  }

  /**
   * Queues a write for this turn's group commit. `apply` runs inside the
   * transaction, after the writes queued before it; `committed` runs after
   * COMMIT, before the promise resolves with what `apply` returned.
   *
   * @throws {CommitError} (as a rejection) when the transaction failed or the database is closed.
   */
  write<T>(apply: () => T, committed?: (value: T) => void): Promise<T> {
    if (this.#closed) return Promise.reject(new CommitError(`${this.path} is closed`));
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    this.#queue.push({
      apply,
      committed: committed as ((value: unknown) => void) | undefined,
      resolve: resolve as (value: unknown) => void,
      reject,
    });
    this.#immediate ??= setImmediate(() => this.#flush());
    return promise;
  }

  /**
   * Makes sure a commit happens within `ms`, for state a participant writes
   * lazily in {@linkcode Participant.beforeCommit}; a write's commit sooner
   * serves as well.
   */
  flushWithin(ms: number): void {
    if (this.#closed || this.#immediate !== undefined) return;
    const due = performance.now() + ms;
    if (due >= this.#timerDue) return;
    clearTimeout(this.#timer);
    this.#timerDue = due;
    const timer = setTimeout(() => this.#flush(), ms);
    // Lazy state must not keep a finished process alive; close() writes it.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /**
   * Registers an engine's hooks and holds the database open for it: the
   * database closes when the last attached engine detaches.
   */
  attach(participant: Participant): void {
    this.#participants.add(participant);
  }

  /** Undoes {@linkcode attach}; the last engine to detach closes the database. */
  detach(participant: Participant): void {
    if (this.#participants.delete(participant) && this.#participants.size === 0) this.close();
  }

  /** Commits what is queued and closes the connection, releasing the lock. */
  close(): void {
    if (this.#closed) return;
    while (this.#queue.length > 0) this.#flush();
    this.#flush();
    this.#closed = true;
    this.#participants.clear();
    this.#statements.clear();
    this.#sql.close();
  }

  #flush(): void {
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const batch = this.#queue.length > MAX_BATCH
      ? this.#queue.splice(0, MAX_BATCH)
      : this.#queue.splice(0);
    if (this.#queue.length > 0) this.#immediate = setImmediate(() => this.#flush());

    const started = performance.now();
    const changesBefore = this.#totalChanges();
    const values: unknown[] = [];
    try {
      this.#sql.exec("BEGIN");
      for (const write of batch) values.push(write.apply());
      for (const participant of this.#participants) participant.beforeCommit();
      this.#sql.exec("COMMIT");
    } catch (error) {
      // SQLite rolls some failures back by itself; the rest we do.
      if (this.#sql.isTransaction) this.#sql.exec("ROLLBACK");
      const reason = (error as Error).message;
      const failure = new CommitError(`commit to ${this.path} failed: ${reason}`, { cause: error });
      // Rejections are seen only after this turn, once memory is reloaded.
      for (const write of batch) write.reject(failure);
      for (const participant of this.#participants) participant.afterRollback();
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    const rows = this.#totalChanges() - changesBefore;
    for (const participant of this.#participants) participant.afterCommit();
    for (let i = 0; i < batch.length; i++) {
      try {
        batch[i].committed?.(values[i]);
        batch[i].resolve(values[i]);
      } catch (error) {
        batch[i].reject(error);
      }
    }
    // Last, so a failing observer cannot keep a committed write from settling.
    this.#onCommit?.(seconds, rows);
  }

  #totalChanges(): number {
    return Number(this.prepare("SELECT total_changes() AS n").get()!.n);
  }
}
