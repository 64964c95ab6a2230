/**
 * `p2p`: N users in random pairs, each sending one-to-one to its partner; the
 * offered rate is shared by all senders.
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
    windowMs: o.seconds * 1000,
    plans: (url) => {
      // Pairs stay inside one generator, so each counts what it should receive;
      // one sender per receiver, so the receiver can check order.
      const users = shuffled(names("p2p", o.users - (o.users % 2)), 1);
      const groups = split(users, workers).map((g) => g.length % 2 ? g.slice(0, -1) : g);
      return Promise.resolve(groups.map((group): WorkerPlan => ({
        url,
        receivers: group,
        sends: group.map((from, i) => ({ from, to: group[i ^ 1] })),
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
