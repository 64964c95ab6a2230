/**
 * The HTTP API: the route table, the contract's order of checks, and the one
 * place where failures become status codes.
 *
 * Checks run in the contract's order, the first failing one answers: route
 * and method (404/405), connection cap (503, upgrades), Origin (403, POSTs and
 * upgrades), session (401), rate limit (429), Content-Type (415), size (413),
 * shape and names (400), `from` (403), idempotency (422), existence
 * (404/409), caps (429).
 *
 * @module
 */

import type { Authenticator } from "../auth/authenticator.ts";
import { Failure, type FailureKind } from "../protocol/errors.ts";
import { StoreUnavailableError } from "../store/store_error.ts";
import type { Hub } from "../realtime/hub.ts";
import type { Accepted } from "../realtime/sends.ts";
import type { Logger } from "../telemetry/log.ts";
import {
  parseCreateTopic,
  parseHistoryQuery,
  parseIdempotencyKey,
  parseLogin,
  parsePage,
  parseSend,
  parseSince,
  parseTopicParam,
  type SendRequest,
} from "../protocol/requests.ts";
import { entryFrame } from "../protocol/messages.ts";
import { createHash } from "node:crypto";
import { EXPOSITION_CONTENT_TYPE } from "../telemetry/metrics.ts";
import type { ServerMetrics } from "../telemetry/server_metrics.ts";
import type { RateLimiter } from "../util/rate_limiter.ts";
import { type JsonBody, readJsonBody } from "./body.ts";
import { clientAddress } from "./client_address.ts";
import { originAllowed } from "./origin.ts";
import { RequestTarget } from "./request_target.ts";
import { sessionToken } from "./session_token.ts";
import { createRouter } from "./router.ts";
import type { Session } from "../core/sessions.ts";

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

/** A request that passed routing and authentication. */
interface Context {
  readonly request: Request;
  /** The socket's peer address (a proxy's, behind one: see {@linkcode clientAddress}). */
  readonly peer: string;
  /** The path and query as sent. */
  readonly target: RequestTarget;
  readonly params: Readonly<Record<string, string>>;
  /** Present on every route that needs a session, but one that checks it itself. */
  readonly session: Session;
  /** Checks the request's session (401 without a live one): for a route that checks it itself. */
  authenticate(): Promise<Session>;
  /** Reads the JSON body: Content-Type (415), size (413), then syntax (400). */
  json(): Promise<unknown>;
  /** {@linkcode Context.json}, with the body's bytes. */
  body(): Promise<JsonBody>;
}

/** One route of the API. */
export interface Route {
  readonly methods: readonly string[];
  /** The path, with `{name}` for a parameter (the same syntax as openapi.yaml). */
  readonly path: string;
  readonly public?: boolean;
  /** The WebSocket upgrade: counted against the connection cap. */
  readonly upgrade?: boolean;
  /** Needs a session, but checks it itself (`Context.authenticate`), not before the handler. */
  readonly checksSession?: boolean;
  readonly handle: (context: Context) => Response | Promise<Response>;
}

// Methods `/healthz` answers: the contract says any.
const HEALTH_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** How the API reaches the rest of the server. */
export interface ApiDependencies {
  hub: Hub;
  log: Logger;
  authenticator: Authenticator;
  maxBodyBytes: number;
  /** Open WebSockets at most (`IM_MAX_CONNECTIONS`). */
  maxConnections: number;
  /** Open WebSockets now, those being opened included. */
  connections: () => number;
  /** `IM_ALLOWED_ORIGINS`; empty for the request's own origin. */
  allowedOrigins: readonly string[];
  /** Sends per user; absent: no limit. */
  sendLimiter?: RateLimiter;
  /** Logins and registrations per client address; absent: no limit. */
  loginLimiter?: RateLimiter;
  /** What `/metrics` shows and where requests are counted; absent: `/metrics` is 404. */
  metrics?: ServerMetrics;
  /** Answers `GET /api/ws` for a live session (the upgrade); `since` when the client resumes. */
  upgrade: (request: Request, session: Session, since: number | undefined) => Response;
  /** Answers paths outside `/api/` and `/healthz` (the bundled web client). */
  fallback: (request: Request) => Response | Promise<Response>;
}

/**
 * The route table of the API. Exported so a test can hold it against openapi.yaml.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ApiDependencies, routes } from "./api.ts";
 * const table = routes({} as ApiDependencies);
 * const send = table.find((route) => route.path === "/api/messages");
 * assert.deepEqual(send?.methods, ["POST"]);
 * ```
 */
export function routes(deps: ApiDependencies): Route[] {
  const { hub, upgrade, authenticator } = deps;
  const ok = (body: unknown = {}) => json(200, body);
  // The mode is public anyway (the login form depends on it) and saves clients a guess.
  const health = () => ok({ status: "ok", auth: authenticator.mode });
  return [
    { methods: HEALTH_METHODS, path: "/healthz", public: true, handle: health },
    { methods: HEALTH_METHODS, path: "/api/healthz", public: true, handle: health },
    {
      methods: ["GET"],
      path: "/metrics",
      public: true,
      handle: () => {
        if (!deps.metrics) throw new Failure("not_found", "metrics are off (IM_METRICS=off)");
        return new Response(deps.metrics.registry.expose(), {
          headers: { "content-type": EXPOSITION_CONTENT_TYPE },
        });
      },
    },
    {
      methods: ["POST"],
      path: "/api/login",
      public: true,
      handle: async (c) => {
        limit(deps.loginLimiter, clientAddress(c.request, c.peer), "logins from your address");
        const credentials = parseLogin(await c.json());
        await authenticator.verify(credentials);
        const session = await hub.login(credentials.username);
        return ok({ sid: session.sid, username: session.username });
      },
    },
    {
      methods: ["POST"],
      path: "/api/register",
      public: true,
      handle: async (c) => {
        limit(
          deps.loginLimiter,
          clientAddress(c.request, c.peer),
          "registrations from your address",
        );
        const credentials = parseLogin(await c.json());
        await authenticator.register(credentials);
        return ok({ username: credentials.username });
      },
    },
    {
      methods: ["POST"],
      path: "/api/logout",
      handle: async (c) => (await hub.logout(c.session), ok()),
    },
    {
      methods: ["GET"],
      path: "/api/users",
      handle: async (c) => {
        const online = c.target.query.get("online");
        if (online !== null && online !== "true" && online !== "false") {
          throw new Failure("bad_request", `online must be true or false`);
        }
        const page = parsePage(c.target.query);
        const { names, total } = await hub.users({ ...page, online: online === "true" });
        return ok({ total, list: names.map((username) => ({ username })) });
      },
    },
    {
      methods: ["GET"],
      path: "/api/topics",
      handle: async (c) => {
        const { names, total } = await hub.topics(parsePage(c.target.query));
        return ok({ total, list: names.map((topic) => ({ topic })) });
      },
    },
    {
      methods: ["POST"],
      path: "/api/topics",
      handle: async (c) => {
        const topic = parseCreateTopic(await c.json());
        await hub.createTopic(topic, c.session.username);
        return ok({ topic });
      },
    },
    topicAction("DELETE", "/api/topics/{topic}", (topic, user) => hub.deleteTopic(topic, user)),
    topicAction(
      "POST",
      "/api/topics/{topic}/actions/join",
      (topic, user) => hub.joinTopic(topic, user),
    ),
    topicAction(
      "POST",
      "/api/topics/{topic}/actions/quit",
      (topic, user) => hub.quitTopic(topic, user),
    ),
    {
      methods: ["POST"],
      path: "/api/messages",
      checksSession: true,
      handle: async (c) => {
        const sent = deps.hub.checksSessionsOnSend ? await sendInOneStep(c, deps) : undefined;
        if (sent) return ok({ id: sent.id, "sent-at": sent.sentAt });
        const session = await c.authenticate();
        limit(deps.sendLimiter, session.username, "messages");
        const body = await c.body();
        const message = parseSend(body.value);
        const key = parseIdempotencyKey(c.request.headers.get("idempotency-key"));
        if (message.from !== session.username) {
          throw new Failure(
            "forbidden",
            `"from" must be your own username (${session.username})`,
          );
        }
        const idempotency = key === undefined ? undefined : { key, bodyHash: hash(body.bytes) };
        const { id, sentAt } = await hub.send(message, idempotency);
        return ok({ id, "sent-at": sentAt });
      },
    },
    {
      methods: ["GET"],
      path: "/api/messages",
      handle: async (c) => {
        const user = c.session.username;
        const page = await hub.history(user, parseHistoryQuery(c.target.query));
        // Entry frames are JSON already: join them rather than parse and re-encode.
        const list = page.entries.map((e) => entryFrame(e.message, user, e.own, e.seq));
        return jsonText(200, `{"list":[${list.join(",")}],"has-more":${page.hasMore}}`);
      },
    },
    {
      methods: ["GET"],
      path: "/api/ws",
      upgrade: true,
      handle: (c) => upgrade(c.request, c.session, parseSince(c.target.query.get("since"))),
    },
    { methods: ["GET"], path: "/api/stats", handle: () => ok(hub.stats()) },
  ];
}

/**
 * Builds the request handler for the whole server. It takes the peer's IP
 * address as its second argument, as `listen()` (listener.ts) passes it (not
 * `Deno.serve`'s info object).
 *
 * @example Usage
 * ```ts ignore
 * listen({ hostname, port, signal, log, onError, handler: createApiHandler(deps) });
 * ```
 */
export function createApiHandler(
  deps: ApiDependencies,
): (request: Request, peer?: string) => Promise<Response> {
  const match = createRouter(routes(deps));
  return async (request, peer = "") => {
    const target = new RequestTarget(request.url);
    const path = target.pathname;
    const isApi = path === "/healthz" || path.startsWith("/api/") || path === "/api" ||
      path === "/metrics";
    if (!isApi) return count("static", await deps.fallback(request));
    let pattern = "unmatched";
    try {
      const candidates = match(path);
      if (candidates.length === 0) throw new Failure("not_found", `no route ${path}`);
      const found = candidates.find(({ route }) => route.methods.includes(request.method));
      pattern = (found ?? candidates[0]).route.path;
      if (!found) {
        const allow = candidates.flatMap(({ route }) => route.methods);
        const message = `${request.method} is not allowed on ${path}`;
        throw new Failure("method_not_allowed", message, { allow });
      }
      const { route } = found;
      if (route.upgrade && deps.connections() >= deps.maxConnections) {
        throw new Failure(
          "unavailable",
          `the server holds as many WebSockets as it takes (${deps.maxConnections}); try later`,
          { reason: "connections_full" },
        );
      }
      if (
        (route.upgrade || request.method === "POST") && !originAllowed(request, deps.allowedOrigins)
      ) {
        throw new Failure("forbidden", "requests from this Origin are not allowed", {
          reason: "origin",
        });
      }
      const session = route.public || route.checksSession
        ? undefined
        : await authenticate(request, target, deps.hub);
      // Read once: a handler that checks the session itself may ask again.
      let read: Promise<JsonBody> | undefined;
      const body = () => read ??= readJsonBody(request, deps.maxBodyBytes);
      return count(
        pattern,
        await route.handle({
          request,
          peer,
          target,
          params: found.params,
          session: session!,
          authenticate: () => authenticate(request, target, deps.hub),
          body,
          json: async () => (await body()).value,
        }),
      );
    } catch (error) {
      if (error instanceof Failure) {
        if (error.reason) deps.metrics?.refused(error.reason).inc();
        return count(pattern, json(STATUS[error.kind], { error: error.message }, headersOf(error)));
      }
      if (error instanceof StoreUnavailableError) {
        deps.metrics?.refused("store_unavailable").inc();
        const message = error.outcome === "not_applied"
          ? "the store is unavailable; nothing was done, try again"
          : "the store is unavailable; retry with the same Idempotency-Key to learn the outcome";
        return count(pattern, json(503, { error: message }, { "retry-after": "1" }));
      }
      deps.log(
        "error",
        { path, error: String((error as Error)?.stack ?? error) },
        "error",
      );
      return count(pattern, json(500, { error: "internal error" }));
    }
  };

  function count(route: string, response: Response): Response {
    deps.metrics?.http(route, response.status).inc();
    return response;
  }
}

function headersOf(failure: Failure): Record<string, string> {
  const headers: Record<string, string> = {};
  if (failure.retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(failure.retryAfterSeconds);
  }
  if (failure.allow) headers.allow = failure.allow.join(", ");
  return headers;
}

// A valid one-to-one send whose sid the store checks with the append (a
// cluster: one round trip instead of two), or `undefined` when it must go the
// long way — session first, then the limit, the body and "from" — which gives
// every refusal in its order; only a send accepted here skips it. The limit is
// taken for "from" and given back when the sid turns out not to be theirs, so
// a forged sid cannot spend another user's sends. Only for a hub that
// checks sessions on send: the others are not made to await it.
async function sendInOneStep(c: Context, deps: ApiDependencies): Promise<Accepted | undefined> {
  const sid = sessionToken(c.request, c.target);
  if (!sid) return undefined;
  let message: SendRequest;
  let idempotency: { key: string; bodyHash: string } | undefined;
  try {
    const body = await c.body();
    message = parseSend(body.value);
    const key = parseIdempotencyKey(c.request.headers.get("idempotency-key"));
    idempotency = key === undefined ? undefined : { key, bodyHash: hash(body.bytes) };
  } catch (error) {
    if (error instanceof Failure) return undefined;
    throw error;
  }
  if (message.kind !== "direct") return undefined;
  const limiter = deps.sendLimiter;
  if (limiter && !limiter.take(message.from).ok) return undefined;
  try {
    const sent = await deps.hub.sendAs(sid, message, idempotency);
    if (!sent) limiter?.give(message.from);
    return sent;
  } catch (error) {
    // Unanswered, the sid was not vouched for either: as the long way, which
    // fails at the session check, it spends nothing.
    if (error instanceof StoreUnavailableError) limiter?.give(message.from);
    throw error;
  }
}

// Takes a token for `key`, or refuses with 429 and when to come back.
function limit(limiter: RateLimiter | undefined, key: string, what: string): void {
  const taken = limiter?.take(key);
  if (taken && !taken.ok) {
    throw new Failure(
      "too_many_requests",
      `too many ${what}; try again in ${taken.retryAfterSeconds} s`,
      { retryAfterSeconds: taken.retryAfterSeconds, reason: "rate_limit" },
    );
  }
}

/**
 * A JSON response.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { json } from "./api.ts";
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

// A response whose body is JSON text already.
function jsonText(status: number, text: string, headers?: Record<string, string>): Response {
  return new Response(text, {
    status,
    headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
  });
}

function hash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64url");
}

async function authenticate(request: Request, target: RequestTarget, hub: Hub): Promise<Session> {
  const sid = sessionToken(request, target);
  const session = sid ? await hub.authenticate(sid) : undefined;
  if (!session) {
    throw new Failure(
      "unauthorized",
      sid ? "session is not valid (logged out or replaced)" : "not logged in",
    );
  }
  return session;
}

// A route on `/api/topics/{topic}...` that acts on the topic for the caller
// and echoes it. The name is checked after the session, before existence.
function topicAction(
  method: string,
  path: string,
  act: (topic: string, user: string) => Promise<void>,
): Route {
  return {
    methods: [method],
    path,
    handle: async (c) => {
      const topic = parseTopicParam(c.params.topic);
      await act(topic, c.session.username);
      return json(200, { topic });
    },
  };
}
