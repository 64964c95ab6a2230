import assert from "node:assert/strict";
import { RedisClient } from "../../lib/redis/client.ts";
import {
  RedisConnectionError,
  RedisError,
  RedisQueueFullError,
  RedisTimeoutError,
} from "../../lib/redis/errors.ts";
import { RedisServer } from "./redis_server.ts";
import { within } from "./within.ts";

Deno.test("client: basic commands, null replies and error replies", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url);
  assert.equal(client.connected, true);
  assert.equal(await client.command(["PING"]), "PONG");
  assert.equal(await client.command(["SET", "k", "v"]), "OK");
  assert.equal(await client.command(["GET", "k"]), "v");
  assert.equal(await client.command(["GET", "missing"]), null);
  assert.deepEqual(await client.command(["LRANGE", "missing", 0, -1]), []);
  assert.equal(await client.command(["RPUSH", "list", "a", "b", 3]), 3);
  assert.deepEqual(await client.command(["LRANGE", "list", 0, -1]), ["a", "b", "3"]);
  await assert.rejects(client.command(["INCR", "k"]), (error) => {
    assert.ok(error instanceof RedisError);
    assert.equal(error.code, "ERR");
    assert.match(error.message, /not an integer/);
    return true;
  });
  await assert.rejects(client.command(["NOSUCHCOMMAND"]), /ERR unknown command/);
  assert.equal(
    await client.command(["GET", "k"]),
    "v",
    "an error reply leaves the connection in step",
  );
});

Deno.test("client: 10,000 INCR in flight come back in order", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url);
  const replies = await Promise.all(
    Array.from({ length: 10_000 }, () => client.command(["INCR", "n"])),
  );
  assert.deepEqual(replies, Array.from({ length: 10_000 }, (_, i) => i + 1));
  assert.equal(client.pending, 0);
});

Deno.test("client: an error inside a pipeline leaves the other replies intact", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url);
  const replies = await client.pipeline([
    ["SET", "s", "text"],
    ["INCR", "s"],
    ["LPUSH", "s", "x"],
    ["APPEND", "s", "!"],
    ["GET", "s"],
  ]);
  assert.equal(replies.length, 5);
  assert.equal(replies[0], "OK");
  assert.ok(replies[1] instanceof RedisError && replies[1].code === "ERR");
  assert.ok(replies[2] instanceof RedisError && replies[2].code === "WRONGTYPE");
  assert.equal(replies[3], 5);
  assert.equal(replies[4], "text!");
  assert.deepEqual(await client.pipeline([]), []);
});

Deno.test("client: integers beyond 2^53 come back as bigint", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url);
  assert.equal(await client.command(["INCRBY", "big", 9007199254740993n]), 9007199254740993n);
  assert.equal(await client.command(["INCRBY", "big", 1]), 9007199254740994n);
  assert.equal(await client.command(["GET", "big"]), "9007199254740994");
  assert.equal(await client.command(["INCRBY", "small", 9007199254740991]), 9007199254740991);
  assert.equal(
    await client.command(["INCRBY", "min", -9223372036854775808n]),
    -9223372036854775808n,
  );
});

Deno.test("client: binary values survive with decode: false; UTF-8 values as strings", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url);
  const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(await client.command(["SET", "bin", binary]), "OK");
  assert.equal(await client.command(["STRLEN", "bin"]), 256);
  const back = await client.command(["GET", "bin"], { decode: false });
  assert.ok(back instanceof Uint8Array);
  assert.deepEqual(back, binary);
  const text = "naïve 日本語 🙂 \r\n end";
  await client.command(["SET", "utf8", text]);
  assert.equal(await client.command(["GET", "utf8"]), text);
  assert.equal(await client.command(["STRLEN", "utf8"]), new TextEncoder().encode(text).length);
  assert.deepEqual(await client.command(["MGET", "utf8", "bin"], { decode: false }), [
    new TextEncoder().encode(text),
    binary,
  ]);
});

Deno.test("client: 5 MB values go out and come back whole", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url);
  const size = 5 * 1024 * 1024;
  const value = Array.from({ length: size / 1024 }, (_, i) => String(i % 10).repeat(1024))
    .join("");
  const bytes = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
  const [setText, setBytes, length] = await client.pipeline([
    ["SET", "text", value],
    ["SET", "bytes", bytes],
    ["STRLEN", "text"],
  ]);
  assert.deepEqual([setText, setBytes, length], ["OK", "OK", size]);
  const [text, ping] = await Promise.all([
    client.command(["GET", "text"]),
    client.command(["PING"]),
  ]);
  assert.equal(text, value);
  assert.equal(ping, "PONG");
  assert.deepEqual(await client.command(["GET", "bytes"], { decode: false }), bytes);
});

Deno.test("client: RESP3 replies: maps, sets, doubles, nulls, booleans, big numbers", async () => {
  await using server = await RedisServer.start({ args: ["--enable-debug-command", "local"] });
  await using client = await RedisClient.connect(server.url, { protocol: 3 });
  await client.command(["HSET", "h", "a", "1", "b", "2"]);
  assert.deepEqual(await client.command(["HGETALL", "h"]), new Map([["a", "1"], ["b", "2"]]));
  await client.command(["SADD", "set", "x", "y"]);
  assert.deepEqual(await client.command(["SMEMBERS", "set"]), new Set(["x", "y"]));
  await client.command(["ZADD", "z", 1.5, "m"]);
  assert.equal(await client.command(["ZSCORE", "z", "m"]), 1.5);
  assert.equal(await client.command(["ZINCRBY", "z", Infinity, "m"]), Infinity);
  assert.equal(await client.command(["GET", "missing"]), null);
  assert.deepEqual(
    await client.command(["CONFIG", "GET", "appendonly"]),
    new Map([["appendonly", "no"]]),
  );
  assert.equal(await client.command(["DEBUG", "PROTOCOL", "true"]), true);
  assert.equal(await client.command(["DEBUG", "PROTOCOL", "false"]), false);
  assert.equal(
    await client.command(["DEBUG", "PROTOCOL", "bignum"]),
    1234567999999999999999999999999999999n,
  );
  assert.equal(
    await client.command(["DEBUG", "PROTOCOL", "verbatim"]),
    "This is a verbatim\nstring",
  );
  assert.equal(await client.command(["DEBUG", "PROTOCOL", "double"]), 3.141);
  assert.equal(await client.command(["DEBUG", "PROTOCOL", "null"]), null);
  // An attribute precedes the reply; it is skipped, the reply after it kept.
  assert.equal(
    await client.command(["DEBUG", "PROTOCOL", "attrib"]),
    "Some real reply following the attribute",
  );
  assert.equal(await client.command(["PING"]), "PONG");
});

Deno.test("client: RESP3 pushes go to onPush and never take a command's reply", async () => {
  await using server = await RedisServer.start();
  const pushes: unknown[] = [];
  await using client = await RedisClient.connect(server.url, {
    protocol: 3,
    onPush: (data) => pushes.push(data),
  });
  await using writer = await RedisClient.connect(server.url);
  assert.equal(await client.command(["CLIENT", "TRACKING", "on"]), "OK");
  assert.equal(await client.command(["GET", "tracked"]), null);
  await writer.command(["SET", "tracked", "1"]);
  // The invalidation push arrives between replies; every reply still lands on its own command.
  const replies = await Promise.all(
    Array.from({ length: 100 }, (_, i) => client.command(["ECHO", String(i)])),
  );
  assert.deepEqual(replies, Array.from({ length: 100 }, (_, i) => String(i)));
  assert.deepEqual(pushes, [["invalidate", ["tracked"]]]);
});

Deno.test("client: a sent command past its deadline rejects with RedisTimeoutError and resets", async () => {
  await using server = await RedisServer.start();
  const errors: unknown[] = [];
  let reconnects = 0;
  await using client = await RedisClient.connect(server.url, {
    timeoutMs: 2000,
    backoff: { initialMs: 5 },
    observer: { onError: (error) => errors.push(error), onReconnect: () => reconnects++ },
  });
  const blocked = client.command(["BLPOP", "empty", 0], { timeoutMs: 100 });
  const behind = client.command(["PING"]);
  const started = performance.now();
  await assert.rejects(blocked, (error) => {
    assert.ok(error instanceof RedisTimeoutError);
    assert.equal(error.sent, true);
    assert.equal(error.message, "BLPOP: no reply within 100 ms");
    return true;
  });
  assert.ok(performance.now() - started < 1000);
  await assert.rejects(behind, (error) => {
    assert.ok(error instanceof RedisConnectionError && !(error instanceof RedisTimeoutError));
    assert.equal(error.sent, true);
    return true;
  });
  await within(client.whenConnected());
  assert.equal(await client.command(["PING"]), "PONG");
  assert.equal(reconnects, 1);
  assert.ok(errors.some((error) => error instanceof RedisConnectionError));
});

Deno.test("client: DEBUG SLEEP longer than timeoutMs times out", async () => {
  await using server = await RedisServer.start({ args: ["--enable-debug-command", "local"] });
  await using client = await RedisClient.connect(server.url, { timeoutMs: 80 });
  await assert.rejects(client.command(["DEBUG", "SLEEP", "0.2"]), RedisTimeoutError);
  await within(client.whenConnected());
  assert.equal(await client.command(["PING"], { timeoutMs: 2000 }), "PONG");
});

Deno.test("client: an aborted call rejects at once; its late reply is discarded, not mismatched", async () => {
  await using server = await RedisServer.start({ args: ["--enable-debug-command", "local"] });
  await using client = await RedisClient.connect(server.url);
  const controller = new AbortController();
  const sleeping = client.command(["DEBUG", "SLEEP", "0.1"], { signal: controller.signal });
  const next = client.command(["ECHO", "after"]);
  controller.abort(new Error("caller gave up"));
  await assert.rejects(sleeping, /caller gave up/);
  assert.equal(await next, "after");
  const aborted = AbortSignal.abort(new Error("already aborted"));
  await assert.rejects(client.command(["PING"], { signal: aborted }), /already aborted/);
  assert.equal(client.pending, 0);
});

Deno.test("client: past maxPending calls fail fast with RedisQueueFullError", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url, { maxPending: 5 });
  const first = Array.from({ length: 5 }, (_, i) => client.command(["ECHO", String(i)]));
  await assert.rejects(client.command(["PING"]), (error) => {
    assert.ok(error instanceof RedisQueueFullError);
    assert.equal(error.maxPending, 5);
    return true;
  });
  assert.deepEqual(await Promise.all(first), ["0", "1", "2", "3", "4"]);
  await assert.rejects(
    client.pipeline(Array.from({ length: 6 }, () => ["INCR", "never"])),
    RedisQueueFullError,
  );
  assert.equal(await client.command(["GET", "never"]), null, "a refused pipeline sends nothing");
  assert.deepEqual(await client.pipeline([["PING"], ["PING"]]), ["PONG", "PONG"]);
});

Deno.test("client: AUTH and SELECT from the URL, in RESP2 and RESP3", async () => {
  await using server = await RedisServer.start({ password: "s3cr:t" });
  const url = `redis://:${encodeURIComponent("s3cr:t")}@127.0.0.1:${server.port}`;
  await using db3 = await RedisClient.connect(`${url}/3`);
  await using db0 = await RedisClient.connect(url, { protocol: 3 });
  await db3.command(["SET", "where", "three"]);
  assert.equal(await db0.command(["GET", "where"]), null);
  assert.equal(
    await db0.command(["HELLO"]).then((hello) => (hello as Map<string, unknown>).get("proto")),
    3,
  );
  await using db3again = await RedisClient.connect(`${url}/3`, { protocol: 3 });
  assert.equal(await db3again.command(["GET", "where"]), "three");
  await using anonymous = await RedisClient.connect(server.url);
  await assert.rejects(anonymous.command(["GET", "where"]), (error) => {
    assert.ok(error instanceof RedisError);
    assert.equal(error.code, "NOAUTH");
    return true;
  });
  for (const protocol of [2, 3] as const) {
    await assert.rejects(
      RedisClient.connect(`redis://:wrong@127.0.0.1:${server.port}`, { protocol }),
      (error) => error instanceof RedisError && error.code === "WRONGPASS",
    );
  }
});

Deno.test("client: a first connection that fails rejects with RedisConnectionError", async () => {
  const server = await RedisServer.start();
  const url = server.url;
  await server.kill9();
  await assert.rejects(RedisClient.connect(url), (error) => {
    assert.ok(error instanceof RedisConnectionError);
    assert.equal(error.sent, false);
    assert.ok(error.cause instanceof Deno.errors.ConnectionRefused);
    return true;
  });
  const missing = `/nonexistent-huayi-${crypto.randomUUID()}/redis.sock`;
  await assert.rejects(RedisClient.connect(`unix://${missing}`), (error) => {
    assert.ok(error instanceof RedisConnectionError);
    assert.equal(error.sent, false);
    assert.match(error.message, new RegExp(`cannot connect to ${missing}: .*No such file`));
    return true;
  });
});

Deno.test("client: close() rejects calls in flight (sent) and later calls (not sent)", async () => {
  await using server = await RedisServer.start();
  const client = await RedisClient.connect(server.url);
  const blocked = client.command(["BLPOP", "empty", 0]);
  await server.untilBlocked(1);
  await client.close();
  await assert.rejects(blocked, (error) => error instanceof RedisConnectionError && error.sent);
  await assert.rejects(
    client.command(["PING"]),
    (error) => error instanceof RedisConnectionError && !error.sent,
  );
  await assert.rejects(client.whenConnected(), RedisConnectionError);
  assert.equal(client.connected, false);
  await client.close();
});

Deno.test("client: aborting the client's signal closes it", async () => {
  await using server = await RedisServer.start();
  const controller = new AbortController();
  const client = await RedisClient.connect(server.url, { signal: controller.signal });
  assert.equal(await client.command(["PING"]), "PONG");
  controller.abort();
  await client.close();
  await assert.rejects(client.command(["PING"]), /closed/);
  await assert.rejects(
    RedisClient.connect(server.url, { signal: controller.signal }),
    (error) => error instanceof DOMException && error.name === "AbortError",
  );
});

Deno.test("client: the observer sees each command's name, duration and outcome", async () => {
  await using server = await RedisServer.start();
  const seen: [string, number, boolean][] = [];
  await using client = await RedisClient.connect(server.url, {
    observer: { onCommand: (name, seconds, ok) => seen.push([name, seconds, ok]) },
  });
  await client.command(["set", "k", "v"]);
  await client.command(["INCR", "k"]).catch(() => {});
  await client.command([new TextEncoder().encode("get"), "k"]);
  assert.deepEqual(seen.map(([name, , ok]) => [name, ok]), [
    ["SET", true],
    ["INCR", false],
    ["GET", true],
  ]);
  for (const [, seconds] of seen) assert.ok(seconds >= 0 && seconds < 1);
});

Deno.test("client: an observer hook that throws is reported to onError, and calls carry on", async () => {
  await using server = await RedisServer.start();
  const errors: unknown[] = [];
  await using client = await RedisClient.connect(server.url, {
    observer: {
      onCommand: () => {
        throw new Error("metrics bug");
      },
      onError: (error) => errors.push(error),
    },
  });
  assert.equal(await client.command(["PING"]), "PONG");
  assert.equal(await client.command(["ECHO", "still"]), "still");
  assert.equal(errors.length, 2);
  assert.match(String(errors[0]), /metrics bug/);
});

Deno.test("client: arguments that cannot be sent reject without touching the connection", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url);
  await assert.rejects(client.command([]), TypeError);
  await assert.rejects(client.command(["SET", "k", NaN]), TypeError);
  assert.equal(client.pending, 0);
  assert.equal(await client.command(["PING"]), "PONG");
});
