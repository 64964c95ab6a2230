/**
 * `restart`: fill a SQLite store with M entries through the public API (many
 * users, each send one-to-one to R recipients at once: R entries plus the
 * sender's own copy), stop the server with SIGTERM, start it again on the same
 * data directory, and time spawn → `listening on` (the v2 target: ≤ 3 s for
 * 1,000,000 entries). Also: the data directory's size after the stop and the
 * disk bytes per stored entry, the first start on an empty directory for
 * comparison, how fast the fill went, and a read-back after the restart (one
 * user's mailbox replayed with `since=0`, every entry counted).
 *
 * Entries are what the server says it stores (`im_mailbox_entries` before the
 * stop), checked against what the accepted sends should have stored.
 *
 * @module
 */

import { Child } from "../child.ts";
import { directorySize, perItem } from "../disk.ts";
import type { FillPlan, FillResult } from "../fill_worker.ts";
import { parseGauge, scrapeMetrics } from "../prometheus.ts";
import { type Figures, serverHistograms, type Target } from "../figures.ts";
import { cpuPercent, sampleMachine, sampleProcess } from "../proc_stats.ts";
import { waitForQuiet } from "../quiet.ts";
import {
  assertStoreOpened,
  freshDataDir,
  LISTENING,
  removeDataDir,
  type ServerSpec,
  spawnServer,
} from "../server_process.ts";
import { StampReader } from "../stamp_reader.ts";
import { RawWebSocket } from "../ws_reader.ts";
import { names, type ScenarioOptions } from "./options.ts";

const FILL_WORKER = new URL("../fill_worker.ts", import.meta.url).pathname;
/** Entries per user the fill aims at: enough users that no mailbox is huge. */
const ENTRIES_PER_USER = 1000;
// setTimeout's longest wait: entries must not expire while the store fills.
const MAX_MS = String(2 ** 31 - 1);
/** Starting on a large store may take long; past this the run fails. */
const START_TIMEOUT_MS = 300_000;
/** SIGTERM → exit may checkpoint a large WAL; past this the server is killed (and it is said). */
const STOP_GRACE_MS = 120_000;

/**
 * How many users a fill of `entries` uses: about {@linkcode ENTRIES_PER_USER}
 * each, and at least one more than the recipients of a send.
 *
 * @example Usage
 * ```ts
 * import { fillUsers } from "./restart.ts";
 * fillUsers(1_000_000, 100); // 1000
 * fillUsers(5000, 100); // 101
 * ```
 */
export function fillUsers(entries: number, recipients: number): number {
  return Math.max(recipients + 1, Math.ceil(entries / ENTRIES_PER_USER));
}

/**
 * The restart scenario's server flags: nothing may refuse or expire an entry
 * (or a session) while the store fills and restarts.
 *
 * @example Usage
 * ```ts
 * import { restartFlags } from "./restart.ts";
 * restartFlags(1000).slice(0, 2); // ["--mailbox-max", "100000000"]
 * ```
 */
export function restartFlags(users: number): string[] {
  return [
    "--mailbox-max",
    "100000000",
    "--store-max-bytes",
    String(Number.MAX_SAFE_INTEGER),
    "--max-users",
    String(Math.max(100_000, users + 10)),
    "--offline-ttl-ms",
    MAX_MS,
    "--history-ttl-ms",
    MAX_MS,
    "--session-ttl-ms",
    MAX_MS,
  ];
}

const blank = (target: Target): Figures => ({
  target,
  store: "sqlite",
  expected: 0,
  received: 0,
  lost: 0,
  outOfOrder: 0,
  deliveredPerSecond: NaN,
  acceptedPerSecond: NaN,
  p50: NaN,
  p90: NaN,
  p99: NaN,
  max: NaN,
  toServerP50: NaN,
  toServerP99: NaN,
  fromServerP50: NaN,
  fromServerP99: NaN,
  generatorWriteP99: NaN,
  serverCpu: NaN,
  generatorCpu: NaN,
  otherCpu: NaN,
  serverCoreCpu: NaN,
  generatorCoreCpu: NaN,
  interruptCpu: NaN,
  rejected: 0,
  rssMb: NaN,
  peakRssMb: NaN,
  rssPerSocket: 0,
  rssPerUser: 0,
  connected: 0,
  dropped: 0,
  probes: 0,
  rssTimelineMb: [],
  lagP99Ms: NaN,
  lagMaxMs: NaN,
  lagSamples: 0,
  commitP99Ms: NaN,
  commits: 0,
  serverDeliveryP99Ms: NaN,
});

/**
 * Runs the restart scenario once (Huayi IM's SQLite store; `o.store` is not
 * used). Figures: `entries` stored, `lost` = entries missing after the
 * restart, `diskBytes`, `bytesPerEntry`, `firstStartMs`, `stopMs`,
 * `restartMs`, the fill's rate, and the server's CPU, lag and commit
 * figures over the fill.
 */
export async function restart(target: Target, o: ScenarioOptions): Promise<Figures> {
  if (target !== "huayi") throw new Error("restart measures Huayi IM only");
  await waitForQuiet();
  const dataDir = await freshDataDir("sqlite");
  const users = names("store", fillUsers(o.backlog, o.recipients));
  const spec: ServerSpec = {
    target,
    store: "sqlite",
    dataDir,
    sockets: 1,
    serverFlags: restartFlags(users.length),
    passthroughFlags: o.serverFlags,
    profileDir: o.profileDir,
    v8Flags: o.serverV8Flags,
  };
  const figures = blank(target);
  let server: Child | undefined;
  let filler: Child | undefined;
  try {
    let spawned = performance.now();
    server = spawnServer(spec);
    let url = `http://127.0.0.1:${(await server.waitFor(LISTENING, START_TIMEOUT_MS))[1]}`;
    figures.firstStartMs = performance.now() - spawned;
    await assertStoreOpened("sqlite", dataDir);

    const plan: FillPlan = {
      url,
      users,
      recipients: o.recipients,
      entries: o.backlog,
      connections: 8,
      inFlight: 16,
      padding: o.padding,
      probe: users[0],
    };
    filler = Child.spawn({ cpu: 1 }, FILL_WORKER, [JSON.stringify(plan)], true);
    await filler.waitFor(/^logged-in$/, 180_000);
    const metricsBefore = await scrapeMetrics(url);
    const entriesBefore = parseGauge(metricsBefore ?? "", "im_mailbox_entries") ?? 0;
    const before = await sampleProcess(server.pid);
    const machineBefore = await sampleMachine([filler.pid]);
    await filler.send("go");
    // A million entries at a few tens of thousands a second: minutes, not hours.
    const fill: FillResult = JSON.parse(
      (await filler.waitFor(/^result (.*)$/, 3_600_000))[1],
    );
    const after = await sampleProcess(server.pid);
    const machineAfter = await sampleMachine([filler.pid]);
    const metricsAfter = await scrapeMetrics(url);
    await filler.stop();
    filler = undefined;

    const stored = (parseGauge(metricsAfter ?? "", "im_mailbox_entries") ?? NaN) - entriesBefore;
    const wallSeconds = (after.at - before.at) / 1000;
    const percent = (seconds: number) => (100 * seconds) / wallSeconds;
    Object.assign(figures, serverHistograms(metricsBefore, metricsAfter), {
      expected: fill.entries,
      entries: stored,
      messages: fill.accepted,
      rejected: fill.sent - fill.accepted,
      fillMs: fill.ms,
      fillEntriesPerSecond: (stored * 1000) / fill.ms,
      serverCpu: cpuPercent(before, after),
      generatorCpu: percent(fill.cpuSeconds),
      otherCpu: Math.max(
        0,
        percent(
          machineAfter.others - machineBefore.others - (after.cpuSeconds - before.cpuSeconds),
        ),
      ),
      serverCoreCpu: percent(machineAfter.core0 - machineBefore.core0),
      generatorCoreCpu: percent(machineAfter.core1 - machineBefore.core1),
      interruptCpu: percent(machineAfter.interrupts - machineBefore.interrupts),
      rssMb: after.rssBytes / 1e6,
      peakRssMb: after.peakRssBytes / 1e6,
    });
    if (stored !== fill.entries) {
      console.error(
        `restart: the server stores ${stored} entries, the accepted sends should have made ${fill.entries}`,
      );
    }

    const stopping = performance.now();
    const status = await server.stop(STOP_GRACE_MS);
    figures.stopMs = performance.now() - stopping;
    server = undefined;
    if (!status.success) {
      console.error(
        `restart: the server did not exit cleanly on SIGTERM (code ${status.code}, signal ${status.signal})`,
      );
    }
    const disk = await directorySize(dataDir!);
    figures.diskBytes = disk.bytes;
    figures.bytesPerEntry = perItem(disk.bytes, stored);
    console.error(
      `restart: ${fmtCount(stored)} entries in ${fmtCount(fill.accepted)} messages, data dir ${
        disk.files.map((f) => `${f.path} ${fmtCount(f.bytes)} B`).join(", ")
      }`,
    );

    spawned = performance.now();
    server = spawnServer(spec);
    url = `http://127.0.0.1:${(await server.waitFor(LISTENING, START_TIMEOUT_MS))[1]}`;
    figures.restartMs = performance.now() - spawned;
    figures.restartRssMb = (await sampleProcess(server.pid)).rssBytes / 1e6;
    const reopened = parseGauge(await scrapeMetrics(url) ?? "", "im_mailbox_entries");
    figures.entriesAfterRestart = reopened;
    const readBack = await readMailbox(url, fill.probeSid, users[0], fill.probeEntries);
    figures.readBackMs = performance.now() - spawned;
    // Received: what the restarted server holds; lost: stored before and missing after (in all, or
    // in the mailbox read back).
    figures.received = reopened ?? 0;
    figures.lost = Math.max(stored - (reopened ?? 0), fill.probeEntries - readBack, 0);
    figures.connected = 1;
    console.error(
      `restart: read back ${readBack} of ${fill.probeEntries} entries of ${
        users[0]
      } after the restart`,
    );
    return figures;
  } finally {
    await filler?.stop();
    await server?.stop(STOP_GRACE_MS);
    await removeDataDir(dataDir);
  }
}

const fmtCount = (n: number) => n.toLocaleString("en-US");

/**
 * Replays `user`'s mailbox on a socket with `since=0` and counts the stamped
 * entries, until `expected` came or nothing more came for a second.
 */
async function readMailbox(
  url: string,
  sid: string,
  user: string,
  expected: number,
): Promise<number> {
  const open = async (session: string) => {
    let count = 0;
    const stamps = new StampReader();
    const socket = await RawWebSocket.open(
      new URL(`${url.replace("http", "ws")}/api/ws?sid=${session}&since=0`),
      (payload) => {
        if (stamps.read(payload)) count++;
      },
      () => {},
    );
    return { socket, count: () => count };
  };
  let reader;
  try {
    reader = await open(sid);
  } catch {
    // The session did not survive the restart: log in again (open auth) and read anyway.
    console.error(`restart: ${user}'s session did not survive the restart`);
    const response = await fetch(`${url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: user }),
    });
    reader = await open((await response.json()).sid);
  }
  // Until all came, or nothing more for a second, or a minute in all.
  const deadline = performance.now() + 60_000;
  let last = -1;
  let changedAt = performance.now();
  while (reader.count() < expected && performance.now() < deadline) {
    if (reader.count() !== last) [last, changedAt] = [reader.count(), performance.now()];
    else if (performance.now() - changedAt > 1000) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  reader.socket.close();
  return reader.count();
}
