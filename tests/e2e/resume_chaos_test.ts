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

Deno.test("resume chaos: sockets dropped and resumed at random during sends lose nothing", async () => {
  await using server = await TestServer.start();
  const next = random(11);
  const clients = new Map<string, Client>();
  for (const user of USERS) {
    clients.set(user, { sid: await login(server, user), got: new Map(), last: 0, socketLast: 0 });
  }
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let sent = 0;
  for (let step = 0; step < 200; step++) {
    const user = USERS[Math.floor(next() * USERS.length)];
    const client = clients.get(user)!;
    const roll = next();
    if (roll < 0.6) {
      const to = USERS.filter((u) => u !== user && next() < 0.5);
      if (to.length === 0) continue;
      const result = await sendDirect(server, client.sid, user, to, `${step} ${user}`);
      assert.equal(result.status, 200);
      sent++;
    } else if (client.socket) {
      await drain(client);
      await client.socket.close();
      await drain(client);
      client.socket = undefined;
    } else {
      client.socket = await TestSocket.open(server, client.sid, { since: client.last });
      client.socketLast = 0;
    }
    if (next() < 0.3) await pause(Math.floor(next() * 15));
    for (const c of clients.values()) if (c.socket) await drain(c);
  }
  assert.ok(sent > 50, `${sent} sends`);
  // Everyone resumes once more and waits for the rest of their mailbox.
  for (const [user, client] of clients) {
    const expected = await mailbox(server, client.sid);
    if (!client.socket) {
      client.socket = await TestSocket.open(server, client.sid, { since: client.last });
      client.socketLast = 0;
    }
    const last = Math.max(...expected.keys());
    const deadline = Date.now() + 5_000;
    while (client.last < last && Date.now() < deadline) {
      await pause(10);
      await drain(client);
    }
    await client.socket.close();
    assert.deepEqual(
      [...client.got].sort(([a], [b]) => a - b),
      [...expected].sort(([a], [b]) => a - b),
      `${user}: every entry of the mailbox exactly once`,
    );
  }
});
