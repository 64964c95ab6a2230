/**
 * `conns`: C idle logged-in sockets with both heartbeats running, spread over
 * generator processes and loopback addresses 127.0.0.2, .3, … On a cluster
 * the generator processes take the nodes in turn (process w on node w mod
 * nodes), so each node holds about C / nodes.
 *
 * @module
 */

import type { WorkerPlan } from "../load_worker.ts";
import type { Figures, Target } from "../figures.ts";
import { CLUSTER_NODES, measure } from "../run.ts";
import { names, type ScenarioOptions, split } from "./options.ts";

/** Sockets per generator process: every process may hold at most 20,000 files. */
const SOCKETS_PER_PROCESS = 5000;

/** Runs the idle-connections scenario once against `target`. */
export function conns(target: Target, o: ScenarioOptions): Promise<Figures> {
  const processes = Math.max(o.workers, Math.ceil(o.conns / SOCKETS_PER_PROCESS));
  // On a cluster as many processes on each node, so the nodes hold as many sockets.
  const nodes = o.store === "redis" ? CLUSTER_NODES : 1;
  const workers = Math.ceil(processes / nodes) * nodes;
  const probeMs = o.probeIntervalMs;
  return measure({
    target,
    store: o.store,
    sockets: o.conns,
    passthroughFlags: o.serverFlags,
    profileDir: o.profileDir,
    v8Flags: o.serverV8Flags,
    // A short probe period so probes and their acks run inside the window; the
    // silence limit stays well above the client's ping period.
    serverFlags: ["--probe-interval-ms", String(probeMs)],
    redisAof: o.redisAof,
    redisUnix: o.redisUnix,
    generatorNice: o.generatorNice,
    redisNice: o.redisNice,
    windowMs: o.seconds * 1000,
    anyAddress: true,
    plans: (_url, nodes) =>
      Promise.resolve(
        split(names("idle", o.conns), workers).map((group, w): WorkerPlan => ({
          // A different address per process: one address pair has ~28,000 ephemeral ports.
          url: nodes[w % nodes.length].replace("127.0.0.1", `127.0.0.${2 + w}`),
          receivers: group,
          sends: [],
          rate: 0,
          seconds: o.seconds,
          connections: 1,
          pingMs: 5000,
          padding: 0,
        })),
      ),
    expected: () => 0,
  });
}
