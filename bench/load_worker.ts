/**
 * One load-generator process. It logs its users in, opens their sockets,
 * answers probes, prints `ready`, waits for `go` on stdin, sends at its share
 * of the offered rate over pipelined keep-alive connections, waits for the
 * deliveries to drain, and prints one JSON line of results.
 *
 * Sockets are raw (`ws_reader.ts`: many frames per read, no event per frame),
 * and frames are neither decoded nor parsed as JSON: the send time and
 * sequence number are read from the frame's bytes (`stamp_reader.ts`), so the
 * generator stays cheaper than the server.
 *
 * Run by `bench/main.ts`: `deno run -A bench/load_worker.ts '<plan JSON>'`.
 *
 * @module
 */

import { Histogram } from "./histogram.ts";
import { HttpClient, login } from "./http_client.ts";
import { parseStatCpuSeconds } from "./proc_stats.ts";
import { StampReader } from "./stamp_reader.ts";
import { RawWebSocket } from "./ws_reader.ts";

/** What one generator process does. */
export interface WorkerPlan {
  /** Server base URL, e.g. `http://127.0.0.1:8080` (conns uses other loopback addresses). */
  url: string;
  /** Users whose sockets this process holds. */
  receivers: string[];
  /**
   * Who sends, and to whom: a user (`to`) or a topic; `node` is the index in
   * `nodes` of the node the send is posted to (a cluster; default 0).
   */
  sends: { from: string; to?: string; topic?: string; node?: number }[];
  /** A cluster's nodes (base URLs); without it, `url` alone. Logins go to `url`. */
  nodes?: string[];
  /** For each receiver, the index in `nodes` of the node its socket opens on (default 0). */
  receiverNodes?: number[];
  /** Messages per second this process sends (all its senders together). */
  rate: number;
  seconds: number;
  /** Keep-alive HTTP connections to send on. */
  connections: number;
  /** Client `ping` period; 0 for none. */
  pingMs: number;
  /** For the offline scenario: send this many to the first receiver before it connects. */
  backlog?: number;
  /** Extra payload characters per message. */
  padding: number;
  /** A topic every receiver joins after logging in. */
  join?: string;
  /** Open the sockets with `?since=N` (v2 resume: `__resumed__`, then every entry after N). */
  since?: number;
  /** False: the receivers log in but open no socket (every send waits in a mailbox). */
  openSockets?: boolean;
}

/** What one generator process reports. */
export interface WorkerResult {
  sent: number;
  accepted: number;
  received: number;
  outOfOrder: number;
  dropped: number;
  connected: number;
  /** Server `pong` probes received (each answered with an `ack`). */
  probes: number;
  latency: ReturnType<Histogram["toJSON"]>;
  /**
   * The same latency in two parts, from frames that carry the server's
   * `sent-at` (v2 entry frames): send → the server's accept, and accept →
   * the frame read here.
   */
  toServer: ReturnType<Histogram["toJSON"]>;
  fromServer: ReturnType<Histogram["toJSON"]>;
  /** From a send's body being built (its stamp) to its bytes written to the socket: this process's own lag. */
  writeLag: ReturnType<Histogram["toJSON"]>;
  /** CPU seconds this process used over the load window (from `go` to the end of sending), and that window's wall time. */
  cpuSeconds: number;
  wallMs: number;
  /** ms from `go` to the last frame received: the window deliveries/s is measured over. */
  activeMs: number;
  /** Offline scenario: ms from opening the socket to the last stored frame. */
  drainMs?: number;
  /** Resume: ms from opening the socket to the `__resumed__` frame, and its `recovered`. */
  resumedMs?: number;
  recovered?: boolean;
}

const decoder = new TextDecoder();
const now = () => performance.timeOrigin + performance.now();

async function untilLine(lines: ReadableStreamDefaultReader<string>, word: string): Promise<void> {
  while (true) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`stdin ended before "${word}"`);
    if (value.includes(word)) return;
  }
}

function ownCpuSeconds(): number {
  return parseStatCpuSeconds(Deno.readTextFileSync("/proc/self/stat"));
}

async function inBatches<T, R>(
  items: T[],
  size: number,
  each: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    results.push(...await Promise.all(items.slice(i, i + size).map(each)));
  }
  return results;
}

class Receivers {
  readonly latency = new Histogram();
  readonly toServer = new Histogram();
  readonly fromServer = new Histogram();
  received = 0;
  outOfOrder = 0;
  dropped = 0;
  connected = 0;
  probes = 0;
  lastFrameAt = 0;
  /** When a `__resumed__` frame came (the first one), and what it said. */
  resumedAt?: number;
  recovered?: boolean;
  readonly sockets: RawWebSocket[] = [];
  #stopping = false;

  async open(url: string, sid: string, since?: number): Promise<void> {
    const resume = since === undefined ? "" : `&since=${since}`;
    const wsUrl = new URL(`${url.replace("http", "ws")}/api/ws?sid=${sid}${resume}`);
    // One reader per socket: it remembers where this sender's content starts,
    // and the socket's last sequence number checks order (one sender per socket).
    const stamps = new StampReader();
    let lastSeq = -1;
    const socket = await RawWebSocket.open(
      wsUrl,
      (payload, socket) => {
        if (!stamps.read(payload)) return this.#onOther(socket, decoder.decode(payload));
        const at = performance.now();
        const readAt = performance.timeOrigin + at;
        this.latency.record(readAt - stamps.sentAt);
        // sent-at has whole milliseconds: a part may read up to 1 ms off, never below 0.
        if (!Number.isNaN(stamps.acceptedAt)) {
          this.toServer.record(Math.max(0, stamps.acceptedAt - stamps.sentAt));
          this.fromServer.record(Math.max(0, readAt - stamps.acceptedAt));
        }
        if (stamps.seq <= lastSeq) this.outOfOrder++;
        lastSeq = stamps.seq;
        this.received++;
        this.lastFrameAt = at;
      },
      () => {
        if (!this.#stopping) this.dropped++;
      },
    );
    this.sockets.push(socket);
    this.connected++;
  }

  // Frames without a stamp: answer the server's heartbeat probes; note a resume's first frame.
  #onOther(socket: RawWebSocket, frame: string): void {
    if (frame.startsWith('{"message-type":"pong"')) {
      const id = frame.slice(frame.lastIndexOf(":") + 1, -1);
      this.probes++;
      socket.sendText(`{"message-type":"ack","ack-id":${id}}`);
    } else if (this.resumedAt === undefined && frame.includes('"__resumed__"')) {
      this.resumedAt = performance.now();
      try {
        const content = JSON.parse(frame).content;
        this.recovered = (typeof content === "string" ? JSON.parse(content) : content).recovered;
      } catch {
        this.recovered = undefined;
      }
    }
  }

  close(): void {
    this.#stopping = true;
    for (const socket of this.sockets) socket.close();
  }
}

function messageBody(
  from: string,
  to: string | undefined,
  topic: string | undefined,
  content: string,
) {
  return topic
    ? `{"message-type":"message","from":"${from}","to":[],"topic":"${topic}","content-type":"text/plain","content":"${content}"}`
    : `{"message-type":"message","from":"${from}","to":["${to}"],"content-type":"text/plain","content":"${content}"}`;
}

async function run(plan: WorkerPlan): Promise<WorkerResult> {
  const senders = [...new Set(plan.sends.map((s) => s.from))];
  const sids = new Map<string, string>();
  await inBatches([...new Set([...plan.receivers, ...senders])], 100, async (user) => {
    sids.set(user, await login(plan.url, user));
  });
  if (plan.join) {
    await inBatches(plan.receivers, 100, async (user) => {
      const response = await fetch(`${plan.url}/api/topics/${plan.join}/actions/join`, {
        method: "POST",
        headers: { authorization: `Bearer ${sids.get(user)}` },
      });
      await response.body?.cancel();
    });
  }
  // `connections` keep-alive connections to each node the sends go to.
  const nodes = plan.nodes ?? [plan.url];
  const used = [...new Set(plan.sends.map((s) => s.node ?? 0))];
  const perNode = new Map<number, HttpClient[]>();
  const writeLag = new Histogram();
  for (const node of used.length ? used : [0]) {
    perNode.set(
      node,
      await Promise.all(
        Array.from(
          { length: Math.max(1, plan.connections) },
          () => HttpClient.connect(new URL(nodes[node]), (ms) => writeLag.record(ms)),
        ),
      ),
    );
  }
  const clients = [...perNode.values()].flat();
  // One connection per sender and node: a pipelined connection keeps a
  // sender's messages in order, so the receivers can check order.
  const clientOf = new Map<string, HttpClient>();
  for (const [node, list] of perNode) {
    senders.forEach((sender, i) => clientOf.set(`${node} ${sender}`, list[i % list.length]));
  }
  const padding = "x".repeat(plan.padding);
  let seq = 0;
  let sent = 0;
  let accepted = 0;
  const send = (from: string, to?: string, topic?: string, node = 0) => {
    const client = clientOf.get(`${node} ${from}`)!;
    const query = topic ? `?topic=${topic}` : `?to=${to}`;
    const body = messageBody(from, to, topic, `${now().toFixed(3)}|${seq++}|${padding}`);
    sent++;
    return client.post(`/api/messages${query}`, body, { authorization: `Bearer ${sids.get(from)}` })
      .then((status) => {
        if (status === 200) accepted++;
      });
  };

  const receivers = new Receivers();
  let drainMs: number | undefined;
  if (plan.backlog) {
    const { from, to } = plan.sends[0];
    const batch: Promise<void>[] = [];
    for (let i = 0; i < plan.backlog; i++) batch.push(send(from, to));
    await Promise.all(batch);
  }
  // Logged in: let the coordinator read the server's memory before the sockets open.
  console.log("logged-in");
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  await untilLine(lines, "connect");
  const opened = performance.now();
  const socketUrl = new Map(
    plan.receivers.map((user, i) => [user, nodes[plan.receiverNodes?.[i] ?? 0] ?? plan.url]),
  );
  await inBatches(
    plan.openSockets === false ? [] : plan.receivers,
    200,
    (user) => receivers.open(socketUrl.get(user)!, sids.get(user)!, plan.since),
  );
  const pinger = plan.pingMs > 0
    ? setInterval(() => {
      for (const socket of receivers.sockets) {
        socket.sendText('{"message-type":"ping","message-id":1}');
      }
    }, plan.pingMs)
    : undefined;

  console.log("ready");
  await untilLine(lines, "go");
  const cpuAtGo = ownCpuSeconds();
  const wallAtGo = performance.now();

  if (plan.backlog) {
    while (receivers.received < plan.backlog && performance.now() - opened < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    drainMs = receivers.lastFrameAt - opened;
  }

  const started = performance.now();
  const maxInFlight = 256;
  while (plan.rate > 0 && performance.now() - started < plan.seconds * 1000) {
    const due = Math.floor((plan.rate * (performance.now() - started)) / 1000);
    while (sent - (plan.backlog ?? 0) < due) {
      const busy = clients.every((client) => client.inFlight >= maxInFlight);
      if (busy) break;
      const route = plan.sends[sent % plan.sends.length];
      send(route.from, route.to, route.topic, route.node);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (plan.rate === 0 && !plan.backlog) {
    await new Promise((resolve) => setTimeout(resolve, plan.seconds * 1000));
  }

  const cpuSeconds = ownCpuSeconds() - cpuAtGo;
  const wallMs = performance.now() - wallAtGo;

  // Wait for answers and deliveries to settle: nothing new for a second.
  const drainDeadline = performance.now() + 15_000;
  while (performance.now() < drainDeadline) {
    const before = receivers.received + accepted;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (receivers.received + accepted === before && clients.every((c) => c.inFlight === 0)) break;
  }
  clearInterval(pinger);
  receivers.close();
  for (const client of clients) client.close();
  return {
    sent,
    accepted,
    received: receivers.received,
    outOfOrder: receivers.outOfOrder,
    dropped: receivers.dropped,
    connected: receivers.connected,
    probes: receivers.probes,
    latency: receivers.latency.toJSON(),
    toServer: receivers.toServer.toJSON(),
    fromServer: receivers.fromServer.toJSON(),
    writeLag: writeLag.toJSON(),
    cpuSeconds,
    wallMs,
    activeMs: Math.max(0, receivers.lastFrameAt - started),
    drainMs,
    resumedMs: receivers.resumedAt === undefined ? undefined : receivers.resumedAt - opened,
    recovered: receivers.recovered,
  };
}

if (import.meta.main) {
  const result = await run(JSON.parse(Deno.args[0]));
  console.log(`result ${JSON.stringify(result)}`);
  Deno.exit(0);
}
