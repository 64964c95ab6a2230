/**
 * Summarises a V8 `.cpuprofile`: the functions with the most self time, or
 * (`--by-folder`) the share of each folder of `lib/` — e.g. what
 * `lib/telemetry/` (metrics, logs) costs the server under a load.
 *
 * Run: `deno run --allow-read bench/profile_top.ts bench/out/<file>.cpuprofile [count | --by-folder]`
 *
 * @module
 */

/** One row of the summary. */
export interface ProfileRow {
  name: string;
  percent: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * The functions with the most self time, idle time left out.
 *
 * @example Usage
 * ```ts ignore
 * topSelfTime(JSON.parse(await Deno.readTextFile(path)), 20);
 * ```
 */
export function topSelfTime(profile: CpuProfile, count: number): ProfileRow[] {
  return selfTimeBy(
    profile,
    ({ functionName, url, lineNumber }) =>
      `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber + 1}`,
  ).slice(0, count);
}

/**
 * Self time by folder of `lib/` (`lib/store`, `lib/telemetry`, …); the
 * runtime, V8 and the collector together as `(runtime)`. Idle time left out.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { selfTimeByFolder } from "./profile_top.ts";
 * const frame = (url: string) => ({ functionName: "f", url, lineNumber: 0 });
 * const rows = selfTimeByFolder({
 *   nodes: [
 *     { id: 1, callFrame: frame("file:///srv/lib/telemetry/counter.ts") },
 *     { id: 2, callFrame: frame("ext:deno_http/00_serve.ts") },
 *     { id: 3, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
 *   ],
 *   samples: [1, 2, 2, 2, 3],
 *   timeDeltas: [10, 10, 10, 10, 1000],
 * });
 * assert.deepEqual(rows, [
 *   { name: "(runtime)", percent: 75 },
 *   { name: "lib/telemetry", percent: 25 },
 * ]);
 * ```
 */
export function selfTimeByFolder(profile: CpuProfile): ProfileRow[] {
  return selfTimeBy(profile, ({ url }) => url.match(/\/(lib\/[a-z_]+)\//)?.[1] ?? "(runtime)");
}

function selfTimeBy(
  profile: CpuProfile,
  key: (frame: CpuProfile["nodes"][number]["callFrame"]) => string,
): ProfileRow[] {
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  );
  const byKey = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    if (node.callFrame.functionName === "(idle)") continue;
    const time = selfTime.get(node.id) ?? 0;
    busy += time;
    const name = key(node.callFrame);
    byKey.set(name, (byKey.get(name) ?? 0) + time);
  }
  return [...byKey].sort((a, b) => b[1] - a[1])
    .map(([name, time]) => ({ name, percent: (100 * time) / busy }));
}

if (import.meta.main) {
  const profile = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  const rows = Deno.args[1] === "--by-folder"
    ? selfTimeByFolder(profile)
    : topSelfTime(profile, Number(Deno.args[1] ?? 25));
  for (const row of rows) {
    console.log(`${row.percent.toFixed(1).padStart(5)}%  ${row.name}`);
  }
}
