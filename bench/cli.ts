/**
 * The benchmark's command line: options, and which servers (target × store)
 * a scenario is measured on.
 *
 * @module
 */

import type { Store, Target } from "./figures.ts";
import { HUAYI_ONLY, type ScenarioName, type ScenarioOptions, SCENARIOS } from "./scenarios/mod.ts";

/** Everything `deno task bench` was asked to do. */
export interface Options extends ScenarioOptions {
  scenario: ScenarioName | "default" | "scaling";
  targets: Target[];
  /** Huayi IM's stores to measure: one, or both for `--compare-stores`. */
  stores: Store[];
  runs: number;
  step: boolean;
  /** Step mode: each step offers this many times the last one's rate. */
  stepFactor: number;
  /** Step mode: a step passes with p99 at most this, ms (and nothing lost or refused). */
  stepP99Ms: number;
  /** `--compare-metrics`: each store with `/metrics` on and off, interleaved. */
  compareMetrics: boolean;
  /** The flags given on the command line (for defaults that depend on the scenario). */
  given: Set<string>;
}

// A niceness from the command line: a whole number from `lowest` to 19.
function niceness(flag: string, text: string, lowest: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < lowest || n > 19) {
    throw new Error(`${flag} is a whole number from ${lowest} to 19`);
  }
  return n;
}

/** One server a scenario is measured on. */
export interface Variant {
  target: Target;
  /** Huayi IM's store (the baseline ignores it). */
  store: Store;
  /** `off`: Huayi IM runs with `--metrics=off` (`--compare-metrics`). */
  metrics?: "off";
}

/** Entries the restart scenario stores when `--backlog` is not given. */
export const RESTART_BACKLOG = 1_000_000;

/**
 * Parses the arguments of `deno task bench`.
 *
 * @example Usage
 * ```ts
 * import { parseArgs } from "./cli.ts";
 * const options = parseArgs(["--scenario", "p2p", "--store", "sqlite", "--server-flag=--sync=full"]);
 * options.stores; // ["sqlite"]
 * options.serverFlags; // ["--sync=full"]
 * parseArgs(["--cluster", "--scenario", "p2p"]).stores; // ["redis"]: two nodes and a Redis
 * ```
 */
export function parseArgs(args: string[]): Options {
  const options: Options = {
    scenario: "default",
    targets: ["huayi", "baseline"],
    stores: ["memory"],
    store: "memory",
    serverFlags: [],
    runs: 1,
    step: false,
    stepFactor: 1.25,
    stepP99Ms: 50,
    compareMetrics: false,
    redisAof: "everysec",
    redisUnix: false,
    given: new Set(),
    users: 1000,
    members: 1000,
    conns: 10_000,
    backlog: 10_000,
    recipients: 100,
    rate: 0,
    seconds: 10,
    workers: 2,
    connections: 8,
    padding: 32,
    probeIntervalMs: 5000,
  };
  let compare = false;
  for (let i = 0; i < args.length; i++) {
    // Split at the first "=" only: a value may hold one (--server-v8-flags=--x=1).
    const eq = args[i].indexOf("=");
    const flag = eq === -1 ? args[i] : args[i].slice(0, eq);
    const inline = eq === -1 ? undefined : args[i].slice(eq + 1);
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    options.given.add(flag);
    switch (flag) {
      case "--scenario":
        options.scenario = value() as Options["scenario"];
        break;
      case "--target": {
        const target = value();
        if (!["both", "huayi", "baseline"].includes(target)) {
          throw new Error("--target is huayi, baseline or both");
        }
        options.targets = target === "both" ? ["huayi", "baseline"] : [target as Target];
        break;
      }
      case "--store": {
        const store = value();
        if (store !== "memory" && store !== "sqlite" && store !== "redis") {
          throw new Error("--store is memory, sqlite or redis (a cluster: the same as --cluster)");
        }
        options.stores = [store];
        break;
      }
      case "--cluster":
        options.stores = ["redis"];
        break;
      case "--redis-aof": {
        const aof = value();
        if (aof !== "everysec" && aof !== "off") throw new Error("--redis-aof is everysec or off");
        options.redisAof = aof;
        break;
      }
      case "--redis-unix":
        options.redisUnix = true;
        break;
      case "--generator-nice":
        options.generatorNice = niceness(flag, value(), 0);
        break;
      case "--redis-nice":
        options.redisNice = niceness(flag, value(), -20);
        break;
      case "--no-sockets":
        options.noSockets = true;
        break;
      case "--compare-metrics":
        options.compareMetrics = true;
        break;
      case "--step-p99": {
        const n = Number(value());
        if (!(n > 0)) throw new Error("--step-p99 is a positive number of ms");
        options.stepP99Ms = n;
        break;
      }
      case "--compare-stores":
        compare = true;
        break;
      case "--server-flag": {
        const passed = value();
        if (!/^--[a-z][a-z0-9-]*=/.test(passed)) {
          throw new Error(`--server-flag takes one --name=value, e.g. --server-flag=--sync=full`);
        }
        options.serverFlags.push(passed);
        break;
      }
      case "--step":
        options.step = true;
        break;
      case "--server-v8-flags":
        options.serverV8Flags = value();
        break;
      case "--profile":
        options.profileDir = new URL("./out/", import.meta.url).pathname;
        break;
      case "--step-factor": {
        const n = Number(value());
        if (!(n > 1 && n <= 4)) throw new Error("--step-factor is a number above 1 (at most 4)");
        options.stepFactor = n;
        break;
      }
      case "--runs":
      case "--users":
      case "--members":
      case "--conns":
      case "--backlog":
      case "--recipients":
      case "--rate":
      case "--seconds":
      case "--workers":
      case "--connections":
      case "--padding":
      case "--probe-interval-ms": {
        const n = Number(value());
        if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number`);
        const key = flag.slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
        (options as unknown as Record<string, number>)[key] = n;
        break;
      }
      default:
        throw new Error(`unknown argument ${flag}; see the header of bench/main.ts`);
    }
  }
  const known = [...Object.keys(SCENARIOS), "default", "scaling"];
  if (!known.includes(options.scenario)) {
    throw new Error(`--scenario is one of ${known.join(", ")}`);
  }
  if (options.noSockets && options.scenario !== "p2p") {
    throw new Error("--no-sockets is p2p's (--scenario p2p)");
  }
  if (options.noSockets && options.step) {
    throw new Error("--no-sockets delivers nothing, so it has no latency to --step by");
  }
  const cluster = options.stores[0] === "redis";
  if (cluster) {
    if (options.given.has("--target") && !options.targets.includes("huayi")) {
      throw new Error("a cluster is Huayi IM's: --cluster runs no baseline");
    }
    // The baseline cannot be a cluster: compare with a run without --cluster.
    options.targets = ["huayi"];
    if (["restart", "default", "scaling"].includes(options.scenario)) {
      throw new Error("--cluster runs p2p, fanout, conns, offline or resume (one --scenario)");
    }
  } else {
    for (const flag of ["--redis-aof", "--redis-unix", "--redis-nice"]) {
      if (options.given.has(flag)) throw new Error(`${flag} is a cluster's: add --cluster`);
    }
  }
  if (compare) {
    if (options.given.has("--store") || options.given.has("--cluster")) {
      throw new Error("--compare-stores runs both stores: no --store or --cluster");
    }
    if (options.scenario === "restart") {
      throw new Error("restart needs a durable store: it runs on sqlite alone");
    }
    options.stores = ["memory", "sqlite"];
  }
  if (options.scenario === "restart") {
    if (options.given.has("--store") && options.stores[0] !== "sqlite") {
      throw new Error("restart needs a durable store: --store sqlite (the default for restart)");
    }
    options.stores = ["sqlite"];
    if (!options.given.has("--backlog")) options.backlog = RESTART_BACKLOG;
  }
  if (options.compareMetrics && options.serverFlags.some((f) => f.startsWith("--metrics="))) {
    throw new Error("--compare-metrics sets --metrics itself: no --server-flag=--metrics=…");
  }
  if (options.recipients < 1) throw new Error("--recipients is at least 1");
  options.store = options.stores[0];
  return options;
}

/**
 * The servers a scenario runs on, in the order one round measures them:
 * Huayi IM on each store, then the baseline (once: it has no store), unless
 * the scenario needs a store. With `compareMetrics`, each store twice:
 * `/metrics` on, then off.
 *
 * @example Usage
 * ```ts
 * import { variantsFor } from "./cli.ts";
 * variantsFor("p2p", ["huayi", "baseline"], ["memory", "sqlite"]);
 * // [{target: "huayi", store: "memory"}, {target: "huayi", store: "sqlite"}, {target: "baseline", store: "memory"}]
 * variantsFor("resume", ["huayi", "baseline"], ["memory"]); // [{target: "huayi", store: "memory"}]
 * variantsFor("p2p", ["huayi"], ["memory"], true);
 * // [{target: "huayi", store: "memory"}, {target: "huayi", store: "memory", metrics: "off"}]
 * ```
 */
export function variantsFor(
  scenario: ScenarioName,
  targets: Target[],
  stores: Store[],
  compareMetrics = false,
): Variant[] {
  const out: Variant[] = [];
  const huayiOnly = HUAYI_ONLY.includes(scenario);
  if (targets.includes("huayi") || huayiOnly) {
    for (const store of stores) {
      out.push({ target: "huayi", store });
      if (compareMetrics) out.push({ target: "huayi", store, metrics: "off" });
    }
  }
  if (targets.includes("baseline") && !huayiOnly) {
    out.push({ target: "baseline", store: stores[0] });
  }
  return out;
}

/**
 * The order of round `round` of interleaved runs: the variants rotated by one
 * each round, so no server always runs first (on a machine that warms up or
 * gets busier, the first would be favoured).
 *
 * @example Usage
 * ```ts
 * import { roundOrder } from "./cli.ts";
 * roundOrder(["a", "b", "c"], 1); // ["b", "c", "a"]
 * ```
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const shift = items.length ? round % items.length : 0;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
