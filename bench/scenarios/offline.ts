/**
 * `offline`: a user with K stored messages connects; time to drain them, and
 * whether their order was kept.
 *
 * @module
 */

import type { Figures, Target } from "../figures.ts";
import { measure } from "../run.ts";
import type { ScenarioOptions } from "./options.ts";

/** Runs the offline-drain scenario once against `target` (Huayi IM only: the baseline stores nothing). */
export function offline(target: Target, o: ScenarioOptions): Promise<Figures> {
  return drainBacklog(target, o, "offline");
}

/**
 * One user with `o.backlog` stored entries opens a socket and reads them
 * all: a v1 socket, or with `since` a v2 one replaying from that seq. The
 * users are `<name>_writer` and `<name>_reader`.
 *
 * @example Usage
 * ```ts ignore
 * const figures = await drainBacklog("huayi", options, "resume", 0);
 * ```
 */
export function drainBacklog(
  target: Target,
  o: ScenarioOptions,
  name: string,
  since?: number,
): Promise<Figures> {
  return measure({
    target,
    store: o.store,
    sockets: 1,
    passthroughFlags: o.serverFlags,
    profileDir: o.profileDir,
    v8Flags: o.serverV8Flags,
    // The backlog waits undelivered: the mailbox cap (default 10,000) must hold it.
    serverFlags: ["--mailbox-max", String(Math.max(10_000, o.backlog))],
    windowMs: 0,
    plans: (url) =>
      Promise.resolve([{
        url,
        receivers: [`${name}_reader`],
        sends: [{ from: `${name}_writer`, to: `${name}_reader` }],
        backlog: o.backlog,
        ...(since === undefined ? {} : { since }),
        rate: 0,
        seconds: 0,
        connections: 8,
        pingMs: 0,
        padding: o.padding,
      }]),
    expected: () => o.backlog,
  });
}
