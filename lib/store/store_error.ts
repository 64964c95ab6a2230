/**
 * The one error every store engine raises when it cannot do what was asked
 * right now, which the HTTP API answers with 503.
 *
 * @module
 */

/**
 * Whether a failed call may have run: `not_applied` means it certainly did
 * not (it never left the process, or Redis refused it whole); `unknown`
 * means it may have run and nobody could find out.
 */
export type StoreOutcome = "not_applied" | "unknown";

/**
 * The store could not be reached in time or could not commit (Redis down,
 * unreachable or refusing writes; SQLite failing to write). The server answers 503; with `outcome: "not_applied"`
 * the request is certain to have changed nothing.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoreUnavailableError } from "./store_error.ts";
 * const error = new StoreUnavailableError("not_applied", "Redis is unreachable");
 * assert.equal(error.outcome, "not_applied");
 * assert.equal(error.name, "StoreUnavailableError");
 * ```
 */
export class StoreUnavailableError extends Error {
  /** Always `"StoreUnavailableError"`. */
  override name = "StoreUnavailableError";
  /** Whether the failed call may have changed anything. */
  readonly outcome: StoreOutcome;

  /**
   * Describes an outage.
   *
   * @param outcome Whether the failed call may have changed anything.
   * @param message What happened.
   * @param options The underlying error as `cause`.
   */
  constructor(outcome: StoreOutcome, message: string, options?: ErrorOptions) {
    super(message, options);
    this.outcome = outcome;
  }
}
