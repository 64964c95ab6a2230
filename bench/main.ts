/**
 * `deno task bench`: measures Huayi IM against a bare Deno baseline on this
 * machine, prints a table, and appends one JSON line per measurement to
 * `bench/results.jsonl`.
 *
 * ```sh
 * deno task bench                                   # the default set (a few minutes)
 * deno task bench --scenario p2p --users 1000 --rate 10000 --seconds 10
 * deno task bench --scenario p2p --step             # highest rate with p99 ≤ 50 ms, no loss
 * deno task bench --scenario fanout --members 1000 --rate 200
 * deno task bench --scenario conns --conns 19000 --seconds 120 --probe-interval-ms 5000
 * deno task bench --scenario offline --backlog 10000
 * deno task bench --scenario scaling
 * deno task bench --runs 3                          # medians of 3 runs
 * deno task bench --scenario fanout --profile       # V8 CPU profile of the server in bench/out/
 * deno task bench --scenario conns --server-v8-flags=--max-old-space-size=256  # memory settings
 * ```
 *
 * @module
 */

import { Child } from "./child.ts";
import { lockMachine, unlockMachine } from "./lock.ts";
import type { Figures, Target } from "./run.ts";
import { type ScenarioName, type ScenarioOptions, SCENARIOS } from "./scenarios/mod.ts";
import { median } from "./stats.ts";
import { fmt, renderTable, type Row, warnings } from "./table.ts";

const RESULTS = new URL("./results.jsonl", import.meta.url);

interface Options extends ScenarioOptions {
  scenario: ScenarioName | "default" | "scaling";
  targets: Target[];
  runs: number;
  step: boolean;
}

function parseArgs(args: string[]): Options {
  const options: Options = {
    scenario: "default",
    targets: ["huayi", "baseline"],
    runs: 1,
    step: false,
    users: 1000,
    members: 1000,
    conns: 10_000,
    backlog: 10_000,
    rate: 0,
    seconds: 10,
    workers: 2,
    padding: 32,
    probeIntervalMs: 5000,
  };
  for (let i = 0; i < args.length; i++) {
    // Split at the first "=" only: a value may hold one (--server-v8-flags=--x=1).
    const eq = args[i].indexOf("=");
    const flag = eq === -1 ? args[i] : args[i].slice(0, eq);
    const inline = eq === -1 ? undefined : args[i].slice(eq + 1);
    const value = () => inline ?? args[++i];
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
      case "--step":
        options.step = true;
        break;
      case "--server-v8-flags":
        options.serverV8Flags = value();
        break;
      case "--profile":
        options.profileDir = new URL("./out/", import.meta.url).pathname;
        break;
      case "--runs":
      case "--users":
      case "--members":
      case "--conns":
      case "--backlog":
      case "--rate":
      case "--seconds":
      case "--workers":
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
  return options;
}

/** The offered message rate a scenario uses when `--rate` is not given. */
function defaultRate(scenario: ScenarioName): number {
  return scenario === "p2p" ? 10_000 : scenario === "fanout" ? 200 : 0;
}

async function commit(): Promise<string> {
  try {
    const output = await new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"] })
      .output();
    return new TextDecoder().decode(output.stdout).trim();
  } catch {
    return "unknown";
  }
}

async function measureMedian(
  scenario: ScenarioName,
  target: Target,
  options: ScenarioOptions,
  runs: number,
): Promise<Figures> {
  const all: Figures[] = [];
  for (let run = 0; run < runs; run++) all.push(await SCENARIOS[scenario](target, options));
  if (all.length === 1) return all[0];
  const medianOf = {} as Record<string, unknown>;
  for (const key of Object.keys(all[0]) as (keyof Figures)[]) {
    const values = all.map((f) => f[key]);
    medianOf[key] = typeof values[0] === "number" ? median(values as number[]) : values[0];
  }
  return medianOf as unknown as Figures;
}

async function record(rows: Row[], sha: string): Promise<void> {
  const lines = rows.map((row) =>
    JSON.stringify({
      date: new Date().toISOString(),
      commit: sha,
      scenario: row.scenario,
      label: row.label,
      target: row.target,
      parameters: row.options,
      pinned: Child.pinned,
      figures: row.figures,
    })
  );
  await Deno.writeTextFile(RESULTS, lines.join("\n") + "\n", { append: true });
}

/** A step passes when p99 stays within 50 ms and nothing is lost or refused. */
const passes = (f: Figures) => f.p99 <= 50 && f.lost === 0 && f.rejected === 0;

// Raises the offered rate by 25 % a step until a step fails, on each target,
// and says which rate was the last to pass.
async function stepP2p(options: Options, rows: Row[]): Promise<string[]> {
  const summary: string[] = [];
  for (const target of options.targets) {
    let rate = options.rate || 4000;
    let best = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const figures = await measureMedian("p2p", target, { ...options, rate }, options.runs);
      const label = `p2p step ${rate}/s`;
      rows.push({ label, scenario: "p2p", target, options: { ...options, rate }, figures });
      console.error(
        `${label} on ${target}: delivered ${fmt(figures.deliveredPerSecond)}/s, p99 ${
          fmt(figures.p99, 1)
        } ms, lost ${figures.lost}, server CPU ${fmt(figures.serverCpu)}%, generators ${
          fmt(figures.generatorCpu)
        }%`,
      );
      if (!passes(figures)) break;
      best = figures.deliveredPerSecond;
      rate = Math.round(rate * 1.25);
    }
    summary.push(
      `p2p on ${target}: highest rate with p99 ≤ 50 ms and nothing lost: ${fmt(best)} msg/s`,
    );
  }
  return summary;
}

async function main(): Promise<void> {
  const options = parseArgs(Deno.args);
  // Ctrl-C ends this process without running `finally`: take the children along.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      Child.killAll();
      unlockMachine();
      Deno.exit(130);
    });
  }
  await lockMachine();
  const rows: Row[] = [];
  const notes: string[] = [];
  const run = async (
    scenario: ScenarioName,
    targets: Target[],
    overrides: Partial<ScenarioOptions>,
    label?: string,
  ) => {
    const scenarioOptions = {
      ...options,
      rate: options.rate || defaultRate(scenario),
      ...overrides,
    };
    for (const target of targets) {
      console.error(`measuring ${label ?? scenario} on ${target} …`);
      const figures = await measureMedian(scenario, target, scenarioOptions, options.runs);
      rows.push({ label: label ?? scenario, scenario, target, options: scenarioOptions, figures });
    }
  };
  if (options.scenario === "default") {
    await run("p2p", options.targets, {});
    await run("fanout", options.targets, {});
    await run("conns", options.targets, { seconds: Math.max(options.seconds, 20) });
    await run("offline", ["huayi"], {});
  } else if (options.scenario === "scaling") {
    for (const conns of [1000, 5000, 10_000, 19_000]) {
      await run("conns", ["huayi"], { conns, seconds: options.seconds }, `conns ${conns}`);
    }
    // The same 100,000 deliveries/s offered over ever larger topics.
    for (const members of [100, 1000, 5000]) {
      await run("fanout", ["huayi"], { members, rate: 100_000 / members }, `fanout ${members}`);
    }
  } else if (options.scenario === "p2p" && options.step) {
    notes.push(...await stepP2p(options, rows));
  } else {
    const targets = options.scenario === "offline" ? ["huayi" as const] : options.targets;
    await run(options.scenario, targets, {});
  }
  unlockMachine();
  console.log("\n" + renderTable(rows).join("\n") + "\n");
  for (const note of [...notes, ...warnings(rows)]) console.log(note);
  console.log(
    `server pinned to CPU 0 and generators to CPU 1: ${
      Child.pinned ? "yes" : "no (taskset missing)"
    }`,
  );
  await record(rows, await commit());
  console.log(`appended ${rows.length} line(s) to bench/results.jsonl`);
  // The signal listeners would keep the process alive.
  Deno.exit(0);
}

if (import.meta.main) await main();
