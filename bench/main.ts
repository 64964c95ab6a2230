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
 * deno task bench --scenario resume --backlog 10000 --store sqlite   # since=0 replay, ≤ 0.3 s
 * deno task bench --scenario restart                # 1,000,000 entries in SQLite, SIGTERM, start again
 * deno task bench --scenario p2p --step --target huayi --compare-stores   # memory and sqlite, interleaved
 * deno task bench --scenario p2p --store sqlite --server-flag=--sync=full
 * deno task bench --scenario p2p --cluster --rate 5000     # two nodes over Redis, every send cross-node
 * deno task bench --scenario p2p --cluster --rate 5000 --connections 32   # more HTTP connections a generator
 * deno task bench --scenario p2p --target huayi --compare-metrics   # /metrics on and off, interleaved
 * deno task bench --scenario p2p --rate 6000 --no-sockets   # HTTP and the store alone: nobody connects
 * deno task bench --scenario scaling
 * deno task bench --runs 3                          # medians of 3 runs
 * deno task bench --scenario fanout --profile       # V8 CPU profile of the server in bench/out/
 * deno task bench --scenario conns --server-v8-flags=--max-old-space-size=256  # memory settings
 * ```
 *
 * @module
 */

import { Child } from "./child.ts";
import { type Options, parseArgs, roundOrder, type Variant, variantsFor } from "./cli.ts";
import { lockMachine, unlockMachine } from "./lock.ts";
import type { Figures } from "./figures.ts";
import { CLUSTER_NODES, generatorPlacement } from "./run.ts";
import { type ScenarioName, type ScenarioOptions, SCENARIOS } from "./scenarios/mod.ts";
import { medianRecord } from "./stats.ts";
import { fmt, NOISY_CPU, renderTable, type Row, warnings } from "./table.ts";

const RESULTS = new URL("./results.jsonl", import.meta.url);

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

/**
 * Measures every variant `runs` times, interleaved (round 1: A B C, round 2:
 * B C A, …), so a machine that gets busier or quieter during the session
 * skews them alike; returns each variant's median figures.
 */
async function measureVariants(
  scenario: ScenarioName,
  variants: Variant[],
  options: ScenarioOptions,
  runs: number,
): Promise<Figures[]> {
  const all = variants.map(() => [] as Figures[]);
  for (let round = 0; round < runs; round++) {
    for (const i of roundOrder(variants.map((_, i) => i), round)) {
      all[i].push(
        await SCENARIOS[scenario](variants[i].target, variantOptions(options, variants[i])),
      );
    }
  }
  return all.map((figures) => medianRecord(figures));
}

/** A variant's scenario options: its store, and `--metrics=off` after the other server flags. */
function variantOptions(options: ScenarioOptions, variant: Variant): ScenarioOptions {
  const serverFlags = variant.metrics === "off"
    ? [...options.serverFlags, "--metrics=off"]
    : options.serverFlags;
  return { ...options, store: variant.store, serverFlags };
}

const describe = (v: Variant) =>
  v.target === "huayi"
    ? `huayi (${v.store}${v.metrics === "off" ? ", metrics off" : ""})`
    : v.target;

/** Where a row's processes ran. */
const pinning = (store: string | undefined) =>
  !Child.pinned
    ? "none (taskset missing)"
    : store === "redis"
    ? "node 1 on CPU 0, node 2 on CPU 1, Redis and generators unpinned"
    : "server on CPU 0, generators on CPU 1";

async function record(rows: Row[], sha: string): Promise<void> {
  const lines = rows.map((row) =>
    JSON.stringify({
      date: new Date().toISOString(),
      commit: sha,
      scenario: row.scenario,
      label: row.label,
      target: row.target,
      store: row.store,
      metrics: row.metrics ?? "on",
      ...(row.store === "redis"
        ? {
          nodes: CLUSTER_NODES,
          redisAof: row.options.redisAof ?? "everysec",
          redisTransport: row.options.redisUnix ? "unix" : "tcp",
        }
        : {}),
      generatorNice: generatorPlacement(row.store === "redis", row.options.generatorNice).nice,
      parameters: { ...row.options, store: row.store },
      pinned: Child.pinned,
      pinning: pinning(row.store),
      figures: row.figures,
    })
  );
  await Deno.writeTextFile(RESULTS, lines.join("\n") + "\n", { append: true });
}

/** A step passes when p99 stays within `--step-p99` (50 ms) and nothing is lost or refused. */
const passes = (f: Figures, p99Ms: number) => f.p99 <= p99Ms && f.lost === 0 && f.rejected === 0;

/** A failed step measured while other processes were busy is measured again, this many times at most. */
const NOISY_RETRIES = 2;

// Raises the offered rate by the step factor (25 % by default) a step until a
// step fails, on every variant at once (interleaved at each rate), and says
// which rate was the last to pass on each; with both stores, their ratio.
async function stepP2p(options: Options, rows: Row[]): Promise<string[]> {
  const variants = variantsFor("p2p", options.targets, options.stores, options.compareMetrics);
  const best = variants.map(() => 0);
  const failed = variants.map(() => false);
  let rate = options.rate || 4000;
  for (let attempt = 0; attempt < 12 && failed.includes(false); attempt++) {
    const active = variants.filter((_, i) => !failed[i]);
    const stepOptions = { ...options, rate };
    const measured = await measureVariants("p2p", active, stepOptions, options.runs);
    const label = `p2p step ${rate}/s`;
    for (const [k, variant] of active.entries()) {
      const i = variants.indexOf(variant);
      let figures = measured[k];
      // A step that failed while the machine was busy says little about the
      // server: measure it again (the noisy row stays in the table, marked).
      for (let retry = 0; retry <= NOISY_RETRIES; retry++) {
        const noisy = !passes(figures, options.stepP99Ms) && figures.otherCpu >= NOISY_CPU &&
          retry < NOISY_RETRIES;
        rows.push({
          label: noisy ? `${label} noisy` : label,
          scenario: "p2p",
          target: variant.target,
          store: variant.target === "huayi" ? variant.store : undefined,
          metrics: variant.metrics,
          options: variantOptions(stepOptions, variant),
          figures,
        });
        console.error(
          `${label} on ${describe(variant)}: delivered ${fmt(figures.deliveredPerSecond)}/s, p99 ${
            fmt(figures.p99, 1)
          } ms, lost ${figures.lost}, server CPU ${fmt(figures.serverCpu)}%, lag p99 ${
            fmt(figures.lagP99Ms, 1)
          } ms, generators ${fmt(figures.generatorCpu)}%, other ${fmt(figures.otherCpu)}%${
            noisy ? ": failed on a busy machine, measuring again" : ""
          }`,
        );
        if (!noisy) break;
        figures = (await measureVariants("p2p", [variant], stepOptions, options.runs))[0];
      }
      if (passes(figures, options.stepP99Ms)) best[i] = figures.deliveredPerSecond;
      else failed[i] = true;
    }
    rate = Math.round(rate * options.stepFactor);
  }
  const first = options.rate || 4000;
  const summary = variants.map((variant, i) =>
    `p2p on ${
      describe(variant)
    }: highest rate with p99 ≤ ${options.stepP99Ms} ms and nothing lost: ${
      best[i] === 0
        ? `none (the first step, ${first}/s, failed)`
        : `${failed[i] ? "" : "≥ "}${fmt(best[i])} msg/s${
          failed[i] ? "" : " (never failed: the steps ran out)"
        }`
    }`
  );
  const memory = variants.findIndex((v) =>
    v.target === "huayi" && v.store === "memory" && !v.metrics
  );
  const sqlite = variants.findIndex((v) =>
    v.target === "huayi" && v.store === "sqlite" && !v.metrics
  );
  if (memory !== -1 && sqlite !== -1 && best[memory] > 0) {
    summary.push(
      `p2p step: sqlite / memory = ${(best[sqlite] / best[memory]).toFixed(2)} ` +
        `(steps of ×${options.stepFactor}: the ratio is known to about one step)`,
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
    overrides: Partial<ScenarioOptions>,
    label?: string,
    targets = options.targets,
  ) => {
    const scenarioOptions = {
      ...options,
      rate: options.rate || defaultRate(scenario),
      ...overrides,
    };
    const variants = variantsFor(scenario, targets, options.stores, options.compareMetrics);
    console.error(`measuring ${label ?? scenario} on ${variants.map(describe).join(", ")} …`);
    const measured = await measureVariants(scenario, variants, scenarioOptions, options.runs);
    variants.forEach((variant, i) =>
      rows.push({
        label: label ?? scenario,
        scenario,
        target: variant.target,
        store: variant.target === "huayi" ? variant.store : undefined,
        metrics: variant.metrics,
        options: variantOptions(scenarioOptions, variant),
        figures: measured[i],
      })
    );
  };
  if (options.scenario === "default") {
    await run("p2p", {});
    await run("fanout", {});
    await run("conns", { seconds: Math.max(options.seconds, 20) });
    await run("offline", {});
    await run("resume", {});
  } else if (options.scenario === "scaling") {
    for (const conns of [1000, 5000, 10_000, 19_000]) {
      await run("conns", { conns, seconds: options.seconds }, `conns ${conns}`, ["huayi"]);
    }
    // The same 100,000 deliveries/s offered over ever larger topics.
    for (const members of [100, 1000, 5000]) {
      await run("fanout", { members, rate: 100_000 / members }, `fanout ${members}`, ["huayi"]);
    }
  } else if (options.scenario === "p2p" && options.step) {
    notes.push(...await stepP2p(options, rows));
  } else {
    await run(options.scenario, {});
  }
  unlockMachine();
  console.log("\n" + renderTable(rows).join("\n") + "\n");
  for (const note of [...notes, ...warnings(rows)]) console.log(note);
  for (const where of new Set(rows.map((row) => pinning(row.store)))) {
    console.log(`pinning: ${where}`);
  }
  await record(rows, await commit());
  console.log(`appended ${rows.length} line(s) to bench/results.jsonl`);
  // The signal listeners would keep the process alive.
  Deno.exit(0);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    // Nothing is recorded from a run that broke; the machine is free again.
    Child.killAll();
    unlockMachine();
    console.error(`bench: ${(error as Error)?.message ?? error}`);
    Deno.exit(1);
  }
}
