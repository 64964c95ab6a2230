/**
 * The ways a Redis call can fail, as distinct classes, because they call for
 * different reactions: a {@linkcode RedisError} is the server's definite
 * answer (the command ran, or was refused, and retrying will not help), while
 * a {@linkcode RedisConnectionError} or {@linkcode RedisTimeoutError} with
 * `sent: true` means nobody knows whether the command ran — a retried INCR
 * might count twice.
 *
 * @module
 */

/**
 * An error reply from the server (`-ERR …`, `-WRONGTYPE …`, `-NOSCRIPT …`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisError } from "./errors.ts";
 *
 * const error = new RedisError("WRONGTYPE Operation against a key holding the wrong kind of value");
 * assert.equal(error.code, "WRONGTYPE");
 * assert.match(error.message, /wrong kind/);
 * ```
 */
export class RedisError extends Error {
  /** Always `"RedisError"`. */
  override name = "RedisError";
  /** The reply's first word, which Redis uses as an error code (`ERR`, `NOSCRIPT`, `MOVED`). */
  readonly code: string;

  /**
   * Wraps an error reply.
   *
   * @param reply The reply text without the leading `-` or `!`.
   */
  constructor(reply: string) {
    super(reply);
    const space = reply.indexOf(" ");
    this.code = space < 0 ? reply : reply.slice(0, space);
  }
}

/** Options of {@linkcode RedisConnectionError}. */
export interface RedisConnectionErrorOptions extends ErrorOptions {
  /**
   * Whether the command had been written to the socket. `true`: it may or may
   * not have run. `false`: it never left this process, so it did not run.
   */
  sent: boolean;
}

/**
 * The transport failed: the connection dropped, could not be opened, or the
 * client was closed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisConnectionError } from "./errors.ts";
 *
 * const error = new RedisConnectionError("connection lost", { sent: true });
 * assert.equal(error.sent, true);
 * assert.ok(error instanceof Error);
 * ```
 */
export class RedisConnectionError extends Error {
  /** Always `"RedisConnectionError"`. */
  override name = "RedisConnectionError";
  /** See {@linkcode RedisConnectionErrorOptions.sent}. */
  readonly sent: boolean;

  /**
   * Describes a transport failure.
   *
   * @param message What happened.
   * @param options Whether the command was sent, and the underlying cause.
   */
  constructor(message: string, options: RedisConnectionErrorOptions) {
    super(message, options);
    this.sent = options.sent;
  }
}

/**
 * A call's deadline passed before its reply arrived. It is a
 * {@linkcode RedisConnectionError} because, once sent, its outcome is just as
 * unknown.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisConnectionError, RedisTimeoutError } from "./errors.ts";
 *
 * const error = new RedisTimeoutError("GET", 5000, false);
 * assert.ok(error instanceof RedisConnectionError);
 * assert.equal(error.sent, false);
 * assert.equal(error.message, "GET: no reply within 5000 ms");
 * ```
 */
export class RedisTimeoutError extends RedisConnectionError {
  /** Always `"RedisTimeoutError"`. */
  override name = "RedisTimeoutError";

  /**
   * Describes a missed deadline.
   *
   * @param command The command's name.
   * @param timeoutMs The deadline that passed.
   * @param sent Whether the command had been written.
   */
  constructor(command: string, timeoutMs: number, sent: boolean) {
    super(`${command}: no reply within ${timeoutMs} ms`, { sent });
  }
}

/**
 * The client already holds its maximum of unanswered commands; the new one
 * was refused without being sent, so the caller can shed load instead of
 * queueing without bound.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisQueueFullError } from "./errors.ts";
 *
 * const error = new RedisQueueFullError(10_000);
 * assert.equal(error.maxPending, 10_000);
 * ```
 */
export class RedisQueueFullError extends Error {
  /** Always `"RedisQueueFullError"`. */
  override name = "RedisQueueFullError";

  /**
   * Describes a refused call.
   *
   * @param maxPending The limit that was reached, kept as `maxPending`.
   */
  constructor(readonly maxPending: number) {
    super(`more than ${maxPending} commands pending`);
  }
}

/**
 * The bytes from the server are not valid RESP, or a reply arrived that no
 * command was waiting for. The connection cannot be trusted after this and is
 * reset.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisProtocolError } from "./errors.ts";
 *
 * assert.equal(new RedisProtocolError("unexpected byte 0x3f").name, "RedisProtocolError");
 * ```
 */
export class RedisProtocolError extends Error {
  /** Always `"RedisProtocolError"`. */
  override name = "RedisProtocolError";
}
