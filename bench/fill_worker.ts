/**
 * Fills a server's store as fast as it takes it, through the public API: one
 * generator process logs in U users, then sends one-to-one messages each to
 * R recipients at once (a send to R users stores R entries plus the sender's
 * own copy) over pipelined keep-alive connections, keeping a bounded number
 * of requests in flight, until the wanted number of entries is stored.
 *
 * Sender i sends to the R users after it (i+1 … i+R, wrapping), and the
 * senders take turns, so every mailbox grows at the same pace.
 *
 * Run by the restart scenario: `deno run -A bench/fill_worker.ts '<plan JSON>'`;
 * it prints `logged-in`, waits for `go` on stdin, and prints `result <JSON>`.
 *
 * @module
 */

import { HttpClient, login } from "./http_client.ts";
import { parseStatCpuSeconds } from "./proc_stats.ts";

/** What the fill does. */
export interface FillPlan {
  url: string;
  /** User names; every one is logged in, sends and receives. */
  users: string[];
  /** Recipients per send (R). */
  recipients: number;
  /** Entries to store: sends = ceil(entries / (R + 1)). */
  entries: number;
  /** Keep-alive connections, and requests in flight on each. */
  connections: number;
  inFlight: number;
  /** Extra payload characters per message. */
  padding: number;
  /** The user whose entries are counted for the read-back after the restart. */
  probe: string;
}

/** What the fill reports. */
export interface FillResult {
  sent: number;
  accepted: number;
  /** Responses by status, e.g. `{"200": 9901}`. */
  statuses: Record<string, number>;
  /** Entries the accepted sends stored: accepted × (R + 1). */
  entries: number;
  /** Entries in the probe user's mailbox (received and own copies). */
  probeEntries: number;
  /** The probe user's session, for reading its mailbox back after the restart. */
  probeSid: string;
  ms: number;
  cpuSeconds: number;
}

/**
 * How many sends a fill makes, and who sends send number `n` to whom.
 *
 * @example Usage
 * ```ts
 * import { fillSchedule } from "./fill_worker.ts";
 * const schedule = fillSchedule(4, 2, 9); // 4 users, 2 recipients a send, 9 entries
 * schedule.sends; // 3: each send stores 2 entries + the sender's copy
 * schedule.route(0); // { from: 0, to: [1, 2] }
 * schedule.route(3); // { from: 3, to: [0, 1] }
 * ```
 */
export function fillSchedule(
  users: number,
  recipients: number,
  entries: number,
): { sends: number; route: (n: number) => { from: number; to: number[] } } {
  if (recipients < 1 || users < recipients + 1) {
    throw new Error(`a fill needs at least ${recipients + 1} users for ${recipients} recipients`);
  }
  return {
    sends: Math.ceil(entries / (recipients + 1)),
    route: (n) => {
      const from = n % users;
      return { from, to: Array.from({ length: recipients }, (_, k) => (from + 1 + k) % users) };
    },
  };
}

async function fill(plan: FillPlan): Promise<FillResult> {
  const sids: string[] = [];
  for (let i = 0; i < plan.users.length; i += 100) {
    const batch = plan.users.slice(i, i + 100);
    sids.push(...await Promise.all(batch.map((user) => login(plan.url, user))));
  }
  const probe = plan.users.indexOf(plan.probe);
  console.log("logged-in");
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  while (true) {
    const { value, done } = await lines.read();
    if (done) throw new Error('stdin ended before "go"');
    if (value.includes("go")) break;
  }
  const cpuAtStart = parseStatCpuSeconds(Deno.readTextFileSync("/proc/self/stat"));
  const started = performance.now();
  const target = new URL(plan.url);
  const clients = await Promise.all(
    Array.from({ length: plan.connections }, () => HttpClient.connect(target)),
  );
  const schedule = fillSchedule(plan.users.length, plan.recipients, plan.entries);
  const padding = "x".repeat(plan.padding);
  const statuses: Record<string, number> = {};
  let sent = 0;
  let accepted = 0;
  let probeEntries = 0;
  let next = 0;
  const sendNext = async (client: HttpClient): Promise<void> => {
    while (next < schedule.sends) {
      const n = next++;
      const { from, to } = schedule.route(n);
      const names = to.map((i) => `"${plan.users[i]}"`).join(",");
      const content = `${(performance.timeOrigin + performance.now()).toFixed(3)}|${n}|${padding}`;
      const body = `{"message-type":"message","from":"${plan.users[from]}","to":[${names}],` +
        `"content-type":"text/plain","content":"${content}"}`;
      sent++;
      const status = await client.post("/api/messages", body, {
        authorization: `Bearer ${sids[from]}`,
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) {
        accepted++;
        if (from === probe || to.includes(probe)) probeEntries++;
      }
    }
  };
  // `inFlight` loops per connection, each awaiting its own answer: that many requests pipelined.
  await Promise.all(
    clients.flatMap((client) => Array.from({ length: plan.inFlight }, () => sendNext(client))),
  );
  for (const client of clients) client.close();
  return {
    sent,
    accepted,
    statuses,
    entries: accepted * (plan.recipients + 1),
    probeEntries,
    probeSid: sids[probe],
    ms: performance.now() - started,
    cpuSeconds: parseStatCpuSeconds(Deno.readTextFileSync("/proc/self/stat")) - cpuAtStart,
  };
}

if (import.meta.main) {
  const result = await fill(JSON.parse(Deno.args[0]));
  console.log(`result ${JSON.stringify(result)}`);
  Deno.exit(0);
}
