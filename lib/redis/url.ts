/**
 * Parses `redis://[[username]:password@]host[:port][/db]` connection URLs.
 *
 * @module
 */

/** Where and as whom to connect, from a Redis URL. */
export interface RedisUrl {
  /** Host name or IP address (IPv6 without brackets). */
  hostname: string;
  /** TCP port; 6379 when the URL has none. */
  port: number;
  /** ACL user; absent means the `default` user. */
  username?: string;
  /** Password for AUTH; absent means no AUTH. */
  password?: string;
  /** Database index for SELECT; 0 when the URL has no path. */
  db: number;
}

/**
 * Parses a Redis URL. Only plain `redis:` is accepted: a `rediss:` (TLS) URL
 * is refused rather than silently connecting in the clear.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRedisUrl } from "./url.ts";
 *
 * assert.deepEqual(parseRedisUrl("redis://:s%40cret@10.0.0.5:6380/2"), {
 *   hostname: "10.0.0.5",
 *   port: 6380,
 *   password: "s@cret",
 *   db: 2,
 * });
 * assert.deepEqual(parseRedisUrl("redis://localhost"), { hostname: "localhost", port: 6379, db: 0 });
 * ```
 *
 * @param url The URL.
 * @returns Its parts, percent-decoded.
 * @throws {TypeError} When the URL is not a valid `redis:` URL.
 */
export function parseRedisUrl(url: string | URL): RedisUrl {
  const parsed = typeof url === "string" ? new URL(url) : url;
  if (parsed.protocol !== "redis:") {
    throw new TypeError(`unsupported Redis URL scheme ${parsed.protocol} (only redis:)`);
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (hostname === "") throw new TypeError("Redis URL without a host");
  const port = parsed.port === "" ? 6379 : Number(parsed.port);
  const path = parsed.pathname.replace(/^\//, "");
  if (!/^\d*$/.test(path)) {
    throw new TypeError(`Redis URL path ${parsed.pathname} is not a db index`);
  }
  const result: RedisUrl = { hostname, port, db: path === "" ? 0 : Number(path) };
  if (parsed.username !== "") result.username = decodeURIComponent(parsed.username);
  if (parsed.password !== "") result.password = decodeURIComponent(parsed.password);
  return result;
}
