import assert from "node:assert/strict";
import { Failure } from "../../lib/protocol/errors.ts";
import { Hub, type HubOptions } from "../../lib/realtime/hub.ts";
import type { LogFields } from "../../lib/telemetry/log.ts";
import { MemoryOfflineStore } from "../../lib/store/offline_store_memory.ts";
import type { Session } from "../../lib/core/sessions.ts";
import { FakeSocket, HUB_OPTIONS as OPTIONS, settle, waitFor } from "./fake_socket.ts";

const T = "philosophers_stone";

/** A started hub; `stop()` aborts its signal (every test must call it). */
function setup(options: Partial<HubOptions> = {}) {
  const merged = { ...OPTIONS, ...options };
  const store = new MemoryOfflineStore(merged.offlineTtlMs);
  const events: { event: string; fields: LogFields }[] = [];
  const hub = new Hub(merged, store, (event, fields = {}) => events.push({ event, fields }));
  const controller = new AbortController();
  hub.start(controller.signal);
  const connect = (session: Session) => {
    const socket = new FakeSocket();
    hub.attach(session, socket.ws);
    return socket;
  };
  return { hub, store, events, connect, stop: () => controller.abort() };
}

type Frame = Record<string, unknown>;
const contents = (socket: FakeSocket) => socket.frames.map((f) => f.content);
const chats = (socket: FakeSocket) => socket.frames.filter((f) => f["message-type"] === "message");

Deno.test("hub: the connect event says whether a backlog was waiting", async () => {
  const { hub, events, connect, stop } = setup();
  try {
    hub.sendDirect("Harry", ["Ron_W"], "while you were away");
    const withBacklog = connect(hub.login("Ron_W"));
    await waitFor(() => withBacklog.frames.length === 1);
    connect(hub.login("Harry"));
    const connects = events.filter((e) => e.event === "connect").map((e) => e.fields);
    assert.deepEqual(connects, [
      { user: "Ron_W", backlog: true },
      { user: "Harry", backlog: false },
    ]);
  } finally {
    stop();
  }
});

Deno.test("hub: login opens a session; authenticate finds it and marks a sign of life", async () => {
  const { hub, stop } = setup();
  try {
    const session = hub.login("Harry");
    assert.equal(session.username, "Harry");
    session.lastSeen = 0;
    assert.equal(hub.authenticate(session.sid), session);
    assert.ok(session.lastSeen > 0);
    assert.equal(hub.authenticate("nope"), undefined);
    assert.deepEqual(hub.users(false), ["Harry"]);
    assert.deepEqual(hub.users(true), [], "logging in over HTTP alone is not online");
    await settle();
  } finally {
    stop();
  }
});

Deno.test("hub: a second login replaces the first session; the old socket gets 4001", async () => {
  const { hub, connect, stop } = setup();
  try {
    const first = hub.login("Harry");
    const socket = connect(first);
    assert.deepEqual(hub.users(true), ["Harry"]);
    const second = hub.login("Harry");
    assert.deepEqual(socket.closed, { code: 4001, reason: "session replaced" });
    assert.equal(hub.authenticate(first.sid), undefined);
    assert.equal(hub.authenticate(second.sid), second);
    assert.deepEqual(hub.users(true), [], "the replaced socket made the user offline");
    assert.deepEqual(hub.users(false), ["Harry"]);
    assert.equal(hub.stats().sessions, 1);
    // A socket opened later for the old session is refused the same way.
    const late = connect(first);
    assert.deepEqual(late.closed, { code: 4001, reason: "session replaced" });
    assert.deepEqual(hub.users(true), []);
    await settle();
  } finally {
    stop();
  }
});

Deno.test("hub: logout kills the sid and closes the socket with 4000", async () => {
  const { hub, connect, stop } = setup();
  try {
    const session = hub.login("Harry");
    const socket = connect(session);
    hub.logout(session);
    assert.deepEqual(socket.closed, { code: 4000, reason: "logged out" });
    assert.equal(hub.authenticate(session.sid), undefined);
    assert.deepEqual(hub.users(true), []);
    assert.equal(hub.stats().sessions, 0);
    const late = connect(session);
    assert.deepEqual(late.closed, { code: 4000, reason: "logged out" });
    // Logging out a replaced session leaves the new one alone.
    const a = hub.login("Hermione");
    const b = hub.login("Hermione");
    const socketB = connect(b);
    hub.logout(a);
    assert.equal(socketB.closed, undefined);
    assert.equal(hub.authenticate(b.sid), b);
    await settle();
  } finally {
    stop();
  }
});

Deno.test("hub: a second socket for a session closes the first with 4001 and takes over", async () => {
  const { hub, connect, stop } = setup();
  try {
    const harry = hub.login("Harry");
    const ron = hub.login("Ronald");
    const first = connect(ron);
    const second = connect(ron);
    assert.deepEqual(first.closed, { code: 4001, reason: "session replaced" });
    assert.equal(second.closed, undefined);
    assert.deepEqual(hub.users(true), ["Ronald"]);
    hub.sendDirect(harry.username, ["Ronald"], "hello");
    await settle();
    assert.equal(first.sent.length, 0);
    assert.deepEqual(contents(second), ["hello"]);
  } finally {
    stop();
  }
});

Deno.test("hub: direct messages reach online users and are stored for offline ones", async () => {
  const { hub, connect, stop } = setup();
  try {
    hub.login("Harry");
    const hermione = connect(hub.login("Hermione"));
    hub.sendDirect("Harry", ["Hermione", "Ronald", "Hermione"], "Are you OK ?");
    await settle();
    assert.deepEqual(hermione.frames, [{
      "message-type": "message",
      from: "Harry",
      to: ["Hermione"],
      topic: "",
      "content-type": "text/plain",
      content: "Are you OK ?",
    }], "one frame per recipient, even if named twice");
    assert.equal(hub.stats().offlineMessages, 1);
    assert.equal(hub.stats().offlineRecipients, 1);
    hub.sendDirect("Harry", ["Ronald"], "second");
    // Ronald never logged in: he logs in now and connects.
    const ron = connect(hub.login("Ronald"));
    hub.sendDirect("Harry", ["Ronald"], "third");
    await settle();
    assert.deepEqual(contents(ron), ["Are you OK ?", "second", "third"]);
    assert.deepEqual(ron.frames[0].to, ["Ronald"]);
    assert.equal(hub.stats().offlineMessages, 0);
  } finally {
    stop();
  }
});

Deno.test("hub: a topic message fans out to members except the sender; the sender joins", async () => {
  const { hub, connect, stop } = setup();
  try {
    const harry = connect(hub.login("Harry"));
    const ron = connect(hub.login("Ronald"));
    const neville = connect(hub.login("Neville"));
    hub.createTopic(T, "Ronald");
    hub.joinTopic(T, "Hermione"); // offline member
    hub.sendToTopic("Harry", T, [], "hello stone");
    await settle();
    assert.equal(harry.sent.length, 0, "not echoed to the sender");
    assert.deepEqual(ron.frames, [{
      "message-type": "message",
      from: "Harry",
      to: [],
      topic: T,
      "content-type": "text/plain",
      content: "hello stone",
    }]);
    assert.equal(neville.sent.length, 0, "not a member");
    assert.equal(hub.stats().offlineMessages, 1, "stored for the offline member");
    hub.sendToTopic("Ronald", T, [], "reply");
    await settle();
    assert.deepEqual(contents(harry), ["reply"], "sending joined Harry");
  } finally {
    stop();
  }
});

Deno.test("hub: mentioned users join the topic and get the message; quitting stops delivery", async () => {
  const { hub, connect, stop } = setup();
  try {
    connect(hub.login("Harry"));
    const neville = connect(hub.login("Neville"));
    hub.createTopic(T, "Harry");
    hub.sendToTopic("Harry", T, ["Neville"], "you too");
    hub.sendToTopic("Harry", T, [], "later");
    await settle();
    assert.deepEqual(contents(neville), ["you too", "later"]);
    assert.deepEqual((chats(neville)[0] as Frame).to, ["Neville"]);
    hub.quitTopic(T, "Neville");
    hub.sendToTopic("Harry", T, [], "after quit");
    await settle();
    assert.deepEqual(contents(neville), ["you too", "later"]);
    hub.sendToTopic("Harry", T, ["Neville"], "mentioned again");
    await settle();
    assert.deepEqual(contents(neville).at(-1), "mentioned again");
  } finally {
    stop();
  }
});

Deno.test("hub: a message to an unknown topic throws not_found and notifies only the sender", async () => {
  const { hub, connect, stop } = setup();
  try {
    const harry = connect(hub.login("Harry"));
    const ron = connect(hub.login("Ronald"));
    assert.throws(
      () => hub.sendToTopic("Harry", "no_such_topic", ["Ronald"], "hi"),
      (error: unknown) => error instanceof Failure && error.kind === "not_found",
    );
    await settle();
    assert.deepEqual(harry.frames, [{
      "message-type": "system",
      topic: "__topic_not_found__",
      "content-type": "application/json",
      content: { topic: "no_such_topic" },
    }]);
    assert.equal(ron.sent.length, 0);
    assert.equal(hub.stats().offlineMessages, 0);
    assert.equal(hub.stats().topics, 0, "the mention did not create it");
    // Without a socket, the sender only gets the Failure.
    assert.throws(() => hub.sendToTopic("Neville", "no_such_topic", [], "hi"), Failure);
    assert.equal(hub.stats().offlineMessages, 0, "the notice is not stored");
  } finally {
    stop();
  }
});

Deno.test("hub: createTopic conflicts on an existing name; join/quit/delete of unknown topics are not_found", () => {
  const { hub, stop } = setup();
  try {
    hub.createTopic(T, "Harry");
    assert.throws(
      () => hub.createTopic(T, "Ronald"),
      (e: unknown) => (e as Failure).kind === "conflict",
    );
    for (const act of [() => hub.joinTopic("nope_", "x"), () => hub.quitTopic("nope_", "x")]) {
      assert.throws(act, (e: unknown) => (e as Failure).kind === "not_found");
    }
    assert.throws(
      () => hub.deleteTopic("nope_", "Harry"),
      (e: unknown) => (e as Failure).kind === "not_found",
    );
    hub.createTopic("second", "Harry");
    assert.deepEqual(hub.topics(), [T, "second"]);
  } finally {
    stop();
  }
});

Deno.test("hub: deleteTopic purges stored and queued messages and notifies every member", async () => {
  const { hub, store, connect, stop } = setup();
  try {
    const harry = connect(hub.login("Harry"));
    const hermione = connect(hub.login("Hermione"));
    const draco = connect(hub.login("Draco"));
    hub.createTopic(T, "Harry");
    hub.joinTopic(T, "Hermione");
    hub.joinTopic(T, "Ronald"); // offline
    hub.sendDirect("Harry", ["Ronald"], "direct before");
    // Hermione's socket is full: her topic messages wait in the outbox.
    hermione.bufferedAmount = 1 << 20;
    hub.sendDirect("Harry", ["Hermione"], "first");
    await settle();
    hub.sendToTopic("Harry", T, [], "stone 1");
    hub.sendDirect("Harry", ["Hermione"], "between");
    hub.sendToTopic("Harry", T, [], "stone 2");
    assert.equal(hub.stats().outboxFrames, 3);
    assert.equal(store.size, 3);
    hub.deleteTopic(T, "Draco");
    const notice = {
      "message-type": "system",
      topic: "__topic_is_deleted__",
      "content-type": "application/json",
      content: { topic: T },
    };
    assert.deepEqual(hub.topics(), []);
    hermione.bufferedAmount = 0;
    await waitFor(() => hermione.sent.length === 3, 1000, "Hermione's frames");
    assert.deepEqual(contents(hermione), ["first", "between", notice.content]);
    assert.deepEqual(hermione.frames[2], notice);
    assert.deepEqual(harry.frames, [notice], "the members' creator is told too");
    assert.equal(draco.sent.length, 0, "the deleter is not a member");
    const ron = connect(hub.login("Ronald"));
    await settle();
    assert.deepEqual(ron.frames.map((f) => f.content), ["direct before", notice.content]);
    // Re-created, the topic starts empty and old messages do not come back.
    hub.createTopic(T, "Draco");
    hub.sendToTopic("Draco", T, [], "new");
    await settle();
    assert.equal(ron.sent.length, 2);
    assert.equal(harry.sent.length, 1);
  } finally {
    stop();
  }
});

Deno.test("hub: stats() counts what the hub holds", async () => {
  const { hub, connect, stop } = setup();
  try {
    assert.deepEqual(hub.stats(), {
      users: 0,
      sessions: 0,
      online: 0,
      topics: 0,
      offlineMessages: 0,
      offlineRecipients: 0,
      outboxFrames: 0,
      timers: 1,
    });
    const harry = hub.login("Harry");
    const ron = connect(hub.login("Ronald"));
    hub.login("Hermione");
    hub.createTopic(T, "Harry");
    hub.sendDirect("Harry", ["Hermione", "Neville"], "a");
    hub.sendDirect("Harry", ["Neville"], "b");
    ron.bufferedAmount = 1 << 20;
    hub.sendDirect("Harry", ["Ronald"], "c");
    await settle();
    hub.sendDirect("Harry", ["Ronald"], "d");
    hub.logout(harry);
    assert.deepEqual(hub.stats(), {
      users: 3,
      sessions: 2,
      online: 1,
      topics: 1,
      offlineMessages: 3,
      offlineRecipients: 2,
      outboxFrames: 1,
      timers: 2, // the clock and Ronald's writer waiting for its socket to drain
    });
  } finally {
    stop();
  }
});

Deno.test("hub clock: a silent socket is closed with 4008, not before the timeout", async () => {
  const { hub, connect, stop, events } = setup({ clientTimeoutMs: 120 });
  try {
    const session = hub.login("Harry");
    const socket = connect(session);
    const quiet = connect(hub.login("Hermione"));
    const started = Date.now();
    // Hermione keeps pinging; Harry says nothing.
    while (Date.now() - started < 80) {
      quiet.receive('{"message-type":"ping","message-id":1}');
      await settle(10);
    }
    assert.equal(socket.closed, undefined, "not closed before the timeout");
    while (!socket.closed && Date.now() - started < 1000) {
      quiet.receive('{"message-type":"ping","message-id":1}');
      await settle(10);
    }
    assert.deepEqual(socket.closed, { code: 4008, reason: "heartbeat timeout" });
    assert.ok(Date.now() - started > 120);
    assert.equal(quiet.closed, undefined, "a pinging client stays");
    assert.deepEqual(hub.users(true), ["Hermione"]);
    assert.ok(events.some((e) => e.event === "disconnect" && e.fields.code === 4008));
  } finally {
    stop();
  }
});

Deno.test("hub clock: HTTP requests (authenticate) count as signs of life", async () => {
  const { hub, connect, stop } = setup({ clientTimeoutMs: 60 });
  try {
    const session = hub.login("Harry");
    const socket = connect(session);
    const started = Date.now();
    while (Date.now() - started < 200) {
      hub.authenticate(session.sid);
      await settle(10);
    }
    assert.equal(socket.closed, undefined);
  } finally {
    stop();
  }
});

Deno.test("hub clock: unanswered probes close with 4008; answered ones keep the socket", async () => {
  const { hub, connect, stop } = setup({ probeIntervalMs: 40, probeMaxMisses: 2 });
  try {
    const deaf = connect(hub.login("Harry"));
    const polite = connect(hub.login("Hermione"));
    let answered = 0;
    const started = Date.now();
    while (!deaf.closed && Date.now() - started < 1000) {
      for (const frame of polite.frames.slice(answered)) {
        polite.receive(JSON.stringify({ "message-type": "ack", "ack-id": frame["message-id"] }));
      }
      answered = polite.sent.length;
      await settle(5);
    }
    assert.deepEqual(deaf.closed, { code: 4008, reason: "heartbeat timeout" });
    assert.deepEqual(deaf.frames, [
      { "message-type": "pong", to: "Harry", "message-id": 1 },
      { "message-type": "pong", to: "Harry", "message-id": 2 },
    ]);
    assert.ok(Date.now() - started >= 110, "closed one interval after the second probe");
    assert.equal(polite.closed, undefined);
    assert.ok(polite.sent.length >= 2);
    const ids = polite.frames.map((f) => f["message-id"] as number);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  } finally {
    stop();
  }
});

Deno.test("hub clock: a slow consumer is closed with 4009 and its frames wait, in order", async () => {
  const { hub, store, connect, stop, events } = setup({ outboxCapacity: 2, slowConsumerMs: 60 });
  try {
    const session = hub.login("Ronald");
    const slow = connect(session);
    const fast = connect(hub.login("Hermione"));
    slow.bufferedAmount = 1 << 20;
    const started = Date.now();
    for (let i = 1; i <= 6; i++) hub.sendDirect("Harry", ["Ronald", "Hermione"], `m${i}`);
    await settle();
    assert.deepEqual(contents(fast), ["m1", "m2", "m3", "m4", "m5", "m6"], "no one waits");
    assert.deepEqual(contents(slow), ["m1"]);
    assert.equal(hub.stats().timers, 2);
    await waitFor(() => slow.closed !== undefined, 1000, "4009");
    assert.deepEqual(slow.closed, { code: 4009, reason: "slow consumer" });
    assert.ok(Date.now() - started > 60);
    assert.ok(events.some((e) => e.event === "slow-consumer"));
    assert.equal(fast.closed, undefined);
    assert.equal(store.size, 5);
    assert.deepEqual(hub.stats().timers, 1);
    const again = connect(session);
    await settle();
    assert.deepEqual(contents(again), ["m2", "m3", "m4", "m5", "m6"]);
  } finally {
    stop();
  }
});

Deno.test("hub clock: expired offline messages are swept", async () => {
  const { hub, connect, stop } = setup({ offlineTtlMs: 40 });
  try {
    hub.sendDirect("Harry", ["Ronald"], "too late");
    assert.equal(hub.stats().offlineMessages, 1);
    await waitFor(() => hub.stats().offlineMessages === 0, 1000, "the sweep");
    assert.equal(hub.stats().offlineRecipients, 0);
    const ron = connect(hub.login("Ronald"));
    await settle();
    assert.equal(ron.sent.length, 0);
  } finally {
    stop();
  }
});

Deno.test("hub: aborting the signal closes every socket with 1001 and stops every timer", async () => {
  const { hub, connect, stop } = setup();
  const a = connect(hub.login("Harry"));
  const b = connect(hub.login("Ronald"));
  b.bufferedAmount = 1 << 20;
  hub.sendDirect("Harry", ["Ronald"], "x");
  await settle();
  assert.equal(hub.stats().timers, 2);
  stop();
  assert.deepEqual(a.closed, { code: 1001, reason: "server shutting down" });
  assert.deepEqual(b.closed, { code: 1001, reason: "server shutting down" });
  assert.equal(hub.stats().timers, 0);
  assert.equal(hub.stats().online, 0);
  const late = connect(hub.login("Hermione"));
  assert.deepEqual(late.closed, { code: 1001, reason: "server shutting down" });
  await settle();
});

Deno.test("hub: every member sees a topic's messages in one order, whoever sends them", async () => {
  const { hub, connect, stop } = setup();
  try {
    const sockets = ["Harry", "Ronald", "Hermione", "Neville"].map((name) => {
      const socket = connect(hub.login(name));
      return { name, socket };
    });
    hub.createTopic(T, "Harry");
    for (const { name } of sockets) hub.joinTopic(T, name);
    hub.joinTopic(T, "Luna_L"); // offline member
    const sent: string[] = [];
    for (let i = 0; i < 40; i++) {
      const from = sockets[i % 4].name;
      hub.sendToTopic(from, T, [], `${from}-${i}`);
      sent.push(`${from}-${i}`);
    }
    await settle();
    for (const { name, socket } of sockets) {
      assert.deepEqual(contents(socket), sent.filter((c) => !c.startsWith(`${name}-`)), name);
    }
    const luna = connect(hub.login("Luna_L"));
    await settle();
    assert.deepEqual(contents(luna), sent);
  } finally {
    stop();
  }
});

Deno.test("hub: a member who deletes a topic gets the notice too", async () => {
  const { hub, connect, stop } = setup();
  try {
    const harry = connect(hub.login("Harry"));
    hub.createTopic(T, "Harry");
    hub.deleteTopic(T, "Harry");
    await settle();
    assert.deepEqual(harry.frames, [{
      "message-type": "system",
      topic: "__topic_is_deleted__",
      "content-type": "application/json",
      content: { topic: T },
    }]);
  } finally {
    stop();
  }
});

Deno.test({
  name: "hub: start() with an already aborted signal does not leave the clock running",
  fn() {
    const hub = new Hub(OPTIONS, new MemoryOfflineStore(OPTIONS.offlineTtlMs), () => {});
    hub.start(AbortSignal.abort());
    assert.equal(hub.stats().timers, 0);
    const socket = new FakeSocket();
    hub.attach(hub.login("Harry"), socket.ws);
    assert.deepEqual(socket.closed, { code: 1001, reason: "server shutting down" });
  },
});

Deno.test({
  name: "hub: deleting a topic while a socket is paused and spilled does not stall that socket",
  async fn() {
    const { hub, connect, stop } = setup({ outboxCapacity: 2, slowConsumerMs: 100 });
    try {
      const ron = connect(hub.login("Ronald"));
      hub.createTopic(T, "Harry");
      hub.joinTopic(T, "Ronald");
      ron.bufferedAmount = 1 << 20;
      hub.sendDirect("Harry", ["Ronald"], "d0");
      await settle();
      hub.sendToTopic("Harry", T, [], "x1");
      hub.sendToTopic("Harry", T, [], "x2");
      hub.sendDirect("Harry", ["Ronald"], "d3"); // spilled
      hub.deleteTopic(T, "Harry");
      ron.bufferedAmount = 0;
      hub.sendDirect("Harry", ["Ronald"], "d4");
      await settle(250);
      assert.equal(ron.closed, undefined, "a socket that drained is not a slow consumer");
      assert.deepEqual(contents(ron).filter((c) => typeof c === "string"), ["d0", "d3", "d4"]);
    } finally {
      stop();
    }
  },
});
