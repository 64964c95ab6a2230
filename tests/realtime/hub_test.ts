import assert from "node:assert/strict";
import type { Session } from "../../lib/core/sessions.ts";
import { Failure } from "../../lib/protocol/errors.ts";
import type { HubOptions } from "../../lib/realtime/hub.ts";
import type { LogFields } from "../../lib/telemetry/log.ts";
import { FakeSocket, settle, waitFor } from "./fake_socket.ts";
import { createTestHub, type TestStoreLimits } from "./test_hub.ts";

const T = "philosophers_stone";

/** A started hub; `stop()` aborts its signal (every test must call it). */
function setup(options: Partial<HubOptions & TestStoreLimits> = {}) {
  const events: { event: string; fields: LogFields }[] = [];
  const { hub, mailbox, directory } = createTestHub(
    options,
    (event, fields = {}) => events.push({ event, fields }),
  );
  const controller = new AbortController();
  hub.start(controller.signal);
  const connect = (session: Session, since?: number) => {
    const socket = new FakeSocket();
    hub.attach(session, socket.ws, since);
    return socket;
  };
  return { hub, mailbox, directory, events, connect, stop: () => controller.abort() };
}

/** How `socket` was closed, once it is. */
async function closing(socket: FakeSocket) {
  await waitFor(() => socket.closed !== undefined);
  return socket.closed;
}

const contents = (socket: FakeSocket) =>
  socket.frames.filter((f) => f["message-type"] === "message").map((f) => f.content);

function failure(kind: string) {
  return (error: unknown) => error instanceof Failure && error.kind === kind;
}

const direct = (from: string, to: string[], content: string) =>
  ({ kind: "direct", from, to, content }) as const;
const topicSend = (from: string, content: string, mentions: string[] = []) =>
  ({ kind: "topic", from, topic: T, mentions, content }) as const;

Deno.test("hub: login opens a session; authenticate finds it and marks a sign of life", async () => {
  const { hub, stop } = setup();
  try {
    const session = await hub.login("Harry");
    assert.equal(session.username, "Harry");
    const before = session.lastSeen = Date.now() - 1000;
    assert.equal(await hub.authenticate(session.sid), session);
    assert.ok(session.lastSeen > before);
    assert.equal(await hub.authenticate("nope"), undefined);
    assert.deepEqual((await hub.users({ online: false })).names, ["Harry"]);
    assert.deepEqual((await hub.users({ online: true })).names, [], "HTTP alone is not online");
  } finally {
    stop();
  }
});

Deno.test("hub: a second login replaces the first session; the old socket gets 4001", async () => {
  const { hub, connect, stop } = setup();
  try {
    const first = await hub.login("Harry");
    const socket = connect(first);
    await settle();
    assert.deepEqual((await hub.users({ online: true })).names, ["Harry"]);
    const second = await hub.login("Harry");
    assert.deepEqual(socket.closed, { code: 4001, reason: "session replaced" });
    assert.equal(await hub.authenticate(first.sid), undefined);
    assert.equal((await hub.authenticate(second.sid))?.sid, second.sid);
    assert.deepEqual((await hub.users({ online: true })).names, []);
    assert.equal(hub.stats().sessions, 1);
    // A socket opened later for the old session is refused the same way.
    assert.deepEqual(await closing(connect(first)), { code: 4001, reason: "session replaced" });
  } finally {
    stop();
  }
});

Deno.test("hub: a session replaced by a login this hub never saw (another node's) still closes with 4001", async () => {
  const { hub, directory, connect, stop } = setup();
  try {
    const first = await hub.login("Harry");
    // What a login on another node does to the shared directory.
    await directory.openSession("Harry");
    assert.deepEqual(await closing(connect(first)), { code: 4001, reason: "session replaced" });
    const ron = await hub.login("Ron_W");
    await directory.closeSession(ron);
    assert.deepEqual(await closing(connect(ron)), { code: 4000, reason: "logged out" });
  } finally {
    stop();
  }
});

Deno.test("hub (cluster): the periodic session check tells a replaced session (4001) from a logged-out one (4000)", async () => {
  const { hub, directory, connect, stop } = setup({ cluster: true, clientTimeoutMs: 3000 });
  try {
    const harry = await hub.login("Harry");
    const ron = await hub.login("Ron_W");
    const harrySocket = connect(harry);
    const ronSocket = connect(ron);
    await settle();
    assert.equal(harrySocket.closed, undefined);
    // Ended elsewhere, with the announcements lost: only the check can find out.
    await directory.openSession("Harry");
    await directory.closeSession(ron);
    await waitFor(() => harrySocket.closed !== undefined && ronSocket.closed !== undefined, 5000);
    assert.deepEqual(harrySocket.closed, { code: 4001, reason: "session replaced" });
    assert.deepEqual(ronSocket.closed, { code: 4000, reason: "logged out" });
  } finally {
    stop();
  }
});

Deno.test("hub (cluster): the periodic session check never overlaps the one before", async () => {
  const { hub, directory, connect, stop } = setup({ cluster: true, clientTimeoutMs: 3000 });
  let alive: ReturnType<typeof setInterval> | undefined;
  try {
    const sessions: Session[] = [];
    for (let i = 0; i < 40; i++) sessions.push(await hub.login(`user_${i}`));
    for (const session of sessions) connect(session);
    // Signs of life, so no socket is judged silent (which asks the store too).
    alive = setInterval(() => sessions.forEach((s) => s.lastSeen = Date.now()), 100);
    await settle(50);
    // A slow store: a check of 40 takes 2 s; the interval is 1 s.
    const session = directory.session.bind(directory);
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    directory.session = async (sid) => {
      calls++;
      most = Math.max(most, ++inFlight);
      await settle(50);
      inFlight--;
      return session(sid);
    };
    await settle(3200);
    assert.ok(calls >= 40, `every session checked (${calls} calls)`);
    assert.equal(most, 1, "one check at a time");
    assert.equal(hub.stats().online, 40, "none closed: every session is live");
  } finally {
    clearInterval(alive);
    stop();
  }
});

Deno.test("hub (cluster): a resync reads a few hundred mailboxes at a time, not every socket's at once", async () => {
  const { hub, mailbox, connect, stop } = setup({ cluster: true });
  try {
    const sockets = [];
    for (let i = 0; i < 600; i++) sockets.push(connect(await hub.login(`user_${i}`)));
    await settle(50);
    // A remote store: each read takes a while, so reads overlap.
    const read = mailbox.read.bind(mailbox);
    let inFlight = 0;
    let most = 0;
    const readers = new Set<string>();
    mailbox.read = async (user, after, limit) => {
      readers.add(user);
      most = Math.max(most, ++inFlight);
      await settle(20);
      inFlight--;
      return read(user, after, limit);
    };
    hub.resync(false);
    await waitFor(() => readers.size === 600 && inFlight === 0, 5000);
    assert.ok(most <= 256, `at most 256 reads at once (${most})`);
    assert.ok(most >= 100, `yet in parallel (${most})`);
    assert.ok(sockets.every((socket) => socket.closed === undefined), "no socket closed");
  } finally {
    stop();
  }
});

Deno.test("hub: logout kills the sid and closes the socket with 4000", async () => {
  const { hub, connect, stop } = setup();
  try {
    const session = await hub.login("Harry");
    const socket = connect(session);
    await settle();
    await hub.logout(session);
    assert.deepEqual(socket.closed, { code: 4000, reason: "logged out" });
    assert.equal(await hub.authenticate(session.sid), undefined);
    assert.equal(hub.stats().sessions, 0);
    const late = connect(session);
    await waitFor(() => late.closed !== undefined);
    assert.deepEqual(late.closed, { code: 4000, reason: "logged out" });
    // Logging out a replaced session leaves the new one alone.
    const a = await hub.login("Hermione");
    const b = await hub.login("Hermione");
    const socketB = connect(b);
    await hub.logout(a);
    await settle();
    assert.equal(socketB.closed, undefined);
    assert.equal((await hub.authenticate(b.sid))?.sid, b.sid);
  } finally {
    stop();
  }
});

Deno.test("hub: a second socket for a session closes the first with 4001 and takes over", async () => {
  const { hub, connect, stop } = setup();
  try {
    await hub.login("Harry");
    const ron = await hub.login("Ronald");
    const first = connect(ron);
    const second = connect(ron);
    assert.deepEqual(first.closed, { code: 4001, reason: "session replaced" });
    await hub.send(direct("Harry", ["Ronald"], "hello"));
    await waitFor(() => second.sent.length === 1);
    assert.equal(first.sent.length, 0);
    assert.deepEqual(contents(second), ["hello"]);
    assert.deepEqual((await hub.users({ online: true })).names, ["Ronald"]);
  } finally {
    stop();
  }
});

Deno.test("hub: a direct message reaches online users and waits for offline ones, once each", async () => {
  const { hub, connect, stop } = setup();
  try {
    await hub.login("Harry");
    const hermione = connect(await hub.login("Hermione"));
    await settle();
    const accepted = await hub.send(
      direct("Harry", ["Hermione", "Ronald", "Hermione"], "Are you OK ?"),
    );
    assert.match(accepted.id, /^[A-Za-z0-9_-]{16}$/);
    assert.ok(Math.abs(accepted.sentAt - Date.now()) < 1000);
    assert.deepEqual(hermione.frames, [{
      "message-type": "message",
      from: "Harry",
      to: ["Hermione"],
      topic: "",
      "content-type": "text/plain",
      content: "Are you OK ?",
      id: accepted.id,
      "sent-at": accepted.sentAt,
      seq: 1,
    }]);
    const ron = connect(await hub.login("Ronald"));
    await waitFor(() => ron.sent.length === 1);
    assert.deepEqual(ron.frames[0].to, ["Ronald"]);
    // Harry's own copy names both, once each; a v1 socket of his never shows it.
    const own = (await hub.history("Harry", { limit: 5 })).entries;
    assert.deepEqual(own.map((e) => [e.own, e.message.to]), [[true, ["Hermione", "Ronald"]]]);
    const harry = connect(await hub.login("Harry"));
    await settle(5);
    assert.deepEqual(harry.sent, []);
  } finally {
    stop();
  }
});

Deno.test("hub: a resuming socket gets __resumed__, the user's entries after since, own copies too", async () => {
  const { hub, connect, stop } = setup();
  try {
    const harry = await hub.login("Harry");
    await hub.send(direct("Ronald", ["Harry"], "r1"));
    await hub.send(direct("Harry", ["Ronald"], "h1"));
    await hub.send(direct("Ronald", ["Harry"], "r2"));
    const socket = connect(harry, 1);
    await waitFor(() => socket.sent.length === 3);
    assert.deepEqual(socket.frames[0], {
      "message-type": "system",
      topic: "__resumed__",
      "content-type": "application/json",
      content: { since: 1, first: 1, last: 3, recovered: true },
    });
    assert.deepEqual(socket.frames.slice(1).map((f) => [f.seq, f.content]), [[2, "h1"], [3, "r2"]]);
    // Ahead of the mailbox (e.g. the memory store restarted): not recovered, replay from first.
    const ahead = connect(harry, 10);
    await waitFor(() => ahead.sent.length === 4);
    assert.deepEqual(ahead.frames[0].content, { since: 10, first: 1, last: 3, recovered: false });
  } finally {
    stop();
  }
});

Deno.test("hub: a topic message fans out to members but the sender, who joins by sending", async () => {
  const { hub, connect, stop } = setup();
  try {
    const harry = connect(await hub.login("Harry"));
    const ron = connect(await hub.login("Ronald"));
    const draco = connect(await hub.login("Draco"));
    await hub.createTopic(T, "Harry");
    await hub.send(topicSend("Ronald", "I'm in"));
    await hub.send(topicSend("Harry", "welcome"));
    await waitFor(() => harry.sent.length === 1 && ron.sent.length === 1);
    assert.deepEqual(contents(harry), ["I'm in"]);
    assert.deepEqual(contents(ron), ["welcome"]);
    assert.equal(draco.sent.length, 0);
    // A mention joins; quitting stops delivery.
    await hub.send(topicSend("Harry", "@Draco", ["Draco"]));
    await waitFor(() => draco.sent.length === 1);
    assert.deepEqual(draco.frames[0].to, ["Draco"]);
    await hub.quitTopic(T, "Draco");
    await hub.send(topicSend("Ronald", "without Draco"));
    await waitFor(() => harry.sent.length === 2);
    assert.equal(draco.sent.length, 1);
  } finally {
    stop();
  }
});

Deno.test("hub: an unknown topic is not_found, and only the sender's socket is told", async () => {
  const { hub, connect, stop } = setup();
  try {
    const harry = connect(await hub.login("Harry"));
    const ron = connect(await hub.login("Ronald"));
    await settle();
    await assert.rejects(hub.send(topicSend("Harry", "hello?", ["Ronald"])), failure("not_found"));
    assert.deepEqual(harry.frames, [{
      "message-type": "system",
      topic: "__topic_not_found__",
      "content-type": "application/json",
      content: { topic: T },
    }]);
    assert.equal(ron.sent.length, 0);
    assert.equal(hub.stats().entries, 0);
    await assert.rejects(hub.joinTopic(T, "Harry"), failure("not_found"));
    await assert.rejects(hub.quitTopic(T, "Harry"), failure("not_found"));
    await assert.rejects(hub.deleteTopic(T, "Harry"), failure("not_found"));
    await hub.createTopic(T, "Harry");
    await assert.rejects(hub.createTopic(T, "Ronald"), failure("conflict"));
  } finally {
    stop();
  }
});

Deno.test("hub: deleteTopic purges mailboxes and outboxes and tells every member", async () => {
  const { hub, connect, stop } = setup({ outboxCapacity: 8 });
  try {
    const harry = connect(await hub.login("Harry"));
    const hermione = connect(await hub.login("Hermione"));
    const draco = connect(await hub.login("Draco"));
    await settle();
    await hub.createTopic(T, "Harry");
    await hub.joinTopic(T, "Hermione");
    await hub.joinTopic(T, "Ronald"); // offline
    await hub.send(direct("Harry", ["Ronald"], "direct before"));
    // Hermione's socket is full: her topic messages wait in the outbox.
    hermione.bufferedAmount = 1 << 20;
    await hub.send(direct("Harry", ["Hermione"], "first"));
    await hub.send(topicSend("Harry", "stone 1"));
    await hub.send(direct("Harry", ["Hermione"], "between"));
    await hub.send(topicSend("Harry", "stone 2"));
    assert.ok(hub.stats().outboxFrames >= 2);
    await hub.deleteTopic(T, "Draco");
    assert.deepEqual((await hub.topics({})).names, []);
    hermione.bufferedAmount = 0;
    await waitFor(() => hermione.sent.length === 3, 1000, "Hermione's frames");
    const notice = hermione.frames[2];
    assert.deepEqual([notice.topic, notice.content], ["__topic_is_deleted__", { topic: T }]);
    assert.deepEqual(contents(hermione), ["first", "between"]);
    await waitFor(() => harry.sent.length === 1);
    assert.equal(harry.frames[0].topic, "__topic_is_deleted__", "the creator is told too");
    assert.equal(draco.sent.length, 0, "the deleter is not a member");
    const ron = connect(await hub.login("Ronald"));
    await waitFor(() => ron.sent.length === 2);
    assert.deepEqual(ron.frames.map((f) => f.content), ["direct before", { topic: T }]);
    // Re-created, the topic starts empty and old messages do not come back.
    await hub.createTopic(T, "Draco");
    await hub.send(topicSend("Draco", "new"));
    await settle(5);
    assert.equal(ron.sent.length, 2);
    assert.equal(harry.sent.length, 1);
    assert.deepEqual(
      (await hub.history("Harry", { limit: 10, topic: T })).entries.length,
      1,
      "the notice",
    );
  } finally {
    stop();
  }
});

Deno.test("hub: every member sees a topic's messages in one order, whoever sends them", async () => {
  const { hub, connect, stop } = setup({ outboxCapacity: 64 });
  try {
    const names = ["Harry", "Ronald", "Hermione", "Neville"];
    const sockets = await Promise.all(names.map(async (name) => connect(await hub.login(name))));
    await hub.createTopic(T, "Harry");
    for (const name of [...names, "Luna_L"]) await hub.joinTopic(T, name);
    const sent: string[] = [];
    await Promise.all(Array.from({ length: 40 }, (_, i) => {
      const from = names[i % 4];
      sent.push(`${from}-${i}`);
      return hub.send(topicSend(from, `${from}-${i}`));
    }));
    await waitFor(() => sockets.every((s) => s.sent.length === 30));
    for (const [i, socket] of sockets.entries()) {
      assert.deepEqual(
        contents(socket),
        sent.filter((c) => !c.startsWith(`${names[i]}-`)),
        names[i],
      );
    }
    const luna = connect(await hub.login("Luna_L"));
    await waitFor(() => luna.sent.length === 40);
    assert.deepEqual(contents(luna), sent);
  } finally {
    stop();
  }
});

Deno.test("hub: a cap refuses the whole send with too_many_requests; nothing is partly sent", async () => {
  const { hub, directory, stop } = setup({ mailboxMax: 2 });
  try {
    await hub.send(direct("Harry", ["Ronald"], "1"));
    await hub.send(direct("Harry", ["Ronald"], "2"));
    await assert.rejects(
      hub.send(direct("Hermione", ["Neville", "Ronald"], "3")),
      (error: unknown) => failure("too_many_requests")(error) && /Ronald/.test(String(error)),
    );
    assert.deepEqual((await hub.history("Neville", { limit: 5 })).entries, []);
    assert.deepEqual((await hub.history("Hermione", { limit: 5 })).entries, [], "no own copy");
    // A refused topic send joins no one either.
    await hub.createTopic(T, "Ronald");
    await assert.rejects(
      hub.send(topicSend("Harry", "@Neville", ["Neville"])),
      failure("too_many_requests"),
    );
    assert.deepEqual(await directory.members(T), ["Ronald"]);
  } finally {
    stop();
  }
});

Deno.test("hub: an idempotent retry answers the first send; another body is unprocessable", async () => {
  const { hub, stop } = setup();
  try {
    const key = { key: "k1", bodyHash: "a" };
    const first = await hub.send(direct("Harry", ["Ronald"], "once"), key);
    const again = await hub.send(direct("Harry", ["Ronald"], "once"), key);
    assert.deepEqual(again, first);
    await assert.rejects(
      hub.send(direct("Harry", ["Ronald"], "other"), { key: "k1", bodyHash: "b" }),
      failure("unprocessable"),
    );
    assert.equal((await hub.history("Ronald", { limit: 5 })).entries.length, 1);
  } finally {
    stop();
  }
});

Deno.test("hub: users and topics are listed by name, paged; online lists live sockets", async () => {
  const { hub, connect, stop } = setup();
  try {
    for (const name of ["Ronald", "Harry", "Hermione", "Draco"]) await hub.login(name);
    connect(await hub.login("Ronald"));
    connect(await hub.login("Draco"));
    await settle();
    assert.deepEqual(await hub.users({ online: false, after: "Draco", limit: 2 }), {
      names: ["Harry", "Hermione"],
      total: 4,
    });
    assert.deepEqual(await hub.users({ online: true }), { names: ["Draco", "Ronald"], total: 2 });
    assert.deepEqual(await hub.users({ online: true, after: "Draco" }), {
      names: ["Ronald"],
      total: 2,
    });
    await hub.createTopic("zoology", "Harry");
    await hub.createTopic("arithmancy", "Harry");
    assert.deepEqual(await hub.topics({ limit: 1 }), { names: ["arithmancy"], total: 2 });
  } finally {
    stop();
  }
});

Deno.test("hub: the connect event says where the socket starts", async () => {
  const { hub, events, connect, stop } = setup();
  try {
    await hub.send(direct("Harry", ["Ronald"], "while you were away"));
    const ron = connect(await hub.login("Ronald"));
    await waitFor(() => ron.sent.length === 1);
    ron.peerClose();
    connect(await hub.login("Ronald"));
    await settle();
    const connects = events.filter((e) => e.event === "connect").map((e) => e.fields);
    assert.deepEqual(connects, [{ user: "Ronald", from: 0 }, { user: "Ronald", from: 1 }]);
  } finally {
    stop();
  }
});

Deno.test("hub: stats() counts what the hub holds", async () => {
  const { hub, connect, stop } = setup();
  try {
    const harry = connect(await hub.login("Harry"));
    await hub.login("Ronald");
    await hub.createTopic(T, "Harry");
    harry.bufferedAmount = 1 << 20;
    await hub.send(direct("Ronald", ["Harry"], "a"));
    await hub.send(direct("Ronald", ["Harry"], "b"));
    await settle(5);
    const stats = hub.stats();
    assert.deepEqual(
      { ...stats, storeBytes: stats.storeBytes > 0 },
      {
        users: 2,
        sessions: 2,
        online: 1,
        topics: 1,
        mailboxes: 2,
        messages: 2,
        entries: 4,
        storeBytes: true,
        outboxFrames: 1,
        timers: 2,
      },
    );
  } finally {
    stop();
  }
});

Deno.test("hub clock: a silent socket is closed with 4008; HTTP requests count as life", async () => {
  const { hub, connect, stop } = setup({ clientTimeoutMs: 80, probeIntervalMs: 60_000 });
  try {
    const busy = await hub.login("Harry");
    const busySocket = connect(busy);
    const silent = connect(await hub.login("Ronald"));
    const pinger = setInterval(() => hub.authenticate(busy.sid), 20);
    try {
      await waitFor(() => silent.closed !== undefined, 2000, "4008");
      assert.deepEqual(silent.closed, { code: 4008, reason: "heartbeat timeout" });
      assert.equal(busySocket.closed, undefined);
    } finally {
      clearInterval(pinger);
    }
  } finally {
    stop();
  }
});

Deno.test("hub clock: unanswered probes close with 4008; answered ones keep the socket", async () => {
  const { hub, connect, stop } = setup({ probeIntervalMs: 20, probeMaxMisses: 2 });
  try {
    const quiet = connect(await hub.login("Harry"));
    const answering = connect(await hub.login("Ronald"));
    const answer = setInterval(() => {
      for (const frame of answering.frames.filter((f) => f["message-type"] === "pong")) {
        answering.receive(JSON.stringify({ "message-type": "ack", "ack-id": frame["message-id"] }));
      }
    }, 5);
    try {
      await waitFor(() => quiet.closed !== undefined, 2000, "4008");
      assert.deepEqual(quiet.closed, { code: 4008, reason: "heartbeat timeout" });
      assert.equal(quiet.frames.filter((f) => f["message-type"] === "pong").length, 2);
      await settle(60);
      assert.equal(answering.closed, undefined);
    } finally {
      clearInterval(answer);
    }
  } finally {
    stop();
  }
});

Deno.test("hub clock: a slow consumer is closed with 4009 and its entries wait, in order", async () => {
  const { hub, connect, stop, events } = setup({ outboxCapacity: 2, slowConsumerMs: 60 });
  try {
    const session = await hub.login("Ronald");
    const slow = connect(session);
    const fast = connect(await hub.login("Hermione"));
    await settle();
    slow.bufferedAmount = 1 << 20;
    const started = Date.now();
    for (let i = 1; i <= 6; i++) await hub.send(direct("Harry", ["Ronald", "Hermione"], `m${i}`));
    await waitFor(() => fast.sent.length === 6);
    assert.deepEqual(contents(fast), ["m1", "m2", "m3", "m4", "m5", "m6"], "no one waits");
    assert.deepEqual(contents(slow), ["m1"]);
    assert.equal(hub.stats().timers, 2);
    await waitFor(() => slow.closed !== undefined, 1000, "4009");
    assert.deepEqual(slow.closed, { code: 4009, reason: "slow consumer" });
    assert.ok(Date.now() - started > 60);
    assert.ok(events.some((e) => e.event === "slow-consumer"));
    assert.equal(hub.stats().timers, 1);
    const again = connect(session);
    await waitFor(() => again.sent.length === 5);
    assert.deepEqual(contents(again), ["m2", "m3", "m4", "m5", "m6"]);
  } finally {
    stop();
  }
});

Deno.test("hub clock: expired entries are never delivered, and leave history at its TTL", async () => {
  const { hub, connect, stop } = setup({ offlineTtlMs: 40, historyTtlMs: 80 });
  try {
    await hub.send(direct("Harry", ["Ronald"], "too late"));
    assert.equal(hub.stats().entries, 2);
    await settle(60);
    const ron = connect(await hub.login("Ronald"));
    await settle(5);
    assert.equal(ron.sent.length, 0);
    await waitFor(() => hub.stats().entries === 0, 1000, "the sweep");
  } finally {
    stop();
  }
});

Deno.test("hub: aborting the signal closes every socket with 1001 and stops every timer", async () => {
  const { hub, connect, stop } = setup();
  const a = connect(await hub.login("Harry"));
  const b = connect(await hub.login("Ronald"));
  await settle();
  b.bufferedAmount = 1 << 20;
  await hub.send(direct("Harry", ["Ronald"], "x"));
  await settle();
  assert.equal(hub.stats().timers, 2);
  stop();
  assert.deepEqual(a.closed, { code: 1001, reason: "server shutting down" });
  assert.deepEqual(b.closed, { code: 1001, reason: "server shutting down" });
  assert.equal(hub.stats().timers, 0);
  assert.equal(hub.stats().online, 0);
  const late = connect(await hub.login("Hermione"));
  assert.deepEqual(late.closed, { code: 1001, reason: "server shutting down" });
});

Deno.test("hub: start() with an already aborted signal does not leave the clock running", async () => {
  const { hub } = createTestHub();
  hub.start(AbortSignal.abort());
  assert.equal(hub.stats().timers, 0);
  const socket = new FakeSocket();
  hub.attach(await hub.login("Harry"), socket.ws);
  assert.deepEqual(socket.closed, { code: 1001, reason: "server shutting down" });
});

Deno.test("hub: presence entries are refreshed each interval, sockets opened together a few at a time", async () => {
  const calls: { at: number; users: string[] }[] = [];
  const closedUsers = new Set<string>();
  const presence = {
    online() {},
    offline(user: string) {
      closedUsers.add(user);
    },
    refresh(users: readonly string[]) {
      calls.push({ at: Date.now(), users: [...users] });
    },
    list: () => Promise.resolve({ names: [], total: 0 }),
    relay() {},
    close: () => Promise.resolve(),
  };
  // Refresh interval max(1 s, clientTimeout / 3) = 1 s; the clock ticks every 50 ms.
  const { hub } = createTestHub(
    { clientTimeoutMs: 3000, probeIntervalMs: 200, probeMaxMisses: 1000 },
    undefined,
    presence,
  );
  const controller = new AbortController();
  hub.start(controller.signal);
  try {
    const names = Array.from({ length: 40 }, (_, i) => `user_${i}`);
    const opened = Date.now();
    const sockets = [];
    for (const name of names) {
      const socket = new FakeSocket();
      hub.attach(await hub.login(name), socket.ws);
      sockets.push(socket);
    }
    await settle(2300);
    const turns = (name: string) =>
      calls.filter((c) => c.users.includes(name)).map((c) => c.at - opened);
    for (const name of names) {
      const [first, second] = turns(name);
      assert.ok(first >= 450 && first <= 1200, `${name}'s first refresh at ${first} ms`);
      assert.ok(
        second - first >= 950 && second - first <= 1200,
        `${name}: ${second - first} ms apart`,
      );
    }
    const largest = Math.max(...calls.map((c) => c.users.length));
    assert.ok(largest <= 8, `at most 8 of the 40 in one refresh (${largest})`);
    // A socket that closed is not refreshed (that would bring its entry back).
    sockets[0].peerClose(1000, "bye");
    const closedAt = Date.now();
    await settle(1200);
    assert.ok(closedUsers.has("user_0"));
    assert.ok(!calls.some((c) => c.at > closedAt && c.users.includes("user_0")));
  } finally {
    controller.abort();
  }
});
