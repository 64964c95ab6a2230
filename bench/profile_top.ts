/**
 * Summarises a V8 `.cpuprofile`: the functions with the most self time.
 *
 * Run: `deno run --allow-read bench/profile_top.ts bench/out/<file>.cpuprofile [count]`
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
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  );
  const byName = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") continue;
    const time = selfTime.get(node.id) ?? 0;
    busy += time;
    const name = `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber + 1}`;
    byName.set(name, (byName.get(name) ?? 0) + time);
  }
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([name, time]) => ({ name, percent: (100 * time) / busy }));
}

if (import.meta.main) {
  const profile = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  for (const row of topSelfTime(profile, Number(Deno.args[1] ?? 25))) {
    console.log(`${row.percent.toFixed(1).padStart(5)}%  ${row.name}`);
  }
}
