/**
 * The in-memory engine of {@linkcode Directory} (`IM_STORE=memory`): the
 * {@linkcode DirectoryState} alone, nothing written anywhere.
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
  readonly #state: DirectoryState;

  /** @param options Limits and the clock. */
  constructor(options: DirectoryOptions) {
    this.#state = new DirectoryState(options);
  }

  openSession(username: string): Promise<OpenSessionResult> {
    return Promise.resolve(this.#state.openSession(username));
  }

  session(sid: string): Promise<Session | undefined> {
    return Promise.resolve(this.#state.session(sid));
  }

  replaced(session: Session): Promise<boolean> {
    return Promise.resolve(this.#state.replaced(session));
  }

  touch(session: Session): void {
    session.lastSeen = this.#state.now();
  }

  closeSession(session: Session): Promise<boolean> {
    return Promise.resolve(this.#state.closeSession(session.sid) !== undefined);
  }

  register(
    username: string,
    passwordHash: string,
  ): Promise<"registered" | "exists" | "users_full"> {
    return Promise.resolve(this.#state.register(username, passwordHash));
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
    return Promise.resolve(this.#state.createTopic(topic, creator));
  }

  deleteTopic(topic: string): Promise<readonly string[] | undefined> {
    return Promise.resolve(this.#state.deleteTopic(topic));
  }

  join(topic: string, users: readonly string[]): Promise<boolean> {
    return Promise.resolve(this.#state.join(topic, users));
  }

  quit(topic: string, user: string): Promise<boolean> {
    return Promise.resolve(this.#state.quit(topic, user));
  }

  members(topic: string): Promise<readonly string[] | undefined> {
    return Promise.resolve(this.#state.members(topic));
  }

  topics(query: PageQuery): Promise<NamePage> {
    return Promise.resolve(this.#state.topics(query));
  }

  sweep(): Promise<readonly Session[]> {
    return Promise.resolve(this.#state.sweep());
  }

  stats(): DirectoryStats {
    return this.#state.stats();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
