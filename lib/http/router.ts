/**
 * Finds the routes a path matches: exact paths by a Map lookup, patterns with
 * `{name}` parameters segment by segment.
 *
 * @module
 */

/** Anything with a path pattern in openapi.yaml's syntax (`/api/topics/{topic}`). */
export interface Routable {
  readonly path: string;
}

/** A route that matches a request's path, with the path's parameters. */
export interface Match<R extends Routable> {
  readonly route: R;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Every route of `routes` that matches `pathname`, with its parameters
 * (decoded; a malformed escape is left as it is, for the name check to
 * refuse).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRouter } from "./router.ts";
 * const match = createRouter([{ path: "/api/topics" }, { path: "/api/topics/{topic}" }]);
 * assert.deepEqual(match("/api/topics/quidditch").map((m) => m.params), [{ topic: "quidditch" }]);
 * assert.equal(match("/api/topics")[0].route.path, "/api/topics");
 * assert.deepEqual(match("/api/nope"), []);
 * ```
 *
 * @param routes The routes, several per path allowed (one per method set).
 * @returns A function from a path to its matches.
 */
export function createRouter<R extends Routable>(
  routes: readonly R[],
): (pathname: string) => Match<R>[] {
  // Most requests hit a path without parameters.
  const exact = new Map<string, Match<R>[]>();
  const patterns: { route: R; segments: string[] }[] = [];
  for (const route of routes) {
    if (route.path.includes("{")) patterns.push({ route, segments: route.path.split("/") });
    else exact.set(route.path, [...(exact.get(route.path) ?? []), { route, params: {} }]);
  }
  return (pathname) => {
    const found = exact.get(pathname);
    if (found) return found;
    const path = pathname.split("/");
    return patterns.flatMap(({ route, segments }) => {
      const params = matchPath(segments, path);
      return params ? [{ route, params }] : [];
    });
  };
}

function matchPath(
  pattern: readonly string[],
  segments: readonly string[],
): Record<string, string> | undefined {
  if (segments.length !== pattern.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i];
    if (want.startsWith("{")) {
      if (segments[i] === "") return undefined;
      params[want.slice(1, -1)] = safeDecode(segments[i]);
    } else if (want !== segments[i]) {
      return undefined;
    }
  }
  return params;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
