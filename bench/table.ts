/**
 * The readable table `deno task bench` prints: one row per measurement, a
 * ratio row for every measurement taken on both servers, and warnings for
 * figures that say more about the machine than about the server.
 *
 * @module
 */

import type { Figures, Target } from "./run.ts";
import type { ScenarioName, ScenarioOptions } from "./scenarios/mod.ts";

/** One measurement as the table and the results file show it. */
export interface Row {
  label: string;
  scenario: ScenarioName;
  target: Target;
  options: ScenarioOptions;
  figures: Figures;
}

/** Generators above this share of their core may be what limits a run. */
const SATURATED_CPU = 90;
/** Other work on the machine above this skews a run. */
const NOISY_CPU = 15;

/**
 * A number for the table: thousands separators, `-` when absent.
 *
 * @example Usage
 * ```ts
 * import { fmt } from "./table.ts";
 * fmt(12345.678, 1); // "12,345.7"
 * ```
 */
export function fmt(n: number | undefined | null, digits = 0): string {
  return n === undefined || n === null || Number.isNaN(n)
    ? "-"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits });
}

// Memory per socket only means something with many sockets.
const perSocket = (f: Figures, n: number) => (f.connected > 100 ? fmt(n) : "-");
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? (a / b).toFixed(2) : "");

const perCpuSecond = (f: Figures) =>
  f.serverCpu > 0 && f.deliveredPerSecond > 0 ? f.deliveredPerSecond / (f.serverCpu / 100) : NaN;

/** Columns: heading, the cell of a row, and the cell of a ratio row (Huayi IM / baseline). */
const COLUMNS: [string, (f: Figures) => string, (h: Figures, b: Figures) => string][] = [
  [
    "deliv/s",
    (f) => fmt(f.deliveredPerSecond),
    (h, b) => ratio(h.deliveredPerSecond, b.deliveredPerSecond),
  ],
  ["lost", (f) => fmt(f.lost), () => ""],
  ["rej", (f) => fmt(f.rejected), () => ""],
  ["order", (f) => fmt(f.outOfOrder), () => ""],
  ["p50 ms", (f) => fmt(f.p50, 1), (h, b) => ratio(h.p50, b.p50)],
  ["p90", (f) => fmt(f.p90, 1), (h, b) => ratio(h.p90, b.p90)],
  ["p99", (f) => fmt(f.p99, 1), (h, b) => ratio(h.p99, b.p99)],
  ["max", (f) => fmt(f.max, 1), () => ""],
  ["srv CPU%", (f) => fmt(f.serverCpu), (h, b) => ratio(h.serverCpu, b.serverCpu)],
  // Deliveries per second of server CPU: the server's cost, even when the
  // generators (not the server) cap the rate.
  ["deliv/CPU-s", (f) => fmt(perCpuSecond(f)), (h, b) => ratio(perCpuSecond(h), perCpuSecond(b))],
  ["gen CPU%", (f) => fmt(f.generatorCpu), () => ""],
  ["core0%", (f) => fmt(f.serverCoreCpu), () => ""],
  ["core1%", (f) => fmt(f.generatorCoreCpu), () => ""],
  ["irq%", (f) => fmt(f.interruptCpu), () => ""],
  ["other%", (f) => fmt(f.otherCpu), () => ""],
  ["RSS MB", (f) => fmt(f.rssMb, 1), (h, b) => ratio(h.rssMb, b.rssMb)],
  ["peak MB", (f) => fmt(f.peakRssMb, 1), (h, b) => ratio(h.peakRssMb, b.peakRssMb)],
  [
    "B/socket",
    (f) => perSocket(f, f.rssPerSocket),
    (h, b) => ratio(h.rssPerSocket, b.rssPerSocket),
  ],
  ["B/user", (f) => perSocket(f, f.rssPerUser), (h, b) => ratio(h.rssPerUser, b.rssPerUser)],
  ["sockets", (f) => fmt(f.connected), () => ""],
  ["dropped", (f) => fmt(f.dropped), () => ""],
  ["probes", (f) => fmt(f.probes), () => ""],
  ["drain ms", (f) => fmt(f.drainMs), () => ""],
];

/**
 * The table as lines of text.
 *
 * @example Usage
 * ```ts ignore
 * console.log(renderTable(rows).join("\n"));
 * ```
 */
export function renderTable(rows: Row[]): string[] {
  const header = ["scenario", "server", ...COLUMNS.map(([heading]) => heading)];
  const lines = rows.map((r) => [r.label, r.target, ...COLUMNS.map(([, cell]) => cell(r.figures))]);
  for (const huayi of rows.filter((r) => r.target === "huayi")) {
    const base = rows.find((r) => r.target === "baseline" && r.label === huayi.label);
    if (!base) continue;
    lines.push([
      huayi.label,
      "ratio",
      ...COLUMNS.map(([, , cell]) => cell(huayi.figures, base.figures)),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const show = (cells: string[]) =>
    cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  return [show(header), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(show)];
}

/**
 * Notes under the table: rows that may measure the generator or the machine
 * rather than the server, and how the server's memory moved in long runs.
 *
 * @example Usage
 * ```ts ignore
 * for (const warning of warnings(rows)) console.log(warning);
 * ```
 */
export function warnings(rows: Row[]): string[] {
  const out: string[] = [];
  for (const { label, target, figures: f } of rows) {
    const timeline = f.rssTimelineMb ?? [];
    if (timeline.length >= 3) {
      out.push(
        `${label} on ${target}: server RSS every 10 s of the window: ${
          timeline.map((mb) => fmt(mb)).join(" → ")
        } MB`,
      );
    }
    const generators = Math.max(f.generatorCpu, f.generatorCoreCpu);
    if (generators >= SATURATED_CPU) {
      out.push(
        `${label} on ${target}: the generators' core was ${fmt(generators)}% busy; ` +
          "the generator, not the server, may be the limit",
      );
    }
    if (f.otherCpu >= NOISY_CPU) {
      out.push(
        `${label} on ${target}: other processes used ${fmt(f.otherCpu)}% of a core ` +
          "during the run; repeat it on a quiet machine",
      );
    }
  }
  return out;
}
