/**
 * `p2p`: N users in random pairs, each sending one-to-one to its partner; the
 * offered rate is shared by all senders. On a cluster every send crosses
 * nodes: the two users of a pair hold their sockets on different nodes, and
 * each posts its sends to the node of its own socket.
 *
 * @module
 */

import type { WorkerPlan } from "../load_worker.ts";
import { type Figures, measure, type Target } from "../run.ts";
import { names, type ScenarioOptions, shuffled, split } from "./options.ts";

/** Runs the p2p scenario once against `target`. */
export function p2p(target: Target, o: ScenarioOptions): Promise<Figures> {
  const workers = Math.max(1, Math.min(o.workers, o.users / 2));
  return measure({
    target,
    store: o.store,
    sockets: o.users,
    passthroughFlags: o.serverFlags,
    profileDir: o.profileDir,
    v8Flags: o.serverV8Flags,
    serverFlags: [],
    redisAof: o.redisAof,
    redisUnix: o.redisUnix,
    windowMs: o.seconds * 1000,
    plans: (url, nodes) => {
      // Pairs stay inside one generator, so each counts what it should receive;
      // one sender per receiver, so the receiver can check order.
      const users = shuffled(names("p2p", o.users - (o.users % 2)), 1);
      const groups = split(users, workers).map((g) => g.length % 2 ? g.slice(0, -1) : g);
      // A pair is group[i], group[i ^ 1]: one on each node when there are two.
      const nodeOf = (i: number) => i % nodes.length;
      return Promise.resolve(groups.map((group): WorkerPlan => ({
        url,
        nodes,
        receivers: group,
        receiverNodes: group.map((_, i) => nodeOf(i)),
        sends: group.map((from, i) => ({ from, to: group[i ^ 1], node: nodeOf(i) })),
        rate: o.rate / workers,
        seconds: o.seconds,
        connections: 8,
        pingMs: 0,
        padding: o.padding,
      })));
    },
    expected: (results) => results.reduce((total, r) => total + r.accepted, 0),
  });
}
