/**
 * `resume`: a user with N stored entries opens a v2 socket with `since=0`:
 * `__resumed__`, then every entry after seq 0. The figure is the time from
 * opening the socket to the last entry (the v2 target: ≤ 0.3 s for 10,000),
 * with the order kept and none missing.
 *
 * Unlike `offline` (a v1 socket: the entries never written to any socket),
 * this is the replay path a reconnecting v2 client takes.
 *
 * @module
 */

import type { Figures, Target } from "../figures.ts";
import { drainBacklog } from "./offline.ts";
import type { ScenarioOptions } from "./options.ts";

/** Runs the resume scenario once against `target` (Huayi IM only: the baseline stores nothing). */
export function resume(target: Target, o: ScenarioOptions): Promise<Figures> {
  return drainBacklog(target, o, "resume", 0);
}
