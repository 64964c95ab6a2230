/**
 * The HTTP API's request handler: routing, the contract's order of checks
 * before a handler runs, and every error turned into its response.
 *
 * Checks run in the contract's order, the first failing one answers: route
 * and method (404/405), connection cap (503, upgrades), Origin (403, POSTs and
 * upgrades), session (401), rate limit (429), Content-Type (415), size (413),
 * shape and names (400), `from` (403), idempotency (422), existence
 * (404/409), caps (429). The handlers (`routes.ts`) do the checks from the
 * rate limit on; failures become status codes in `responses.ts`.
 *
 * @module
 */

import type { Session } from "../core/sessions.ts";
import { Failure } from "../protocol/errors.ts";
import type { Hub } from "../realtime/hub.ts";
import { StoreUnavailableError } from "../store/store_error.ts";
import { type JsonBody, readJsonBody } from "./body.ts";
import { originAllowed } from "./origin.ts";
import { RequestTarget } from "./request_target.ts";
import { errorResponse, json } from "./responses.ts";
import { createRouter } from "./router.ts";
import { type ApiDependencies, routes } from "./routes.ts";
import { sessionToken } from "./session_token.ts";

/**
 * Builds the request handler for the whole server. It takes a function giving
 * the peer's IP address as its second argument, as `listen()` (listener.ts)
 * passes it (not `Deno.serve`'s info object).
 *
 * @example Usage
 * ```ts ignore
 * listen({ hostname, port, signal, log, onError, handler: createApiHandler(deps) });
 * ```
 */
export function createApiHandler(
  deps: ApiDependencies,
): (request: Request, peer?: () => string) => Promise<Response> {
  const match = createRouter(routes(deps));
  return async (request, peer = () => "") => {
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
      if (error instanceof Failure && error.reason) deps.metrics?.refused(error.reason).inc();
      if (error instanceof StoreUnavailableError) deps.metrics?.refused("store_unavailable").inc();
      const refusal = errorResponse(error);
      if (refusal) return count(pattern, refusal);
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
