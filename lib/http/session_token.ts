/**
 * Where a request carries its session id: `Authorization: Bearer <sid>`, or
 * the `sid` query parameter (a browser cannot set headers on a WebSocket
 * upgrade).
 *
 * @module
 */

import type { RequestTarget } from "./request_target.ts";

/**
 * The sid a request presents: the Bearer token if the header has one, else
 * `?sid=`; `undefined` when neither does.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestTarget } from "./request_target.ts";
 * import { sessionToken } from "./session_token.ts";
 * const url = "http://chat.example/api/ws?sid=from-query";
 * const request = (authorization?: string) =>
 *   new Request(url, { headers: authorization ? { authorization } : {} });
 * const target = new RequestTarget(url);
 * assert.equal(sessionToken(request("Bearer abc"), target), "abc");
 * assert.equal(sessionToken(request("bearer\tabc "), target), "abc");
 * assert.equal(sessionToken(request("Basic abc"), target), "from-query");
 * assert.equal(sessionToken(request(), new RequestTarget("http://chat.example/")), undefined);
 * ```
 *
 * @param request The request.
 * @param target Its path and query.
 */
export function sessionToken(request: Request, target: RequestTarget): string | undefined {
  return bearerToken(request.headers.get("authorization")) ?? target.query.get("sid") ?? undefined;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

// The token of `Bearer <token>`, the scheme in any case. The shape every
// client sends ("Bearer " and printable ASCII) is checked without the
// regex, which showed in profiles of 1:1 sends.
function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  if (header.length > 7 && header.startsWith("Bearer ") && isPrintableAscii(header, 7)) {
    return header.slice(7);
  }
  return header.match(BEARER)?.[1];
}

// No whitespace, control or non-ASCII character from `from` on.
function isPrintableAscii(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 32 || code >= 127) return false;
  }
  return true;
}
