/**
 * The cluster runs' Redis: a `redis-server` of the bench's own on a free port
 * (its persistence chosen by `--redis-aof`), what `INFO commandstats` says,
 * and Redis commands per accepted message and per delivery over a window.
 *
 * @module
 */

import { getPriority } from "node:os";
import { RedisServer } from "../tests/redis/redis_server.ts";

/**
 * Redis persistence for a cluster run: `everysec` is what the README tells an
 * operator to run (`appendonly yes`, `appendfsync everysec`), `off` keeps
 * nothing (`appendonly no`, no RDB snapshots).
 */
export type RedisAof = "everysec" | "off";

/**
 * The `redis-server` arguments of a cluster run, after the defaults of
 * `tests/redis/redis_server.ts` (`--save "" --appendonly no`), which they
 * override: no snapshots either way, `noeviction` as the README requires.
 *
 * @example Usage
 * ```ts
 * import { redisArgs } from "./cluster.ts";
 * redisArgs("everysec", "/tmp/x");
 * // ["--maxmemory-policy", "noeviction", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", "/tmp/x"]
 * redisArgs("off"); // ["--maxmemory-policy", "noeviction"]
 * ```
 */
export function redisArgs(aof: RedisAof, dir?: string): string[] {
  const args = ["--maxmemory-policy", "noeviction"];
  if (aof === "everysec") {
    if (!dir) throw new Error("appendonly needs a directory");
    args.push("--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir);
  }
  return args;
}

/** One command's line of `INFO commandstats`. */
export interface CommandStat {
  calls: number;
  /** Microseconds Redis spent in the command, all calls together. */
  usec: number;
}

/**
 * Parses `INFO commandstats` (`cmdstat_<name>:calls=N,usec=U,…`, Redis 7
 * names subcommands `client|setname`) into a map by command name.
 *
 * @example Usage
 * ```ts
 * import { parseCommandStats } from "./cluster.ts";
 * const info = "# Commandstats\r\ncmdstat_evalsha:calls=10,usec=250,usec_per_call=25.00," +
 *   "rejected_calls=0,failed_calls=0\r\ncmdstat_client|setname:calls=2,usec=1\r\n";
 * parseCommandStats(info).get("evalsha"); // { calls: 10, usec: 250 }
 * parseCommandStats(info).get("client|setname"); // { calls: 2, usec: 1 }
 * ```
 */
export function parseCommandStats(info: string): Map<string, CommandStat> {
  const out = new Map<string, CommandStat>();
  for (const line of info.split(/\r?\n/)) {
    const match = line.match(/^cmdstat_([^:]+):(.*)$/);
    if (!match) continue;
    const fields = new Map(
      match[2].split(",").map((pair) => pair.split("=") as [string, string]),
    );
    const calls = Number(fields.get("calls"));
    if (!Number.isFinite(calls)) continue;
    out.set(match[1], { calls, usec: Number(fields.get("usec") ?? 0) });
  }
  return out;
}

/** Commands Redis ran between two `INFO commandstats`, and their time. */
export interface CommandDelta {
  /** Calls of every command, `info` left out (the bench's own). */
  calls: number;
  /** Time in the commands, µs; a script's own time is left out (its commands' is in). */
  usec: number;
  /**
   * Time in script calls, µs: their Lua and the commands they ran together,
   * so `scriptUsec` less their commands' share of `usec` is the Lua's.
   */
  scriptUsec: number;
  /** Calls by command name (only those that ran). */
  byCommand: Record<string, number>;
}

/** Commands the bench sends itself (to read the figures), left out of every delta. */
const OWN_COMMANDS = new Set(["info"]);

/**
 * Script calls: their `usec` holds the time of the `redis.call`s inside,
 * which commandstats also counts under each command, so their time is left
 * out of `usec` (their calls still count).
 */
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

/**
 * What ran between two `INFO commandstats` readings, without the bench's own
 * `INFO` calls. A script's `redis.call`s count as commands of their own, and
 * so does the `EVALSHA` that ran them.
 *
 * @example Usage
 * ```ts
 * import { commandDelta } from "./cluster.ts";
 * const before = new Map([["evalsha", { calls: 10, usec: 100 }], ["info", { calls: 1, usec: 9 }]]);
 * const after = new Map([["evalsha", { calls: 30, usec: 300 }], ["get", { calls: 5, usec: 5 }],
 *   ["info", { calls: 2, usec: 18 }]]);
 * commandDelta(before, after); // { calls: 25, usec: 5, scriptUsec: 200, byCommand: { evalsha: 20, get: 5 } }
 * ```
 */
export function commandDelta(
  before: Map<string, CommandStat>,
  after: Map<string, CommandStat>,
): CommandDelta {
  const byCommand: Record<string, number> = {};
  let calls = 0;
  let usec = 0;
  let scriptUsec = 0;
  for (const [name, stat] of after) {
    if (OWN_COMMANDS.has(name)) continue;
    const was = before.get(name) ?? { calls: 0, usec: 0 };
    const d = stat.calls - was.calls;
    if (d <= 0) continue;
    byCommand[name] = d;
    calls += d;
    if (SCRIPT_COMMANDS.has(name)) scriptUsec += stat.usec - was.usec;
    else usec += stat.usec - was.usec;
  }
  return { calls, usec, scriptUsec, byCommand };
}

/** Redis's cost of a window, per accepted message and per delivery. */
export interface RedisCost {
  /** Commands in the window, all of them. */
  redisCalls: number;
  redisPerMessage: number;
  redisPerDelivery: number;
  /** Redis's own time (commandstats `usec`) per accepted message, µs. */
  redisUsecPerMessage: number;
  /** Time in script calls (their Lua and their commands) per accepted message, µs. */
  scriptUsecPerMessage: number;
  /**
   * The same commands without what the nodes run when idle (presence
   * refreshes, session checks: the idle rate × the window), per message.
   */
  redisPerMessageNet: number;
  /** Calls per accepted message, by command, rounded to 0.01. */
  redisCommands: Record<string, number>;
}

/**
 * Commands per accepted message and per delivery: the window's delta divided
 * by the messages the nodes answered 200 and by the deliveries the sockets
 * received; `idleCallsPerSecond × seconds` taken away for the net figure.
 * NaN where nothing was accepted or delivered.
 *
 * @example Usage
 * ```ts
 * import { redisCost } from "./cluster.ts";
 * const delta = {
 *   calls: 20_400, usec: 50_000, scriptUsec: 70_000, byCommand: { evalsha: 1000, zadd: 19_400 },
 * };
 * const cost = redisCost(delta, 1000, 1000, 40, 10);
 * cost.redisPerMessage; // 20.4
 * cost.redisPerMessageNet; // 20: 400 idle calls taken away
 * cost.redisCommands.evalsha; // 1
 * cost.scriptUsecPerMessage; // 70: 50 in its commands, so 20 in Lua
 * ```
 */
export function redisCost(
  delta: CommandDelta,
  accepted: number,
  deliveries: number,
  idleCallsPerSecond = 0,
  seconds = 0,
): RedisCost {
  const per = (n: number, by: number) => by > 0 ? n / by : NaN;
  const redisCommands: Record<string, number> = {};
  for (const [name, calls] of Object.entries(delta.byCommand)) {
    redisCommands[name] = Math.round(per(calls, accepted) * 100) / 100;
  }
  const net = Math.max(0, delta.calls - idleCallsPerSecond * seconds);
  return {
    redisCalls: delta.calls,
    redisPerMessage: per(delta.calls, accepted),
    redisPerDelivery: per(delta.calls, deliveries),
    redisUsecPerMessage: per(delta.usec, accepted),
    scriptUsecPerMessage: per(delta.scriptUsec, accepted),
    redisPerMessageNet: per(net, accepted),
    redisCommands,
  };
}

/** A running Redis of a cluster run. */
export class BenchRedis {
  private constructor(
    readonly server: RedisServer,
    /** Its process id, for its CPU and RSS in `/proc`. */
    readonly pid: number,
    readonly aof: RedisAof,
    readonly dir: string | undefined,
    readonly unixSocket: boolean,
    /** Its niceness as the kernel has it (0 when a negative one was not permitted). */
    readonly nice: number,
  ) {}

  /**
   * Starts `redis-server` on a free port of 127.0.0.1, not pinned to a CPU,
   * at niceness `nice`; with `unixSocket` the nodes' {@linkcode BenchRedis.url}
   * is its Unix socket.
   */
  static async start(aof: RedisAof, unixSocket = false, nice = 0): Promise<BenchRedis> {
    const dir = aof === "off"
      ? undefined
      : await Deno.makeTempDir({ prefix: "huayi-bench-redis-" });
    const server = await RedisServer.start({ args: redisArgs(aof, dir), unixSocket, nice });
    const info = await server.command(["INFO", "server"]) as string;
    const pid = Number(info.match(/^process_id:(\d+)/m)?.[1]);
    if (!pid) throw new Error("redis-server did not say its process_id");
    return new BenchRedis(server, pid, aof, dir, unixSocket, getPriority(pid));
  }

  /** Where the nodes connect: TCP, or the Unix socket if it was started with one. */
  get url(): string {
    return this.unixSocket ? this.server.unixUrl : this.server.url;
  }

  async commandStats(): Promise<Map<string, CommandStat>> {
    return parseCommandStats(await this.server.command(["INFO", "commandstats"]) as string);
  }

  async stop(): Promise<void> {
    await this.server[Symbol.asyncDispose]();
    if (this.dir) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
