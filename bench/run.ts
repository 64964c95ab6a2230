/**
 * One measured run: start a server (Huayi IM or the baseline) pinned to CPU
 * 0, start generator processes pinned to CPU 1, run them together, and turn
 * what they report and what `/proc` says into figures.
 *
 * @module
 */

import { Child, type SpawnOptions } from "./child.ts";
import { BenchRedis, commandDelta, type RedisAof, redisCost } from "./cluster.ts";
import { type ClusterFigures, figures, serverHistograms } from "./figures.ts";
import type { WorkerPlan, WorkerResult } from "./load_worker.ts";
import { parseGauge, scrapeMetrics } from "./prometheus.ts";
import {
  cpuPercent,
  type MachineSample,
  type ProcSample,
  sampleMachine,
  sampleProcess,
} from "./proc_stats.ts";
import { waitForQuiet } from "./quiet.ts";
import {
  assertStoreOpened,
  freshDataDir,
  LISTENING,
  removeDataDir,
  type ServerSpec,
  spawnServer,
} from "./server_process.ts";

const WORKER = new URL("./load_worker.ts", import.meta.url).pathname;

/** The nodes of a cluster run. */
export const CLUSTER_NODES = 2;

/** How to set up and check one run. */
export interface RunSpec extends Omit<ServerSpec, "dataDir"> {
  /** The offered-load window (ms after `go`) that CPU and lag figures cover; 0 for the whole run. */
  windowMs: number;
  /**
   * Builds the generator plans once the server's URL is known (a cluster's:
   * node 1's, and every node's in `nodes`); may prepare the server.
   */
  plans: (url: string, nodes: string[]) => Promise<WorkerPlan[]>;
  /** Deliveries expected from what the generators report. */
  expected: (results: WorkerResult[]) => number;
  /** Cluster (`store: "redis"`): Redis's persistence. */
  redisAof?: RedisAof;
  /** Cluster: the nodes reach Redis through its Unix socket. */
  redisUnix?: boolean;
  /** The generators' niceness (default {@linkcode CLUSTER_GENERATOR_NICE} on a cluster, else 0). */
  generatorNice?: number;
  /** Cluster: Redis's niceness (default {@linkcode CLUSTER_REDIS_NICE}). */
  redisNice?: number;
}

/**
 * The niceness of a cluster run's generators. They share both cores with
 * the nodes and Redis, and at the same priority the kernel let them run
 * ahead of a node that had work, whose requests then waited for a core;
 * clients of a deployment run elsewhere. At nice 5 they take what the
 * servers leave (7 interleaved pairs against nice 0, cross-node 1:1 at
 * 5,000 msg/s: p99 lower in every pair, ×0.45 median, nodes' CPU ×1.05).
 */
export const CLUSTER_GENERATOR_NICE = 5;

/**
 * The niceness of a cluster run's Redis, as the README recommends for a
 * Redis on the nodes' machine: every node's requests wait on its one
 * thread, so it should not wait for a core behind a node. 6 interleaved
 * pairs against 0 (generators at nice 5 in both), cross-node 1:1 at 5,000
 * msg/s: p99 lower in 5, medians 25.4 vs 40.9 ms. Needs the privilege to
 * raise a priority; without it Redis runs at 0 and the figures say so.
 */
export const CLUSTER_REDIS_NICE = -5;

/**
 * Where the generators run: on CPU 1 beside a server on CPU 0, or, on a
 * cluster, whose nodes take both cores, wherever the scheduler finds room,
 * at {@linkcode CLUSTER_GENERATOR_NICE} unless `nice` is given.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { generatorPlacement } from "./run.ts";
 * assert.deepEqual(generatorPlacement(false), { cpu: 1, nice: 0 });
 * assert.deepEqual(generatorPlacement(true), { nice: 5 });
 * assert.deepEqual(generatorPlacement(true, 0), { nice: 0 });
 * ```
 */
export function generatorPlacement(cluster: boolean, nice?: number): SpawnOptions {
  return cluster ? { nice: nice ?? CLUSTER_GENERATOR_NICE } : { cpu: 1, nice: nice ?? 0 };
}

/** How long a cluster run watches Redis with the sockets open and nothing sent (its idle rate). */
const IDLE_WATCH_MS = 2000;
/**
 * How long it waits before that: a node registers a socket's presence after
 * the upgrade the generator counts as open, so right after `ready` Redis is
 * still busy with the connects (~5 commands a socket), which are no idle cost.
 */
const IDLE_SETTLE_MS = 3000;

/** Several processes read as one: CPU seconds and memory added up. */
function together(samples: ProcSample[]): ProcSample {
  return {
    cpuSeconds: samples.reduce((a, s) => a + s.cpuSeconds, 0),
    rssBytes: samples.reduce((a, s) => a + s.rssBytes, 0),
    peakRssBytes: samples.reduce((a, s) => a + s.peakRssBytes, 0),
    at: samples[0].at,
  };
}

/**
 * Runs one measurement. On `store: "redis"` it starts a Redis and two nodes
 * (node 1 on CPU 0, node 2 on CPU 1; Redis and the generators unpinned), and
 * the server figures are both nodes' together (CPU, RSS) or the worse node's
 * (event-loop lag), with each node's CPU and RSS and Redis's cost beside.
 *
 * @example Usage
 * ```ts ignore
 * const figures = await measure({ target: "huayi", serverFlags: [], plans, expected });
 * ```
 */
export async function measure(spec: RunSpec): Promise<ClusterFigures> {
  // Other work on the two cores skews everything: start on a quiet machine when possible.
  await waitForQuiet();
  const cluster = spec.target === "huayi" && spec.store === "redis";
  const dataDir = spec.target === "huayi" ? await freshDataDir(spec.store) : undefined;
  const redis = cluster
    ? await BenchRedis.start(
      spec.redisAof ?? "everysec",
      spec.redisUnix ?? false,
      spec.redisNice ?? CLUSTER_REDIS_NICE,
    )
    : undefined;
  const servers: Child[] = [];
  const workers: Child[] = [];
  try {
    if (redis) {
      const sockets = Math.ceil(spec.sockets / CLUSTER_NODES);
      for (let n = 0; n < CLUSTER_NODES; n++) {
        const node = { redisUrl: redis.url, id: `bench-node-${n + 1}` };
        servers.push(spawnServer({ ...spec, sockets, cpu: n, node }));
      }
    } else {
      servers.push(spawnServer({ ...spec, dataDir }));
    }
    const ports = await Promise.all(servers.map((server) => server.waitFor(LISTENING)));
    await assertStoreOpened(spec.store, dataDir);
    const urls = ports.map((match) => `http://127.0.0.1:${match[1]}`);
    const url = urls[0];
    const sample = () => Promise.all(servers.map((server) => sampleProcess(server.pid)));
    const sampleRedis = () => redis ? sampleProcess(redis.pid) : Promise.resolve(undefined);
    const scrape = () =>
      spec.target === "huayi" ? Promise.all(urls.map(scrapeMetrics)) : Promise.resolve(undefined);
    const atStart = await sample();
    const plans = await spec.plans(url, urls);
    const where = generatorPlacement(cluster, spec.generatorNice);
    for (const plan of plans) {
      workers.push(Child.spawn(where, WORKER, [JSON.stringify(plan)], true));
    }
    await Promise.all(workers.map((worker) => worker.waitFor(/^logged-in$/, 300_000)));
    const loggedIn = await sample();
    await Promise.all(workers.map((worker) => worker.send("connect")));
    await Promise.all(workers.map((worker) => worker.waitFor(/^ready$/, 300_000)));
    // What the nodes ask of Redis with nothing sent (presence refreshes, session checks).
    let idleCallsPerSecond: number | undefined;
    const idleCommands: Record<string, number> = {};
    if (redis) {
      await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
      const idleFrom = await redis.commandStats();
      const idleStart = performance.now();
      await new Promise((resolve) => setTimeout(resolve, IDLE_WATCH_MS));
      const idle = commandDelta(idleFrom, await redis.commandStats());
      const idleSeconds = (performance.now() - idleStart) / 1000;
      idleCallsPerSecond = idle.calls / idleSeconds;
      for (const [name, calls] of Object.entries(idle.byCommand)) {
        idleCommands[name] = Math.round(calls / idleSeconds);
      }
    }
    // The server's own histograms (event-loop lag, commits) over the window alone.
    const metricsBefore = await scrape();
    const commandsBefore = await redis?.commandStats();
    const before = await sample();
    const redisBefore = await sampleRedis();
    const machineBefore = await sampleMachine(workers.map((worker) => worker.pid));
    await Promise.all(workers.map((worker) => worker.send("go")));
    // CPU is read over the offered-load window only: the settling time after
    // it is mostly idle and would flatter the figure.
    type WindowEnd = [ProcSample[], ProcSample | undefined, MachineSample, (string | undefined)[]?];
    const loadEnd = spec.windowMs > 0
      ? new Promise<WindowEnd>((resolve) =>
        setTimeout(async () => {
          const processes = await sample();
          const redisProcess = await sampleRedis();
          const machine = await sampleMachine(workers.map((worker) => worker.pid));
          resolve([processes, redisProcess, machine, await scrape()]);
        }, spec.windowMs)
      )
      : undefined;
    const timeline: number[] = [];
    const rssTimer = setInterval(async () => {
      if (performance.now() - before[0].at <= spec.windowMs) {
        timeline.push(together(await sample()).rssBytes / 1e6);
      }
    }, 10_000);
    const lines = await Promise.all(
      workers.map((worker) => worker.waitFor(/^result (.*)$/, 300_000)),
    );
    const commandsAfter = await redis?.commandStats();
    const after = await sample();
    const redisAfter = await sampleRedis();
    const [windowEnd, redisEnd, machineAfter, metricsAfter] = (await loadEnd) ??
      [after, redisAfter, await sampleMachine(workers.map((worker) => worker.pid)), await scrape()];
    clearInterval(rssTimer);
    const results: WorkerResult[] = lines.map((match) => JSON.parse(match[1]));
    const serverSeconds = together(windowEnd).cpuSeconds - together(before).cpuSeconds +
      (redisEnd && redisBefore ? redisEnd.cpuSeconds - redisBefore.cpuSeconds : 0);
    const wallSeconds = (windowEnd[0].at - before[0].at) / 1000;
    const percent = (seconds: number) => wallSeconds > 0 ? (100 * seconds) / wallSeconds : 0;
    const cores = {
      otherCpu: Math.max(0, percent(machineAfter.others - machineBefore.others - serverSeconds)),
      serverCoreCpu: percent(machineAfter.core0 - machineBefore.core0),
      generatorCoreCpu: percent(machineAfter.core1 - machineBefore.core1),
      interruptCpu: percent(machineAfter.interrupts - machineBefore.interrupts),
    };
    const stages = {
      atStart: together(atStart),
      loggedIn: together(loggedIn),
      before: together(before),
      windowEnd: together(windowEnd),
      after: together(after),
    };
    const base = {
      ...figures(spec, results, stages, cores),
      rssTimelineMb: timeline,
      ...serverHistograms(metricsBefore, metricsAfter),
    };
    if (!redis || !commandsBefore || !commandsAfter || !redisBefore || !redisEnd) return base;
    // Commands from `go` to the last delivery (the settling included: the
    // nodes read entries until then), per message accepted and per delivery.
    const delta = commandDelta(commandsBefore, commandsAfter);
    const settledSeconds = (performance.now() - before[0].at) / 1000;
    const counters = (name: string) =>
      (metricsAfter ?? []).reduce(
        (total, text, n) =>
          total + (parseGauge(text ?? "", name) ?? 0) -
          (parseGauge(metricsBefore?.[n] ?? "", name) ?? 0),
        0,
      );
    return {
      ...base,
      ...redisCost(delta, base.accepted ?? 0, base.received, idleCallsPerSecond, settledSeconds),
      node1Cpu: cpuPercent(before[0], windowEnd[0]),
      node2Cpu: cpuPercent(before[1], windowEnd[1]),
      node1RssMb: after[0].rssBytes / 1e6,
      node2RssMb: after[1].rssBytes / 1e6,
      redisCpu: cpuPercent(redisBefore, redisEnd),
      redisRssMb: (redisAfter?.rssBytes ?? NaN) / 1e6,
      redisNice: redis.nice,
      redisIdleCallsPerSecond: idleCallsPerSecond,
      redisIdleCommands: idleCommands,
      redisErrors: counters("im_redis_errors_total"),
      redisReconnects: counters("im_redis_reconnects_total"),
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await Promise.all(servers.map((server) => server.stop()));
    await redis?.stop();
    await removeDataDir(dataDir);
  }
}
