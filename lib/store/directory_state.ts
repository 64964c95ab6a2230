/**
 * The directory's rules on state in memory: the caps, session replacement
 * and idle expiry, topic membership, name paging. The memory engine is this
 * state alone; the SQLite engine keeps one in front of its tables and writes
 * a row for each change it reports.
 *
 * @module
 */

import { type Session, SessionRegistry } from "../core/sessions.ts";
import { TopicRegistry } from "../core/topics.ts";
import { SortedNames } from "../util/sorted_names.ts";
import type {
  CreateTopicResult,
  DirectoryOptions,
  DirectoryStats,
  NamePage,
  OpenSessionResult,
  PageQuery,
} from "./directory.ts";

/** Sessions looked at per {@linkcode DirectoryState.sweep}, so one call stays short. */
export const SWEEP_BUDGET = 2_000;

/** Limits, the clock, and who hears of sessions the state expires. */
export interface DirectoryStateOptions extends DirectoryOptions {
  /** Called for each session closed for idleness (by a sweep, a lookup or a full registry). */
  readonly onExpired?: (session: Session) => void;
}

/**
 * Users, sessions and topics in memory, every operation synchronous.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DirectoryState } from "./directory_state.ts";
 * const state = new DirectoryState({ sessionTtlMs: 1000, maxUsers: 10, maxTopics: 10, maxSessions: 10 });
 * const opened = state.openSession("Harry");
 * assert.equal(opened.kind, "opened");
 * assert.equal(state.createTopic("quidditch", "Harry"), "created");
 * assert.equal(state.join("quidditch", ["Ron_W"]), true);
 * assert.deepEqual(state.members("quidditch"), ["Harry", "Ron_W"]);
 * assert.deepEqual(state.users({}), { names: ["Harry"], total: 1 });
 * ```
 */
export class DirectoryState {
  readonly #options: DirectoryStateOptions;
  readonly #now: () => number;
  readonly #sessions = new SessionRegistry();
  readonly #users = new SortedNames();
  readonly #passwords = new Map<string, string>();
  readonly #topics = new TopicRegistry();
  readonly #topicNames = new SortedNames();
  // Live across calls: a Map iterator sees sessions added and removed meanwhile.
  #sweepCursor: Iterator<Session> | undefined;

  /** @param options Limits, the clock and the expiry callback. */
  constructor(options: DirectoryStateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The clock the state reads. */
  now(): number {
    return this.#now();
  }

  /**
   * Opens a session for `username` (a new user if needed), replacing theirs;
   * a full registry first expires every idle session.
   */
  openSession(username: string): OpenSessionResult {
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
    const { session, replaced } = this.#sessions.open(username, now);
    return replaced ? { kind: "opened", session, replaced } : { kind: "opened", session };
  }

  /** The live session `sid`; an idle one is expired instead. */
  session(sid: string): Session | undefined {
    const session = this.#sessions.bySid(sid);
    if (session && session.lastSeen <= this.#now() - this.#options.sessionTtlMs) {
      this.#close(session);
      return undefined;
    }
    return session;
  }

  /** Whether `session`'s user holds a live session with another sid. */
  replaced(session: Session): boolean {
    const current = this.#sessions.byUser(session.username);
    return current !== undefined && current.sid !== session.sid;
  }

  /** The session `sid` as held, idle or not. */
  bySid(sid: string): Session | undefined {
    return this.#sessions.bySid(sid);
  }

  /** Every session held, idle or not, oldest login first. */
  allSessions(): IterableIterator<Session> {
    return this.#sessions.all();
  }

  /** Closes the session `sid`; the one closed, if it was open. */
  closeSession(sid: string): Session | undefined {
    const live = this.#sessions.bySid(sid);
    if (live) this.#sessions.close(live);
    return live;
  }

  /** Adds a user with a password, within the cap. */
  register(username: string, passwordHash: string): "registered" | "exists" | "users_full" {
    if (this.#users.has(username)) return "exists";
    if (this.#users.size >= this.#options.maxUsers) return "users_full";
    this.restoreUser(username, passwordHash);
    return "registered";
  }

  /** `username`'s password hash, if they registered one. */
  passwordHash(username: string): string | undefined {
    return this.#passwords.get(username);
  }

  /** Whether `username` ever logged in or registered. */
  hasUser(username: string): boolean {
    return this.#users.has(username);
  }

  /** A page of users by name. */
  users({ after, limit = Infinity }: PageQuery): NamePage {
    return { names: this.#users.page(after, limit), total: this.#users.size };
  }

  /** Creates `topic` with its creator as the one member, within the cap. */
  createTopic(topic: string, creator: string): CreateTopicResult {
    if (this.#topics.has(topic)) return "exists";
    if (this.#topics.size >= this.#options.maxTopics) return "topics_full";
    this.restoreTopic(topic, [creator]);
    return "created";
  }

  /** Deletes `topic`; its members, or `undefined` if there was no such topic. */
  deleteTopic(topic: string): readonly string[] | undefined {
    if (!this.#topics.has(topic)) return undefined;
    this.#topicNames.delete(topic);
    return [...this.#topics.delete(topic)];
  }

  /** Adds `users` to `topic`; false if there is no such topic. */
  join(topic: string, users: readonly string[]): boolean {
    if (!this.#topics.has(topic)) return false;
    this.#topics.join(topic, ...users);
    return true;
  }

  /** Removes `user` from `topic`; false if there is no such topic. */
  quit(topic: string, user: string): boolean {
    if (!this.#topics.has(topic)) return false;
    this.#topics.quit(topic, user);
    return true;
  }

  /** The members of `topic` in join order, or `undefined`. */
  members(topic: string): readonly string[] | undefined {
    return this.#topics.has(topic) ? [...this.#topics.members(topic)] : undefined;
  }

  /** A page of topics by name. */
  topics({ after, limit = Infinity }: PageQuery): NamePage {
    return { names: this.#topicNames.page(after, limit), total: this.#topicNames.size };
  }

  /** Expires idle sessions among the next {@linkcode SWEEP_BUDGET}; those it closed. */
  sweep(): Session[] {
    return this.#expire(this.#now(), SWEEP_BUDGET);
  }

  /** How much the state holds. */
  stats(): DirectoryStats {
    return { users: this.#users.size, sessions: this.#sessions.size, topics: this.#topics.size };
  }

  /** Puts back a stored user, past the caps (they were checked when it was made). */
  restoreUser(username: string, passwordHash?: string): void {
    this.#users.add(username);
    if (passwordHash !== undefined) this.#passwords.set(username, passwordHash);
  }

  /** Puts back a stored session. */
  restoreSession(username: string, sid: string, lastSeen: number): Session {
    this.#users.add(username);
    return this.#sessions.open(username, lastSeen, sid).session;
  }

  /** Puts back a stored topic with its members in join order (it may have none). */
  restoreTopic(topic: string, members: readonly string[]): void {
    this.#topics.create(topic, ...members);
    this.#topicNames.add(topic);
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
        this.#close(next.value);
        expired.push(next.value);
      }
    }
    return expired;
  }

  #close(session: Session): void {
    this.#sessions.close(session);
    this.#options.onExpired?.(session);
  }
}
