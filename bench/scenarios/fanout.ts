/**
 * `fanout`: one topic of M members; one sender publishes at the offered rate,
 * so deliveries/s = rate × M. On a cluster the members' sockets alternate
 * between the nodes, and the sends are posted to each node in turn.
 *
 * @module
 */

import type { WorkerPlan } from "../load_worker.ts";
import type { Figures, Target } from "../figures.ts";
import { measure } from "../run.ts";
import { names, type ScenarioOptions, split } from "./options.ts";

const TOPIC = "bench_topic";

/** Runs the fan-out scenario once against `target`. */
export function fanout(target: Target, o: ScenarioOptions): Promise<Figures> {
  const workers = Math.max(1, Math.min(o.workers, o.members));
  return measure({
    target,
    store: o.store,
    sockets: o.members,
    passthroughFlags: o.serverFlags,
    profileDir: o.profileDir,
    v8Flags: o.serverV8Flags,
    serverFlags: [],
    redisAof: o.redisAof,
    redisUnix: o.redisUnix,
    generatorNice: o.generatorNice,
    redisNice: o.redisNice,
    windowMs: o.seconds * 1000,
    plans: async (url, nodes) => {
      await createTopic(url, TOPIC);
      // Member k's socket on node k mod nodes, whichever generator holds it.
      const members = names("member", o.members).map((name, k) => ({
        name,
        node: k % nodes.length,
      }));
      const sends = nodes.map((_, node) => ({ from: "fan_sender", topic: TOPIC, node }));
      return split(members, workers).map((group, w): WorkerPlan => ({
        url,
        nodes,
        receivers: group.map((m) => m.name),
        receiverNodes: group.map((m) => m.node),
        join: TOPIC,
        sends: w === 0 ? sends : [],
        rate: w === 0 ? o.rate : 0,
        seconds: o.seconds,
        connections: 4,
        pingMs: 0,
        padding: o.padding,
      }));
    },
    expected: (results) => results.reduce((total, r) => total + r.accepted, 0) * o.members,
  });
}

async function createTopic(url: string, topic: string): Promise<void> {
  const post = async (path: string, sid?: string, body?: unknown) => {
    const response = await fetch(url + path, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(sid ? { authorization: `Bearer ${sid}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return await response.json();
  };
  const { sid } = await post("/api/login", undefined, { username: "topic_owner" });
  await post("/api/topics", sid, { topic });
  // The owner leaves: it holds no socket, and deliveries to it would be stored work.
  await post(`/api/topics/${topic}/actions/quit`, sid);
}
