/**
 * CPU time and memory of a process, read from Linux's `/proc`.
 *
 * @module
 */

/** A reading of one process. */
export interface ProcSample {
  /** CPU seconds used so far (user + system). */
  cpuSeconds: number;
  /** Resident memory now, bytes (`VmRSS`). */
  rssBytes: number;
  /** Peak resident memory, bytes (`VmHWM`). */
  peakRssBytes: number;
  /** When the sample was taken (`performance.now()`, ms). */
  at: number;
}

// USER_HZ is 100 on every Linux this runs on; /proc/<pid>/stat counts in it.
const TICKS_PER_SECOND = 100;

/**
 * Parses a `/proc/<pid>/stat` (or `/proc/<pid>/task/<tid>/stat`) line into
 * its user and system CPU seconds.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseStatTimes } from "./proc_stats.ts";
 * assert.deepEqual(parseStatTimes("7 (V8 DefaultWorke) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0"), {
 *   user: 1.5, system: 0.5,
 * });
 * ```
 */
export function parseStatTimes(stat: string): { user: number; system: number } {
  // The command name may contain spaces and parentheses: fields start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return {
    user: Number(fields[11]) / TICKS_PER_SECOND,
    system: Number(fields[12]) / TICKS_PER_SECOND,
  };
}

/**
 * Parses `/proc/<pid>/stat` into CPU seconds.
 *
 * @example Usage
 * ```ts
 * import { parseStatCpuSeconds } from "./proc_stats.ts";
 * parseStatCpuSeconds("42 (deno main) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0");
 * // 2: 150 + 50 ticks
 * ```
 */
export function parseStatCpuSeconds(stat: string): number {
  const { user, system } = parseStatTimes(stat);
  return user + system;
}

/**
 * Reads a `kB` field such as `VmRSS` from `/proc/<pid>/status`, in bytes.
 *
 * @example Usage
 * ```ts
 * import { parseStatusKb } from "./proc_stats.ts";
 * parseStatusKb("VmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n", "VmRSS"); // 1048576
 * ```
 */
export function parseStatusKb(status: string, field: string): number {
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** CPU seconds of one line of `/proc/stat` (the whole machine, or one core). */
export interface CpuTimes {
  /** Time running tasks: user, nice, system and steal (guest time is already in user). */
  tasks: number;
  /**
   * Time in interrupts (irq, softirq). Not charged to any process: on loopback
   * this is mostly the kernel moving the benchmark's own packets.
   */
  interrupts: number;
}

/**
 * Parses `/proc/stat` into CPU seconds per line: `cpu` (the whole machine),
 * `cpu0`, `cpu1`, …
 *
 * @example Usage
 * ```ts
 * import { parseCpuTimes } from "./proc_stats.ts";
 * parseCpuTimes("cpu  100 0 50 9000 10 0 50 0 0 0\ncpu0 100 0 50 9000 10 0 50 0 0 0\n").get("cpu0");
 * // { tasks: 1.5, interrupts: 0.5 }
 * ```
 */
export function parseCpuTimes(stat: string): Map<string, CpuTimes> {
  const out = new Map<string, CpuTimes>();
  for (const line of stat.split("\n")) {
    if (!line.startsWith("cpu")) continue;
    const [name, ...fields] = line.trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    out.set(name, {
      tasks: (user + nice + system + (steal || 0)) / TICKS_PER_SECOND,
      interrupts: ((irq || 0) + (softirq || 0)) / TICKS_PER_SECOND,
    });
  }
  return out;
}

/**
 * CPU seconds per line of `/proc/stat` so far (see `parseCpuTimes`).
 *
 * @example Usage
 * ```ts ignore
 * const machine = (await cpuTimes()).get("cpu")!;
 * ```
 */
export async function cpuTimes(): Promise<Map<string, CpuTimes>> {
  return parseCpuTimes(await Deno.readTextFile("/proc/stat"));
}

/**
 * Seconds the whole machine has spent running tasks so far (interrupts left
 * out: they are not anyone's process).
 *
 * @example Usage
 * ```ts ignore
 * const busy = await machineBusySeconds();
 * ```
 */
export async function machineBusySeconds(): Promise<number> {
  return (await cpuTimes()).get("cpu")!.tasks;
}

/**
 * Samples a live process.
 *
 * @example Usage
 * ```ts ignore
 * const before = await sampleProcess(pid);
 * ```
 */
export async function sampleProcess(pid: number): Promise<ProcSample> {
  const [stat, status] = await Promise.all([
    Deno.readTextFile(`/proc/${pid}/stat`),
    Deno.readTextFile(`/proc/${pid}/status`),
  ]);
  return {
    cpuSeconds: parseStatCpuSeconds(stat),
    rssBytes: parseStatusKb(status, "VmRSS"),
    peakRssBytes: parseStatusKb(status, "VmHWM"),
    at: performance.now(),
  };
}

/**
 * CPU use between two samples, in percent of one core.
 *
 * @example Usage
 * ```ts
 * import { cpuPercent } from "./proc_stats.ts";
 * cpuPercent({ cpuSeconds: 1, rssBytes: 0, peakRssBytes: 0, at: 0 }, { cpuSeconds: 1.5, rssBytes: 0, peakRssBytes: 0, at: 1000 }); // 50
 * ```
 */
export function cpuPercent(from: ProcSample, to: ProcSample): number {
  const wallSeconds = (to.at - from.at) / 1000;
  return wallSeconds > 0 ? (100 * (to.cpuSeconds - from.cpuSeconds)) / wallSeconds : 0;
}

export interface MachineSample {
  /** Task time of the whole machine minus this benchmark's generators and coordinator. */
  others: number;
  /** Everything CPU 0 (the server's core) did, interrupts included. */
  core0: number;
  /** Everything CPU 1 (the generators' core) did, interrupts included. */
  core1: number;
  /** Interrupt time of the whole machine: mostly loopback traffic, charged to no process. */
  interrupts: number;
}

/**
 * The machine's CPU seconds so far, with the processes `ours` (and this one)
 * counted out of `others`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleMachine } from "./proc_stats.ts";
 * const sample = await sampleMachine([]);
 * assert.ok(sample.core0 >= 0 && sample.interrupts >= 0);
 * ```
 */
export async function sampleMachine(pids: number[]): Promise<MachineSample> {
  const ours = await Promise.all(
    ["self", ...pids.map(String)].map((pid) =>
      Deno.readTextFile(`/proc/${pid}/stat`).then(parseStatCpuSeconds, () => 0)
    ),
  );
  const times = await cpuTimes();
  const machine = times.get("cpu")!;
  const core = (name: string) => {
    const { tasks, interrupts } = times.get(name) ?? { tasks: 0, interrupts: 0 };
    return tasks + interrupts;
  };
  return {
    others: machine.tasks - ours.reduce((a, b) => a + b, 0),
    core0: core("cpu0"),
    core1: core("cpu1"),
    interrupts: machine.interrupts,
  };
}
