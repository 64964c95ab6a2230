/**
 * The failures the server reports to clients, as typed exceptions. The core
 * throws them by kind; `http/responses.ts` maps each kind to its status code
 * in one place.
 *
 * @module
 */

/** What went wrong, in the contract's terms. */
export type FailureKind =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  /** A well-formed request the server cannot take as it is (an idempotency key reused with another body). */
  | "unprocessable"
  /** A rate limit or a cap: nothing was done; try again later. */
  | "too_many_requests"
  /** The store cannot be reached or could not commit: nothing was done. */
  | "unavailable";

/**
 * A failure caused by the request, with a message meant for the client.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure } from "./errors.ts";
 * const failure = new Failure("not_found", "topic philosophers_stone does not exist");
 * assert.equal(failure.kind, "not_found");
 * assert.ok(failure instanceof Error);
 * ```
 */
export class Failure extends Error {
  override name = "Failure";

  /** When to try again (a `Retry-After` header), for refusals that pass. */
  readonly retryAfterSeconds?: number;
  /** Which limit or cap refused the request (`rate_limit`, `mailbox_full`, …), for metrics. */
  readonly reason?: string;
  /** The methods the path does take, for `method_not_allowed` (an `Allow` header). */
  readonly allow?: readonly string[];

  /**
   * @param kind What went wrong.
   * @param message A human-readable reason, sent to the client as `error`.
   * @param options Details of a refusal.
   */
  constructor(
    readonly kind: FailureKind,
    message: string,
    options: { retryAfterSeconds?: number; reason?: string; allow?: readonly string[] } = {},
  ) {
    super(message);
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.reason = options.reason;
    this.allow = options.allow;
  }
}

/** What the whole server holds at most of (`IM_MAX_USERS`, `IM_MAX_SESSIONS`, …). */
export type ServerCap = "users" | "sessions" | "topics" | "mailboxes";

/**
 * The refusal of a request that a server-wide cap stops: `too_many_requests`,
 * with `<cap>_full` as its reason.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { serverFull } from "./errors.ts";
 * const failure = serverFull("topics");
 * assert.equal(failure.kind, "too_many_requests");
 * assert.equal(failure.reason, "topics_full");
 * assert.equal(failure.message, "the server has as many topics as it takes");
 * ```
 */
export function serverFull(cap: ServerCap): Failure {
  return new Failure("too_many_requests", `the server has as many ${cap} as it takes`, {
    reason: `${cap}_full`,
  });
}
