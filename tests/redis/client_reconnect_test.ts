import assert from "node:assert/strict";
import { RedisClient } from "../../lib/redis/client.ts";
import {
  RedisConnectionError,
  RedisProtocolError,
  RedisTimeoutError,
} from "../../lib/redis/errors.ts";
import { RedisServer } from "./redis_server.ts";
import { within } from "./within.ts";

const FAST_BACKOFF = { initialMs: 5, maxMs: 40 };

Deno.test("reconnect: kill -9 rejects calls in flight as sent; calls made while down run after restart", async () => {
  await using server = await RedisServer.start();
  let reconnects = 0;
  await using client = await RedisClient.connect(server.url, {
    backoff: FAST_BACKOFF,
    observer: { onReconnect: () => reconnects++ },
  });
  const blocked = assert.rejects(client.command(["BLPOP", "empty", 0]), (error) => {
    assert.ok(error instanceof RedisConnectionError);
    assert.ok(!(error instanceof RedisTimeoutError));
    assert.equal(error.sent, true, "its outcome is unknown");
    return true;
  });
  await server.untilBlocked(1);
  await server.kill9();
  await blocked;
  assert.equal(client.connected, false);
  const whileDown = client.command(["SET", "after", "1"]);
  await server.restart();
  assert.equal(await whileDown, "OK");
  await within(client.whenConnected());
  assert.equal(client.connected, true);
  assert.equal(await client.command(["GET", "after"]), "1");
  assert.equal(reconnects, 1);
});

Deno.test("reconnect: while down, a call that outlives its deadline rejects as not sent", async () => {
  await using server = await RedisServer.start();
  const errors: unknown[] = [];
  const dropped = Promise.withResolvers<void>();
  await using client = await RedisClient.connect(server.url, {
    backoff: FAST_BACKOFF,
    observer: { onError: (error) => dropped.resolve(void errors.push(error)) },
  });
  await server.kill9();
  await within(dropped.promise);
  await assert.rejects(client.command(["PING"], { timeoutMs: 60 }), (error) => {
    assert.ok(error instanceof RedisTimeoutError);
    assert.equal(error.sent, false, "it never left the process");
    return true;
  });
  // The drop, then refused attempts, were reported.
  assert.ok(errors.length >= 2);
  assert.ok(errors.every((error) => error instanceof RedisConnectionError));
  await server.restart();
  await within(client.whenConnected());
  assert.equal(await client.command(["PING"]), "PONG");
});

Deno.test("reconnect: AUTH, SELECT and HELLO are sent again on every connection", async () => {
  await using server = await RedisServer.start({ password: "pw" });
  const dropped = Promise.withResolvers<unknown>();
  await using client = await RedisClient.connect(`redis://:pw@127.0.0.1:${server.port}/2`, {
    protocol: 3,
    backoff: FAST_BACKOFF,
    observer: { onError: dropped.resolve },
  });
  await server.kill9();
  await within(dropped.promise);
  await server.restart();
  assert.equal(await client.command(["SET", "k", "v"]), "OK");
  assert.match(await client.command(["CLIENT", "INFO"]) as string, / db=2 /);
  const hello = await client.command(["HELLO"]) as Map<string, unknown>;
  assert.equal(hello.get("proto"), 3);
});

Deno.test("reconnect: close() while reconnecting stops the attempts and rejects queued calls", async () => {
  await using server = await RedisServer.start();
  const dropped = Promise.withResolvers<unknown>();
  const client = await RedisClient.connect(server.url, {
    backoff: FAST_BACKOFF,
    observer: { onError: dropped.resolve },
  });
  await server.kill9();
  await within(dropped.promise);
  const queued = client.command(["PING"]);
  const waiting = client.whenConnected();
  await client.close();
  await assert.rejects(queued, (error) => error instanceof RedisConnectionError && !error.sent);
  await assert.rejects(waiting, RedisConnectionError);
});

Deno.test("reconnect: bytes that are not RESP drop the connection, which then reconnects", async () => {
  // Not redis: a peer that follows its first connection's reply with junk.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers: Promise<void>[] = [];
  const serve = async (conn: Deno.Conn, answer: string) => {
    const buffer = new Uint8Array(1024);
    while (await conn.read(buffer) !== null) await conn.write(new TextEncoder().encode(answer));
    conn.close();
  };
  const accepting = (async () => {
    handlers.push(serve(await listener.accept(), "+PONG\r\n?junk\r\n"));
    handlers.push(serve(await listener.accept(), "+PONG\r\n"));
  })();
  const dropped = Promise.withResolvers<unknown>();
  const client = await RedisClient.connect(`redis://127.0.0.1:${listener.addr.port}`, {
    backoff: FAST_BACKOFF,
    observer: { onError: dropped.resolve },
  });
  assert.equal(await client.command(["PING"]), "PONG");
  assert.equal(client.connected, false, "the junk right after the reply dropped the connection");
  const error = await within(dropped.promise);
  assert.ok(error instanceof RedisConnectionError);
  assert.ok(error.cause instanceof RedisProtocolError);
  await within(client.whenConnected());
  assert.equal(await client.command(["PING"]), "PONG");
  await client.close();
  await accepting;
  await Promise.all(handlers);
  listener.close();
});

Deno.test("reconnect: an onReconnect hook that throws is reported; the client stays usable", async () => {
  await using server = await RedisServer.start();
  const errors: unknown[] = [];
  const dropped = Promise.withResolvers<void>();
  await using client = await RedisClient.connect(server.url, {
    backoff: FAST_BACKOFF,
    observer: {
      onReconnect: () => {
        throw new Error("hook bug");
      },
      onError: (error) => dropped.resolve(void errors.push(error)),
    },
  });
  await server.kill9();
  await within(dropped.promise);
  await server.restart();
  await within(client.whenConnected());
  assert.equal(await client.command(["PING"]), "PONG");
  assert.match(String(errors.at(-1)), /hook bug/);
});

Deno.test("reconnect: kill -9 under 10,000 calls in flight settles every one, none with another's reply", async () => {
  await using server = await RedisServer.start();
  await using client = await RedisClient.connect(server.url, { backoff: FAST_BACKOFF });
  // The BLPOP in the middle holds the second half in flight when the server dies.
  const commands = Array.from(
    { length: 10_000 },
    (_, i) => i === 5000 ? ["BLPOP", "empty", 0] : ["ECHO", `call ${i}`],
  );
  const calls = commands.map((args, i) =>
    client.command(args).then(
      (reply) => reply === `call ${i}` ? "right" : `wrong: ${String(reply)}`,
      (error) => error instanceof RedisConnectionError && error.sent ? "lost" : String(error),
    )
  );
  await server.untilBlocked(1);
  await server.kill9();
  const outcomes = await Promise.all(calls);
  assert.deepEqual(outcomes.slice(0, 5000), Array(5000).fill("right"));
  assert.deepEqual(outcomes.slice(5000), Array(5000).fill("lost"));
  assert.equal(client.pending, 0);
  await server.restart();
  await within(client.whenConnected());
  const echoes = await Promise.all(
    Array.from({ length: 100 }, (_, i) => client.command(["ECHO", String(i)])),
  );
  assert.deepEqual(echoes, Array.from({ length: 100 }, (_, i) => String(i)));
});

Deno.test("reconnect: over a Unix socket, with AUTH and SELECT, through a kill -9", async () => {
  await using server = await RedisServer.start({ unixSocket: true, password: "s&cret" });
  const url = `${server.unixUrl}?db=2&password=${encodeURIComponent("s&cret")}`;
  let reconnects = 0;
  await using client = await RedisClient.connect(url, {
    backoff: FAST_BACKOFF,
    observer: { onReconnect: () => reconnects++ },
  });
  const [ok, value, info] = await client.pipeline([["SET", "k", "v"], ["GET", "k"], [
    "CLIENT",
    "INFO",
  ]]);
  assert.deepEqual([ok, value], ["OK", "v"]);
  // flags=U: a Unix-socket client; db=2: SELECT was sent (AUTH too, or nothing would answer).
  assert.match(info as string, / flags=U db=2 /);
  await server.kill9();
  const whileDown = client.command(["SET", "after", "1"]);
  await server.restart();
  assert.equal(await whileDown, "OK");
  assert.equal(await client.command(["GET", "after"]), "1");
  assert.match(await client.command(["CLIENT", "INFO"]) as string, / flags=U db=2 /);
  assert.equal(reconnects, 1);
});
