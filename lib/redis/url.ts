/**
 * Parses Redis connection URLs: `redis://[[username]:password@]host[:port][/db]`
 * over TCP, and `unix:///path/to/redis.sock[?db=N&username=U&password=P]`
 * for a Redis on the same machine (the query form is redis-py's: a URL
 * with an empty host cannot carry credentials before it).
 *
 * @module
 */

/** Who to connect as, and which database, whatever the transport. */
interface RedisLogin {
  /** ACL user; absent means the `default` user. */
  username?: string;
  /** Password for AUTH; absent means no AUTH. */
  password?: string;
  /** Database index for SELECT; 0 when the URL names none. */
  db: number;
}

/** A Redis reached over TCP. */
export interface RedisTcpUrl extends RedisLogin {
  readonly transport: "tcp";
  /** Host name or IP address (IPv6 without brackets). */
  hostname: string;
  /** TCP port; 6379 when the URL has none. */
  port: number;
}

/** A Redis reached through its Unix socket (`unixsocket` in redis.conf). */
export interface RedisUnixUrl extends RedisLogin {
  readonly transport: "unix";
  /** The socket's path. */
  path: string;
}

/** Where and as whom to connect, from a Redis URL. */
export type RedisUrl = RedisTcpUrl | RedisUnixUrl;

/**
 * Parses a Redis URL. A `rediss:` (TLS) URL is refused rather than silently
 * connecting in the clear.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRedisUrl } from "./url.ts";
 *
 * assert.deepEqual(parseRedisUrl("redis://:s%40cret@10.0.0.5:6380/2"), {
 *   transport: "tcp",
 *   hostname: "10.0.0.5",
 *   port: 6380,
 *   password: "s@cret",
 *   db: 2,
 * });
 * assert.deepEqual(parseRedisUrl("redis://localhost"), {
 *   transport: "tcp",
 *   hostname: "localhost",
 *   port: 6379,
 *   db: 0,
 * });
 * assert.deepEqual(parseRedisUrl("unix:///run/redis/redis.sock?db=1&password=s%40cret"), {
 *   transport: "unix",
 *   path: "/run/redis/redis.sock",
 *   password: "s@cret",
 *   db: 1,
 * });
 * ```
 *
 * @param url The URL.
 * @returns Its parts, percent-decoded.
 * @throws {TypeError} When the URL is not a valid `redis:` or `unix:` URL.
 */
export function parseRedisUrl(url: string | URL): RedisUrl {
  const parsed = typeof url === "string" ? new URL(url) : url;
  if (parsed.protocol === "unix:") return parseUnix(parsed);
  if (parsed.protocol !== "redis:") {
    throw new TypeError(`unsupported Redis URL scheme ${parsed.protocol} (only redis: and unix:)`);
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (hostname === "") throw new TypeError("Redis URL without a host");
  const port = parsed.port === "" ? 6379 : Number(parsed.port);
  const path = parsed.pathname.replace(/^\//, "");
  const result: RedisUrl = { transport: "tcp", hostname, port, db: dbIndex(path, parsed.pathname) };
  if (parsed.username !== "") result.username = decodeURIComponent(parsed.username);
  if (parsed.password !== "") result.password = decodeURIComponent(parsed.password);
  return result;
}

function parseUnix(parsed: URL): RedisUnixUrl {
  if (parsed.host !== "" || parsed.username !== "" || parsed.password !== "") {
    throw new TypeError("a unix: Redis URL has no host: unix:///path/to/redis.sock");
  }
  const path = decodeURIComponent(parsed.pathname);
  if (!path.startsWith("/") || path.endsWith("/")) {
    throw new TypeError(`unix: Redis URL path ${JSON.stringify(path)} is not a socket's path`);
  }
  const query = parsed.searchParams;
  for (const name of query.keys()) {
    if (name !== "db" && name !== "username" && name !== "password") {
      throw new TypeError(`unknown unix: Redis URL parameter ${name} (db, username, password)`);
    }
  }
  const db = query.get("db") ?? "";
  const result: RedisUnixUrl = { transport: "unix", path, db: dbIndex(db, db) };
  const username = query.get("username");
  const password = query.get("password");
  if (username) result.username = username;
  if (password) result.password = password;
  return result;
}

function dbIndex(text: string, shown: string): number {
  if (!/^\d*$/.test(text)) throw new TypeError(`Redis URL db ${shown} is not a db index`);
  return text === "" ? 0 : Number(text);
}
