import assert from "node:assert/strict";
import type { Connection } from "../../lib/realtime/connection.ts";
import { Upkeep } from "../../lib/realtime/upkeep.ts";
import type { Directory } from "../../lib/store/directory.ts";
import type { Mailbox } from "../../lib/store/mailbox.ts";
import type { Presence } from "../../lib/store/presence.ts";
import { silentLogger } from "../../lib/telemetry/log.ts";

Deno.test("upkeep: a sweep that is still running is not started again; the next tick starts one", async () => {
  let sweeps = 0;
  let finish: () => void = () => {};
  const mailbox = {
    sweep: () => {
      sweeps++;
      return new Promise<void>((resolve) => finish = resolve);
    },
  } as unknown as Mailbox;
  const directory = { sweep: () => Promise.resolve() } as unknown as Directory;
  const upkeep = new Upkeep({ clientTimeoutMs: 60_000, slowConsumerMs: 5_000 }, {
    connections: new Map<string, Connection>(),
    directory,
    mailbox,
    presence: { refresh() {} } as unknown as Presence,
    log: silentLogger,
    sessionEnded() {},
  });
  upkeep.tick(1000);
  upkeep.tick(2000);
  assert.equal(sweeps, 1, "one sweep at a time");
  finish();
  await new Promise((resolve) => setTimeout(resolve, 0));
  upkeep.tick(3000);
  assert.equal(sweeps, 2);
  finish();
});
