/**
 * `conns`: C idle logged-in sockets with both heartbeats running, spread over
 * generator processes and loopback addresses 127.0.0.2, .3, …
 *
 * @module
 */

import type { WorkerPlan } from "../load_worker.ts";
import { type Figures, measure, type Target } from "../run.ts";
import { names, type ScenarioOptions, split } from "./options.ts";

/** Sockets per generator process: every process may hold at most 20,000 files. */
const SOCKETS_PER_PROCESS = 5000;

/** Runs the idle-connections scenario once against `target`. */
export function conns(target: Target, o: ScenarioOptions): Promise<Figures> {
  const workers = Math.max(o.workers, Math.ceil(o.conns / SOCKETS_PER_PROCESS));
  const probeMs = o.probeIntervalMs;
  return measure({
    target,
    store: o.store,
    sockets: o.conns,
    passthroughFlags: o.serverFlags,
    profileDir: o.profileDir,
    v8Flags: o.serverV8Flags,
    // A short probe period so probes and their acks run inside the window; the
    // silence limit stays well above the client's ping period.
    serverFlags: ["--probe-interval-ms", String(probeMs)],
    windowMs: o.seconds * 1000,
    anyAddress: true,
    plans: (url) =>
      Promise.resolve(
        split(names("idle", o.conns), workers).map((group, w): WorkerPlan => ({
          // A different source address per process: one address has ~28,000 ephemeral ports.
          url: url.replace("127.0.0.1", `127.0.0.${2 + w}`),
          receivers: group,
          sends: [],
          rate: 0,
          seconds: o.seconds,
          connections: 1,
          pingMs: 5000,
          padding: 0,
        })),
      ),
    expected: () => 0,
  });
}
