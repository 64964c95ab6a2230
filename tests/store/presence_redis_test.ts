import assert from "node:assert/strict";
import { RedisClient } from "../../lib/redis/client.ts";
import { RedisPresence, REFRESH_SLICE } from "../../lib/store/presence_redis.ts";
import { RedisServer } from "../redis/redis_server.ts";

async function twoNodes(ttlMs = 60_000) {
  const server = await RedisServer.start();
  const a = await RedisClient.connect(server.url);
  const b = await RedisClient.connect(server.url);
  const errors: unknown[] = [];
  const nodeA = new RedisPresence({ redis: a, nodeId: "a", ttlMs, onError: (e) => errors.push(e) });
  const nodeB = new RedisPresence({ redis: b, nodeId: "b", ttlMs, onError: (e) => errors.push(e) });
  return {
    server,
    nodeA,
    nodeB,
    errors,
    async [Symbol.asyncDispose]() {
      a.close();
      b.close();
      await server.stop();
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

Deno.test("presence (redis): every node sees who is online anywhere, by name, paged", async () => {
  await using cluster = await twoNodes();
  cluster.nodeA.online("Ron_W");
  cluster.nodeB.online("Harry");
  cluster.nodeB.online("Hermione");
  await settle();
  assert.deepEqual(await cluster.nodeA.list({}), {
    names: ["Harry", "Hermione", "Ron_W"],
    total: 3,
  });
  assert.deepEqual(await cluster.nodeB.list({ after: "Harry", limit: 1 }), {
    names: ["Hermione"],
    total: 3,
  });
  cluster.nodeB.offline("Harry");
  await settle();
  assert.deepEqual((await cluster.nodeA.list({})).names, ["Hermione", "Ron_W"]);
  assert.deepEqual(cluster.errors, []);
});

Deno.test("presence (redis): a node removes only its own entry (compare-and-delete)", async () => {
  await using cluster = await twoNodes();
  cluster.nodeA.online("Ron_W");
  await settle();
  cluster.nodeB.online("Ron_W"); // Ron moved to node B
  await settle();
  cluster.nodeA.offline("Ron_W"); // node A's old socket closes late
  await settle();
  assert.deepEqual((await cluster.nodeA.list({})).names, ["Ron_W"], "still online on B");
  cluster.nodeB.offline("Ron_W");
  await settle();
  assert.deepEqual((await cluster.nodeA.list({})).names, []);
});

Deno.test("presence (redis): entries of a node that stops refreshing lapse within the ttl", async () => {
  await using cluster = await twoNodes(300);
  cluster.nodeA.online("Ron_W");
  cluster.nodeB.online("Harry");
  await settle();
  // Node B refreshes its users; node A has died and does not.
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    cluster.nodeB.refresh(["Harry"]);
  }
  await settle();
  assert.deepEqual(await cluster.nodeB.list({}), { names: ["Harry"], total: 1 });
});

Deno.test("presence (redis): a refresh claims back an entry lost while Redis was away", async () => {
  await using cluster = await twoNodes();
  cluster.nodeA.online("Ron_W");
  await settle();
  await cluster.server.command(["FLUSHALL"]);
  assert.deepEqual((await cluster.nodeA.list({})).names, []);
  cluster.nodeA.refresh(["Ron_W"]);
  await settle();
  assert.deepEqual((await cluster.nodeA.list({})).names, ["Ron_W"]);
  await cluster.nodeA.close();
  assert.deepEqual(
    (await cluster.nodeB.list({})).names,
    [],
    "close() takes this node's users offline",
  );
});

Deno.test("presence (redis): a long refresh goes in slices of REFRESH_SLICE users, one script each", async () => {
  await using cluster = await twoNodes();
  const users = Array.from({ length: 2 * REFRESH_SLICE + 88 }, (_, i) => `user_${i}`);
  const scripts = async () => {
    const info = String(await cluster.server.command(["INFO", "commandstats"]));
    return Number(info.match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
  };
  const claimed = async () => Number(await cluster.server.command(["ZCARD", "im:p:expires"]));
  for (const user of users) cluster.nodeA.online(user);
  await waitUntil(async () => await claimed() === users.length);
  await cluster.server.command(["FLUSHALL"]);
  const before = await scripts();
  cluster.nodeA.refresh(users); // entries lost: each is claimed back
  await waitUntil(async () => await claimed() === users.length);
  // Three slices, each its own script: Redis runs other clients' commands between them.
  assert.equal(await scripts() - before, 3);
  assert.equal((await cluster.nodeB.list({})).total, users.length);
  assert.deepEqual(cluster.errors, []);
});

async function waitUntil(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("presence (redis): close() takes more users offline than the client queues at once (10,000)", async () => {
  await using cluster = await twoNodes();
  const users = Array.from({ length: 10_500 }, (_, i) => `user_${i}`);
  const online = async () => Number(await cluster.server.command(["ZCARD", "im:p:expires"]));
  for (let i = 0; i < users.length; i += 1000) {
    for (const user of users.slice(i, i + 1000)) cluster.nodeA.online(user);
    await waitUntil(async () => await online() === Math.min(i + 1000, users.length));
  }
  await cluster.nodeA.close();
  assert.equal(await online(), 0);
  assert.deepEqual(cluster.errors, []);
});

Deno.test("presence (redis): more sockets opening or closing at once than the client queues (10,000), in order", async () => {
  await using cluster = await twoNodes();
  const users = Array.from({ length: 10_500 }, (_, i) => `user_${i}`);
  const online = async () => Number(await cluster.server.command(["ZCARD", "im:p:expires"]));
  for (const user of users) cluster.nodeA.online(user);
  await waitUntil(async () => await online() === users.length, 10_000);
  // Every socket closes (a node shutting down), and one user comes straight back.
  for (const user of users) cluster.nodeA.offline(user);
  cluster.nodeA.online("user_7");
  await waitUntil(async () => await online() === 1, 10_000);
  assert.deepEqual(
    (await cluster.nodeB.list({})).names,
    ["user_7"],
    "its ONLINE came after its OFFLINE",
  );
  assert.deepEqual(cluster.errors, []);
});

Deno.test("presence (redis): a refresh leaves out users whose socket closed since it was asked for", async () => {
  await using cluster = await twoNodes();
  cluster.nodeA.online("Ron_W");
  cluster.nodeA.online("Harry");
  await settle();
  await cluster.server.command(["FLUSHALL"]); // entries lost: a refresh claims them back
  cluster.nodeA.offline("Harry");
  cluster.nodeA.refresh(["Ron_W", "Harry"]);
  await settle();
  assert.deepEqual((await cluster.nodeB.list({})).names, ["Ron_W"]);
});
