/**
 * Who may log in as whom: the three `IM_AUTH` modes behind one interface.
 *
 * - `open` (v1): a name is enough. Anyone can be anyone.
 * - `password`: a user registers a name with a password; logging in needs
 *   it. An unknown user and a wrong or missing password get the same answer
 *   after the same work (a scrypt verification either way).
 * - `token`: the application's backend signs an HS256 JWT whose `sub` is the
 *   username; this server checks it without calling back.
 *
 * @module
 */

import { Failure, serverFull } from "../protocol/errors.ts";
import type { Directory } from "../store/directory.ts";
import { importHmacKey, verifyJwt } from "./jwt.ts";
import { DUMMY_PASSWORD_HASH, hashPassword, validatePassword, verifyPassword } from "./password.ts";

/** The `IM_AUTH` modes. */
export type AuthMode = "open" | "password" | "token";

/** What a login or registration body carried, besides the (valid) username. */
export interface Credentials {
  readonly username: string;
  /** The `password` field as sent (any JSON value; checked here). */
  readonly password?: unknown;
  /** The `token` field as sent (any JSON value; checked here). */
  readonly token?: unknown;
}

/** Checks credentials for one mode. */
export interface Authenticator {
  readonly mode: AuthMode;
  /**
   * Resolves when `credentials` prove the user is who they say.
   *
   * @throws {Failure} `unauthorized`, the same for every reason.
   */
  verify(credentials: Credentials): Promise<void>;
  /**
   * Creates the user with a password (password mode only).
   *
   * @throws {Failure} `not_found` in other modes, `bad_request` for a password
   * out of the rules, `conflict` for a taken name, `too_many_requests` at the
   * users cap.
   */
  register(credentials: Credentials): Promise<void>;
}

const REFUSED = "wrong username or password";

/**
 * The authenticator of a mode.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAuthenticator } from "./authenticator.ts";
 * import { MemoryDirectory } from "../store/directory_memory.ts";
 * const directory = new MemoryDirectory({ sessionTtlMs: 1000, maxUsers: 10, maxTopics: 10, maxSessions: 10 });
 * const auth = await createAuthenticator("password", "", directory);
 * await auth.register({ username: "Harry", password: "expelliarmus" });
 * await auth.verify({ username: "Harry", password: "expelliarmus" });
 * await assert.rejects(auth.verify({ username: "Harry", password: "alohomora" }), { kind: "unauthorized" });
 * await assert.rejects(auth.verify({ username: "Nobody", password: "alohomora" }), { kind: "unauthorized" });
 * ```
 *
 * @param mode The `IM_AUTH` mode.
 * @param secret The `IM_AUTH_SECRET` (token mode).
 * @param directory Where password hashes are kept.
 */
export async function createAuthenticator(
  mode: AuthMode,
  secret: string,
  directory: Directory,
): Promise<Authenticator> {
  const noRegistration = () =>
    Promise.reject(
      new Failure("not_found", `registration is only open in password mode (this server: ${mode})`),
    );
  if (mode === "open") {
    return { mode, verify: () => Promise.resolve(), register: noRegistration };
  }
  if (mode === "token") {
    const key = await importHmacKey(secret);
    return {
      mode,
      register: noRegistration,
      async verify({ username, token }) {
        if (typeof token !== "string") throw new Failure("unauthorized", "a valid token is needed");
        const result = await verifyJwt(token, key, { expectedSubject: username });
        if (!result.ok) throw new Failure("unauthorized", "a valid token is needed");
      },
    };
  }
  return {
    mode,
    async verify({ username, password }) {
      const stored = await directory.passwordHash(username);
      // Unknown users cost a verification too, so timing tells nothing.
      const matches = await verifyPassword(
        typeof password === "string" ? password : "",
        stored ?? DUMMY_PASSWORD_HASH,
      );
      if (!stored || !matches || typeof password !== "string") {
        throw new Failure("unauthorized", REFUSED);
      }
    },
    async register({ username, password }) {
      if (typeof password !== "string") {
        throw new Failure("bad_request", `"password" must be a string`);
      }
      const problem = validatePassword(password);
      if (problem) throw new Failure("bad_request", problem);
      const result = await directory.register(username, await hashPassword(password));
      if (result === "exists") throw new Failure("conflict", `the name ${username} is taken`);
      if (result === "users_full") throw serverFull("users");
    },
  };
}
