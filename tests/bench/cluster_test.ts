import assert from "node:assert/strict";
import { parseArgs, variantsFor } from "../../bench/cli.ts";
import { getPriority } from "node:os";
import {
  BenchRedis,
  commandDelta,
  parseCommandStats,
  redisArgs,
  redisCost,
} from "../../bench/cluster.ts";
import { serverHistograms } from "../../bench/figures.ts";
import { CLUSTER_REDIS_NICE } from "../../bench/run.ts";
import { huayiArgs } from "../../bench/server_process.ts";
import { medianRecord } from "../../bench/stats.ts";

Deno.test("bench parseArgs: --cluster and --store redis, Huayi IM alone, the Redis persistence", () => {
  const cluster = parseArgs(["--scenario", "p2p", "--cluster"]);
  assert.deepEqual(cluster.stores, ["redis"]);
  assert.equal(cluster.store, "redis");
  assert.deepEqual(cluster.targets, ["huayi"], "no baseline on a cluster");
  assert.equal(cluster.redisAof, "everysec");
  assert.deepEqual(parseArgs(["--scenario", "fanout", "--store", "redis"]).stores, ["redis"]);
  assert.equal(
    parseArgs(["--scenario", "conns", "--cluster", "--redis-aof", "off"]).redisAof,
    "off",
  );
  assert.throws(
    () => parseArgs(["--cluster", "--scenario", "p2p", "--redis-aof", "always"]),
    /off/,
  );
  assert.throws(() => parseArgs(["--scenario", "p2p", "--redis-aof", "off"]), /--cluster/);
  assert.equal(cluster.redisUnix, false, "TCP unless asked");
  assert.equal(parseArgs(["--scenario", "p2p", "--cluster", "--redis-unix"]).redisUnix, true);
  assert.throws(
    () => parseArgs(["--scenario", "p2p", "--redis-unix"]),
    /--redis-unix is a cluster's/,
  );
  assert.throws(
    () => parseArgs(["--cluster", "--scenario", "p2p", "--target", "baseline"]),
    /no baseline/,
  );
  assert.throws(() => parseArgs(["--cluster", "--scenario", "restart"]), /one --scenario/);
  assert.throws(
    () => parseArgs(["--cluster"]),
    /one --scenario/,
    "the default set is not for a cluster",
  );
  assert.throws(
    () => parseArgs(["--cluster", "--scenario", "p2p", "--compare-stores"]),
    /no --store/,
  );
  assert.throws(() => parseArgs(["--store", "mongo"]), /memory, sqlite or redis/);
});

Deno.test("bench parseArgs: --compare-metrics and --step-p99", () => {
  const o = parseArgs(["--scenario", "p2p", "--compare-metrics", "--step-p99", "20"]);
  assert.equal(o.compareMetrics, true);
  assert.equal(o.stepP99Ms, 20);
  assert.equal(parseArgs([]).stepP99Ms, 50);
  assert.equal(parseArgs([]).compareMetrics, false);
  assert.throws(() => parseArgs(["--step-p99", "0"]), /positive/);
  assert.throws(
    () => parseArgs(["--compare-metrics", "--server-flag=--metrics=on"]),
    /sets --metrics itself/,
  );
  assert.deepEqual(variantsFor("fanout", ["huayi", "baseline"], ["memory", "sqlite"], true), [
    { target: "huayi", store: "memory" },
    { target: "huayi", store: "memory", metrics: "off" },
    { target: "huayi", store: "sqlite" },
    { target: "huayi", store: "sqlite", metrics: "off" },
    { target: "baseline", store: "memory" },
  ]);
});

Deno.test("bench huayiArgs: a cluster node gets no --store (its store is IM_REDIS_URL's)", async () => {
  const args = huayiArgs({ target: "huayi", store: "redis", sockets: 19_000, serverFlags: [] });
  assert.ok(!args.includes("--store"));
  assert.equal(args[args.indexOf("--max-connections") + 1], "20000");
  const { parseConfig } = await import("../../lib/config.ts");
  const config = parseConfig(
    { IM_REDIS_URL: "redis://127.0.0.1:6379", IM_NODE_ID: "bench-node-1" },
    [...args, "--metrics=off"],
  );
  assert.equal(config.redisUrl, "redis://127.0.0.1:6379");
  assert.equal(config.nodeId, "bench-node-1");
  assert.equal(config.metrics, "off");
});

Deno.test("bench redisArgs: appendonly everysec in a directory, or nothing kept", () => {
  assert.deepEqual(redisArgs("everysec", "/tmp/r"), [
    "--maxmemory-policy",
    "noeviction",
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--dir",
    "/tmp/r",
  ]);
  assert.deepEqual(redisArgs("off"), ["--maxmemory-policy", "noeviction"]);
  assert.throws(() => redisArgs("everysec"), /directory/);
});

Deno.test("bench --redis-nice: the cluster's Redis runs at -5 unless told, and says what it got", async () => {
  assert.equal(CLUSTER_REDIS_NICE, -5);
  assert.equal(parseArgs(["--scenario", "p2p", "--cluster", "--redis-nice", "3"]).redisNice, 3);
  assert.throws(() => parseArgs(["--scenario", "p2p", "--redis-nice", "3"]), /add --cluster/);
  assert.throws(
    () => parseArgs(["--scenario", "p2p", "--cluster", "--redis-nice", "-21"]),
    /-20 to 19/,
  );
  // A higher niceness needs no privilege: the server's threads all have it.
  const redis = await BenchRedis.start("off", false, 7);
  try {
    assert.equal(redis.nice, 7);
    assert.equal(getPriority(redis.pid), 7);
    assert.equal(await redis.server.command(["PING"]), "PONG");
  } finally {
    await redis.stop();
  }
});

// What Redis 7.0 answers to INFO commandstats.
const INFO = (evalsha: number, zadd: number, info: number) =>
  [
    "# Commandstats",
    `cmdstat_evalsha:calls=${evalsha},usec=${
      evalsha * 20
    },usec_per_call=20.00,rejected_calls=0,failed_calls=0`,
    `cmdstat_zadd:calls=${zadd},usec=${zadd},usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
    "cmdstat_client|setname:calls=4,usec=3,usec_per_call=0.75,rejected_calls=0,failed_calls=0",
    `cmdstat_info:calls=${info},usec=${
      info * 50
    },usec_per_call=50.00,rejected_calls=0,failed_calls=0`,
    "",
  ].join("\r\n");

Deno.test("bench parseCommandStats: calls and usec by command, subcommands by their name", () => {
  const stats = parseCommandStats(INFO(10, 30, 2));
  assert.deepEqual(stats.get("evalsha"), { calls: 10, usec: 200 });
  assert.deepEqual(stats.get("client|setname"), { calls: 4, usec: 3 });
  assert.equal(stats.size, 4);
  assert.equal(parseCommandStats("# Commandstats\r\n").size, 0);
  assert.equal(
    parseCommandStats("cmdstat_x:calls=oops\r\n").size,
    0,
    "an unreadable line is skipped",
  );
});

Deno.test("bench commandDelta and redisCost: per message and per delivery, INFO left out", () => {
  const delta = commandDelta(
    parseCommandStats(INFO(10, 30, 2)),
    parseCommandStats(INFO(1010, 3030, 9)),
  );
  assert.deepEqual(delta.byCommand, { evalsha: 1000, zadd: 3000 }, "info is the bench's own");
  assert.equal(delta.calls, 4000);
  assert.equal(delta.usec, 3000, "EVALSHA's time holds its commands' time: counted once");
  assert.equal(delta.scriptUsec, 20_000, "the scripts' own figure: their Lua and commands");
  // A fan-out window: 1,000 messages into a topic of 100 members.
  const fanout = redisCost(delta, 1000, 100_000, 50, 10);
  assert.equal(fanout.redisPerMessage, 4);
  assert.equal(fanout.redisPerDelivery, 0.04);
  assert.equal(fanout.redisUsecPerMessage, 3);
  assert.equal(fanout.scriptUsecPerMessage, 20);
  assert.equal(fanout.redisPerMessageNet, 3.5, "500 idle calls (50/s × 10 s) taken away");
  assert.deepEqual(fanout.redisCommands, { evalsha: 1, zadd: 3 });
  // Nothing accepted or delivered: no figure, never Infinity.
  const none = redisCost(delta, 0, 0);
  assert.ok(Number.isNaN(none.redisPerMessage) && Number.isNaN(none.redisPerDelivery));
  // A command new in the window counts from 0; one that did not run is absent.
  const fresh = commandDelta(new Map(), parseCommandStats(INFO(5, 0, 1)));
  assert.deepEqual(fresh.byCommand, { evalsha: 5, "client|setname": 4 });
  // The idle rate never takes the figure below 0.
  assert.equal(redisCost(delta, 1000, 1000, 1e6, 10).redisPerMessageNet, 0);
});

Deno.test("bench medianRecord: figures by command are the median of each", () => {
  const m = medianRecord([
    { redisCommands: { evalsha: 1, get: 3 } },
    { redisCommands: { evalsha: 3, get: 1 } },
    { redisCommands: { evalsha: 2 } },
  ]);
  assert.deepEqual(m.redisCommands, { evalsha: 2, get: 1 });
});

// Two nodes' /metrics: lag and delivery buckets.
const scrape = (lagSlow: number, lagAll: number, delivered: number) =>
  [
    `im_event_loop_lag_seconds_bucket{le="0.001"} ${lagAll - lagSlow}`,
    `im_event_loop_lag_seconds_bucket{le="0.05"} ${lagAll}`,
    `im_event_loop_lag_seconds_bucket{le="+Inf"} ${lagAll}`,
    `im_event_loop_lag_seconds_count ${lagAll}`,
    `im_delivery_seconds_bucket{le="0.01"} ${delivered}`,
    `im_delivery_seconds_bucket{le="+Inf"} ${delivered}`,
    `im_delivery_seconds_count ${delivered}`,
    `im_redis_command_seconds_bucket{command="evalsha",le="0.001"} ${delivered}`,
    `im_redis_command_seconds_bucket{command="evalsha",le="+Inf"} ${delivered}`,
    `im_redis_command_seconds_bucket{command="get",le="0.001"} ${delivered}`,
    `im_redis_command_seconds_bucket{command="get",le="+Inf"} ${delivered}`,
  ].join("\n");

Deno.test("bench serverHistograms: the worse node's lag, deliveries of both nodes together", () => {
  // Node 1: 100 quiet ticks; node 2: 100 ticks, 10 of them slow (1-50 ms).
  const nodes = serverHistograms([scrape(0, 0, 0), scrape(0, 0, 0)], [
    scrape(0, 100, 500),
    scrape(10, 100, 1500),
  ]);
  assert.ok(nodes.lagP99Ms > 1 && nodes.lagP99Ms <= 50, "node 2's p99 lies in its slow bucket");
  assert.equal(nodes.lagMaxMs, 50);
  assert.equal(nodes.lagSamples, 200);
  assert.ok(nodes.serverDeliveryP99Ms > 0 && nodes.serverDeliveryP99Ms <= 10);
  assert.ok(nodes.redisRttP99Ms > 0 && nodes.redisRttP99Ms <= 1, "every command's round trips");
  // One node, as before: a string each side.
  const one = serverHistograms(scrape(0, 0, 0), scrape(0, 100, 10));
  assert.ok(one.lagP99Ms <= 1);
  assert.equal(one.lagSamples, 100);
  // --metrics off: nothing scraped, NaN.
  const off = serverHistograms([undefined, undefined], [undefined, undefined]);
  assert.ok(Number.isNaN(off.lagP99Ms) && Number.isNaN(off.serverDeliveryP99Ms));
  assert.equal(off.lagSamples, 0);
});
