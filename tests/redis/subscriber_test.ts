import assert from "node:assert/strict";
import { RedisClient } from "../../lib/redis/client.ts";
import { RedisConnectionError, RedisTimeoutError } from "../../lib/redis/errors.ts";
import { RedisSubscriber } from "../../lib/redis/subscriber.ts";
import { RedisServer } from "./redis_server.ts";
import { within } from "./within.ts";

const FAST_BACKOFF = { initialMs: 5, maxMs: 40 };

/** Collects what a handler receives, so a test can wait for the next n. */
class Inbox {
  #items: string[][] = [];
  #arrived: (() => void) | undefined;

  handler = (...args: string[]): void => {
    this.#items.push(args);
    this.#arrived?.();
  };

  /** The next `n` deliveries; fails after `timeoutMs` rather than hang the test. */
  async take(n: number, timeoutMs = 2000): Promise<string[][]> {
    const deadline = Date.now() + timeoutMs;
    while (this.#items.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.#items.length} of ${n} messages arrived`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#arrived = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.#items.splice(0, n);
  }

  get length(): number {
    return this.#items.length;
  }
}

for (const protocol of [2, 3] as const) {
  const name = (text: string) => `subscriber (RESP${protocol}): ${text}`;

  Deno.test(name("messages reach every handler of the channel, in order"), async () => {
    await using server = await RedisServer.start();
    await using subscriber = await RedisSubscriber.connect(server.url, { protocol });
    await using publisher = await RedisClient.connect(server.url);
    const first = new Inbox();
    const second = new Inbox();
    await subscriber.subscribe("room", first.handler);
    await subscriber.subscribe("room", second.handler);
    assert.equal(await publisher.command(["PUBLISH", "room", "héllo 🙂"]), 1);
    assert.deepEqual(await first.take(1), [["héllo 🙂", "room"]]);
    assert.deepEqual(await second.take(1), [["héllo 🙂", "room"]]);
    await publisher.pipeline(Array.from({ length: 500 }, (_, i) => ["PUBLISH", "room", `m${i}`]));
    const received = await first.take(500);
    assert.deepEqual(
      received.map(([message]) => message),
      Array.from({ length: 500 }, (_, i) => `m${i}`),
    );
    assert.equal((await second.take(500)).length, 500);
  });

  Deno.test(name("unsubscribe stops delivery to that handler, then to the channel"), async () => {
    await using server = await RedisServer.start();
    await using subscriber = await RedisSubscriber.connect(server.url, { protocol });
    await using publisher = await RedisClient.connect(server.url);
    const kept = new Inbox();
    const dropped = new Inbox();
    await subscriber.subscribe("room", kept.handler);
    await subscriber.subscribe("room", dropped.handler);
    subscriber.unsubscribe("room", dropped.handler);
    await publisher.command(["PUBLISH", "room", "one"]);
    assert.deepEqual(await kept.take(1), [["one", "room"]]);
    subscriber.unsubscribe("room");
    // Commands on one connection run in order: once this is confirmed, the UNSUBSCRIBE ran.
    const other = new Inbox();
    await subscriber.subscribe("other", other.handler);
    assert.equal(await publisher.command(["PUBLISH", "room", "two"]), 0);
    assert.equal(await publisher.command(["PUBLISH", "other", "three"]), 1);
    assert.deepEqual(await other.take(1), [["three", "other"]]);
    assert.equal(kept.length + dropped.length, 0);
  });

  Deno.test(name("pattern subscriptions give the channel and the pattern"), async () => {
    await using server = await RedisServer.start();
    await using subscriber = await RedisSubscriber.connect(server.url, { protocol });
    await using publisher = await RedisClient.connect(server.url);
    const inbox = new Inbox();
    await subscriber.psubscribe("user:*", inbox.handler);
    await publisher.command(["PUBLISH", "user:42", "wake"]);
    await publisher.command(["PUBLISH", "topic:1", "ignored"]);
    await publisher.command(["PUBLISH", "user:7", "up"]);
    assert.deepEqual(await inbox.take(2), [["wake", "user:42", "user:*"], [
      "up",
      "user:7",
      "user:*",
    ]]);
    subscriber.punsubscribe("user:*");
    await subscriber.subscribe("sync", new Inbox().handler);
    assert.equal(await publisher.command(["PUBLISH", "user:42", "late"]), 0);
  });

  Deno.test(
    name("after kill -9 and a restart it resubscribes, then calls onReconnect"),
    async () => {
      await using server = await RedisServer.start({ password: "pw" });
      const url = `redis://:pw@127.0.0.1:${server.port}`;
      const reconnected = Promise.withResolvers<void>();
      const errors: unknown[] = [];
      await using subscriber = await RedisSubscriber.connect(url, {
        protocol,
        backoff: FAST_BACKOFF,
        onReconnect: reconnected.resolve,
        onError: (error) => errors.push(error),
      });
      const channel = new Inbox();
      const pattern = new Inbox();
      await subscriber.subscribe("mailbox:1", channel.handler);
      await subscriber.psubscribe("mailbox:*", pattern.handler);
      await server.kill9();
      await server.restart();
      await within(reconnected.promise);
      assert.ok(errors[0] instanceof RedisConnectionError, "the drop was reported");
      // onReconnect comes after the confirmations: a publish now must arrive.
      await using publisher = await RedisClient.connect(url);
      assert.equal(await publisher.command(["PUBLISH", "mailbox:1", "again"]), 2);
      assert.deepEqual(await channel.take(1), [["again", "mailbox:1"]]);
      assert.deepEqual(await pattern.take(1), [["again", "mailbox:1", "mailbox:*"]]);
    },
  );

  Deno.test(
    name("a subscription made while disconnected is confirmed after the reconnect"),
    async () => {
      await using server = await RedisServer.start();
      const dropped = Promise.withResolvers<void>();
      await using subscriber = await RedisSubscriber.connect(server.url, {
        protocol,
        backoff: FAST_BACKOFF,
        onError: () => dropped.resolve(),
      });
      await server.kill9();
      await within(dropped.promise);
      assert.equal(subscriber.connected, false);
      const inbox = new Inbox();
      const subscribed = subscriber.subscribe("later", inbox.handler);
      await server.restart();
      await subscribed;
      await using publisher = await RedisClient.connect(server.url);
      assert.equal(await publisher.command(["PUBLISH", "later", "x"]), 1);
      assert.deepEqual(await inbox.take(1), [["x", "later"]]);
    },
  );

  Deno.test(
    name("a confirmation past its deadline rejects; the subscription is retried"),
    async () => {
      await using server = await RedisServer.start();
      const reconnected = Promise.withResolvers<void>();
      await using subscriber = await RedisSubscriber.connect(server.url, {
        protocol,
        timeoutMs: 80,
        backoff: FAST_BACKOFF,
        onReconnect: reconnected.resolve,
      });
      await using other = await RedisClient.connect(server.url);
      // The server holds every other client's commands, the SUBSCRIBE included, for 200 ms.
      assert.equal(await other.command(["CLIENT", "PAUSE", 200, "ALL"]), "OK");
      const inbox = new Inbox();
      await assert.rejects(subscriber.subscribe("slow", inbox.handler), (error) => {
        assert.ok(error instanceof RedisTimeoutError);
        return true;
      });
      await within(reconnected.promise);
      assert.equal(await other.command(["PUBLISH", "slow", "finally"]), 1);
      assert.deepEqual(await inbox.take(1), [["finally", "slow"]]);
    },
  );

  Deno.test(
    name("pings interleaved with confirmations and messages keep them in step"),
    async () => {
      await using server = await RedisServer.start();
      const errors: unknown[] = [];
      await using subscriber = await RedisSubscriber.connect(server.url, {
        protocol,
        // Short enough for pings in every round, long enough for a PONG on a busy machine.
        pingIntervalMs: 25,
        onError: (error) => errors.push(error),
      });
      await using publisher = await RedisClient.connect(server.url);
      const inbox = new Inbox();
      // Pings go out both while subscribed to nothing and while subscribed (RESP2 answers differently).
      for (let round = 0; round < 10; round++) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        await subscriber.subscribe("c", inbox.handler);
        await publisher.command(["PUBLISH", "c", String(round)]);
        assert.deepEqual(await inbox.take(1), [[String(round), "c"]]);
        subscriber.unsubscribe("c");
      }
      assert.deepEqual(errors, []);
    },
  );

  Deno.test(name("a connection that stops answering PING is reset and resubscribed"), async () => {
    await using server = await RedisServer.start();
    const errors: unknown[] = [];
    const reconnected = Promise.withResolvers<void>();
    await using subscriber = await RedisSubscriber.connect(server.url, {
      protocol,
      pingIntervalMs: 40,
      backoff: FAST_BACKOFF,
      onError: (error) => errors.push(error),
      onReconnect: reconnected.resolve,
    });
    await using publisher = await RedisClient.connect(server.url);
    const inbox = new Inbox();
    await subscriber.subscribe("c", inbox.handler);
    // A paused server answers nothing, as a silently dead connection would.
    await publisher.command(["CLIENT", "PAUSE", 200, "ALL"]);
    await within(reconnected.promise);
    assert.match(String(errors[0]), /no PONG within 40 ms/);
    assert.equal(await publisher.command(["PUBLISH", "c", "back"]), 1);
    assert.deepEqual(await inbox.take(1), [["back", "c"]]);
  });

  Deno.test(name("a throwing handler is reported and does not stop the others"), async () => {
    await using server = await RedisServer.start();
    const errors: unknown[] = [];
    await using subscriber = await RedisSubscriber.connect(server.url, {
      protocol,
      onError: (error) => errors.push(error),
    });
    await using publisher = await RedisClient.connect(server.url);
    const inbox = new Inbox();
    await subscriber.subscribe("c", () => {
      throw new Error("handler bug");
    });
    await subscriber.subscribe("c", inbox.handler);
    await publisher.command(["PUBLISH", "c", "1"]);
    await publisher.command(["PUBLISH", "c", "2"]);
    assert.deepEqual(await inbox.take(2), [["1", "c"], ["2", "c"]]);
    assert.equal(errors.length, 2);
    assert.match(String(errors[0]), /handler bug/);
  });
}

Deno.test("subscriber: close() rejects pending subscriptions and later calls", async () => {
  await using server = await RedisServer.start();
  const dropped = Promise.withResolvers<void>();
  const subscriber = await RedisSubscriber.connect(server.url, {
    backoff: FAST_BACKOFF,
    onError: () => dropped.resolve(),
  });
  await server.kill9();
  await within(dropped.promise);
  const pending = subscriber.subscribe("never", () => {});
  await subscriber.close();
  await assert.rejects(pending, (error) => error instanceof RedisConnectionError && !error.sent);
  await assert.rejects(subscriber.subscribe("again", () => {}), RedisConnectionError);
  assert.equal(subscriber.connected, false);
});

Deno.test("subscriber: over a Unix socket, messages arrive and survive a restart", async () => {
  await using server = await RedisServer.start({ unixSocket: true });
  await using subscriber = await RedisSubscriber.connect(server.unixUrl, {
    protocol: 3,
    backoff: FAST_BACKOFF,
  });
  await using publisher = await RedisClient.connect(server.unixUrl, { backoff: FAST_BACKOFF });
  const inbox = new Inbox();
  await subscriber.subscribe("room", inbox.handler);
  assert.equal(await publisher.command(["PUBLISH", "room", "hello"]), 1);
  assert.deepEqual(await inbox.take(1), [["hello", "room"]]);
  await server.kill9();
  await server.restart();
  // Resubscribed on the new connection: a publish reaches it again.
  await within((async () => {
    while (await publisher.command(["PUBLISH", "room", "again"]) !== 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })());
  assert.deepEqual(await inbox.take(1), [["again", "room"]]);
});
