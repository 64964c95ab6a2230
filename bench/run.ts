/**
 * One measured run: start a server (Huayi IM or the baseline) pinned to CPU
 * 0, start generator processes pinned to CPU 1, run them together, and turn
 * what they report and what `/proc` says into figures.
 *
 * @module
 */

import { Child, type SpawnOptions } from "./child.ts";
import { BenchRedis, commandDelta, type RedisAof, type RedisCost, redisCost } from "./cluster.ts";
import { Histogram } from "./histogram.ts";
import { parseRedisUrl } from "../lib/redis/url.ts";
import type { WorkerPlan, WorkerResult } from "./load_worker.ts";
import {
  addHistograms,
  parseGauge,
  scrapeMetrics,
  summarize,
  windowHistogram,
} from "./prometheus.ts";
import { waitForQuiet } from "./quiet.ts";
import {
  cpuPercent,
  cpuTimes,
  parseStatCpuSeconds,
  type ProcSample,
  sampleProcess,
} from "./proc_stats.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const BASELINE = new URL("./baseline_server.ts", import.meta.url).pathname;
const WORKER = new URL("./load_worker.ts", import.meta.url).pathname;

/** Which server a run measures. */
export type Target = "huayi" | "baseline";

/**
 * Huayi IM's store engine (`--store`); the baseline stores nothing. `redis`
 * is a cluster (`--cluster`): two nodes sharing a Redis of the bench's own.
 */
export type Store = "memory" | "sqlite" | "redis";

/** The nodes of a cluster run. */
export const CLUSTER_NODES = 2;

/** Everything one run measured. */
export interface Figures {
  target: Target;
  /** Huayi IM's store engine; absent for the baseline. */
  store?: Store;
  /** Deliveries the run should have produced (counted from accepted sends). */
  expected: number;
  received: number;
  lost: number;
  outOfOrder: number;
  deliveredPerSecond: number;
  /** Sends answered 200 per second of the generators' sending window. */
  acceptedPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /**
   * The latency's two parts, from frames that carry the server's `sent-at`
   * (NaN for servers that send none: the baseline, v1): send → the server's
   * accept, and accept → the generator's read.
   */
  toServerP50: number;
  toServerP99: number;
  fromServerP50: number;
  fromServerP99: number;
  /** Server CPU over the measured window, percent of one core. */
  serverCpu: number;
  /** All generator processes together, percent of one core (they share CPU 1). */
  generatorCpu: number;
  /**
   * CPU of everything else on the machine over the same window, percent of one
   * core: other people's work skews the figures when this is high.
   */
  otherCpu: number;
  /**
   * Everything CPU 0 did over the window, percent: the server plus the kernel
   * work (interrupts) done on its core. Near 100 means the server's core is full
   * even when the server process itself shows less.
   */
  serverCoreCpu: number;
  /** The same for CPU 1, the generators' core. */
  generatorCoreCpu: number;
  /** Interrupt time of both cores, percent of one core (loopback traffic, no process's). */
  interruptCpu: number;
  /** Sends the server did not answer with 200 (not deliveries, so not in `lost`). */
  rejected: number;
  rssMb: number;
  peakRssMb: number;
  /** Resident memory per open socket, bytes: RSS growth from after the logins to the end, per socket. */
  rssPerSocket: number;
  /** The same from before the logins: a logged-in user with a socket. */
  rssPerUser: number;
  connected: number;
  dropped: number;
  /** Server heartbeat probes (`pong`) received and answered with `ack`. */
  probes: number;
  drainMs?: number;
  /** Server RSS in MB every 10 s of the load window: growth that does not level off is a leak. */
  rssTimelineMb: number[];
  /**
   * Event-loop lag over the measured window (`im_event_loop_lag_seconds`
   * scraped before and after it, subtracted): p99 estimated from the buckets,
   * ms; NaN without `/metrics` (the baseline).
   */
  lagP99Ms: number;
  /** The upper bound of the highest lag bucket with an observation in the window, ms. */
  lagMaxMs: number;
  /** Lag observations in the window (one per 100 ms timer). */
  lagSamples: number;
  /** Store commits in the window (`im_store_commit_seconds`): p99 in ms, NaN when none. */
  commitP99Ms: number;
  commits: number;
  /**
   * The server's own view of delivery in the window (`im_delivery_seconds`:
   * a send accepted → its entry written to the socket), p99 in ms: what of
   * `p99` the server accounts for, the rest being the network and the clients.
   */
  serverDeliveryP99Ms: number;
  /** Resume scenario: ms from opening the socket to the `__resumed__` frame. */
  resumedMs?: number;
  /** Resume scenario: `recovered` of the `__resumed__` frame (1 true, 0 false). */
  recovered?: number;
  /** Restart scenario: mailbox entries stored before the stop (`im_mailbox_entries`). */
  entries?: number;
  /** Restart scenario: mailbox entries the restarted server reports. */
  entriesAfterRestart?: number;
  /** Restart scenario: messages accepted while filling (each one entry per recipient + the sender's copy). */
  messages?: number;
  /** Restart scenario: the data directory's size after the stop, bytes (sum of its files). */
  diskBytes?: number;
  /** Restart scenario: `diskBytes / entries`. */
  bytesPerEntry?: number;
  /** Restart scenario: ms filling the store, and entries accepted per second. */
  fillMs?: number;
  fillEntriesPerSecond?: number;
  /** Restart scenario: spawn to `listening on` on an empty data directory, ms. */
  firstStartMs?: number;
  /** Restart scenario: SIGTERM to exit, ms. */
  stopMs?: number;
  /** Restart scenario: spawn to `listening on` on the filled data directory, ms. */
  restartMs?: number;
  /** Restart scenario: spawn → one user's mailbox replayed (since=0) by the restarted server, ms. */
  readBackMs?: number;
  /** Restart scenario: the restarted server's RSS once listening, MB. */
  restartRssMb?: number;
  /** Messages the server answered 200 (fan-out: deliveries are this × members). */
  accepted?: number;
  /** Cluster: each node's CPU over the window, percent of one core (node 1 on CPU 0, node 2 on CPU 1). */
  node1Cpu?: number;
  node2Cpu?: number;
  /** Cluster: each node's RSS at the end, MB. */
  node1RssMb?: number;
  node2RssMb?: number;
  /** Cluster: Redis's CPU over the window (from `/proc`), percent of one core, and its RSS at the end. */
  redisCpu?: number;
  redisRssMb?: number;
  /** Cluster: Redis's niceness as it ran (0 where a negative one was not permitted). */
  redisNice?: number;
  /** Cluster: Redis commands per second while the sockets were open and nothing was sent. */
  redisIdleCallsPerSecond?: number;
  /** Cluster: the same by command, per second. */
  redisIdleCommands?: Record<string, number>;
  /** Cluster: Redis round trips as the nodes time them (`im_redis_command_seconds`, every command), p99 ms. */
  redisRttP99Ms?: number;
  /** Cluster: failed Redis commands (`im_redis_errors_total`) and reconnects in the run, both nodes. */
  redisErrors?: number;
  redisReconnects?: number;
}

/** A cluster run's Figures: the Redis cost of the window on top. */
export type ClusterFigures = Figures & Partial<RedisCost>;

/** How to start a server for a run. */
export interface ServerSpec {
  target: Target;
  /** Huayi IM's store (ignored by the baseline). */
  store: Store;
  /** The SQLite store's directory (sqlite only). */
  dataDir?: string;
  /** Listen on every address (the `conns` scenario spreads clients over 127.0.0.x). */
  anyAddress?: boolean;
  /** WebSockets the scenario opens: `--max-connections` is set above it. */
  sockets: number;
  /** Flags for Huayi IM from the scenario (ignored by the baseline). */
  serverFlags: string[];
  /** Flags from `--server-flag`, last so they win (ignored by the baseline). */
  passthroughFlags?: string[];
  /** Write a V8 CPU profile of the server into this directory. */
  profileDir?: string;
  /** V8 flags for the server, passed as `--v8-flags=`. */
  v8Flags?: string;
  /** The CPU the server is pinned to (default 0). */
  cpu?: number;
  /** Cluster: Redis's URL and this node's name (`IM_REDIS_URL`, `IM_NODE_ID`). */
  node?: { redisUrl: string; id: string };
}

/**
 * Huayi IM's command line for a run: listen address, store, rate limits off
 * (thousands of logins come from one address), a connection cap above what
 * the scenario opens, the scenario's flags, then `--server-flag`s (a later
 * flag wins).
 *
 * @example Usage
 * ```ts
 * import { huayiArgs } from "./run.ts";
 * huayiArgs({ target: "huayi", store: "memory", sockets: 10, serverFlags: [] });
 * // ["--host", "127.0.0.1", "--port", "0", "--store", "memory", "--rate-logins", "0", …]
 * ```
 */
export function huayiArgs(spec: ServerSpec): string[] {
  const host = spec.anyAddress ? "0.0.0.0" : "127.0.0.1";
  // A cluster node's store is Redis (IM_REDIS_URL): `--store` does not apply.
  const args = ["--host", host, "--port", "0"];
  if (spec.store !== "redis") args.push("--store", spec.store);
  if (spec.store === "sqlite") {
    if (!spec.dataDir) throw new Error("the sqlite store needs a data directory");
    args.push("--data-dir", spec.dataDir);
  }
  args.push(
    "--rate-logins",
    "0",
    "--rate-messages",
    "0",
    "--max-connections",
    String(spec.sockets + 1000),
  );
  return [...args, ...spec.serverFlags, ...(spec.passthroughFlags ?? [])];
}

/**
 * Starts the server of a run on CPU 0: Huayi IM with the permissions `deno
 * task start` grants (and write access to the data directory), the baseline
 * with the network alone.
 */
export function spawnServer(spec: ServerSpec): Child {
  const profileFlags = spec.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${spec.profileDir}`] : [];
  if (spec.v8Flags) profileFlags.push(`--v8-flags=${spec.v8Flags}`);
  if (spec.target === "baseline") {
    const host = spec.anyAddress ? "0.0.0.0" : "127.0.0.1";
    return Child.spawn({ cpu: 0 }, BASELINE, ["0", host], false, ["--allow-net", ...profileFlags]);
  }
  const write = spec.store === "sqlite" && spec.dataDir ? [`--allow-write=${spec.dataDir}`] : [];
  // Connecting to a Unix socket takes read and write permission on its path.
  const redis = spec.node ? parseRedisUrl(spec.node.redisUrl) : undefined;
  if (redis?.transport === "unix") write.push(`--allow-write=${redis.path}`);
  const env = spec.node
    ? { IM_REDIS_URL: spec.node.redisUrl, IM_NODE_ID: spec.node.id }
    : undefined;
  return Child.spawn({ cpu: spec.cpu ?? 0 }, MAIN, huayiArgs(spec), false, [
    "--allow-net",
    "--allow-read",
    ...write,
    "--allow-env",
    ...profileFlags,
  ], env);
}

/** A fresh data directory for a sqlite run (removed by the caller), or none. */
export function freshDataDir(store: Store): Promise<string | undefined> {
  return store === "sqlite"
    ? Deno.makeTempDir({ prefix: "huayi-bench-" })
    : Promise.resolve(undefined);
}

/**
 * Throws unless the server opened a store in its data directory: a server
 * that takes `--store sqlite` but runs on memory (the engine not wired in)
 * must not produce figures labelled sqlite.
 */
export async function assertStoreOpened(store: Store, dataDir: string | undefined): Promise<void> {
  if (store !== "sqlite" || !dataDir) return;
  for await (const _ of Deno.readDir(dataDir)) return;
  throw new Error(
    `the server took --store sqlite but wrote nothing in --data-dir ${dataDir}: ` +
      "it is not running on SQLite (is the engine wired into lib/stores.ts?)",
  );
}

/** Removes a run's data directory, if it had one. */
export async function removeDataDir(dir: string | undefined): Promise<void> {
  if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Matches the server's start-up line and captures the port. */
export const LISTENING = /listening on http:\/\/[^:]+:(\d+)/;

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
    const machineBefore = await sampleMachine(workers);
    await Promise.all(workers.map((worker) => worker.send("go")));
    // CPU is read over the offered-load window only: the settling time after
    // it is mostly idle and would flatter the figure.
    type WindowEnd = [ProcSample[], ProcSample | undefined, MachineSample, (string | undefined)[]?];
    const loadEnd = spec.windowMs > 0
      ? new Promise<WindowEnd>((resolve) =>
        setTimeout(async () => {
          const processes = await sample();
          const redisProcess = await sampleRedis();
          const machine = await sampleMachine(workers);
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
      [after, redisAfter, await sampleMachine(workers), await scrape()];
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

/**
 * Lag and commit figures between two scrapes of `/metrics` (NaN without
 * them); for several nodes (one scrape each), lag is the worse node's and
 * the commit, delivery and Redis round-trip histograms are added up.
 */
export function serverHistograms(
  before: string | undefined | (string | undefined)[],
  after: string | undefined | (string | undefined)[],
): Pick<Figures, ServerHistogramFigures> & { redisRttP99Ms: number } {
  const befores = Array.isArray(before) ? before : [before];
  const afters = Array.isArray(after) ? after : [after];
  const each = (name: string) =>
    afters.map((text, n) => windowHistogram(befores[n], text, name))
      .filter((h) => h !== undefined);
  const merged = (name: string) => {
    const found = each(name);
    return found.length ? summarize(addHistograms(found)) : undefined;
  };
  const lags = each("im_event_loop_lag_seconds").map(summarize);
  const worst = (pick: (lag: { p99Ms: number; maxMs: number }) => number) =>
    lags.length ? Math.max(...lags.map(pick)) : NaN;
  const commit = merged("im_store_commit_seconds");
  const delivery = merged("im_delivery_seconds");
  const rtt = merged("im_redis_command_seconds");
  return {
    lagP99Ms: worst((lag) => lag.p99Ms),
    lagMaxMs: worst((lag) => lag.maxMs),
    lagSamples: lags.reduce((total, lag) => total + lag.count, 0),
    commitP99Ms: commit?.p99Ms ?? NaN,
    commits: commit?.count ?? 0,
    serverDeliveryP99Ms: delivery?.p99Ms ?? NaN,
    redisRttP99Ms: rtt?.p99Ms ?? NaN,
  };
}

/** The figures read from the server's `/metrics`. */
type ServerHistogramFigures =
  | "lagP99Ms"
  | "lagMaxMs"
  | "lagSamples"
  | "commitP99Ms"
  | "commits"
  | "serverDeliveryP99Ms";

/** CPU seconds of the machine so far, split by whose they are. */
export interface MachineSample {
  /** Task time of the whole machine minus this benchmark's generators and coordinator. */
  others: number;
  /** Everything CPU 0 (the server's core) did, interrupts included. */
  core0: number;
  /** Everything CPU 1 (the generators' core) did, interrupts included. */
  core1: number;
  /** Interrupt time of the whole machine: mostly loopback traffic, charged to no process. */
  interrupts: number;
}

export async function sampleMachine(workers: Child[]): Promise<MachineSample> {
  const ours = await Promise.all(
    ["self", ...workers.map((worker) => String(worker.pid))].map((pid) =>
      Deno.readTextFile(`/proc/${pid}/stat`).then(parseStatCpuSeconds, () => 0)
    ),
  );
  const times = await cpuTimes();
  const machine = times.get("cpu")!;
  const core = (name: string) => {
    const { tasks, interrupts } = times.get(name) ?? { tasks: 0, interrupts: 0 };
    return tasks + interrupts;
  };
  return {
    others: machine.tasks - ours.reduce((a, b) => a + b, 0),
    core0: core("cpu0"),
    core1: core("cpu1"),
    interrupts: machine.interrupts,
  };
}

function figures(
  spec: RunSpec,
  results: WorkerResult[],
  server: {
    atStart: ProcSample;
    loggedIn: ProcSample;
    before: ProcSample;
    windowEnd: ProcSample;
    after: ProcSample;
  },
  cores: Pick<Figures, "otherCpu" | "serverCoreCpu" | "generatorCoreCpu" | "interruptCpu">,
): Omit<Figures, "rssTimelineMb" | ServerHistogramFigures> {
  const merged = (pick: (r: WorkerResult) => ReturnType<Histogram["toJSON"]>) => {
    const histogram = new Histogram();
    for (const result of results) histogram.merge(pick(result));
    return histogram.summary();
  };
  const { p50, p90, p99, max } = merged((r) => r.latency);
  const toServer = merged((r) => r.toServer);
  const fromServer = merged((r) => r.fromServer);

  const sum = (pick: (r: WorkerResult) => number) =>
    results.reduce((total, r) => total + pick(r), 0);
  const received = sum((r) => r.received);
  const expected = spec.expected(results);
  const activeMs = Math.max(...results.map((r) => r.activeMs));
  // The generators share CPU 1, so their sum over the load window is that core's use.
  const wallSeconds = Math.max(...results.map((r) => r.wallMs)) / 1000;
  const generatorCpu = wallSeconds > 0 ? (100 * sum((r) => r.cpuSeconds)) / wallSeconds : 0;
  const connected = sum((r) => r.connected);
  const resumed = results.find((r) => r.resumedMs !== undefined);
  return {
    target: spec.target,
    store: spec.target === "huayi" ? spec.store : undefined,
    expected,
    received,
    lost: Math.max(0, expected - received),
    outOfOrder: sum((r) => r.outOfOrder),
    deliveredPerSecond: activeMs > 0 ? (received * 1000) / activeMs : 0,
    acceptedPerSecond: wallSeconds > 0 ? sum((r) => r.accepted) / wallSeconds : 0,
    p50,
    p90,
    p99,
    max,
    // An empty histogram's percentiles are NaN.
    toServerP50: toServer.p50,
    toServerP99: toServer.p99,
    fromServerP50: fromServer.p50,
    fromServerP99: fromServer.p99,
    serverCpu: cpuPercent(server.before, server.windowEnd),
    generatorCpu,
    ...cores,
    rejected: sum((r) => r.sent - r.accepted),
    accepted: sum((r) => r.accepted),
    rssMb: server.after.rssBytes / 1e6,
    peakRssMb: server.after.peakRssBytes / 1e6,
    rssPerSocket: connected ? (server.after.rssBytes - server.loggedIn.rssBytes) / connected : 0,
    rssPerUser: connected ? (server.after.rssBytes - server.atStart.rssBytes) / connected : 0,
    connected,
    dropped: sum((r) => r.dropped),
    probes: sum((r) => r.probes),
    drainMs: results.find((r) => r.drainMs !== undefined)?.drainMs,
    resumedMs: resumed?.resumedMs,
    recovered: resumed?.recovered === undefined ? undefined : Number(resumed.recovered),
  };
}
