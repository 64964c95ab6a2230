/**
 * `p2p`: N users in random pairs, each sending one-to-one to its partner; the
 * offered rate is shared by all senders. On a cluster every send crosses
 * nodes: the two users of a pair hold their sockets on different nodes, and
 * each posts its sends to the node of its own socket. With `noSockets`
 * nobody connects: every send is stored, none delivered.
 *
 * @module
 */

import type { WorkerPlan, WorkerResult } from "../load_worker.ts";
import type { Figures, Target } from "../figures.ts";
import { measure } from "../run.ts";
import { names, type ScenarioOptions, shuffled, split } from "./options.ts";

/** Runs the p2p scenario once against `target`. */
export function p2p(target: Target, o: ScenarioOptions): Promise<Figures> {
  return measure({
    target,
    store: o.store,
    sockets: o.noSockets ? 0 : o.users,
    passthroughFlags: o.serverFlags,
    profileDir: o.profileDir,
    v8Flags: o.serverV8Flags,
    serverFlags: [],
    redisAof: o.redisAof,
    redisUnix: o.redisUnix,
    generatorNice: o.generatorNice,
    redisNice: o.redisNice,
    windowMs: o.seconds * 1000,
    plans: (url, nodes) => Promise.resolve(p2pPlans(o, url, nodes)),
    expected: (results) => p2pExpected(o, results),
  });
}

/**
 * The generators' plans: pairs stay inside one generator, so each counts what
 * it should receive, and each receiver has one sender, so it can check order.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgs } from "../cli.ts";
 * import { p2pPlans } from "./p2p.ts";
 * const plans = p2pPlans(parseArgs(["--users", "8"]), "http://127.0.0.1:8080", ["http://127.0.0.1:8080"]);
 * assert.equal(plans.length, 2);
 * assert.equal(plans[0].sends[0].to, plans[0].receivers[1]);
 * ```
 */
export function p2pPlans(o: ScenarioOptions, url: string, nodes: string[]): WorkerPlan[] {
  const workers = Math.max(1, Math.min(o.workers, o.users / 2));
  const users = shuffled(names("p2p", o.users - (o.users % 2)), 1);
  const groups = split(users, workers).map((g) => g.length % 2 ? g.slice(0, -1) : g);
  // A pair is group[i], group[i ^ 1]: one on each node when there are two.
  const nodeOf = (i: number) => i % nodes.length;
  return groups.map((group): WorkerPlan => ({
    url,
    nodes,
    receivers: group,
    receiverNodes: group.map((_, i) => nodeOf(i)),
    sends: group.map((from, i) => ({ from, to: group[i ^ 1], node: nodeOf(i) })),
    rate: o.rate / workers,
    seconds: o.seconds,
    connections: Math.max(1, o.connections),
    pingMs: 0,
    padding: o.padding,
    openSockets: !o.noSockets,
  }));
}

/** Deliveries a p2p run should produce: one per accepted send, none when nobody connects. */
export function p2pExpected(o: ScenarioOptions, results: WorkerResult[]): number {
  return o.noSockets ? 0 : results.reduce((total, r) => total + r.accepted, 0);
}
