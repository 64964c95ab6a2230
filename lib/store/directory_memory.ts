/**
 * The in-memory engine of {@linkcode Directory} (`IM_STORE=memory`), and the
 * state a durable engine keeps in memory in front of its tables.
 *
 * @module
 */

import { type Session, SessionRegistry } from "../core/sessions.ts";
import { TopicRegistry } from "../core/topics.ts";
import { SortedNames } from "../util/sorted_names.ts";
import type {
  CreateTopicResult,
  Directory,
  DirectoryOptions,
  DirectoryStats,
  NamePage,
  OpenSessionResult,
  PageQuery,
} from "./directory.ts";

/** Sessions looked at per {@linkcode MemoryDirectory.sweep}, so one call stays short. */
const SWEEP_BUDGET = 2_000;

/**
 * Users, sessions and topics in memory.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryDirectory } from "./directory_memory.ts";
 * const directory = new MemoryDirectory({
 *   sessionTtlMs: 86_400_000, maxUsers: 1000, maxTopics: 1000, maxSessions: 1000,
 * });
 * const opened = await directory.openSession("Harry");
 * assert.equal(opened.kind, "opened");
 * if (opened.kind === "opened") {
 *   assert.equal((await directory.session(opened.session.sid))?.username, "Harry");
 * }
 * assert.equal(await directory.createTopic("quidditch", "Harry"), "created");
 * assert.deepEqual(await directory.members("quidditch"), ["Harry"]);
 * ```
 */
export class MemoryDirectory implements Directory {
  readonly #options: DirectoryOptions;
  readonly #now: () => number;
  readonly #sessions = new SessionRegistry();
  readonly #users = new SortedNames();
  readonly #passwords = new Map<string, string>();
  readonly #topics = new TopicRegistry();
  readonly #topicNames = new SortedNames();
  // Live across calls: a Map iterator sees sessions added and removed meanwhile.
  #sweepCursor: Iterator<Session> | undefined;

  /** @param options Limits and the clock. */
  constructor(options: DirectoryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  openSession(username: string): Promise<OpenSessionResult> {
    return Promise.resolve(this.openSessionNow(username));
  }

  /** {@linkcode openSession} without the promise, for an engine that persists it. */
  openSessionNow(username: string, sid?: string, lastSeen?: number): OpenSessionResult {
    if (!this.#users.has(username) && this.#users.size >= this.#options.maxUsers) {
      return { kind: "users_full" };
    }
    const now = this.#now();
    const holdsOne = this.#sessions.byUser(username) !== undefined;
    if (!holdsOne && this.#sessions.size >= this.#options.maxSessions) {
      this.#expire(now, Infinity);
      if (this.#sessions.size >= this.#options.maxSessions) return { kind: "sessions_full" };
    }
    this.#users.add(username);
    const { session, replaced } = this.#sessions.open(username, lastSeen ?? now, sid);
    return replaced ? { kind: "opened", session, replaced } : { kind: "opened", session };
  }

  session(sid: string): Promise<Session | undefined> {
    const session = this.#sessions.bySid(sid);
    if (session && session.lastSeen <= this.#now() - this.#options.sessionTtlMs) {
      this.#sessions.close(session);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(session);
  }

  touch(session: Session): void {
    session.lastSeen = this.#now();
  }

  closeSession(session: Session): Promise<boolean> {
    return Promise.resolve(this.#sessions.close(session));
  }

  register(
    username: string,
    passwordHash: string,
  ): Promise<"registered" | "exists" | "users_full"> {
    if (this.#users.has(username)) return Promise.resolve("exists");
    if (this.#users.size >= this.#options.maxUsers) return Promise.resolve("users_full");
    this.#users.add(username);
    this.#passwords.set(username, passwordHash);
    return Promise.resolve("registered");
  }

  passwordHash(username: string): Promise<string | undefined> {
    return Promise.resolve(this.#passwords.get(username));
  }

  hasUser(username: string): Promise<boolean> {
    return Promise.resolve(this.#users.has(username));
  }

  users({ after, limit = Infinity }: PageQuery): Promise<NamePage> {
    return Promise.resolve({ names: this.#users.page(after, limit), total: this.#users.size });
  }

  createTopic(topic: string, creator: string): Promise<CreateTopicResult> {
    if (this.#topics.has(topic)) return Promise.resolve("exists");
    if (this.#topics.size >= this.#options.maxTopics) return Promise.resolve("topics_full");
    this.#topics.create(topic, creator);
    this.#topicNames.add(topic);
    return Promise.resolve("created");
  }

  deleteTopic(topic: string): Promise<readonly string[] | undefined> {
    if (!this.#topics.has(topic)) return Promise.resolve(undefined);
    this.#topicNames.delete(topic);
    return Promise.resolve([...this.#topics.delete(topic)]);
  }

  join(topic: string, users: readonly string[]): Promise<boolean> {
    if (!this.#topics.has(topic)) return Promise.resolve(false);
    this.#topics.join(topic, ...users);
    return Promise.resolve(true);
  }

  quit(topic: string, user: string): Promise<boolean> {
    if (!this.#topics.has(topic)) return Promise.resolve(false);
    this.#topics.quit(topic, user);
    return Promise.resolve(true);
  }

  members(topic: string): Promise<readonly string[] | undefined> {
    return Promise.resolve(this.#topics.has(topic) ? [...this.#topics.members(topic)] : undefined);
  }

  topics({ after, limit = Infinity }: PageQuery): Promise<NamePage> {
    return Promise.resolve({
      names: this.#topicNames.page(after, limit),
      total: this.#topicNames.size,
    });
  }

  sweep(): Promise<readonly Session[]> {
    return Promise.resolve(this.#expire(this.#now(), SWEEP_BUDGET));
  }

  stats(): DirectoryStats {
    return { users: this.#users.size, sessions: this.#sessions.size, topics: this.#topics.size };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  // Looks at up to `budget` sessions, resuming where the last call stopped.
  #expire(now: number, budget: number): Session[] {
    const expired: Session[] = [];
    const oldest = now - this.#options.sessionTtlMs;
    for (let looked = 0; looked < budget; looked++) {
      this.#sweepCursor ??= this.#sessions.all();
      const next = this.#sweepCursor.next();
      if (next.done) {
        this.#sweepCursor = undefined;
        break;
      }
      if (next.value.lastSeen <= oldest) {
        this.#sessions.close(next.value);
        expired.push(next.value);
      }
    }
    return expired;
  }
}
