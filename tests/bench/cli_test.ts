import assert from "node:assert/strict";
import { parseArgs, RESTART_BACKLOG, roundOrder, variantsFor } from "../../bench/cli.ts";
import { CLUSTER_GENERATOR_NICE, generatorPlacement } from "../../bench/run.ts";
import { huayiArgs } from "../../bench/server_process.ts";
import { Child, commandLine } from "../../bench/child.ts";
import { restartFlags } from "../../bench/scenarios/restart.ts";
import { p2pExpected, p2pPlans } from "../../bench/scenarios/p2p.ts";
import { names } from "../../bench/scenarios/options.ts";
import type { WorkerResult } from "../../bench/load_worker.ts";

Deno.test("bench parseArgs: the store, passthrough flags, and the defaults", () => {
  const plain = parseArgs([]);
  assert.deepEqual(plain.stores, ["memory"]);
  assert.equal(plain.store, "memory");
  assert.deepEqual(plain.serverFlags, []);
  assert.equal(plain.backlog, 10_000);
  assert.equal(plain.recipients, 100);
  const o = parseArgs([
    "--scenario=p2p",
    "--store",
    "sqlite",
    "--server-flag=--sync=full",
    "--server-flag",
    "--outbox-capacity=64",
  ]);
  assert.deepEqual(o.stores, ["sqlite"]);
  assert.deepEqual(o.serverFlags, ["--sync=full", "--outbox-capacity=64"]);
  assert.throws(() => parseArgs(["--store", "disk"]), /memory, sqlite or redis/);
  assert.throws(() => parseArgs(["--server-flag=--sync"]), /--name=value/);
  assert.throws(() => parseArgs(["--server-flag=sync=full"]), /--name=value/);
  assert.throws(() => parseArgs(["--store"]), /needs a value/);
  assert.throws(() => parseArgs(["--scenario", "nope"]), /one of/);
});

Deno.test("bench parseArgs: --compare-stores, restart's store and backlog", () => {
  assert.deepEqual(parseArgs(["--compare-stores"]).stores, ["memory", "sqlite"]);
  assert.throws(() => parseArgs(["--compare-stores", "--store", "sqlite"]), /no --store/);
  const restart = parseArgs(["--scenario", "restart"]);
  assert.deepEqual(restart.stores, ["sqlite"]);
  assert.equal(restart.backlog, RESTART_BACKLOG);
  assert.equal(parseArgs(["--scenario", "restart", "--backlog", "5000"]).backlog, 5000);
  assert.throws(() => parseArgs(["--scenario", "restart", "--store", "memory"]), /durable/);
  assert.throws(() => parseArgs(["--scenario", "restart", "--compare-stores"]), /durable/);
  assert.equal(parseArgs(["--step-factor", "1.1"]).stepFactor, 1.1);
  assert.throws(() => parseArgs(["--step-factor", "1"]), /above 1/);
});

Deno.test("bench variantsFor: each store on Huayi IM, the baseline once, stores-only scenarios", () => {
  assert.deepEqual(variantsFor("p2p", ["huayi", "baseline"], ["memory", "sqlite"]), [
    { target: "huayi", store: "memory" },
    { target: "huayi", store: "sqlite" },
    { target: "baseline", store: "memory" },
  ]);
  assert.deepEqual(variantsFor("fanout", ["baseline"], ["sqlite"]), [
    { target: "baseline", store: "sqlite" },
  ]);
  for (const scenario of ["offline", "resume", "restart"] as const) {
    assert.deepEqual(variantsFor(scenario, ["baseline"], ["sqlite"]), [
      { target: "huayi", store: "sqlite" },
    ]);
  }
  assert.deepEqual(roundOrder([1, 2, 3], 0), [1, 2, 3]);
  assert.deepEqual(roundOrder([1, 2, 3], 4), [2, 3, 1]);
  assert.deepEqual(roundOrder([], 3), []);
});

Deno.test("bench huayiArgs: rate limits off, a connection cap above the scenario, flags last", () => {
  const args = huayiArgs({
    target: "huayi",
    store: "sqlite",
    dataDir: "/tmp/x",
    sockets: 19_000,
    anyAddress: true,
    serverFlags: ["--probe-interval-ms", "5000"],
    passthroughFlags: ["--rate-logins=5"],
  });
  assert.deepEqual(args, [
    "--host",
    "0.0.0.0",
    "--port",
    "0",
    "--store",
    "sqlite",
    "--data-dir",
    "/tmp/x",
    "--rate-logins",
    "0",
    "--rate-messages",
    "0",
    "--max-connections",
    "20000",
    "--probe-interval-ms",
    "5000",
    "--rate-logins=5",
  ]);
  assert.throws(() => huayiArgs({ target: "huayi", store: "sqlite", sockets: 1, serverFlags: [] }));
  const memory = huayiArgs({ target: "huayi", store: "memory", sockets: 1, serverFlags: [] });
  assert.ok(!memory.includes("--data-dir"));
});

Deno.test("bench huayiArgs: every flag the bench passes is one the server knows", async () => {
  const { parseConfig } = await import("../../lib/config.ts");
  const config = parseConfig(
    {},
    huayiArgs({
      target: "huayi",
      store: "sqlite",
      dataDir: "/tmp/x",
      sockets: 10,
      serverFlags: [...restartFlags(1000), "--mailbox-max", String(10_000)],
      passthroughFlags: ["--sync=full"],
    }),
  );
  assert.equal(config.mailboxMax, 10_000, "a later flag wins");
  assert.equal(config.offlineTtlMs, 2 ** 31 - 1);
  assert.equal(config.storeMaxBytes, Number.MAX_SAFE_INTEGER);
  assert.equal(config.rateLogins, 0);
  assert.equal(config.rateMessages, 0);
  assert.equal(config.maxConnections, 1010);
  assert.equal(config.store, "sqlite");
  assert.equal(config.sync, "full");
});

Deno.test("bench --no-sockets: p2p's users log in and send, nobody connects, nothing is expected", () => {
  const o = parseArgs(["--scenario", "p2p", "--no-sockets", "--users", "8"]);
  assert.equal(o.noSockets, true);
  assert.equal(parseArgs(["--scenario", "p2p"]).noSockets, undefined);
  assert.throws(() => parseArgs(["--scenario", "fanout", "--no-sockets"]), /p2p's/);
  assert.throws(() => parseArgs(["--no-sockets"]), /p2p's/);
  assert.throws(() => parseArgs(["--scenario", "p2p", "--no-sockets", "--step"]), /no latency/);
  const url = "http://127.0.0.1:8080";
  const plans = p2pPlans(o, url, [url]);
  assert.deepEqual(plans.map((plan) => plan.openSockets), [false, false]);
  assert.deepEqual(plans.flatMap((plan) => plan.receivers).sort(), names("p2p", 8).sort());
  const connected = p2pPlans(parseArgs(["--scenario", "p2p", "--users", "8"]), url, [url]);
  assert.deepEqual(connected.map((plan) => plan.openSockets), [true, true]);
  const result = { accepted: 40 } as WorkerResult;
  assert.equal(p2pExpected(o, [result, result]), 0);
  assert.equal(p2pExpected({ ...o, noSockets: false }, [result, result]), 80);
});

Deno.test("bench --connections: p2p's generators send on that many connections a node, 8 by default", () => {
  const url = "http://127.0.0.1:1";
  const nodes = [url, "http://127.0.0.1:2"];
  assert.deepEqual(p2pPlans(parseArgs(["--users", "8"]), url, nodes).map((p) => p.connections), [
    8,
    8,
  ]);
  const more = p2pPlans(parseArgs(["--users", "8", "--connections", "32"]), url, nodes);
  assert.deepEqual(more.map((p) => p.connections), [32, 32]);
  assert.equal(p2pPlans(parseArgs(["--connections", "0"]), url, nodes)[0].connections, 1);
  assert.throws(() => parseArgs(["--connections", "many"]), /needs a number/);
});

Deno.test("bench --generator-nice: a cluster's generators run behind its nodes, at nice 5 unless told", () => {
  assert.equal(parseArgs(["--cluster", "--scenario", "p2p"]).generatorNice, undefined);
  assert.deepEqual(generatorPlacement(true), { nice: CLUSTER_GENERATOR_NICE });
  assert.equal(CLUSTER_GENERATOR_NICE, 5);
  assert.deepEqual(generatorPlacement(false), { cpu: 1, nice: 0 });
  const o = parseArgs(["--cluster", "--scenario", "p2p", "--generator-nice", "0"]);
  assert.deepEqual(generatorPlacement(true, o.generatorNice), { nice: 0 });
  assert.throws(() => parseArgs(["--generator-nice", "20"]), /0 to 19/);
  assert.throws(() => parseArgs(["--generator-nice", "2.5"]), /0 to 19/);
  // What the placement becomes on this machine's command line.
  const argv = ["deno", "run", "load_worker.ts"];
  assert.deepEqual(commandLine({ nice: 0 }, argv), argv);
  const behind = commandLine({ nice: 5 }, argv);
  assert.deepEqual(behind.slice(0, 3), ["nice", "-n", "5"]);
  assert.deepEqual(behind.slice(-3), argv);
  if (Child.pinned) {
    assert.deepEqual(commandLine({ cpu: 1, nice: 5 }, argv), [
      "nice",
      "-n",
      "5",
      "taskset",
      "-c",
      "1",
      ...argv,
    ]);
  }
});
