import assert from "node:assert/strict";
import { parseRedisUrl } from "../../lib/redis/url.ts";

Deno.test("url: host, port and db; defaults 6379 and 0", () => {
  assert.deepEqual(parseRedisUrl("redis://127.0.0.1:7001/3"), {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 7001,
    db: 3,
  });
  assert.deepEqual(parseRedisUrl("redis://cache.internal/"), {
    transport: "tcp",
    hostname: "cache.internal",
    port: 6379,
    db: 0,
  });
  assert.deepEqual(parseRedisUrl(new URL("redis://[::1]:6390")), {
    transport: "tcp",
    hostname: "::1",
    port: 6390,
    db: 0,
  });
});

Deno.test("url: password alone, or user and password, percent-decoded", () => {
  assert.deepEqual(parseRedisUrl("redis://:p%3Aw%2Fd@h:1"), {
    transport: "tcp",
    hostname: "h",
    port: 1,
    password: "p:w/d",
    db: 0,
  });
  assert.deepEqual(parseRedisUrl("redis://app%20user:pw@h:1/15"), {
    transport: "tcp",
    hostname: "h",
    port: 1,
    username: "app user",
    password: "pw",
    db: 15,
  });
});

Deno.test("url: other schemes, missing hosts and non-numeric paths are refused", () => {
  assert.throws(() => parseRedisUrl("rediss://h:6379"), /unsupported Redis URL scheme rediss:/);
  assert.throws(() => parseRedisUrl("redis+unix:///tmp/r.sock"), /unsupported Redis URL scheme/);
  assert.throws(() => parseRedisUrl("http://h:6379"), TypeError);
  assert.throws(() => parseRedisUrl("redis://h/zero"), /not a db index/);
  assert.throws(() => parseRedisUrl("redis://"), /without a host/);
  assert.throws(() => parseRedisUrl("not a url"), TypeError);
});

Deno.test("url: a Unix socket's path, with db and credentials in the query", () => {
  assert.deepEqual(parseRedisUrl("unix:///run/redis/redis.sock"), {
    transport: "unix",
    path: "/run/redis/redis.sock",
    db: 0,
  });
  assert.deepEqual(parseRedisUrl("unix:/tmp/my%20redis.sock?db=3"), {
    transport: "unix",
    path: "/tmp/my redis.sock",
    db: 3,
  });
  assert.deepEqual(parseRedisUrl("unix:///tmp/r.sock?username=app&password=p%26w%3D"), {
    transport: "unix",
    path: "/tmp/r.sock",
    username: "app",
    password: "p&w=",
    db: 0,
  });
});

Deno.test("url: a unix: URL with a host, a relative or directory path, or an unknown parameter is refused", () => {
  assert.throws(() => parseRedisUrl("unix://localhost/tmp/r.sock"), /has no host/);
  assert.throws(() => parseRedisUrl("unix:r.sock"), /not a socket's path/);
  assert.throws(() => parseRedisUrl("unix:///tmp/"), /not a socket's path/);
  assert.throws(() => parseRedisUrl("unix:///tmp/r.sock?db=x"), /not a db index/);
  assert.throws(
    () => parseRedisUrl("unix:///tmp/r.sock?pass=x"),
    /unknown unix: Redis URL parameter pass/,
  );
});
