/**
 * Two checkouts, one benchmark, interleaved: runs `deno task bench <args>`
 * in checkout A and in checkout B, round after round (A B, then B A, so
 * neither always goes first), reads each run's row from that checkout's own
 * `bench/results.jsonl`, and prints every pair and the medians. On this
 * shared machine only a comparison made this way says anything: the same
 * command drifts by ±30 % over an hour, a pair a few seconds apart far less.
 *
 * ```sh
 * git worktree add --detach /tmp/v1 5fb87a7
 * IM_STORE=memory deno task ab --rounds 5 /tmp/v1 . -- --scenario p2p --users 1000 --rate 6000 --target huayi
 * ```
 *
 * Each checkout runs its own bench (an old one may not know today's flags),
 * so give only flags both know. The environment passes through (`IM_STORE`
 * above). The rows stay in each checkout's `results.jsonl`. Beside each
 * row's figures, `ab` itself watches the server processes (those running the
 * checkout's `main.ts`) and splits their CPU by thread over the busiest 8 s
 * (see `thread_times.ts`), so even an old checkout's server gets that split.
 *
 * @module
 */

import { median, perCpuSecond } from "./stats.ts";
import { type ThreadPercent, ThreadWatch } from "./thread_times.ts";

/** The figures of a run this comparison reads (any bench version writes them). */
export interface RunFigures {
  deliveredPerSecond: number;
  serverCpu: number;
  /** None in a run that measures no latency (`conns`). */
  p99: number | null;
  lost: number;
  rssMb: number;
  /** How long a backlog took to reach its socket (`offline`, `resume`). */
  drainMs?: number;
  /** The server's RSS per socket, in bytes (`conns`). */
  rssPerSocket?: number;
  /** Redis's own CPU, in a cluster run. */
  redisCpu?: number;
  /** The server's CPU by thread over its busiest 8 s, watched from outside by `ab` itself. */
  threads?: ThreadPercent;
}

/** One figure over the rounds: A's and B's medians and the pairs' B/A ratios. */
export interface Compared {
  a: number;
  b: number;
  /** The median of the rounds' B/A ratios, and their range. */
  ratio: number;
  low: number;
  high: number;
}

/** What the rounds say, figure by figure. */
export interface Comparison {
  /** Server CPU per delivery, as deliveries per CPU-second (higher is cheaper). */
  perCpuSecond: Compared;
  serverCpu: Compared;
  p99: Compared;
  rssMb: Compared;
  /** Redis's CPU, when every run of both was a cluster run. */
  redisCpu?: Compared;
  /** The server's CPU by thread, when every run has it. */
  threads?: { mainUser: Compared; mainSystem: Compared; others: Compared };
  /** When every run measured it. */
  drainMs?: Compared;
  /** When every run measured it, in KB. */
  rssPerSocketKb?: Compared;
  /** Messages lost in all of A's runs and all of B's. */
  lost: { a: number; b: number };
}

/**
 * Compares A's and B's runs round by round (`a[i]` and `b[i]` ran next to
 * each other).
 *
 * @example Usage
 * ```ts
 * import { compare } from "./ab.ts";
 * const run = (cpu: number) => ({ deliveredPerSecond: 6000, serverCpu: cpu, p99: 5, lost: 0, rssMb: 90 });
 * const c = compare([run(60), run(62), run(66)], [run(72), run(73), run(75)]);
 * c.serverCpu; // { a: 62, b: 73, ratio: 1.177…, low: 1.136…, high: 1.2 }: the pairs 1.2, 1.177, 1.136
 * ```
 *
 * @throws {RangeError} When A and B ran a different number of rounds, or none.
 */
export function compare(a: readonly RunFigures[], b: readonly RunFigures[]): Comparison {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(`rounds must pair up: ${a.length} runs of A, ${b.length} of B`);
  }
  const figure = (of: (f: RunFigures) => number): Compared => {
    const ratios = a.map((run, i) => of(b[i]) / of(run)).filter(Number.isFinite);
    return {
      a: median(a.map(of)),
      b: median(b.map(of)),
      ratio: median(ratios),
      low: ratios.length ? Math.min(...ratios) : NaN,
      high: ratios.length ? Math.max(...ratios) : NaN,
    };
  };
  const sum = (runs: readonly RunFigures[]) => runs.reduce((n, f) => n + f.lost, 0);
  const every = (of: (f: RunFigures) => number | undefined) =>
    [...a, ...b].every((f) => Number.isFinite(of(f)));
  const clustered = every((f) => f.redisCpu);
  const threaded = [...a, ...b].every((f) => f.threads !== undefined);
  return {
    perCpuSecond: figure(perCpuSecond),
    serverCpu: figure((f) => f.serverCpu),
    p99: figure((f) => f.p99 ?? NaN),
    rssMb: figure((f) => f.rssMb),
    ...(every((f) => f.drainMs) ? { drainMs: figure((f) => f.drainMs!) } : {}),
    ...(every((f) => f.rssPerSocket)
      ? { rssPerSocketKb: figure((f) => f.rssPerSocket! / 1000) }
      : {}),
    ...(clustered ? { redisCpu: figure((f) => f.redisCpu!) } : {}),
    ...(threaded
      ? {
        threads: {
          mainUser: figure((f) => f.threads!.mainUser),
          mainSystem: figure((f) => f.threads!.mainSystem),
          others: figure((f) => f.threads!.others),
        },
      }
      : {}),
    lost: { a: sum(a), b: sum(b) },
  };
}

/**
 * The comparison as lines to print.
 *
 * @example Usage
 * ```ts
 * import { compare, report } from "./ab.ts";
 * const run = (cpu: number) => ({ deliveredPerSecond: 6000, serverCpu: cpu, p99: 5, lost: 0, rssMb: 90 });
 * report(compare([run(60)], [run(72)]), "v1", "main")[1];
 * // "deliv/CPU-s     10,000    8,333    ×0.83  (0.83–0.83)"
 * ```
 */
export function report(c: Comparison, nameA: string, nameB: string): string[] {
  const n = (x: number, digits = 0) =>
    Number.isFinite(x)
      ? x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
      : "-";
  const line = (label: string, f: Compared, digits = 0) =>
    `${label.padEnd(12)} ${n(f.a, digits).padStart(9)} ${n(f.b, digits).padStart(8)}    ×${
      n(f.ratio, 2)
    }  (${n(f.low, 2)}–${n(f.high, 2)})`;
  return [
    `${"median".padEnd(12)} ${nameA.padStart(9)} ${
      nameB.padStart(8)
    }    B/A of each pair: median (range)`,
    line("deliv/CPU-s", c.perCpuSecond),
    line("srv CPU%", c.serverCpu),
    line("p99 ms", c.p99, 1),
    line("RSS MB", c.rssMb, 1),
    ...(c.rssPerSocketKb ? [line("KB/socket", c.rssPerSocketKb, 1)] : []),
    ...(c.drainMs ? [line("drain ms", c.drainMs, 1)] : []),
    ...(c.redisCpu ? [line("redis CPU%", c.redisCpu)] : []),
    ...(c.threads
      ? [
        line("main usr%", c.threads.mainUser, 1),
        line("main sys%", c.threads.mainSystem, 1),
        line("other thr%", c.threads.others, 1),
      ]
      : []),
    `${"lost".padEnd(12)} ${n(c.lost.a).padStart(9)} ${n(c.lost.b).padStart(8)}`,
  ];
}

// The busiest stretch of a run whose CPU is split by thread: shorter than a
// bench's default 10 s load, longer than its settling.
const THREAD_WINDOW_SECONDS = 8;

// Runs the bench once in `dir` and answers the row it appended, with the
// server's CPU by thread (any process running `dir`'s main.ts).
async function runIn(dir: string, args: readonly string[]): Promise<RunFigures> {
  const watch = new ThreadWatch(`${await Deno.realPath(dir)}/main.ts`);
  const results = `${dir}/bench/results.jsonl`;
  const lines = async () => (await Deno.readTextFile(results).catch(() => "")).split("\n");
  const before = (await lines()).length;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bench", ...args],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const threads = await watch.stop(THREAD_WINDOW_SECONDS);
  const added = (await lines()).slice(before - 1).filter((l) => l.trim() !== "");
  if (!output.success || added.length === 0) {
    const tail = new TextDecoder().decode(output.stderr).split("\n").slice(-5).join("\n");
    throw new Error(`the bench in ${dir} failed or wrote no row:\n${tail}`);
  }
  return { ...JSON.parse(added.at(-1)!).figures as RunFigures, threads };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const split = args.indexOf("--");
  const own = split >= 0 ? args.slice(0, split) : args;
  const benchArgs = split >= 0 ? args.slice(split + 1) : [];
  let rounds = 3;
  const at = own.indexOf("--rounds");
  if (at >= 0) rounds = Number(own.splice(at, 2)[1]);
  if (own.length !== 2 || !Number.isInteger(rounds) || rounds < 1) {
    console.error("usage: deno task ab [--rounds N] <checkout A> <checkout B> -- <bench args>");
    Deno.exit(2);
  }
  const [dirA, dirB] = own;
  const a: RunFigures[] = [];
  const b: RunFigures[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? ["A", "B"] : ["B", "A"];
    for (const which of order) {
      const dir = which === "A" ? dirA : dirB;
      const figures = await runIn(dir, benchArgs);
      (which === "A" ? a : b).push(figures);
      console.log(
        `round ${round} ${which} ${dir}: CPU ${figures.serverCpu.toFixed(0)} %, ` +
          `${perCpuSecond(figures).toFixed(0)} deliveries per CPU-second, p99 ${
            figures.p99?.toFixed(1) ?? "-"
          } ms, lost ${figures.lost}`,
      );
    }
  }
  console.log(report(compare(a, b), "A", "B").join("\n"));
}
