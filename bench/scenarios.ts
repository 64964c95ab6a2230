/**
 * The benchmark's scenarios, each a recipe for {@linkcode measure}: which
 * users exist, who sends to whom at what rate, and what should arrive.
 *
 * @module
 */

import type { WorkerPlan } from "./load_worker.ts";
import { type Figures, measure, type Target } from "./run.ts";

/** Sizes and rates a scenario may use. */
export interface ScenarioOptions {
  users: number;
  members: number;
  conns: number;
  backlog: number;
  rate: number;
  seconds: number;
  workers: number;
  padding: number;
  /** Directory for a CPU profile of the server, if wanted. */
  profileDir?: string;
}

const TOPIC = "bench_topic";

function split<T>(items: T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts].push(item));
  return out;
}

function names(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}_${i}`);
}

/** N users in pairs, each sending to its partner; the rate is shared by all. */
export function p2p(target: Target, o: ScenarioOptions): Promise<Figures> {
  const workers = Math.max(1, Math.min(o.workers, o.users / 2));
  return measure({
    target,
    profileDir: o.profileDir,
    serverFlags: [],
    plans: (url) => {
      // Pairs stay inside one generator, so each counts what it should receive.
      const groups = split(names("p2p", o.users - (o.users % 2)), workers);
      return Promise.resolve(groups.map((group): WorkerPlan => {
        const sends = group.map((from, i) => ({ from, to: group[i ^ 1] ?? group[0] }));
        return {
          url,
          receivers: group,
          sends,
          rate: o.rate / workers,
          seconds: o.seconds,
          connections: 8,
          pingMs: 0,
          padding: o.padding,
        };
      }));
    },
    expected: (results) => results.reduce((total, r) => total + r.accepted, 0),
  });
}

/** One topic of M members; one sender publishes at the rate. */
export function fanout(target: Target, o: ScenarioOptions): Promise<Figures> {
  const workers = Math.max(1, Math.min(o.workers, o.members));
  return measure({
    target,
    profileDir: o.profileDir,
    serverFlags: [],
    plans: async (url) => {
      await createTopic(url, TOPIC);
      return split(names("member", o.members), workers).map((group, w): WorkerPlan => ({
        url,
        receivers: group,
        join: TOPIC,
        sends: w === 0 ? [{ from: "fan_sender", topic: TOPIC }] : [],
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

/**
 * C idle sockets with heartbeats on (probes every 5 s, pings every 5 s),
 * spread over generator processes and loopback addresses 127.0.0.2, .3, …
 */
export function conns(target: Target, o: ScenarioOptions): Promise<Figures> {
  // Every process may hold 20,000 files: at most 5,000 sockets a generator.
  const workers = Math.max(o.workers, Math.ceil(o.conns / 5000));
  return measure({
    target,
    profileDir: o.profileDir,
    serverFlags: ["--probe-interval-ms", "5000"],
    anyAddress: true,
    plans: (url) =>
      Promise.resolve(
        split(names("idle", o.conns), workers).map((group, w): WorkerPlan => ({
          url: url.replace("127.0.0.1", `127.0.0.${2 + w}`),
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

/** A user with K stored messages connects: time to drain, order kept. */
export function offline(target: Target, o: ScenarioOptions): Promise<Figures> {
  return measure({
    target,
    profileDir: o.profileDir,
    serverFlags: [],
    plans: (url) =>
      Promise.resolve([{
        url,
        receivers: ["offline_reader"],
        sends: [{ from: "offline_writer", to: "offline_reader" }],
        backlog: o.backlog,
        rate: 0,
        seconds: 0,
        connections: 8,
        pingMs: 0,
        padding: o.padding,
      }]),
    expected: () => o.backlog,
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

/** Scenarios by name. */
export const SCENARIOS = { p2p, fanout, conns, offline } as const;

/** A scenario's name. */
export type ScenarioName = keyof typeof SCENARIOS;
