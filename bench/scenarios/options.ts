/**
 * What every scenario is given, and the small helpers they share.
 *
 * @module
 */

import type { RedisAof } from "../cluster.ts";
import type { Store } from "../figures.ts";

/** Sizes and rates a scenario may use. */
export interface ScenarioOptions {
  /** Huayi IM's store engine for this run (`restart` always uses sqlite). */
  store: Store;
  /** Extra flags for Huayi IM (`--server-flag`), after the scenario's own. */
  serverFlags: string[];
  users: number;
  members: number;
  conns: number;
  /** Entries stored before the measurement: offline and resume (one user), restart (in all). */
  backlog: number;
  /** Restart: recipients of each send while filling the store. */
  recipients: number;
  rate: number;
  seconds: number;
  workers: number;
  /**
   * p2p: keep-alive HTTP connections each generator sends on, per node. The
   * requests of one connection are answered one by one, so few connections
   * queue sends behind each other's store round trips.
   */
  connections: number;
  padding: number;
  /** Server probe period for `conns` (short, so heartbeats run inside the window). */
  probeIntervalMs: number;
  /** Directory for a CPU profile of the server, if wanted. */
  profileDir?: string;
  /** V8 flags for the server (e.g. `--max-old-space-size=256`), to test memory settings. */
  serverV8Flags?: string;
  /** A cluster's Redis persistence (`store: "redis"`, `--cluster`). */
  redisAof?: RedisAof;
  /** A cluster's nodes reach Redis through its Unix socket (`--redis-unix`), not TCP. */
  redisUnix?: boolean;
  /** The generators' niceness (`--generator-nice`; default 5 on a cluster, 0 otherwise). */
  generatorNice?: number;
  /** A cluster's Redis's niceness (`--redis-nice`; default -5). */
  redisNice?: number;
  /**
   * p2p (`--no-sockets`): the users log in and send, but none opens a socket,
   * so every send is stored and none delivered — the HTTP side and the store
   * alone, without the delivery to sockets.
   */
  noSockets?: boolean;
}

/**
 * Deals items round-robin into `parts` groups.
 *
 * @example Usage
 * ```ts
 * import { split } from "./options.ts";
 * split([1, 2, 3], 2); // [[1, 3], [2]]
 * ```
 */
export function split<T>(items: T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts].push(item));
  return out;
}

/**
 * `count` user names `prefix_0`, `prefix_1`, … (all valid usernames).
 *
 * @example Usage
 * ```ts
 * import { names } from "./options.ts";
 * names("p2p", 2); // ["p2p_0", "p2p_1"]
 * ```
 */
export function names(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}_${i}`);
}

/**
 * A seeded shuffle (mulberry32), so a run's random pairs are the same every time.
 *
 * @example Usage
 * ```ts
 * import { shuffled } from "./options.ts";
 * shuffled([1, 2, 3, 4], 7).length; // 4
 * ```
 */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
