/**
 * The `Origin` rule for upgrades and POSTs: a browser page of another site
 * must not act with a user's session (or open their socket).
 *
 * @module
 */

/**
 * Whether `request` may act, judged by its `Origin` header: no header
 * (non-browser clients) passes; otherwise it must be in `allowed`, or, when
 * `allowed` is empty, exactly `http://` + the request's `Host` (so `null`,
 * another port or `https` do not pass).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { originAllowed } from "./origin.ts";
 * const request = (origin?: string) =>
 *   new Request("http://chat.example:8080/api/login", {
 *     headers: { host: "chat.example:8080", ...(origin ? { origin } : {}) },
 *   });
 * assert.equal(originAllowed(request(), []), true);
 * assert.equal(originAllowed(request("http://chat.example:8080"), []), true);
 * assert.equal(originAllowed(request("http://evil.example"), []), false);
 * assert.equal(originAllowed(request("https://app.example"), ["https://app.example"]), true);
 * ```
 *
 * @param request The request.
 * @param allowed `IM_ALLOWED_ORIGINS`; empty for the request's own origin.
 */
export function originAllowed(request: Request, allowed: readonly string[]): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  if (allowed.length > 0) return allowed.includes(origin);
  const host = request.headers.get("host");
  return host !== null && origin === `http://${host}`;
}
