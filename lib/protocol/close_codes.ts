/**
 * The WebSocket close codes the server uses, each with its reason, in one
 * place: the contract's 4000–4009 plus the RFC 6455 codes it relies on.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Close } from "./close_codes.ts";
 * assert.deepEqual(Close.sessionReplaced, { code: 4001, reason: "session replaced" });
 * ```
 *
 * @module
 */

/** Why a socket was closed: the code and reason sent in the close frame. */
export interface CloseReason {
  readonly code: number;
  readonly reason: string;
}

/** Every way the server closes a socket. */
export const Close = {
  /** The server is shutting down. */
  goingAway: { code: 1001, reason: "server shutting down" },
  /**
   * The connection broke without a close frame. Never sent (RFC 6455
   * reserves 1006 for reporting); it names the case in logs and metrics.
   */
  abnormal: { code: 1006, reason: "connection lost" },
  /** The server could not read the user's mailbox; the client reconnects and resumes. */
  internalError: { code: 1011, reason: "internal error" },
  /** The cluster's store came back without its data: seqs start again, so clients resume. */
  storeReset: { code: 1012, reason: "store restarted" },
  /** An incoming frame was larger than `IM_MAX_FRAME_BYTES`. */
  tooBig: { code: 1009, reason: "frame too large" },
  /** `POST /api/logout` ended the session. */
  loggedOut: { code: 4000, reason: "logged out" },
  /** A newer login or a newer socket of the same session took over. */
  sessionReplaced: { code: 4001, reason: "session replaced" },
  /** One of the two heartbeat rules declared the user gone. */
  heartbeatTimeout: { code: 4008, reason: "heartbeat timeout" },
  /** The outbox stayed full for longer than `IM_SLOW_CONSUMER_MS`. */
  slowConsumer: { code: 4009, reason: "slow consumer" },
} as const satisfies Record<string, CloseReason>;

/**
 * The reason for a close the client started, as its close frame gave it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { closedByClient } from "./close_codes.ts";
 * assert.deepEqual(closedByClient(1000, ""), { code: 1000, reason: "closed by client" });
 * ```
 */
export function closedByClient(code: number, reason: string): CloseReason {
  return { code, reason: reason || "closed by client" };
}
