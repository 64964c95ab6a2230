/**
 * The directory: users, their sessions, topics and memberships — everything
 * durable about who is who, apart from the mailboxes.
 *
 * This file is the interface; each engine is a file beside it
 * (`directory_<engine>.ts`) and passes one contract suite
 * (`tests/store/directory_contract.ts`). What a promise resolves to is
 * committed (with a durable engine it survives `kill -9`).
 *
 * @module
 */

import type { Session } from "../core/sessions.ts";

export type { Session };

/** A page of names, in name order (UTF-16 code unit order, as JavaScript sorts). */
export interface NamePage {
  readonly names: readonly string[];
  /** How many there are in all. */
  readonly total: number;
}

/** Where a page of names starts and how long it is. */
export interface PageQuery {
  /** Names after this one in name order (it need not exist). */
  readonly after?: string;
  readonly limit?: number;
}

/** What became of a login. */
export type OpenSessionResult =
  | { readonly kind: "opened"; readonly session: Session; readonly replaced?: Session }
  /** `maxUsers` would be passed by this new user. */
  | { readonly kind: "users_full" }
  /** `maxSessions` live sessions exist and none could expire. */
  | { readonly kind: "sessions_full" };

/** What became of a topic creation. */
export type CreateTopicResult = "created" | "exists" | "topics_full";

/** Limits and clocks every engine takes. */
export interface DirectoryOptions {
  /** A session with no sign of life for this long expires. */
  readonly sessionTtlMs: number;
  /** Users who ever logged in, at most. */
  readonly maxUsers: number;
  /** Topics, at most. */
  readonly maxTopics: number;
  /** Live sessions, at most. */
  readonly maxSessions: number;
  /** The clock (injectable for tests). */
  readonly now?: () => number;
}

/** Counts for monitoring and leak checks. */
export interface DirectoryStats {
  readonly users: number;
  readonly sessions: number;
  readonly topics: number;
}

/** Users, sessions, topics and members. */
export interface Directory {
  /**
   * Opens a session for `username`, creating the user the first time; the
   * session they held before, if any, dies and is returned as `replaced`.
   */
  openSession(username: string): Promise<OpenSessionResult>;
  /** The live session holding `sid`. */
  session(sid: string): Promise<Session | undefined>;
  /**
   * Whether `session`, no longer live, was replaced: its user holds a live
   * session with another sid now (a later login, maybe on another node).
   * Tells a socket's close code (4001, not 4000) where the end was not seen.
   */
  replaced(session: Session): Promise<boolean>;
  /**
   * Records a sign of life of `session` (a frame or a request). In memory at
   * once; made durable lazily, since it only matters for idle expiry.
   */
  touch(session: Session): void;
  /** Ends `session`; `false` if it was not live. */
  closeSession(session: Session): Promise<boolean>;
  /**
   * Creates `username` with a password hash (password mode); `exists` if the
   * name is taken (by a registration or, in open mode, a login).
   */
  register(username: string, passwordHash: string): Promise<"registered" | "exists" | "users_full">;
  /** The stored password hash of `username`, if they registered with one. */
  passwordHash(username: string): Promise<string | undefined>;
  /** Whether `username` ever logged in. */
  hasUser(username: string): Promise<boolean>;
  /** Users who ever logged in, by name. */
  users(query: PageQuery): Promise<NamePage>;

  /** Creates `topic` with `creator` as its first member. */
  createTopic(topic: string, creator: string): Promise<CreateTopicResult>;
  /** Removes `topic`; its members at the time, or `undefined` if it did not exist. */
  deleteTopic(topic: string): Promise<readonly string[] | undefined>;
  /** Adds `users` to `topic` (joining twice is fine); `false` if it does not exist. */
  join(topic: string, users: readonly string[]): Promise<boolean>;
  /** Removes `user` from `topic` (never joined is fine); `false` if it does not exist. */
  quit(topic: string, user: string): Promise<boolean>;
  /** The members of `topic`, or `undefined` if it does not exist. */
  members(topic: string): Promise<readonly string[] | undefined>;
  /** Topics, by name. */
  topics(query: PageQuery): Promise<NamePage>;

  /** Expires idle sessions (bounded work per call); returns those that expired. */
  sweep(): Promise<readonly Session[]>;
  stats(): DirectoryStats;
  /** Makes everything durable and releases the engine's resources. */
  close(): Promise<void>;
}
