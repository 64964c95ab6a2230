/**
 * Login sessions: who holds which `sid`, one session per user.
 *
 * @module
 */

/** A logged-in user's session. Its socket, if any, is attached by the hub. */
export interface Session {
  /** The unguessable token the client sends as `Bearer` or `?sid=`. */
  readonly sid: string;
  readonly username: string;
  /** The last sign of life: a frame or an authenticated HTTP request. */
  lastSeen: number;
}

/**
 * Creates a random session id of 192 bits, URL-safe.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { newSid } from "./sessions.ts";
 * assert.match(newSid(), /^[A-Za-z0-9_-]{32}$/);
 * assert.notEqual(newSid(), newSid());
 * ```
 */
export function newSid(): string {
  return crypto.getRandomValues(new Uint8Array(24)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

/**
 * Sessions by `sid` and by user; a user holds at most one.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { SessionRegistry } from "./sessions.ts";
 * const sessions = new SessionRegistry();
 * const { session } = sessions.open("Harry", Date.now());
 * assert.equal(sessions.bySid(session.sid)?.username, "Harry");
 * ```
 */
export class SessionRegistry {
  readonly #bySid = new Map<string, Session>();
  readonly #byUser = new Map<string, Session>();

  /** Live sessions. */
  get size(): number {
    return this.#bySid.size;
  }

  /**
   * Opens a session for `username`, ending the one they held before.
   *
   * @param sid The session's id: a new random one unless an engine reloads a stored session.
   * @returns The new session, and the one it replaced, if any.
   */
  open(username: string, now: number, sid = newSid()): { session: Session; replaced?: Session } {
    const replaced = this.#byUser.get(username);
    if (replaced) this.#bySid.delete(replaced.sid);
    const session: Session = { sid, username, lastSeen: now };
    this.#bySid.set(session.sid, session);
    this.#byUser.set(username, session);
    return { session, replaced };
  }

  /** The live session holding `sid`, if any. */
  bySid(sid: string): Session | undefined {
    return this.#bySid.get(sid);
  }

  /** The live session of `username`, if any. */
  byUser(username: string): Session | undefined {
    return this.#byUser.get(username);
  }

  /** Whether `session` is still live (not replaced, not logged out). */
  isLive(session: Session): boolean {
    return this.#bySid.get(session.sid) === session;
  }

  /** Ends `session`; its sid is dead from now on. `false` if it was not live. */
  close(session: Session): boolean {
    if (!this.isLive(session)) return false;
    this.#bySid.delete(session.sid);
    this.#byUser.delete(session.username);
    return true;
  }

  /** Every live session, oldest login first; the iterator sees later changes. */
  all(): IterableIterator<Session> {
    return this.#byUser.values();
  }
}
