/**
 * Where a server's CPU goes by thread, read from Linux's `/proc/<pid>/task`:
 * its main thread (JavaScript, the event loop and Deno's HTTP and WebSocket
 * work all run there) in user and in system time, and every other thread
 * together (V8's GC and compiler workers, Deno's blocking pool). A comparison
 * that finds one server dearer than another can then say whether the extra
 * is the kernel's (more or bigger syscalls), the background threads' (more
 * garbage to mark) or the main thread's own work.
 *
 * It watches processes from outside, by a part of their command line, so it
 * measures any checkout's server, whatever that checkout's bench records.
 *
 * @module
 */

import { parseStatTimes } from "./proc_stats.ts";

/** CPU seconds of one process so far, split by thread. */
export interface ThreadSeconds {
  mainUser: number;
  mainSystem: number;
  /** Every thread but the main one, user and system. */
  others: number;
}

/** A {@linkcode ThreadSeconds} split as percent of one core over a window. */
export type ThreadPercent = ThreadSeconds;

/**
 * Reads one process's CPU seconds by thread; undefined once it has exited.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { readThreadSeconds } from "./thread_times.ts";
 * const own = await readThreadSeconds(Deno.pid);
 * assert.ok(own !== undefined && own.mainUser >= 0 && own.others >= 0);
 * ```
 */
export async function readThreadSeconds(pid: number): Promise<ThreadSeconds | undefined> {
  const sum: ThreadSeconds = { mainUser: 0, mainSystem: 0, others: 0 };
  try {
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      const stat = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/stat`).catch(() => "");
      if (stat === "") continue; // the thread ended between the listing and the read
      const { user, system } = parseStatTimes(stat);
      if (Number(task.name) === pid) {
        sum.mainUser += user;
        sum.mainSystem += system;
      } else {
        sum.others += user + system;
      }
    }
  } catch {
    return undefined;
  }
  return sum;
}

/** One reading of every watched process: when, and each one's seconds by pid. */
export interface ThreadSample {
  /** `performance.now()`, ms. */
  at: number;
  byPid: Map<number, ThreadSeconds>;
}

/**
 * The busiest `seconds` of a series of samples (the window whose processes
 * used the most CPU), as percent of one core per part. A process counts only
 * between samples that both saw it, so one that starts or exits mid-window
 * adds nothing false. Undefined when the samples span less than `seconds`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { busiestWindow } from "./thread_times.ts";
 * const at = (s: number, user: number) => ({
 *   at: s * 1000, byPid: new Map([[9, { mainUser: user, mainSystem: 0, others: 0 }]]),
 * });
 * // Idle, then 0.5 s of user time a second for two seconds, then idle again.
 * const samples = [at(0, 0), at(1, 0), at(2, 0.5), at(3, 1), at(4, 1)];
 * assert.deepEqual(busiestWindow(samples, 2), { mainUser: 50, mainSystem: 0, others: 0 });
 * ```
 */
export function busiestWindow(
  samples: readonly ThreadSample[],
  seconds: number,
): ThreadPercent | undefined {
  const steps = samples.slice(1).map((to, i) => {
    const from = samples[i];
    const step: ThreadSeconds = { mainUser: 0, mainSystem: 0, others: 0 };
    for (const [pid, end] of to.byPid) {
      const start = from.byPid.get(pid);
      if (!start) continue;
      step.mainUser += end.mainUser - start.mainUser;
      step.mainSystem += end.mainSystem - start.mainSystem;
      step.others += end.others - start.others;
    }
    return { ms: to.at - from.at, step };
  });
  let best: { total: number; from: number; to: number } | undefined;
  for (let from = 0; from < steps.length; from++) {
    let ms = 0;
    let total = 0;
    for (let to = from; to < steps.length; to++) {
      ms += steps[to].ms;
      const { mainUser, mainSystem, others } = steps[to].step;
      total += mainUser + mainSystem + others;
      if (ms < seconds * 1000) continue;
      if (!best || total > best.total) best = { total, from, to };
      break;
    }
  }
  if (!best) return undefined;
  const window = steps.slice(best.from, best.to + 1);
  const wallSeconds = window.reduce((n, s) => n + s.ms, 0) / 1000;
  const percent = (part: keyof ThreadSeconds) =>
    (100 * window.reduce((n, s) => n + s.step[part], 0)) / wallSeconds;
  return {
    mainUser: percent("mainUser"),
    mainSystem: percent("mainSystem"),
    others: percent("others"),
  };
}

/**
 * Samples, once a second, every process whose command line contains
 * `match` (a server's `…/main.ts`, say; every node of a cluster), until
 * stopped; then answers its busiest window.
 *
 * @example Usage
 * ```ts ignore
 * const watch = new ThreadWatch(`${checkout}/main.ts`);
 * await runTheBench();
 * const split = await watch.stop(8); // { mainUser, mainSystem, others } in percent
 * ```
 */
export class ThreadWatch {
  readonly #match: string;
  readonly #samples: ThreadSample[] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  #pending: Promise<void> = Promise.resolve();

  /** @param match A part of the watched processes' command line. */
  constructor(match: string, intervalMs = 1000) {
    this.#match = match;
    this.#timer = setInterval(() => {
      this.#pending = this.#pending.then(() => this.#sample());
    }, intervalMs);
  }

  /** Stops sampling; the busiest `seconds` of what was seen (see {@linkcode busiestWindow}). */
  async stop(seconds: number): Promise<ThreadPercent | undefined> {
    clearInterval(this.#timer);
    await this.#pending;
    return busiestWindow(this.#samples, seconds);
  }

  async #sample(): Promise<void> {
    const byPid = new Map<number, ThreadSeconds>();
    for await (const entry of Deno.readDir("/proc")) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid) || pid === Deno.pid) continue;
      const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
      if (!cmdline.split("\0").some((arg) => arg.includes(this.#match))) continue;
      const seconds = await readThreadSeconds(pid);
      if (seconds) byPid.set(pid, seconds);
    }
    this.#samples.push({ at: performance.now(), byPid });
  }
}
