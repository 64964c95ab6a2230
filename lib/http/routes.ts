/**
 * The route table of the API: every path, its methods, and what its handler
 * checks, in the contract's order, once routing and the session are done.
 *
 * @module
 */

import type { Authenticator } from "../auth/authenticator.ts";
import type { Session } from "../core/sessions.ts";
import { Failure } from "../protocol/errors.ts";
import { entryFrame } from "../protocol/messages.ts";
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
import type { Hub } from "../realtime/hub.ts";
import type { Accepted, Idempotency } from "../realtime/sends.ts";
import { StoreUnavailableError } from "../store/store_error.ts";
import type { Logger } from "../telemetry/log.ts";
import { EXPOSITION_CONTENT_TYPE } from "../telemetry/metrics.ts";
import type { ServerMetrics } from "../telemetry/server_metrics.ts";
import type { RateLimiter } from "../util/rate_limiter.ts";
import { createHash } from "node:crypto";
import type { JsonBody } from "./body.ts";
import { clientAddress } from "./client_address.ts";
import type { RequestTarget } from "./request_target.ts";
import { json, jsonText } from "./responses.ts";
import { sessionToken } from "./session_token.ts";

/** A request that passed routing and authentication. */
export interface Context {
  readonly request: Request;
  /**
   * The socket's peer address (a proxy's, behind one: see
   * {@linkcode clientAddress}); asked for only by the routes that limit by it.
   */
  readonly peer: () => string;
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
 * import { type ApiDependencies, routes } from "./routes.ts";
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
        limit(deps.loginLimiter, clientAddress(c.request, c.peer()), "logins from your address");
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
          clientAddress(c.request, c.peer()),
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
        const idempotency = idempotencyOf(c.request, body);
        if (message.from !== session.username) {
          throw new Failure(
            "forbidden",
            `"from" must be your own username (${session.username})`,
          );
        }
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
  let idempotency: Idempotency | undefined;
  try {
    const body = await c.body();
    message = parseSend(body.value);
    idempotency = idempotencyOf(c.request, body);
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

// The request's Idempotency-Key (400 if malformed) with the hash of the body
// it came with, or undefined without one.
function idempotencyOf(request: Request, body: JsonBody): Idempotency | undefined {
  const key = parseIdempotencyKey(request.headers.get("idempotency-key"));
  if (key === undefined) return undefined;
  return { key, bodyHash: createHash("sha256").update(body.bytes).digest("base64url") };
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
