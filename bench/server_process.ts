/**
 * The server process of a run: Huayi IM (or the baseline) with the command
 * line, permissions and data directory the run asks for.
 *
 * @module
 */

import { Child } from "./child.ts";
import type { Store, Target } from "./figures.ts";
import { parseRedisUrl } from "../lib/redis/url.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const BASELINE = new URL("./baseline_server.ts", import.meta.url).pathname;

/** How to start a server for a run. */
export interface ServerSpec {
  target: Target;
  /** Huayi IM's store (ignored by the baseline). */
  store: Store;
  /** The SQLite store's directory (sqlite only). */
  dataDir?: string;
  /** Listen on every address (the `conns` scenario spreads clients over 127.0.0.x). */
  anyAddress?: boolean;
  /** WebSockets the scenario opens: `--max-connections` is set above it. */
  sockets: number;
  /** Flags for Huayi IM from the scenario (ignored by the baseline). */
  serverFlags: string[];
  /** Flags from `--server-flag`, last so they win (ignored by the baseline). */
  passthroughFlags?: string[];
  /** Write a V8 CPU profile of the server into this directory. */
  profileDir?: string;
  /** V8 flags for the server, passed as `--v8-flags=`. */
  v8Flags?: string;
  /** The CPU the server is pinned to (default 0). */
  cpu?: number;
  /** Cluster: Redis's URL and this node's name (`IM_REDIS_URL`, `IM_NODE_ID`). */
  node?: { redisUrl: string; id: string };
}

/**
 * Huayi IM's command line for a run: listen address, store, rate limits off
 * (thousands of logins come from one address), a connection cap above what
 * the scenario opens, the scenario's flags, then `--server-flag`s (a later
 * flag wins).
 *
 * @example Usage
 * ```ts
 * import { huayiArgs } from "./server_process.ts";
 * huayiArgs({ target: "huayi", store: "memory", sockets: 10, serverFlags: [] });
 * // ["--host", "127.0.0.1", "--port", "0", "--store", "memory", "--rate-logins", "0", …]
 * ```
 */
export function huayiArgs(spec: ServerSpec): string[] {
  const host = spec.anyAddress ? "0.0.0.0" : "127.0.0.1";
  // A cluster node's store is Redis (IM_REDIS_URL): `--store` does not apply.
  const args = ["--host", host, "--port", "0"];
  if (spec.store !== "redis") args.push("--store", spec.store);
  if (spec.store === "sqlite") {
    if (!spec.dataDir) throw new Error("the sqlite store needs a data directory");
    args.push("--data-dir", spec.dataDir);
  }
  args.push(
    "--rate-logins",
    "0",
    "--rate-messages",
    "0",
    "--max-connections",
    String(spec.sockets + 1000),
  );
  return [...args, ...spec.serverFlags, ...(spec.passthroughFlags ?? [])];
}

/**
 * Starts the server of a run on CPU 0: Huayi IM with the permissions `deno
 * task start` grants (and write access to the data directory), the baseline
 * with the network alone.
 */
export function spawnServer(spec: ServerSpec): Child {
  const profileFlags = spec.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${spec.profileDir}`] : [];
  if (spec.v8Flags) profileFlags.push(`--v8-flags=${spec.v8Flags}`);
  if (spec.target === "baseline") {
    const host = spec.anyAddress ? "0.0.0.0" : "127.0.0.1";
    return Child.spawn({ cpu: 0 }, BASELINE, ["0", host], false, ["--allow-net", ...profileFlags]);
  }
  const write = spec.store === "sqlite" && spec.dataDir ? [`--allow-write=${spec.dataDir}`] : [];
  // Connecting to a Unix socket takes read and write permission on its path.
  const redis = spec.node ? parseRedisUrl(spec.node.redisUrl) : undefined;
  if (redis?.transport === "unix") write.push(`--allow-write=${redis.path}`);
  const env = spec.node
    ? { IM_REDIS_URL: spec.node.redisUrl, IM_NODE_ID: spec.node.id }
    : undefined;
  return Child.spawn({ cpu: spec.cpu ?? 0 }, MAIN, huayiArgs(spec), false, [
    "--allow-net",
    "--allow-read",
    ...write,
    "--allow-env",
    ...profileFlags,
  ], env);
}

/** A fresh data directory for a sqlite run (removed by the caller), or none. */
export function freshDataDir(store: Store): Promise<string | undefined> {
  return store === "sqlite"
    ? Deno.makeTempDir({ prefix: "huayi-bench-" })
    : Promise.resolve(undefined);
}

/**
 * Throws unless the server opened a store in its data directory: a server
 * that takes `--store sqlite` but runs on memory (the engine not wired in)
 * must not produce figures labelled sqlite.
 */
export async function assertStoreOpened(store: Store, dataDir: string | undefined): Promise<void> {
  if (store !== "sqlite" || !dataDir) return;
  for await (const _ of Deno.readDir(dataDir)) return;
  throw new Error(
    `the server took --store sqlite but wrote nothing in --data-dir ${dataDir}: ` +
      "it is not running on SQLite (is the engine wired into lib/stores.ts?)",
  );
}

/** Removes a run's data directory, if it had one. */
export async function removeDataDir(dir: string | undefined): Promise<void> {
  if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Matches the server's start-up line and captures the port. */
export const LISTENING = /listening on http:\/\/[^:]+:(\d+)/;
