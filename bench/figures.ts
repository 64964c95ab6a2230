/**
 * What a run measured: the figures of one row of `bench/results.jsonl`, and
 * how they are computed from what the generators, `/proc` and the servers'
 * `/metrics` report.
 *
 * @module
 */

import type { RedisCost } from "./cluster.ts";
import { Histogram } from "./histogram.ts";
import type { WorkerResult } from "./load_worker.ts";
import { addHistograms, summarize, windowHistogram } from "./prometheus.ts";
import { cpuPercent, type ProcSample } from "./proc_stats.ts";

/** Which server a run measures. */
export type Target = "huayi" | "baseline";

/**
 * Huayi IM's store engine (`--store`); the baseline stores nothing. `redis`
 * is a cluster (`--cluster`): two nodes sharing a Redis of the bench's own.
 */
export type Store = "memory" | "sqlite" | "redis";

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
  /**
   * Of send → accepted, the generators' own part: from a send's body being
   * built (its stamp) to its last byte written to the socket, p99 (NaN when
   * not timed).
   */
  generatorWriteP99: number;
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
export type ServerHistogramFigures =
  | "lagP99Ms"
  | "lagMaxMs"
  | "lagSamples"
  | "commitP99Ms"
  | "commits"
  | "serverDeliveryP99Ms";

/**
 * A run's figures from the generators' results and the server's `/proc`
 * samples at each stage (the histograms from `/metrics` and the memory
 * timeline are added by the caller).
 */
export function figures(
  spec: { target: Target; store: Store; expected: (results: WorkerResult[]) => number },
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
  const writeLag = merged((r) => r.writeLag);

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
    generatorWriteP99: writeLag.p99,
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
