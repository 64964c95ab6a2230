/**
 * The benchmark's scenarios by name: each a recipe for `measure` saying which
 * users exist, who sends to whom at what rate, and what should arrive.
 *
 * @module
 */

import { conns } from "./conns.ts";
import { fanout } from "./fanout.ts";
import { offline } from "./offline.ts";
import { p2p } from "./p2p.ts";
import { restart } from "./restart.ts";
import { resume } from "./resume.ts";

export type { ScenarioOptions } from "./options.ts";

/** Scenarios by name. */
export const SCENARIOS = { p2p, fanout, conns, offline, resume, restart } as const;

/** Scenarios only Huayi IM can run (the baseline stores nothing). */
export const HUAYI_ONLY: readonly ScenarioName[] = ["offline", "resume", "restart"];

/** A scenario's name. */
export type ScenarioName = keyof typeof SCENARIOS;
