/**
 * The readable table `deno task bench` prints: one row per measurement, a
 * ratio row for every measurement taken on both servers, and warnings for
 * figures that say more about the machine than about the server.
 *
 * @module
 */

import type { ClusterFigures, Figures, Store, Target } from "./figures.ts";
import type { ScenarioName, ScenarioOptions } from "./scenarios/mod.ts";
import { perCpuSecond } from "./stats.ts";

/** One measurement as the table and the results file show it. */
export interface Row {
  label: string;
  scenario: ScenarioName;
  target: Target;
  /** Huayi IM's store; absent for the baseline. */
  store?: Store;
  /** `off`: Huayi IM ran with `--metrics=off` (no lag columns then). */
  metrics?: "off";
  options: ScenarioOptions;
  figures: ClusterFigures;
}

/** Generators above this share of their core may be what limits a run. */
const SATURATED_CPU = 90;
/** Other work on the machine above this skews a run (percent of a core). */
export const NOISY_CPU = 15;

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

/** Columns: heading, the cell of a row, and the cell of a ratio row (Huayi IM / baseline). */
const COLUMNS: [
  string,
  (f: ClusterFigures) => string,
  (h: ClusterFigures, b: ClusterFigures) => string,
][] = [
  [
    "deliv/s",
    (f) => fmt(f.deliveredPerSecond),
    (h, b) => ratio(h.deliveredPerSecond, b.deliveredPerSecond),
  ],
  // Only where nothing was delivered (`--no-sockets`), so deliv/s says nothing of the load.
  ["acc/s", (f) => f.received === 0 ? fmt(f.acceptedPerSecond) : "-", () => ""],
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
  // A cluster: each node (srv CPU% is both together), and Redis.
  ["n1 CPU%", (f) => fmt(f.node1Cpu), () => ""],
  ["n2 CPU%", (f) => fmt(f.node2Cpu), () => ""],
  ["redis CPU%", (f) => fmt(f.redisCpu), () => ""],
  // Redis commands (INFO commandstats, go → last delivery) per accepted message and per delivery.
  ["cmd/msg", (f) => fmt(f.redisPerMessage, 1), () => ""],
  ["cmd/deliv", (f) => fmt(f.redisPerDelivery, 2), () => ""],
  ["redis µs/msg", (f) => fmt(f.redisUsecPerMessage, 1), () => ""],
  ["script µs/msg", (f) => fmt(f.scriptUsecPerMessage, 1), () => ""],
  ["idle cmd/s", (f) => fmt(f.redisIdleCallsPerSecond), () => ""],
  ["rtt p99 ms", (f) => fmt(f.redisRttP99Ms, 2), () => ""],
  ["gen CPU%", (f) => fmt(f.generatorCpu), () => ""],
  ["core0%", (f) => fmt(f.serverCoreCpu), () => ""],
  ["core1%", (f) => fmt(f.generatorCoreCpu), () => ""],
  ["irq%", (f) => fmt(f.interruptCpu), () => ""],
  ["other%", (f) => fmt(f.otherCpu), () => ""],
  ["RSS MB", (f) => fmt(f.rssMb, 1), (h, b) => ratio(h.rssMb, b.rssMb)],
  ["peak MB", (f) => fmt(f.peakRssMb, 1), (h, b) => ratio(h.peakRssMb, b.peakRssMb)],
  ["n1 MB", (f) => fmt(f.node1RssMb, 1), () => ""],
  ["n2 MB", (f) => fmt(f.node2RssMb, 1), () => ""],
  ["redis MB", (f) => fmt(f.redisRssMb, 1), () => ""],
  [
    "B/socket",
    (f) => perSocket(f, f.rssPerSocket),
    (h, b) => ratio(h.rssPerSocket, b.rssPerSocket),
  ],
  ["B/user", (f) => perSocket(f, f.rssPerUser), (h, b) => ratio(h.rssPerUser, b.rssPerUser)],
  ["sockets", (f) => fmt(f.connected), () => ""],
  ["dropped", (f) => fmt(f.dropped), () => ""],
  ["probes", (f) => fmt(f.probes), () => ""],
  // The server's event loop over the window: p99 and the highest bucket of a
  // 100 ms timer's lateness (from /metrics, before and after, subtracted).
  ["lag p99 ms", (f) => fmt(f.lagP99Ms, 1), (h, b) => ratio(h.lagP99Ms, b.lagP99Ms)],
  ["lag max ≤", (f) => fmt(f.lagMaxMs, 1), () => ""],
  ["commit p99 ms", (f) => fmt(f.commitP99Ms, 2), (h, b) => ratio(h.commitP99Ms, b.commitP99Ms)],
  // Accepted → written to the socket, as the server measures it (im_delivery_seconds).
  [
    "srv deliv p99",
    (f) => fmt(f.serverDeliveryP99Ms, 1),
    (h, b) => ratio(h.serverDeliveryP99Ms, b.serverDeliveryP99Ms),
  ],
  ["drain ms", (f) => fmt(f.drainMs), (h, b) => ratio(h.drainMs ?? NaN, b.drainMs ?? NaN)],
  ["entries", (f) => fmt(f.entries), () => ""],
  ["fill entries/s", (f) => fmt(f.fillEntriesPerSecond), () => ""],
  ["disk MB", (f) => fmt(f.diskBytes === undefined ? undefined : f.diskBytes / 1e6, 1), () => ""],
  ["B/entry", (f) => fmt(f.bytesPerEntry, 1), () => ""],
  ["start ms", (f) => fmt(f.firstStartMs), () => ""],
  ["stop ms", (f) => fmt(f.stopMs), () => ""],
  ["restart ms", (f) => fmt(f.restartMs), (h, b) => ratio(h.restartMs ?? NaN, b.restartMs ?? NaN)],
];

/** A ratio row: which row is divided by which, and what the store column says. */
interface RatioRow {
  label: string;
  what: string;
  top: Figures;
  bottom: Figures;
}

// Huayi IM on each store against the baseline, and sqlite against memory, for
// every label measured on both.
function ratioRows(rows: Row[]): RatioRow[] {
  const out: RatioRow[] = [];
  for (const huayi of rows.filter((r) => r.target === "huayi")) {
    const base = rows.find((r) => r.target === "baseline" && r.label === huayi.label);
    if (base && huayi.metrics !== "off") {
      out.push({
        label: huayi.label,
        what: `${huayi.store ?? "huayi"}/base`,
        top: huayi.figures,
        bottom: base.figures,
      });
    }
    if (huayi.metrics === "off") {
      const on = rows.find((r) =>
        r.target === "huayi" && r.store === huayi.store && r.metrics !== "off" &&
        r.label === huayi.label
      );
      if (on) {
        out.push({
          label: huayi.label,
          what: `${huayi.store} off/on`,
          top: huayi.figures,
          bottom: on.figures,
        });
      }
      continue;
    }
    if (huayi.store !== "sqlite") continue;
    const memory = rows.find((r) =>
      r.target === "huayi" && r.store === "memory" && r.label === huayi.label && !r.metrics
    );
    if (memory) {
      out.push({
        label: huayi.label,
        what: "sqlite/memory",
        top: huayi.figures,
        bottom: memory.figures,
      });
    }
  }
  return out;
}

/**
 * The table as lines of text.
 *
 * @example Usage
 * ```ts ignore
 * console.log(renderTable(rows).join("\n"));
 * ```
 */
export function renderTable(rows: Row[]): string[] {
  const header = ["scenario", "server", "store", ...COLUMNS.map(([heading]) => heading)];
  const lines = rows.map((r) => [
    r.label,
    r.target,
    (r.store ?? "-") + (r.metrics === "off" ? " metrics-off" : ""),
    ...COLUMNS.map(([, cell]) => cell(r.figures)),
  ]);
  for (const { label, what, top, bottom } of ratioRows(rows)) {
    lines.push([label, "ratio", what, ...COLUMNS.map(([, , cell]) => cell(top, bottom))]);
  }
  // A column no row has a figure in (lag for the baseline alone, restart's
  // columns elsewhere) is left out.
  const keep = header.map((_, i) =>
    i < 3 || lines.some((line) => line[i] !== "-" && line[i] !== "")
  );
  const pick = (cells: string[]) => cells.filter((_, i) => keep[i]);
  const shown = [pick(header), ...lines.map(pick)];
  const widths = shown[0].map((_, i) => Math.max(...shown.map((l) => l[i].length)));
  const show = (cells: string[]) =>
    cells.map((c, i) => i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  return [show(shown[0]), widths.map((w) => "-".repeat(w)).join("  "), ...shown.slice(1).map(show)];
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
  for (const { label, target: server, store, metrics, figures: f } of rows) {
    const target = store
      ? `${server} (${store}${metrics === "off" ? ", metrics off" : ""})`
      : server;
    const timeline = f.rssTimelineMb ?? [];
    if (timeline.length >= 3) {
      out.push(
        `${label} on ${target}: ${
          store === "redis" ? "both nodes' RSS together" : "server RSS"
        } every 10 s of the window: ${timeline.map((mb) => fmt(mb)).join(" → ")} MB`,
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
    out.push(...verdicts(label, target, f));
    if (Number.isFinite(f.toServerP99)) {
      out.push(
        `${label} on ${target}: the latency in two parts (the server's sent-at, whole ms): ` +
          `send → accepted p50 ${fmt(f.toServerP50, 1)}, p99 ${fmt(f.toServerP99, 1)} ms` +
          (Number.isFinite(f.generatorWriteP99)
            ? ` (the generators' own build → written p99 ${fmt(f.generatorWriteP99, 1)} ms)`
            : "") +
          "; " +
          `accepted → read p50 ${fmt(f.fromServerP50, 1)}, p99 ${fmt(f.fromServerP99, 1)} ms`,
      );
    }
    if (store === "redis") out.push(clusterNote(label, f));
  }
  out.push(...metricsOverhead(rows));
  return out;
}

// A cluster row's Redis cost by command, and what went wrong between node and Redis.
function clusterNote(label: string, f: ClusterFigures): string {
  const byName = (calls: Record<string, number> | undefined) =>
    Object.entries(calls ?? {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${name} ${n}`).join(", ") || "-";
  const top = byName(f.redisCommands);
  return `${label} on the cluster: ${fmt(f.redisCalls)} Redis commands from go to the last ` +
    `delivery = ${fmt(f.redisPerMessage, 2)}/message (${
      fmt(f.redisPerMessageNet, 2)
    } without the idle rate of ${fmt(f.redisIdleCallsPerSecond)}/s), ${
      fmt(f.redisPerDelivery, 3)
    }/delivery; per message by command: ${top}; idle, per second: ${
      byName(f.redisIdleCommands)
    }; Redis errors ${fmt(f.redisErrors)}, reconnects ${fmt(f.redisReconnects)}`;
}

/**
 * The metrics' overhead for every row measured with `/metrics` on and off:
 * how much more server CPU the run with metrics took, at the rate it
 * delivered (the target: ≤ 3 %).
 *
 * @example Usage
 * ```ts ignore
 * metricsOverhead(rows); // ["p2p on huayi (memory): metrics on costs 2.1 % more CPU per delivery …"]
 * ```
 */
export function metricsOverhead(rows: Row[]): string[] {
  const out: string[] = [];
  for (const off of rows.filter((r) => r.target === "huayi" && r.metrics === "off")) {
    const on = rows.find((r) =>
      r.target === "huayi" && r.store === off.store && r.metrics !== "off" && r.label === off.label
    );
    if (!on) continue;
    const overhead = 100 * (perCpuSecond(off.figures) / perCpuSecond(on.figures) - 1);
    const cpu = 100 * (on.figures.serverCpu / off.figures.serverCpu - 1);
    const more = (n: number) => `${fmt(Math.abs(n), 1)} % ${n < 0 ? "less" : "more"}`;
    out.push(
      `${off.label} on huayi (${off.store}): with metrics on the server used ${
        more(cpu)
      } CPU than with them off (${fmt(on.figures.serverCpu, 1)} vs ${
        fmt(off.figures.serverCpu, 1)
      } %), ${more(overhead)} CPU per delivery: ${
        Number.isFinite(overhead) && overhead <= 3 ? "meets" : "misses"
      } the target of ≤ 3 % (less CPU with metrics on is the machine's noise: repeat with more --runs)`,
    );
  }
  return out;
}

/** The v2 targets for resume (≤ 300 ms for the replay) and restart (≤ 3 s to listen). */
export const TARGETS = { resumeMs: 300, restartMs: 3000 } as const;

// What the resume and restart rows say against their targets.
function verdicts(label: string, target: string, f: Figures): string[] {
  const out: string[] = [];
  if (f.resumedMs !== undefined || (label.startsWith("resume") && f.drainMs !== undefined)) {
    const complete = f.lost === 0 && f.outOfOrder === 0;
    out.push(
      `${label} on ${target}: ${fmt(f.received)} of ${fmt(f.expected)} entries replayed in ${
        fmt(f.drainMs)
      } ms (__resumed__ after ${fmt(f.resumedMs, 1)} ms, recovered ${
        f.recovered === 1 ? "true" : f.recovered === 0 ? "false" : "?"
      }), ${fmt(f.outOfOrder)} out of order: ${
        complete && (f.drainMs ?? Infinity) <= TARGETS.resumeMs ? "meets" : "misses"
      } the target of ≤ ${TARGETS.resumeMs} ms, in order, none missing`,
    );
  }
  if (f.restartMs !== undefined) {
    out.push(
      `${label} on ${target}: ${fmt(f.entries)} entries (${fmt(f.messages)} messages), ${
        fmt((f.diskBytes ?? NaN) / 1e6, 1)
      } MB on disk = ${fmt(f.bytesPerEntry, 1)} B/entry; listening ${fmt(f.restartMs)} ms ` +
        `after the restart's spawn (${fmt(f.firstStartMs)} ms on an empty directory; RSS then ${
          fmt(f.restartRssMb)
        } MB), ` +
        `${fmt(f.entriesAfterRestart)} entries after it, one mailbox replayed ${
          fmt(f.readBackMs)
        } ms after the spawn, ${fmt(f.lost)} lost: ${
          f.restartMs <= TARGETS.restartMs && f.lost === 0 ? "meets" : "misses"
        } the target of ≤ ${TARGETS.restartMs / 1000} s`,
    );
  }
  return out;
}
