import assert from "node:assert/strict";
import { parseRedisUrl } from "../../lib/redis/url.ts";

Deno.test("url: host, port and db; defaults 6379 and 0", () => {
  assert.deepEqual(parseRedisUrl("redis://127.0.0.1:7001/3"), {
    hostname: "127.0.0.1",
    port: 7001,
    db: 3,
  });
  assert.deepEqual(parseRedisUrl("redis://cache.internal/"), {
    hostname: "cache.internal",
    port: 6379,
    db: 0,
  });
  assert.deepEqual(parseRedisUrl(new URL("redis://[::1]:6390")), {
    hostname: "::1",
    port: 6390,
    db: 0,
  });
});

Deno.test("url: password alone, or user and password, percent-decoded", () => {
  assert.deepEqual(parseRedisUrl("redis://:p%3Aw%2Fd@h:1"), {
    hostname: "h",
    port: 1,
    password: "p:w/d",
    db: 0,
  });
  assert.deepEqual(parseRedisUrl("redis://app%20user:pw@h:1/15"), {
    hostname: "h",
    port: 1,
    username: "app user",
    password: "pw",
    db: 15,
  });
});

Deno.test("url: other schemes, missing hosts and non-numeric paths are refused", () => {
  assert.throws(() => parseRedisUrl("rediss://h:6379"), /unsupported Redis URL scheme rediss:/);
  assert.throws(() => parseRedisUrl("http://h:6379"), TypeError);
  assert.throws(() => parseRedisUrl("redis://h/zero"), /not a db index/);
  assert.throws(() => parseRedisUrl("redis://"), /without a host/);
  assert.throws(() => parseRedisUrl("not a url"), TypeError);
});
