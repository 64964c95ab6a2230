/**
 * Parsing of HTTP request bodies into typed values. The core never sees raw
 * JSON: everything past these functions is validated.
 *
 * @module
 */

import { Failure } from "./errors.ts";
import { isName } from "./names.ts";

/** A validated `POST /api/messages` body. */
export type SendRequest =
  | {
    readonly kind: "direct";
    readonly from: string;
    readonly to: readonly string[];
    readonly content: string;
  }
  | {
    readonly kind: "topic";
    readonly from: string;
    readonly topic: string;
    readonly mentions: readonly string[];
    readonly content: string;
  };

const SEND_FIELDS = new Set(["message-type", "from", "to", "topic", "content-type", "content"]);

/**
 * Validates the body of `POST /api/login`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLogin } from "./requests.ts";
 * assert.equal(parseLogin({ username: "Harry" }), "Harry");
 * assert.throws(() => parseLogin({ username: "Ron" }), /4-30 characters/);
 * ```
 *
 * @param body Parsed JSON.
 * @returns The username.
 * @throws {Failure} `bad_request` when the shape or the name is wrong.
 */
export function parseLogin(body: unknown): string {
  return nameField(asObject(body), "username");
}

/**
 * Validates the body of `POST /api/topics`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCreateTopic } from "./requests.ts";
 * assert.equal(parseCreateTopic({ topic: "philosophers_stone" }), "philosophers_stone");
 * ```
 *
 * @param body Parsed JSON.
 * @returns The topic name.
 * @throws {Failure} `bad_request` when the shape or the name is wrong.
 */
export function parseCreateTopic(body: unknown): string {
  return nameField(asObject(body), "topic");
}

/**
 * Validates the body of `POST /api/messages`: exactly one of the contract's
 * two shapes, no unknown fields. `from` is checked for shape here; whether it
 * is the caller's own name (403) is the caller's business.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSend } from "./requests.ts";
 * const request = parseSend({
 *   "message-type": "message", from: "Harry", to: ["Ron_W"],
 *   "content-type": "text/plain", content: "Are you OK ?",
 * });
 * assert.deepEqual(request, { kind: "direct", from: "Harry", to: ["Ron_W"], content: "Are you OK ?" });
 * ```
 *
 * @param body Parsed JSON.
 * @returns The message request.
 * @throws {Failure} `bad_request` naming the first field that is wrong.
 */
export function parseSend(body: unknown): SendRequest {
  const fields = asObject(body);
  for (const key of Object.keys(fields)) {
    if (!SEND_FIELDS.has(key)) {
      throw new Failure("bad_request", `unknown field ${JSON.stringify(key.slice(0, 40))}`);
    }
  }
  if (fields["message-type"] !== "message") {
    throw new Failure("bad_request", `"message-type" must be "message"`);
  }
  const from = nameField(fields, "from");
  if (fields["content-type"] !== "text/plain") {
    throw new Failure("bad_request", `"content-type" must be "text/plain"`);
  }
  const content = fields.content;
  if (typeof content !== "string") throw new Failure("bad_request", `"content" must be a string`);
  const to = fields.to;
  if (!Array.isArray(to)) throw new Failure("bad_request", `"to" must be a list of usernames`);
  to.forEach((name, i) => {
    if (!isName(name)) throw new Failure("bad_request", `"to"[${i}] is not a valid username`);
  });
  const topic = fields.topic;
  if (topic === undefined || topic === "") {
    if (to.length === 0) throw new Failure("bad_request", `"to" must name at least one recipient`);
    return { kind: "direct", from, to, content };
  }
  if (!isName(topic)) throw new Failure("bad_request", `"topic" is not a valid topic name`);
  return { kind: "topic", from, topic, mentions: to, content };
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new Failure("bad_request", "body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function nameField(fields: Record<string, unknown>, key: string): string {
  const value = fields[key];
  if (typeof value !== "string") throw new Failure("bad_request", `"${key}" must be a string`);
  if (!isName(value)) {
    throw new Failure("bad_request", `"${key}" must be 4-30 characters of a-z, A-Z, 0-9, _ or -`);
  }
  return value;
}
