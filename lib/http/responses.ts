/**
 * The one place where failures become HTTP responses: each {@linkcode Failure}
 * kind has its status code, a store outage is a 503, and every body is JSON.
 *
 * @module
 */

import { Failure, type FailureKind } from "../protocol/errors.ts";
import { StoreUnavailableError } from "../store/store_error.ts";

const STATUS: Record<FailureKind, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  too_many_requests: 429,
  unavailable: 503,
};

/**
 * The response for an error a handler threw: its status and `{error}`, or
 * `undefined` for an error that is not a refusal (a bug: the caller logs it
 * and answers 500).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorResponse } from "./responses.ts";
 * import { Failure } from "../protocol/errors.ts";
 * const response = errorResponse(new Failure("too_many_requests", "slow down", { retryAfterSeconds: 2 }));
 * assert.equal(response?.status, 429);
 * assert.equal(response?.headers.get("retry-after"), "2");
 * assert.equal(errorResponse(new TypeError("oops")), undefined);
 * ```
 */
export function errorResponse(error: unknown): Response | undefined {
  if (error instanceof Failure) {
    return json(STATUS[error.kind], { error: error.message }, headersOf(error));
  }
  if (error instanceof StoreUnavailableError) {
    const message = error.outcome === "not_applied"
      ? "the store is unavailable; nothing was done, try again"
      : "the store is unavailable; retry with the same Idempotency-Key to learn the outcome";
    return json(503, { error: message }, { "retry-after": "1" });
  }
  return undefined;
}

function headersOf(failure: Failure): Record<string, string> {
  const headers: Record<string, string> = {};
  if (failure.retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(failure.retryAfterSeconds);
  }
  if (failure.allow) headers.allow = failure.allow.join(", ");
  return headers;
}

/**
 * A JSON response.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { json } from "./responses.ts";
 * const response = json(404, { error: "no such thing" });
 * assert.equal(response.status, 404);
 * assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
 * assert.deepEqual(await response.json(), { error: "no such thing" });
 * ```
 */
export function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return jsonText(status, JSON.stringify(body), headers);
}

const JSON_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json; charset=utf-8",
};

/**
 * A response whose body is JSON text already.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonText } from "./responses.ts";
 * assert.deepEqual(await jsonText(200, '{"list":[]}').json(), { list: [] });
 * ```
 */
export function jsonText(status: number, text: string, headers?: Record<string, string>): Response {
  return new Response(text, {
    status,
    headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
  });
}
