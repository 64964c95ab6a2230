/**
 * One measured run: start a server (Huayi IM or the baseline) pinned to CPU
 * 0, start generator processes pinned to CPU 1, run them together, and turn
 * what they report and what `/proc` says into figures.
 *
 * @module
 */

import { Child } from "./child.ts";
import { Histogram } from "./histogram.ts";
import type { WorkerPlan, WorkerResult } from "./load_worker.ts";
import { waitForQuiet } from "./quiet.ts";
import {
  cpuPercent,
  cpuTimes,
  parseStatCpuSeconds,
  type ProcSample,
  sampleProcess,
} from "./proc_stats.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const BASELINE = new URL("./baseline_server.ts", import.meta.url).pathname;
const WORKER = new URL("./load_worker.ts", import.meta.url).pathname;

/** Which server a run measures. */
export type Target = "huayi" | "baseline";

/** Everything one run measured. */
export interface Figures {
  target: Target;
  /** Deliveries the run should have produced (counted from accepted sends). */
  expected: number;
  received: number;
  lost: number;
  outOfOrder: number;
  deliveredPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Server CPU over the measured window, percent of one core. */
  serverCpu: number;
  /** All generator processes together, percent of one core (they share CPU 1). */
  generatorCpu: number;
  /**
   * CPU of everything else on the machine over the same window, percent of one
   * core: other people's work skews the figures when this is high.
   */
  otherCpu: number;
  /**
   * Everything CPU 0 did over the window, percent: the server plus the kernel
   * work (interrupts) done on its core. Near 100 means the server's core is full
   * even when the server process itself shows less.
   */
  serverCoreCpu: number;
  /** The same for CPU 1, the generators' core. */
  generatorCoreCpu: number;
  /** Interrupt time of both cores, percent of one core (loopback traffic, no process's). */
  interruptCpu: number;
  /** Sends the server did not answer with 200 (not deliveries, so not in `lost`). */
  rejected: number;
  rssMb: number;
  peakRssMb: number;
  /** Resident memory per open socket, bytes: RSS growth from after the logins to the end, per socket. */
  rssPerSocket: number;
  /** The same from before the logins: a logged-in user with a socket. */
  rssPerUser: number;
  connected: number;
  dropped: number;
  /** Server heartbeat probes (`pong`) received and answered with `ack`. */
  probes: number;
  drainMs?: number;
  /** Server RSS in MB every 10 s of the load window: growth that does not level off is a leak. */
  rssTimelineMb: number[];
}

/** How to set up and check one run. */
export interface RunSpec {
  target: Target;
  /** Flags for Huayi IM (ignored by the baseline). */
  serverFlags: string[];
  /** Write a V8 CPU profile of the server into this directory. */
  profileDir?: string;
  /** V8 flags for the server, passed as `--v8-flags=`. */
  v8Flags?: string;
  /** The offered-load window (ms after `go`) that CPU figures cover; 0 for the whole run. */
  windowMs: number;
  /** Listen on every address (the `conns` scenario spreads clients over 127.0.0.x). */
  anyAddress?: boolean;
  /** Builds the generator plans once the server's URL is known; may prepare the server. */
  plans: (url: string) => Promise<WorkerPlan[]>;
  /** Deliveries expected from what the generators report. */
  expected: (results: WorkerResult[]) => number;
}

/**
 * Runs one measurement.
 *
 * @example Usage
 * ```ts ignore
 * const figures = await measure({ target: "huayi", serverFlags: [], plans, expected });
 * ```
 */
export async function measure(spec: RunSpec): Promise<Figures> {
  // Other work on the two cores skews everything: start on a quiet machine when possible.
  await waitForQuiet();
  const profileFlags = spec.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${spec.profileDir}`] : [];
  if (spec.v8Flags) profileFlags.push(`--v8-flags=${spec.v8Flags}`);
  const host = spec.anyAddress ? "0.0.0.0" : "127.0.0.1";
  // The least each server needs: what `deno task start` grants Huayi IM, net alone for the baseline.
  const server = spec.target === "huayi"
    ? Child.spawn(0, MAIN, ["--host", host, "--port", "0", ...spec.serverFlags], false, [
      "--allow-net",
      "--allow-read",
      "--allow-env",
      ...profileFlags,
    ])
    : Child.spawn(0, BASELINE, ["0", host], false, ["--allow-net", ...profileFlags]);
  const workers: Child[] = [];
  try {
    const port = (await server.waitFor(/listening on http:\/\/[^:]+:(\d+)/))[1];
    const url = `http://127.0.0.1:${port}`;
    const atStart = await sampleProcess(server.pid);
    const plans = await spec.plans(url);
    for (const plan of plans) workers.push(Child.spawn(1, WORKER, [JSON.stringify(plan)], true));
    await Promise.all(workers.map((worker) => worker.waitFor(/^logged-in$/, 180_000)));
    const loggedIn = await sampleProcess(server.pid);
    await Promise.all(workers.map((worker) => worker.send("connect")));
    await Promise.all(workers.map((worker) => worker.waitFor(/^ready$/, 180_000)));
    const before = await sampleProcess(server.pid);
    const machineBefore = await sampleMachine(workers);
    await Promise.all(workers.map((worker) => worker.send("go")));
    // CPU is read over the offered-load window only: the settling time after
    // it is mostly idle and would flatter the figure.
    const loadEnd = spec.windowMs > 0
      ? new Promise<[ProcSample, MachineSample]>((resolve) =>
        setTimeout(
          async () => resolve([await sampleProcess(server.pid), await sampleMachine(workers)]),
          spec.windowMs,
        )
      )
      : undefined;
    const timeline: number[] = [];
    const rssTimer = setInterval(async () => {
      if (performance.now() - before.at <= spec.windowMs) {
        timeline.push((await sampleProcess(server.pid)).rssBytes / 1e6);
      }
    }, 10_000);
    const lines = await Promise.all(
      workers.map((worker) => worker.waitFor(/^result (.*)$/, 300_000)),
    );
    const after = await sampleProcess(server.pid);
    const [windowEnd, machineAfter] = (await loadEnd) ?? [after, await sampleMachine(workers)];
    clearInterval(rssTimer);
    const results: WorkerResult[] = lines.map((match) => JSON.parse(match[1]));
    const serverSeconds = windowEnd.cpuSeconds - before.cpuSeconds;
    const wallSeconds = (windowEnd.at - before.at) / 1000;
    const percent = (seconds: number) => wallSeconds > 0 ? (100 * seconds) / wallSeconds : 0;
    const cores = {
      otherCpu: Math.max(0, percent(machineAfter.others - machineBefore.others - serverSeconds)),
      serverCoreCpu: percent(machineAfter.core0 - machineBefore.core0),
      generatorCoreCpu: percent(machineAfter.core1 - machineBefore.core1),
      interruptCpu: percent(machineAfter.interrupts - machineBefore.interrupts),
    };
    return {
      ...figures(spec, results, { atStart, loggedIn, before, windowEnd, after }, cores),
      rssTimelineMb: timeline,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await server.stop();
  }
}

/** CPU seconds of the machine so far, split by whose they are. */
interface MachineSample {
  /** Task time of the whole machine minus this benchmark's generators and coordinator. */
  others: number;
  /** Everything CPU 0 (the server's core) did, interrupts included. */
  core0: number;
  /** Everything CPU 1 (the generators' core) did, interrupts included. */
  core1: number;
  /** Interrupt time of the whole machine: mostly loopback traffic, charged to no process. */
  interrupts: number;
}

async function sampleMachine(workers: Child[]): Promise<MachineSample> {
  const ours = await Promise.all(
    ["self", ...workers.map((worker) => String(worker.pid))].map((pid) =>
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

function figures(
  spec: RunSpec,
  results: WorkerResult[],
  server: {
    atStart: ProcSample;
    loggedIn: ProcSample;
    before: ProcSample;
    windowEnd: ProcSample;
    after: ProcSample;
  },
  cores: Pick<Figures, "otherCpu" | "serverCoreCpu" | "generatorCoreCpu" | "interruptCpu">,
): Omit<Figures, "rssTimelineMb"> {
  const latency = new Histogram();
  for (const result of results) latency.merge(result.latency);
  const { p50, p90, p99, max } = latency.summary();
  const sum = (pick: (r: WorkerResult) => number) =>
    results.reduce((total, r) => total + pick(r), 0);
  const received = sum((r) => r.received);
  const expected = spec.expected(results);
  const activeMs = Math.max(...results.map((r) => r.activeMs));
  // The generators share CPU 1, so their sum over the load window is that core's use.
  const wallSeconds = Math.max(...results.map((r) => r.wallMs)) / 1000;
  const generatorCpu = wallSeconds > 0 ? (100 * sum((r) => r.cpuSeconds)) / wallSeconds : 0;
  const connected = sum((r) => r.connected);
  return {
    target: spec.target,
    expected,
    received,
    lost: Math.max(0, expected - received),
    outOfOrder: sum((r) => r.outOfOrder),
    deliveredPerSecond: activeMs > 0 ? (received * 1000) / activeMs : 0,
    p50,
    p90,
    p99,
    max,
    serverCpu: cpuPercent(server.before, server.windowEnd),
    generatorCpu,
    ...cores,
    rejected: sum((r) => r.sent - r.accepted),
    rssMb: server.after.rssBytes / 1e6,
    peakRssMb: server.after.peakRssBytes / 1e6,
    rssPerSocket: connected ? (server.after.rssBytes - server.loggedIn.rssBytes) / connected : 0,
    rssPerUser: connected ? (server.after.rssBytes - server.atStart.rssBytes) / connected : 0,
    connected,
    dropped: sum((r) => r.dropped),
    probes: sum((r) => r.probes),
    drainMs: results.find((r) => r.drainMs !== undefined)?.drainMs,
  };
}
