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

/** A validated `POST /api/login` or `POST /api/register` body. */
export interface LoginRequest {
  readonly username: string;
  /** The `password` field as sent, for the authenticator to judge (password mode). */
  readonly password?: unknown;
  /** The `token` field as sent, for the authenticator to judge (token mode). */
  readonly token?: unknown;
}

/**
 * Validates the body of `POST /api/login` (and `POST /api/register`): a
 * valid `username`; `password` and `token` are passed on as sent, since
 * whether they are right is the authenticator's business (and a wrong one
 * must look like any other refusal). Other fields are ignored, as the
 * upstream schema allows.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLogin } from "./requests.ts";
 * assert.deepEqual(parseLogin({ username: "Harry" }), { username: "Harry" });
 * assert.deepEqual(parseLogin({ username: "Harry", password: "expelliarmus", extra: 1 }), {
 *   username: "Harry",
 *   password: "expelliarmus",
 * });
 * assert.throws(() => parseLogin({ username: "Ron" }), /4-30 characters/);
 * ```
 *
 * @param body Parsed JSON.
 * @returns The username, with any password or token.
 * @throws {Failure} `bad_request` when the shape or the name is wrong.
 */
export function parseLogin(body: unknown): LoginRequest {
  const fields = asObject(body);
  const login: { -readonly [K in keyof LoginRequest]: LoginRequest[K] } = {
    username: nameField(fields, "username"),
  };
  if (fields.password !== undefined) login.password = fields.password;
  if (fields.token !== undefined) login.token = fields.token;
  return login;
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
  if (typeof fields.content !== "string") {
    throw new Failure("bad_request", `"content" must be a string`);
  }
  // A lone surrogate ("\ud800" is valid JSON) is no text: the WebSocket
  // sends U+FFFD in its place, and stores that keep UTF-8 would too, so the
  // message is U+FFFD everywhere, live, in history and on every engine.
  const content = fields.content.toWellFormed();
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
  return checkedName(value, `"${key}"`);
}

// `label` names the field or parameter in the refusal.
function checkedName(value: string, label: string): string {
  if (!isName(value)) {
    throw new Failure("bad_request", `${label} must be 4-30 characters of a-z, A-Z, 0-9, _ or -`);
  }
  return value;
}

/** A validated `GET /api/messages` query. */
export interface HistoryRequest {
  readonly before?: number;
  readonly after?: number;
  readonly limit: number;
  readonly with?: string;
  readonly topic?: string;
}

const HISTORY_PARAMS = new Set(["before", "after", "limit", "with", "topic", "sid"]);
const SEQ = /^[0-9]{1,15}$/;

/**
 * Validates the query of `GET /api/messages`: `before` or `after` (a seq),
 * `limit` (1–200, default 50), `with` (a username) or `topic` (a topic).
 * Any other value, an empty one too, is `bad_request`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHistoryQuery } from "./requests.ts";
 * assert.deepEqual(parseHistoryQuery(new URLSearchParams("before=40&limit=10&with=Ron_W")), {
 *   before: 40, limit: 10, with: "Ron_W",
 * });
 * assert.deepEqual(parseHistoryQuery(new URLSearchParams("")), { limit: 50 });
 * assert.throws(() => parseHistoryQuery(new URLSearchParams("limit=0")), /limit/);
 * ```
 *
 * @param params The URL's query.
 * @returns The query, typed.
 * @throws {Failure} `bad_request` naming the parameter that is wrong.
 */
export function parseHistoryQuery(params: URLSearchParams): HistoryRequest {
  for (const key of params.keys()) {
    if (!HISTORY_PARAMS.has(key)) {
      throw new Failure("bad_request", `unknown parameter ${JSON.stringify(key.slice(0, 40))}`);
    }
  }
  const query: { -readonly [K in keyof HistoryRequest]: HistoryRequest[K] } = {
    limit: boundedInteger(params, "limit", 1, 200) ?? 50,
  };
  const before = seqParam(params, "before");
  const after = seqParam(params, "after");
  if (before !== undefined && after !== undefined) {
    throw new Failure("bad_request", "give before or after, not both");
  }
  if (before !== undefined) query.before = before;
  if (after !== undefined) query.after = after;
  const withUser = nameParam(params, "with");
  const topic = nameParam(params, "topic");
  if (withUser !== undefined && topic !== undefined) {
    throw new Failure("bad_request", "give with or topic, not both");
  }
  if (withUser !== undefined) query.with = withUser;
  if (topic !== undefined) query.topic = topic;
  return query;
}

/** A validated page of `GET /api/users` or `GET /api/topics`. */
export interface PageRequest {
  /** Names after this one, by name. */
  readonly after?: string;
  readonly limit?: number;
}

/**
 * Validates `after` (a name) and `limit` (1–1000) of a list route; neither
 * given is the whole list, as in v1.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePage } from "./requests.ts";
 * assert.deepEqual(parsePage(new URLSearchParams("after=Harry&limit=20")), { after: "Harry", limit: 20 });
 * assert.deepEqual(parsePage(new URLSearchParams("online=true")), {});
 * assert.throws(() => parsePage(new URLSearchParams("limit=")), /limit/);
 * ```
 *
 * @param params The URL's query.
 * @returns The page, typed.
 * @throws {Failure} `bad_request` naming the parameter that is wrong.
 */
export function parsePage(params: URLSearchParams): PageRequest {
  const page: { -readonly [K in keyof PageRequest]: PageRequest[K] } = {};
  const limit = boundedInteger(params, "limit", 1, 1000);
  const after = nameParam(params, "after");
  if (limit !== undefined) page.limit = limit;
  if (after !== undefined) page.after = after;
  return page;
}

/**
 * Validates the `since` of `GET /api/ws?since=N`: 1 to 15 decimal digits.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSince } from "./requests.ts";
 * assert.equal(parseSince(null), undefined); // not given: a v1 socket
 * assert.equal(parseSince("17"), 17);
 * assert.throws(() => parseSince(""), /since/);
 * assert.throws(() => parseSince("-1"), /since/);
 * ```
 *
 * @param value The parameter as given, or `null`.
 * @returns The seq, or `undefined` when not given.
 * @throws {Failure} `bad_request`.
 */
export function parseSince(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!SEQ.test(value)) {
    throw new Failure("bad_request", "since must be a seq: 1 to 15 decimal digits");
  }
  return Number(value);
}

/**
 * Validates the `{topic}` of a path such as `/api/topics/{topic}/actions/join`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTopicParam } from "./requests.ts";
 * assert.equal(parseTopicParam("quidditch"), "quidditch");
 * assert.throws(() => parseTopicParam("q!"), /topic must be 4-30 characters/);
 * ```
 *
 * @param value The path segment, decoded.
 * @returns The topic name.
 * @throws {Failure} `bad_request`.
 */
export function parseTopicParam(value: string): string {
  return checkedName(value, "topic");
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Validates an `Idempotency-Key` header: 1–64 of `A-Z a-z 0-9 . _ : -`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdempotencyKey } from "./requests.ts";
 * assert.equal(parseIdempotencyKey(null), undefined);
 * assert.equal(parseIdempotencyKey("retry-7:a.b_c"), "retry-7:a.b_c");
 * assert.throws(() => parseIdempotencyKey(""), /Idempotency-Key/);
 * assert.throws(() => parseIdempotencyKey("has space"), /Idempotency-Key/);
 * ```
 *
 * @param value The header as given, or `null`.
 * @returns The key, or `undefined` when there is no header.
 * @throws {Failure} `bad_request` for a present but empty or malformed key.
 */
export function parseIdempotencyKey(value: string | null): string | undefined {
  if (value === null) return undefined;
  if (!IDEMPOTENCY_KEY.test(value)) {
    throw new Failure(
      "bad_request",
      "Idempotency-Key must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'",
    );
  }
  return value;
}

function seqParam(params: URLSearchParams, key: string): number | undefined {
  const value = params.get(key);
  if (value === null) return undefined;
  if (!SEQ.test(value)) throw new Failure("bad_request", `${key} must be a seq (decimal digits)`);
  return Number(value);
}

function boundedInteger(
  params: URLSearchParams,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const value = params.get(key);
  if (value === null) return undefined;
  const n = /^[0-9]{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new Failure("bad_request", `${key} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function nameParam(params: URLSearchParams, key: string): string | undefined {
  const value = params.get(key);
  return value === null ? undefined : checkedName(value, key);
}
