/**
 * The address a request comes from, for the per-address login limit: the
 * peer's, or — when the peer is a reverse proxy on this machine (loopback)
 * that says whom it forwards — the last address in `X-Forwarded-For`, the
 * one that proxy itself saw. Without this, every client behind nginx would
 * share one login budget.
 *
 * @module
 */

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * The client's address for rate limits.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientAddress } from "./client_address.ts";
 * const via = (forwarded?: string) =>
 *   new Request("http://chat.example/", { headers: forwarded ? { "x-forwarded-for": forwarded } : {} });
 * assert.equal(clientAddress(via("203.0.113.9"), "127.0.0.1"), "203.0.113.9");
 * assert.equal(clientAddress(via("10.0.0.1, 203.0.113.9"), "127.0.0.1"), "203.0.113.9");
 * assert.equal(clientAddress(via("203.0.113.9"), "198.51.100.7"), "198.51.100.7"); // not our proxy
 * assert.equal(clientAddress(via(), "127.0.0.1"), "127.0.0.1");
 * ```
 *
 * @param request The request.
 * @param peer The address of the connection's other end.
 */
export function clientAddress(request: Request, peer: string): string {
  if (!LOOPBACK.test(peer)) return peer;
  const forwarded = request.headers.get("x-forwarded-for");
  const last = forwarded?.split(",").at(-1)?.trim();
  return last ? last.slice(0, 64) : peer;
}
