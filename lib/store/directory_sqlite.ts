/**
 * The durable engine of {@linkcode Directory} (`IM_STORE=sqlite`, the
 * default): users, sessions, topics and members in SQLite, all of it also
 * in memory (a {@linkcode DirectoryState}, loaded at open) so reads never
 * touch the disk.
 *
 * Every change is made inside a write of the group commit
 * (`sqlite_database.ts`): memory changes in the same step as the rows, and
 * the promise resolves after the COMMIT, so what a read shows is committed.
 * Signs of life ({@linkcode SqliteDirectory.touch}) are the exception: they
 * only matter for idle expiry, so a session's `last_seen` is written at most
 * once per {@linkcode TOUCH_PERSIST_MS} (or a tenth of the session TTL, if
 * shorter). After `kill -9` a session may therefore expire that much early.
 *
 * A session is identified by its sid: after a failed commit the directory
 * reloads its rows and its {@linkcode Session} objects are new, so
 * {@linkcode SqliteDirectory.touch} and {@linkcode SqliteDirectory.closeSession}
 * look the live one up by sid rather than trusting the object they get.
 *
 * @module
 */

import type { Session } from "../core/sessions.ts";
import type {
  CreateTopicResult,
  Directory,
  DirectoryOptions,
  DirectoryStats,
  NamePage,
  OpenSessionResult,
  PageQuery,
} from "./directory.ts";
import { DirectoryState } from "./directory_state.ts";
import type { Participant, SqliteDatabase } from "./sqlite_database.ts";

/** The longest a sign of life waits before it is written (and how often one is). */
export const TOUCH_PERSIST_MS = 60_000;

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT) WITHOUT ROWID;
CREATE TABLE sessions (
  sid TEXT NOT NULL UNIQUE,
  user TEXT NOT NULL UNIQUE,
  last_seen INTEGER NOT NULL
);
CREATE TABLE topics (name TEXT NOT NULL UNIQUE);
CREATE TABLE members (topic TEXT NOT NULL, user TEXT NOT NULL, UNIQUE (topic, user));
`;

/**
 * Users, sessions and topics in a SQLite database, mirrored in memory.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteDatabase } from "./sqlite_database.ts";
 * import { SqliteDirectory } from "./directory_sqlite.ts";
 * const dir = await Deno.makeTempDir();
 * const options = { sessionTtlMs: 86_400_000, maxUsers: 1000, maxTopics: 1000, maxSessions: 1000 };
 * let directory = new SqliteDirectory(await SqliteDatabase.open(dir), options);
 * const opened = await directory.openSession("Harry");
 * assert.equal(await directory.createTopic("quidditch", "Harry"), "created");
 * await directory.close(); // the last engine on the database closes it
 * directory = new SqliteDirectory(await SqliteDatabase.open(dir), options);
 * assert.equal(opened.kind, "opened");
 * if (opened.kind === "opened") {
 *   assert.equal((await directory.session(opened.session.sid))?.username, "Harry");
 * }
 * assert.deepEqual(await directory.members("quidditch"), ["Harry"]);
 * await directory.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SqliteDirectory implements Directory {
  readonly #db: SqliteDatabase;
  readonly #options: DirectoryOptions;
  readonly #touchEvery: number;
  readonly #participant: Participant;
  #state: DirectoryState;
  // The last_seen each live session has in its row.
  #written = new WeakMap<Session, number>();
  // Sessions whose last_seen should be written with the next commit.
  readonly #touched = new Set<Session>();
  // Sids closed in memory whose rows are deleted with the next commit.
  readonly #dead = new Set<string>();

  /**
   * Creates the tables if needed, loads them, and attaches to `database`,
   * which stays open until every engine on it is closed.
   *
   * @param database The data directory's database.
   * @param options Limits and the clock.
   */
  constructor(database: SqliteDatabase, options: DirectoryOptions) {
    this.#db = database;
    this.#options = options;
    this.#touchEvery = Math.min(TOUCH_PERSIST_MS, options.sessionTtlMs / 10);
    database.migrate("directory", SCHEMA_VERSION, SCHEMA);
    this.#state = this.#load(undefined);
    this.#participant = {
      beforeCommit: () => this.#writeLazy(),
      afterCommit: () => {
        this.#touched.clear();
        this.#dead.clear();
      },
      afterRollback: () => this.#state = this.#load(this.#state),
    };
    database.attach(this.#participant);
  }

  openSession(username: string): Promise<OpenSessionResult> {
    return this.#db.write(() => {
      const isNew = !this.#state.hasUser(username);
      const result = this.#state.openSession(username);
      if (result.kind !== "opened") return result;
      const { session, replaced } = result;
      if (isNew) this.#db.prepare("INSERT INTO users (name) VALUES (?)").run(username);
      // The user's row is unique: REPLACE drops the replaced session's row.
      this.#db.prepare("INSERT OR REPLACE INTO sessions (sid, user, last_seen) VALUES (?, ?, ?)")
        .run(session.sid, username, session.lastSeen);
      this.#written.set(session, session.lastSeen);
      if (replaced) this.#touched.delete(replaced);
      return result;
    });
  }

  session(sid: string): Promise<Session | undefined> {
    return Promise.resolve(this.#state.session(sid));
  }

  replaced(session: Session): Promise<boolean> {
    return Promise.resolve(this.#state.replaced(session));
  }

  touch(session: Session): void {
    const now = this.#state.now();
    session.lastSeen = now;
    const live = this.#state.bySid(session.sid);
    if (!live) return;
    live.lastSeen = now;
    if (now - (this.#written.get(live) ?? 0) < this.#touchEvery) return;
    this.#touched.add(live);
    this.#db.flushWithin(this.#touchEvery);
  }

  closeSession(session: Session): Promise<boolean> {
    return this.#db.write(() => {
      const live = this.#state.closeSession(session.sid);
      if (!live) return false;
      this.#touched.delete(live);
      this.#db.prepare("DELETE FROM sessions WHERE sid = ?").run(live.sid);
      return true;
    });
  }

  register(
    username: string,
    passwordHash: string,
  ): Promise<"registered" | "exists" | "users_full"> {
    return this.#db.write(() => {
      const result = this.#state.register(username, passwordHash);
      if (result === "registered") {
        this.#db.prepare("INSERT INTO users (name, password_hash) VALUES (?, ?)")
          .run(username, passwordHash);
      }
      return result;
    });
  }

  passwordHash(username: string): Promise<string | undefined> {
    return Promise.resolve(this.#state.passwordHash(username));
  }

  hasUser(username: string): Promise<boolean> {
    return Promise.resolve(this.#state.hasUser(username));
  }

  users(query: PageQuery): Promise<NamePage> {
    return Promise.resolve(this.#state.users(query));
  }

  createTopic(topic: string, creator: string): Promise<CreateTopicResult> {
    return this.#db.write(() => {
      const result = this.#state.createTopic(topic, creator);
      if (result === "created") {
        this.#db.prepare("INSERT INTO topics (name) VALUES (?)").run(topic);
        this.#db.prepare("INSERT INTO members (topic, user) VALUES (?, ?)").run(topic, creator);
      }
      return result;
    });
  }

  deleteTopic(topic: string): Promise<readonly string[] | undefined> {
    return this.#db.write(() => {
      const members = this.#state.deleteTopic(topic);
      if (members) {
        this.#db.prepare("DELETE FROM members WHERE topic = ?").run(topic);
        this.#db.prepare("DELETE FROM topics WHERE name = ?").run(topic);
      }
      return members;
    });
  }

  join(topic: string, users: readonly string[]): Promise<boolean> {
    return this.#db.write(() => {
      if (!this.#state.join(topic, users)) return false;
      const insert = this.#db.prepare(
        "INSERT OR IGNORE INTO members (topic, user) VALUES (?, ?)",
      );
      for (const user of users) insert.run(topic, user);
      return true;
    });
  }

  quit(topic: string, user: string): Promise<boolean> {
    return this.#db.write(() => {
      if (!this.#state.quit(topic, user)) return false;
      this.#db.prepare("DELETE FROM members WHERE topic = ? AND user = ?").run(topic, user);
      return true;
    });
  }

  members(topic: string): Promise<readonly string[] | undefined> {
    return Promise.resolve(this.#state.members(topic));
  }

  topics(query: PageQuery): Promise<NamePage> {
    return Promise.resolve(this.#state.topics(query));
  }

  sweep(): Promise<readonly Session[]> {
    return this.#db.write(() => this.#state.sweep());
  }

  stats(): DirectoryStats {
    return this.#state.stats();
  }

  async close(): Promise<void> {
    if (this.#db.closed) return;
    // Commits the lazy signs of life before letting go of the database.
    await this.#db.write(() => {});
    this.#db.detach(this.#participant);
  }

  // A session the state expired: its row goes with the next commit (until
  // then it is expired in the row too: its last_seen is older still).
  #expired = (session: Session): void => {
    this.#touched.delete(session);
    this.#dead.add(session.sid);
    this.#db.flushWithin(this.#touchEvery);
  };

  #writeLazy(): void {
    const seen = this.#db.prepare("UPDATE sessions SET last_seen = ? WHERE sid = ?");
    for (const session of this.#touched) {
      seen.run(session.lastSeen, session.sid);
      this.#written.set(session, session.lastSeen);
    }
    const remove = this.#db.prepare("DELETE FROM sessions WHERE sid = ?");
    for (const sid of this.#dead) remove.run(sid);
  }

  // Builds memory from the rows: at open, and after a failed commit (then
  // keeping the signs of life seen since, which were never written).
  #load(previous: DirectoryState | undefined): DirectoryState {
    const seen = new Map<string, number>();
    for (const session of previous?.allSessions() ?? []) seen.set(session.sid, session.lastSeen);
    const state = new DirectoryState({ ...this.#options, onExpired: this.#expired });
    this.#written = new WeakMap();
    this.#touched.clear();
    this.#dead.clear();
    // In name order, so each name goes at the end of the sorted list.
    for (
      const row of this.#db.prepare("SELECT name, password_hash FROM users ORDER BY name").all()
    ) {
      state.restoreUser(row.name as string, (row.password_hash as string | null) ?? undefined);
    }
    const oldest = state.now() - this.#options.sessionTtlMs;
    const rows = this.#db.prepare("SELECT sid, user, last_seen FROM sessions ORDER BY rowid").all();
    for (const row of rows) {
      const sid = row.sid as string;
      const written = row.last_seen as number;
      const lastSeen = Math.max(written, seen.get(sid) ?? 0);
      if (lastSeen <= oldest) {
        this.#dead.add(sid);
        continue;
      }
      const session = state.restoreSession(row.user as string, sid, lastSeen);
      this.#written.set(session, written);
      if (lastSeen > written) this.#touched.add(session);
    }
    const members = new Map<string, string[]>();
    for (const row of this.#db.prepare("SELECT name FROM topics ORDER BY rowid").all()) {
      members.set(row.name as string, []);
    }
    for (const row of this.#db.prepare("SELECT topic, user FROM members ORDER BY rowid").all()) {
      members.get(row.topic as string)?.push(row.user as string);
    }
    for (const topic of [...members.keys()].sort()) state.restoreTopic(topic, members.get(topic)!);
    if (this.#dead.size > 0 || this.#touched.size > 0) this.#db.flushWithin(this.#touchEvery);
    return state;
  }
}
