import assert from "node:assert/strict";
import { random } from "../store/agree.ts";
import { api, login, sendDirect, TestSocket } from "./client.ts";
import { TestServer } from "./harness.ts";

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

// Drops and resumes sockets at random while others send; with `kills`,
// kill -9 the server that many times on the way and start it again on the
// same data directory. Every accepted send must be in its recipients'
// mailboxes, and every socket must have given each user every entry once.
async function chaos(seed: number, start: () => Promise<TestServer>, kills = 0): Promise<void> {
  let server = await start();
  try {
    const next = random(seed);
    const clients = new Map<string, Client>();
    for (const user of USERS) {
      clients.set(user, { sid: await login(server, user), got: new Map(), last: 0, socketLast: 0 });
    }
    const accepted = new Map<string, string[]>(USERS.map((user) => [user, []]));
    const killAt = new Set(Array.from({ length: kills }, () => 20 + Math.floor(next() * 160)));
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const open = async (client: Client) => {
      client.socket = await TestSocket.open(server, client.sid, { since: client.last });
      client.socketLast = 0;
    };
    const drop = async (client: Client) => {
      await drain(client);
      await client.socket!.close();
      await drain(client);
      client.socket = undefined;
    };
    for (let step = 0; step < 200; step++) {
      if (killAt.has(step)) {
        // Ten sends at once, and the kill the moment the last 200 is in.
        await Promise.all(
          USERS.concat(USERS, USERS.slice(0, 2)).map(async (user, i) => {
            const to = USERS.filter((u) => u !== user);
            const content = `${step}.${i} ${user}`;
            const result = await sendDirect(server, clients.get(user)!.sid, user, to, content);
            assert.equal(result.status, 200);
            for (const name of [user, ...to]) accepted.get(name)!.push(content);
          }),
        );
        await server.stop("SIGKILL");
        for (const c of clients.values()) if (c.socket) await drop(c);
        server = await start();
        continue;
      }
      const user = USERS[Math.floor(next() * USERS.length)];
      const client = clients.get(user)!;
      const roll = next();
      if (roll < 0.6) {
        const to = USERS.filter((u) => u !== user && next() < 0.5);
        if (to.length === 0) continue;
        const content = `${step} ${user}`;
        const result = await sendDirect(server, client.sid, user, to, content);
        assert.equal(result.status, 200);
        for (const name of [user, ...to]) accepted.get(name)!.push(content);
      } else if (client.socket) {
        await drop(client);
      } else {
        await open(client);
      }
      if (next() < 0.3) await pause(Math.floor(next() * 15));
      for (const c of clients.values()) if (c.socket) await drain(c);
    }
    assert.ok([...accepted.values()].flat().length > 100, "enough was sent");
    // Everyone resumes once more and waits for the rest of their mailbox.
    for (const [user, client] of clients) {
      const expected = await mailbox(server, client.sid);
      assert.deepEqual(
        [...expected.values()].sort(),
        accepted.get(user)!.sort(),
        `${user}: the mailbox holds every accepted send, once`,
      );
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
    await server.stop();
  }
}

Deno.test("resume chaos: sockets dropped and resumed at random during sends lose nothing", async () => {
  await chaos(11, () => TestServer.start());
});

Deno.test({
  name: "resume chaos with kill -9: two crashes of the server on the way lose nothing accepted",
  // One process restarted on its data directory; a cluster's crash tests are in cluster_test.ts.
  ignore: Deno.env.get("HUAYI_TEST_CLUSTER") !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "huayi-chaos-" });
    try {
      await chaos(12, () => TestServer.start({ store: "sqlite", "data-dir": dir }), 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
