import assert from "node:assert/strict";
import { random } from "../store/agree.ts";
import { api, eventually, login, sendDirect, TestSocket } from "./client.ts";
import { TestCluster } from "./cluster.ts";
import { type ServerFlags, TestServer } from "./harness.ts";

// Sockets that come and go at random while others send: every client that
// resumes with the last seq it saw ends up with every entry of its mailbox
// exactly once (after dropping repeats by seq), each socket in seq order.

const USERS = ["Harry", "Ron_W", "Hermione", "Neville"];

interface Client {
  sid: string;
  socket?: TestSocket;
  // Every entry frame received, by seq; the highest seq seen; the last
  // seq of the socket open now (its frames must rise).
  readonly got: Map<number, string>;
  last: number;
  socketLast: number;
}

// Takes what the socket has received so far, checking its order.
async function drain(client: Client): Promise<void> {
  const socket = client.socket!;
  let previous = client.socketLast;
  while (socket.pending.length > 0) {
    const frame = await socket.next();
    if (typeof frame.seq !== "number") continue;
    assert.ok(frame.seq > previous, `seq ${frame.seq} after ${previous} on one socket`);
    previous = client.socketLast = frame.seq;
    client.got.set(frame.seq, frame.content);
    client.last = Math.max(client.last, frame.seq);
  }
}

async function mailbox(server: TestServer, sid: string): Promise<Map<number, string>> {
  const entries = new Map<number, string>();
  for (let after = 0;;) {
    const page = await api(server, "GET", `/api/messages?after=${after}&limit=200`, { sid });
    assert.equal(page.status, 200);
    for (const frame of page.body.list) entries.set(frame.seq, frame.content);
    if (!page.body["has-more"]) return entries;
    after = page.body.list.at(-1).seq;
  }
}

/** Where the clients talk: one server, or the nodes of a cluster. */
interface World {
  /** The live nodes (one for a single server). */
  nodes(): readonly TestServer[];
  /**
   * Crashes something: kill -9 of a node (returned; one starts in its
   * place), or a restart of the cluster's Redis (undefined).
   */
  crash(pick: () => number): Promise<TestServer | undefined>;
  close(): Promise<void>;
}

// Drops and resumes sockets at random while others send, each request and
// socket on a node picked at random; with `kills`, crashes a node (kill -9)
// that many times on the way, each right after ten concurrent 200s. Every
// accepted send must be in its recipients' mailboxes, and the sockets must
// have given each user every entry once.
async function chaos(seed: number, world: World, kills = 0): Promise<void> {
  try {
    const next = random(seed);
    const node = () => world.nodes()[Math.floor(next() * world.nodes().length)];
    const clients = new Map<string, Client & { on?: TestServer }>();
    for (const user of USERS) {
      const sid = await login(node(), user);
      clients.set(user, { sid, got: new Map(), last: 0, socketLast: 0 });
    }
    const accepted = new Map<string, string[]>(USERS.map((user) => [user, []]));
    const killAt = new Set(Array.from({ length: kills }, () => 20 + Math.floor(next() * 160)));
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const open = async (client: Client & { on?: TestServer }) => {
      client.on = node();
      client.socket = await TestSocket.open(client.on, client.sid, { since: client.last });
      client.socketLast = 0;
    };
    const drop = async (client: Client) => {
      await drain(client);
      await client.socket!.close();
      await drain(client);
      client.socket = undefined;
    };
    // A 503 (Redis away) is not accepted: it must never be delivered either.
    let refused = 0;
    const send = async (user: string, to: string[], content: string) => {
      const result = await sendDirect(node(), clients.get(user)!.sid, user, to, content);
      if (result.status === 503) return refused++;
      assert.equal(result.status, 200, JSON.stringify(result.body));
      for (const name of [user, ...to]) accepted.get(name)!.push(content);
    };
    // A socket the server closed (1011 while its mailbox could not be read) is dropped.
    const gone = (client: Client) => client.socket?.socket.readyState === WebSocket.CLOSED;
    for (let step = 0; step < 200; step++) {
      if (killAt.has(step)) {
        await Promise.all(
          USERS.concat(USERS, USERS.slice(0, 2)).map((user, i) =>
            send(user, USERS.filter((u) => u !== user), `${step}.${i} ${user}`)
          ),
        );
        const dead = await world.crash(next);
        for (const c of clients.values()) {
          if (c.socket && (c.on === dead || gone(c))) await drop(c);
        }
        continue;
      }
      const user = USERS[Math.floor(next() * USERS.length)];
      const client = clients.get(user)!;
      const roll = next();
      if (roll < 0.6) {
        const to = USERS.filter((u) => u !== user && next() < 0.5);
        if (to.length > 0) await send(user, to, `${step} ${user}`);
      } else if (client.socket) {
        await drop(client);
      } else {
        await open(client);
      }
      if (next() < 0.3) await pause(Math.floor(next() * 15));
      for (const c of clients.values()) {
        if (c.socket) await drain(c);
        if (gone(c)) await drop(c);
      }
    }
    assert.ok([...accepted.values()].flat().length > 100, "enough was sent");
    // Everyone resumes once more and waits for the rest of their mailbox.
    for (const [user, client] of clients) {
      const expected = await mailbox(node(), client.sid);
      assert.deepEqual(
        [...expected.values()].sort(),
        accepted.get(user)!.sort(),
        `${user}: the mailbox holds every accepted send, once`,
      );
      if (gone(client)) await drop(client);
      if (!client.socket) await open(client);
      const last = Math.max(...expected.keys());
      const deadline = Date.now() + 5_000;
      while (client.last < last && Date.now() < deadline) {
        await pause(10);
        await drain(client);
      }
      await drop(client);
      assert.deepEqual(
        [...client.got].sort(([a], [b]) => a - b),
        [...expected].sort(([a], [b]) => a - b),
        `${user}: every entry of the mailbox exactly once`,
      );
    }
  } finally {
    await world.close();
  }
}

// One server, restarted on its data directory after a crash.
async function single(flags: ServerFlags = {}): Promise<World> {
  let server = await TestServer.start(flags);
  return {
    nodes: () => [server],
    async crash() {
      const dead = server;
      await dead.stop("SIGKILL");
      server = await TestServer.start(flags);
      return dead;
    },
    close: () => server.stop().then(() => {}),
  };
}

// Two nodes on one Redis (appendfsync always); a crash kills -9 a node,
// replaced by a new one, or restarts Redis, and waits until sends go
// through again (the nodes reconnect by themselves).
async function cluster(): Promise<World> {
  const world = await TestCluster.start({ durable: true });
  const live = [...world.nodes];
  let added = 0;
  return {
    nodes: () => live,
    async crash(pick) {
      if (pick() < 0.5) {
        await world.redis.restart();
        await eventually(
          async () =>
            (await api(live[0], "GET", "/api/healthz")).status === 200 &&
            (await api(live[0], "POST", "/api/login", { body: { username: "probe_x" } }))
                .status === 200,
          10_000,
          "the cluster is back",
        );
        return undefined;
      }
      const [dead] = live.splice(Math.floor(pick() * live.length), 1);
      await dead.stop("SIGKILL");
      live.push(await world.addNode(`node-new-${++added}`));
      return dead;
    },
    close: () => world[Symbol.asyncDispose](),
  };
}

Deno.test("resume chaos: sockets dropped and resumed at random during sends lose nothing", async () => {
  await chaos(11, await single());
});

Deno.test({
  name: "resume chaos with kill -9: two crashes of the server on the way lose nothing accepted",
  // One process on its data directory; the cluster has its own test below.
  ignore: Deno.env.get("HUAYI_TEST_CLUSTER") !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "huayi-chaos-" });
    try {
      await chaos(12, await single({ store: "sqlite", "data-dir": dir }), 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "resume chaos on a cluster: nodes killed or Redis restarted on the way lose nothing accepted",
  ignore: Deno.env.get("HUAYI_TEST_CLUSTER") !== undefined,
  async fn() {
    await chaos(13, await cluster(), 3);
  },
});
