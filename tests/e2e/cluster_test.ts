/**
 * Several nodes, one chat: real server processes sharing a real Redis.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  api,
  eventually,
  expectSentinel,
  login,
  sendDirect,
  sendTopic,
  TestSocket,
} from "./client.ts";
import { TestCluster } from "./cluster.ts";

Deno.test("cluster: a sid works on every node; a message crosses nodes, with one seq order", async () => {
  await using cluster = await TestCluster.start();
  const [a, b] = cluster.nodes;
  const harry = await login(a, "Harry");
  const ron = await login(b, "Ron_W");
  await using socket = await TestSocket.open(a, ron, { since: 0 });
  await socket.next(); // __resumed__
  assert.equal(
    (await sendDirect(b, harry, "Harry", ["Ron_W"], "via b")).status,
    200,
    "Harry's sid on b",
  );
  assert.equal((await sendDirect(a, harry, "Harry", ["Ron_W"], "via a")).status, 200);
  const frames = await socket.take(2);
  assert.deepEqual(frames.map((f) => [f.seq, f.content]), [[1, "via b"], [2, "via a"]]);
  assert.deepEqual(
    (await api(a, "GET", "/api/messages?with=Ron_W", { sid: harry })).body.list.map((
      f: { content: string },
    ) => f.content),
    ["via a", "via b"],
    "the sender's history, from either node",
  );
});

Deno.test("cluster: nodes on Redis's Unix socket: a message crosses nodes, a login kicks across", async () => {
  await using cluster = await TestCluster.start({ unixSocket: true });
  const [a, b] = cluster.nodes;
  // Every client but this check's own (over TCP) is a node's, on the socket.
  const nodes = (await cluster.redis.command(["CLIENT", "LIST"]) as string).split("\n")
    .filter((line) => line !== "" && !line.includes("cmd=client|list"));
  assert.ok(nodes.length >= 4, `${nodes.length} node connections`);
  for (const line of nodes) assert.match(line, / flags=[A-Za-z]*U/, line);
  const harry = await login(a, "Harry");
  const ron = await login(b, "Ron_W");
  const socket = await TestSocket.open(a, ron, { since: 0 });
  await socket.next(); // __resumed__
  assert.equal((await sendDirect(b, harry, "Harry", ["Ron_W"], "over the socket")).status, 200);
  const [frame] = await socket.take(1);
  assert.deepEqual([frame.seq, frame.content], [1, "over the socket"]);
  await login(b, "Ron_W");
  assert.equal((await socket.closed).code, 4001);
});

Deno.test("cluster: a second login on another node closes the first socket with 4001 within 1 s", async () => {
  await using cluster = await TestCluster.start();
  const [a, b] = cluster.nodes;
  const first = await login(a, "Ron_W");
  const socket = await TestSocket.open(a, first);
  const started = Date.now();
  const second = await login(b, "Ron_W");
  const closed = await socket.closed;
  assert.deepEqual([closed.code, closed.reason], [4001, "session replaced"]);
  assert.ok(Date.now() - started < 1000, `closed after ${Date.now() - started} ms`);
  assert.equal(
    (await api(a, "GET", "/api/users", { sid: first })).status,
    401,
    "old sid dead on a",
  );
  assert.equal((await api(a, "GET", "/api/users", { sid: second })).status, 200);
  // Logging out on one node closes the socket on the other with 4000.
  const again = await TestSocket.open(a, second);
  await api(b, "POST", "/api/logout", { sid: second });
  assert.equal((await again.closed).code, 4000);
});

Deno.test("cluster: a sid logged out or replaced on one node cannot send on another at once, even one that just used it", async () => {
  await using cluster = await TestCluster.start();
  const [a, b] = cluster.nodes;
  const harry = await login(a, "Harry");
  const ron = await login(b, "Ron_W");
  await using socket = await TestSocket.open(b, ron);
  // a has used Harry's sid (and keeps its session in memory): a lookup must still ask Redis.
  assert.equal((await sendDirect(a, harry, "Harry", ["Ron_W"], "first")).status, 200);
  assert.equal((await socket.next()).content, "first");
  assert.equal((await api(b, "POST", "/api/logout", { sid: harry })).status, 200);
  assert.equal((await sendDirect(a, harry, "Harry", ["Ron_W"], "after logout")).status, 401);
  const bad = await api(a, "POST", "/api/messages", { sid: harry, body: { nonsense: true } });
  assert.equal(bad.status, 401, "401 before 400, as for a checked session");
  const again = await login(a, "Harry");
  assert.equal((await sendDirect(a, again, "Harry", ["Ron_W"], "again")).status, 200);
  assert.equal((await socket.next()).content, "again");
  await login(b, "Harry"); // replaces `again`
  assert.equal((await sendDirect(a, again, "Harry", ["Ron_W"], "replaced")).status, 401);
  await expectSentinel(a, socket, "Ron_W", "nothing sent with a dead sid arrived");
});

Deno.test("cluster: presence shows on every node within 2 s, and goes when the socket closes", async () => {
  await using cluster = await TestCluster.start();
  const [a, b] = cluster.nodes;
  const [harry, ron] = await Promise.all([login(a, "Harry"), login(a, "Ron_W")]);
  const online = async (node = b) =>
    (await api(node, "GET", "/api/users?online=true", { sid: harry })).body.list.map(
      (u: { username: string }) => u.username,
    );
  const socket = await TestSocket.open(a, ron);
  await eventually(async () => (await online()).includes("Ron_W"), 2000, "Ron online on b");
  await socket.close();
  await eventually(async () => !(await online()).includes("Ron_W"), 2000, "Ron offline on b");
});

Deno.test("cluster: a topic's messages reach members on both nodes in one order", async () => {
  await using cluster = await TestCluster.start({ flags: { "outbox-capacity": 64 } });
  const [a, b] = cluster.nodes;
  const names = ["Harry", "Ron_W", "Hermione", "Neville"];
  const sids = await Promise.all(names.map((name, i) => login(i % 2 ? b : a, name)));
  await api(a, "POST", "/api/topics", { sid: sids[0], body: { topic: "quidditch" } });
  for (const sid of sids) await api(b, "POST", "/api/topics/quidditch/actions/join", { sid });
  const sockets = await Promise.all(
    sids.map((sid, i) => TestSocket.open(i % 2 ? a : b, sid, { since: 0 })),
  );
  for (const socket of sockets) await socket.next();
  // Every member sends from its own node, all at once.
  await Promise.all(names.map(async (name, i) => {
    for (let k = 0; k < 10; k++) {
      await sendTopic(i % 2 ? b : a, sids[i], name, "quidditch", `${name}-${k}`);
    }
  }));
  const orders = await Promise.all(sockets.map((socket) => socket.take(40, 10_000)));
  const others = (i: number) =>
    orders[i].filter((f) => f.from !== names[i]).map((f) => f.content as string);
  // Each member sees everyone else's 30 in the order of the topic; that order is the same for all.
  const reference = orders[0].map((f) => f.content as string);
  for (let i = 0; i < names.length; i++) {
    assert.equal(others(i).length, 30, names[i]);
    assert.deepEqual(others(i), reference.filter((c) => !c.startsWith(`${names[i]}-`)), names[i]);
  }
  await Promise.all(sockets.map((socket) => socket.close()));
});

Deno.test("cluster: messages stored while offline via one node flush on the other (v1)", async () => {
  await using cluster = await TestCluster.start();
  const [a, b] = cluster.nodes;
  const harry = await login(a, "Harry");
  for (let i = 0; i < 5; i++) await sendDirect(a, harry, "Harry", ["Ron_W"], `m${i}`);
  const ron = await login(b, "Ron_W");
  await using socket = await TestSocket.open(b, ron);
  assert.deepEqual((await socket.take(5)).map((f) => f.content), ["m0", "m1", "m2", "m3", "m4"]);
  await expectSentinel(b, socket, "Ron_W", "each once");
});

Deno.test("cluster: kill -9 of a node loses nothing; its user resumes on the other", async () => {
  await using cluster = await TestCluster.start({ flags: { "client-timeout-ms": 1500 } });
  const [a, b] = cluster.nodes;
  const [harry, ron] = await Promise.all([login(b, "Harry"), login(a, "Ron_W")]);
  const first = await TestSocket.open(a, ron, { since: 0 });
  await first.next();
  for (let i = 0; i < 5; i++) await sendDirect(b, harry, "Harry", ["Ron_W"], `before-${i}`);
  const got = await first.take(5);
  await a.stop("SIGKILL");
  for (let i = 0; i < 5; i++) {
    assert.equal((await sendDirect(b, harry, "Harry", ["Ron_W"], `after-${i}`)).status, 200);
  }
  await using second = await TestSocket.open(b, ron, { since: got.at(-1).seq });
  const notice = await second.next();
  assert.equal(notice.content.recovered, true);
  const rest = await second.take(5);
  assert.deepEqual(
    [...got, ...rest].map((f) => f.content),
    [
      ...Array.from({ length: 5 }, (_, i) => `before-${i}`),
      ...Array.from({ length: 5 }, (_, i) => `after-${i}`),
    ],
  );
  // The dead node's presence entry lapses within the client timeout.
  const list = async () =>
    (await api(b, "GET", "/api/users?online=true", { sid: harry })).body.list.length;
  await second.close();
  await eventually(async () => (await list()) === 0, 3000, "presence of the killed node gone");
});

Deno.test("cluster: Redis stopped under traffic: 503, never a 200 that is lost; the nodes recover by themselves", async () => {
  await using cluster = await TestCluster.start({ durable: true });
  const [a, b] = cluster.nodes;
  const [harry, ron] = await Promise.all([login(a, "Harry"), login(b, "Ron_W")]);
  await using socket = await TestSocket.open(b, ron, { since: 0 });
  await socket.next();
  assert.equal((await sendDirect(a, harry, "Harry", ["Ron_W"], "before")).status, 200);
  await cluster.redis.stop();
  const started = Date.now();
  const during = await sendDirect(a, harry, "Harry", ["Ron_W"], "during");
  assert.equal(during.status, 503);
  assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
  assert.equal((await api(b, "POST", "/api/login", { body: { username: "Ginny" } })).status, 503);
  await cluster.redis.restart();
  const after = await eventually(
    async () => {
      const reply = await sendDirect(a, harry, "Harry", ["Ron_W"], "after");
      return reply.status === 200 ? reply : undefined;
    },
    10_000,
    "sends accepted again",
  );
  assert.equal(after.status, 200);
  const contents: string[] = [];
  while (!contents.includes("after")) contents.push((await socket.next(5000)).content);
  assert.deepEqual(contents, ["before", "after"], "the 503 was never delivered");
});

Deno.test("cluster: a send's sid is checked with its append; forged sids spend nobody's sends, and refusals keep their order", async () => {
  await using cluster = await TestCluster.start({ flags: { "rate-messages": 2 } });
  const [a, b] = cluster.nodes;
  const harry = await login(a, "Harry");
  const ron = await login(b, "Ron_W");
  // Forged sids naming Harry: 401 each, and Harry's burst of 20 is untouched.
  for (let i = 0; i < 30; i++) {
    assert.equal((await sendDirect(b, `forged${i}`, "Harry", ["Ron_W"], "x")).status, 401);
  }
  const statuses: number[] = [];
  for (let i = 0; i < 25; i++) {
    statuses.push((await sendDirect(b, harry, "Harry", ["Ron_W"], `m${i}`)).status);
  }
  assert.ok(statuses.slice(0, 20).every((s) => s === 200), `Harry's burst: ${statuses}`);
  assert.ok(statuses.slice(20).includes(429), `${statuses}`);
  // Someone else's name with a live sid: 403, as one node alone answers.
  assert.equal((await sendDirect(a, ron, "Harry", ["Ron_W"], "as Harry")).status, 403);
  // A dead sid with a bad body: the session still comes first.
  assert.equal((await api(a, "POST", "/api/logout", { sid: ron })).status, 200);
  const bad = await api(b, "POST", "/api/messages", { sid: ron, body: { from: "Ron_W" } });
  assert.equal(bad.status, 401);
  assert.equal((await sendDirect(b, ron, "Ron_W", ["Harry"], "after logout")).status, 401);
  // Nothing of the refused sends reached Ron's mailbox: 20 to 24 of Harry's, in order.
  const ron2 = await login(a, "Ron_W");
  const history = await api(a, "GET", "/api/messages?with=Harry&limit=100", { sid: ron2 });
  const contents = history.body.list.map((f: { content: string }) => f.content).reverse();
  assert.deepEqual(contents, statuses.flatMap((s, i) => s === 200 ? [`m${i}`] : []));
});
