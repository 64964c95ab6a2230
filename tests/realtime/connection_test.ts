import assert from "node:assert/strict";
import { Close, type CloseReason } from "../../lib/protocol/close_codes.ts";
import { Connection, type ConnectionOptions } from "../../lib/realtime/connection.ts";
import type { Delivery } from "../../lib/realtime/connection.ts";
import { MemoryOfflineStore } from "../../lib/store/offline_store_memory.ts";
import type { Session } from "../../lib/core/sessions.ts";
import { FakeSocket, settle, waitFor } from "./fake_socket.ts";

const HIGH_WATER = 64 * 1024;
const USER = "Ronald";

const OPTIONS: ConnectionOptions = {
  outboxCapacity: 16,
  maxFrameBytes: 1000,
  clientTimeoutMs: 60_000,
  probeIntervalMs: 20_000,
  probeMaxMisses: 3,
};

function setup(options: Partial<ConnectionOptions> = {}) {
  const store = new MemoryOfflineStore(600_000);
  const session: Session = { sid: "sid", username: USER, lastSeen: 0 };
  const socket = new FakeSocket();
  const closes: CloseReason[] = [];
  const connection = new Connection(session, socket.ws, store, { ...OPTIONS, ...options }, (
    closed,
    why,
  ) => {
    assert.equal(closed, connection);
    closes.push(why);
  });
  return { store, session, socket, connection, closes };
}

const msg = (frame: string, topic?: string): Delivery =>
  topic === undefined ? { frame, sentAt: Date.now() } : { frame, sentAt: Date.now(), topic };

const names = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

function takeAll(store: MemoryOfflineStore): string[] {
  return store.take(USER, Infinity).map((d) => d.frame);
}

Deno.test("connection: frames are written in the order they were delivered", async () => {
  const { socket, connection } = setup();
  connection.start();
  for (const frame of names("m", 1, 40)) connection.deliver(msg(frame));
  await settle();
  assert.deepEqual(socket.sent, names("m", 1, 40));
  assert.equal(connection.queued, 0);
  assert.equal(connection.fullSince, 0);
  connection.close(Close.loggedOut);
});

Deno.test("connection: the offline backlog is written first, before newer frames", async () => {
  const { socket, store, connection } = setup({ outboxCapacity: 2 });
  for (const frame of names("s", 1, 10)) store.push(USER, msg(frame));
  connection.start();
  connection.deliver(msg("live1"));
  connection.deliver(msg("live2"));
  await settle();
  assert.deepEqual(socket.sent, [...names("s", 1, 10), "live1", "live2"]);
  assert.equal(store.size, 0);
  connection.close(Close.loggedOut);
});

Deno.test("connection: the writer pauses while bufferedAmount > 64 KiB and resumes when it drops", async () => {
  const { socket, connection } = setup();
  socket.bufferedAmount = HIGH_WATER + 1;
  connection.start();
  for (const frame of names("m", 1, 3)) connection.deliver(msg(frame));
  await settle();
  assert.deepEqual(socket.sent, ["m1"], "one frame written, then the pause");
  assert.equal(connection.waitingForDrain, true);
  assert.equal(connection.queued, 2);
  await settle(30);
  assert.deepEqual(socket.sent, ["m1"], "still paused");
  socket.bufferedAmount = HIGH_WATER; // at the mark is not above it
  await waitFor(() => socket.sent.length === 3, 1000, "the writer to resume");
  assert.deepEqual(socket.sent, ["m1", "m2", "m3"]);
  assert.equal(connection.waitingForDrain, false);
  connection.close(Close.loggedOut);
});

Deno.test("connection: overflow spills to the store and order holds while draining", async () => {
  const { socket, store, connection } = setup({ outboxCapacity: 2 });
  socket.bufferedAmount = HIGH_WATER + 1;
  connection.start();
  for (const frame of names("m", 1, 6)) connection.deliver(msg(frame));
  await settle();
  assert.deepEqual(socket.sent, ["m1"]);
  assert.equal(connection.queued, 2);
  assert.equal(store.size, 3, "m4..m6 spilled");
  assert.ok(connection.fullSince > 0, "the outbox is marked full");
  connection.deliver(msg("m7")); // queues behind the spilled frames
  assert.equal(store.size, 4);
  socket.bufferedAmount = 0;
  await waitFor(() => socket.sent.length === 7, 1000, "all frames");
  assert.deepEqual(socket.sent, names("m", 1, 7));
  assert.equal(store.size, 0);
  assert.equal(connection.fullSince, 0);
  // Once drained, frames go straight to the outbox again.
  connection.deliver(msg("m8"));
  assert.equal(store.size, 0);
  await settle();
  assert.deepEqual(socket.sent, names("m", 1, 8));
  connection.close(Close.loggedOut);
});

Deno.test("connection: close() requeues unwritten frames to the front of the store and drops transient ones", async () => {
  const { socket, store, connection, closes } = setup({ outboxCapacity: 3 });
  socket.bufferedAmount = HIGH_WATER + 1;
  connection.start();
  connection.deliver(msg("m1"));
  await settle();
  connection.deliver(msg("m2"));
  connection.notify('{"message-type":"ack","ack-id":1}');
  connection.deliver(msg("m3"));
  connection.deliver(msg("m4")); // outbox full: spilled to the store
  assert.equal(store.size, 1);
  connection.close(Close.loggedOut);
  assert.equal(connection.closed, true);
  assert.deepEqual(socket.sent, ["m1"]);
  assert.deepEqual(takeAll(store), ["m2", "m3", "m4"]);
  assert.deepEqual(socket.closes, [{ code: 4000, reason: "logged out" }]);
  assert.deepEqual(closes, [{ code: 4000, reason: "logged out" }]);
  connection.close(Close.sessionReplaced);
  assert.equal(closes.length, 1, "close is safe to call twice");
  assert.equal(socket.closes.length, 1);
  await settle();
  assert.equal(connection.waitingForDrain, false, "the paused writer woke up and ended");
});

Deno.test("connection: frames delivered after close go to the store", () => {
  const { store, connection } = setup();
  connection.start();
  connection.close(Close.loggedOut);
  connection.deliver(msg("late"));
  assert.deepEqual(takeAll(store), ["late"]);
});

Deno.test("connection: a transient frame that finds the outbox full is dropped, never stored", async () => {
  const { socket, store, connection } = setup({ outboxCapacity: 1 });
  socket.bufferedAmount = HIGH_WATER + 1;
  connection.start();
  connection.deliver(msg("m1"));
  await settle();
  connection.deliver(msg("m2"));
  connection.notify("transient");
  assert.equal(store.size, 0);
  connection.close(Close.loggedOut);
  assert.deepEqual(takeAll(store), ["m2"]);
});

Deno.test("connection: purgeTopic drops queued frames of that topic only", async () => {
  const { socket, connection } = setup();
  socket.bufferedAmount = HIGH_WATER + 1;
  connection.start();
  connection.deliver(msg("m1"));
  await settle();
  connection.deliver(msg("x1", "philosophers_stone"));
  connection.deliver(msg("m2"));
  connection.deliver(msg("y1", "chamber_of_secrets"));
  connection.deliver(msg("x2", "philosophers_stone"));
  connection.purgeTopic("philosophers_stone");
  assert.equal(connection.queued, 2);
  socket.bufferedAmount = 0;
  await waitFor(() => socket.sent.length === 3, 1000, "the rest");
  assert.deepEqual(socket.sent, ["m1", "m2", "y1"]);
  connection.close(Close.loggedOut);
});

Deno.test({
  name: "connection: purging a spilled outbox while paused still delivers what the store holds",
  async fn() {
    const { socket, store, connection } = setup({ outboxCapacity: 2 });
    socket.bufferedAmount = HIGH_WATER + 1;
    connection.start();
    connection.deliver(msg("m0"));
    await settle();
    connection.deliver(msg("x1", "philosophers_stone"));
    connection.deliver(msg("x2", "philosophers_stone"));
    connection.deliver(msg("m3")); // spilled
    assert.equal(store.size, 1);
    connection.purgeTopic("philosophers_stone");
    socket.bufferedAmount = 0;
    connection.deliver(msg("m4"));
    try {
      await waitFor(() => socket.sent.length === 3, 300, "the stored frames");
      assert.deepEqual(socket.sent, ["m0", "m3", "m4"]);
    } finally {
      connection.close(Close.loggedOut);
    }
  },
});

Deno.test("connection: a ping is answered with an ack echoing its id, number or string", async () => {
  const { socket, connection } = setup();
  connection.start();
  socket.receive('{"message-type":"ping","message-id":10,"from":"Ronald"}');
  socket.receive('{"message-type":"ping","message-id":"abc"}');
  await settle();
  assert.deepEqual(socket.frames, [
    { "message-type": "ack", "ack-id": 10 },
    { "message-type": "ack", "ack-id": "abc" },
  ]);
  assert.equal(socket.closed, undefined);
  connection.close(Close.loggedOut);
});

Deno.test("connection: bad frames get __bad_request__ and the connection stays up", async () => {
  const { socket, store, connection } = setup();
  connection.start();
  const bad = [
    "not json",
    "[]",
    '{"message-type":"message","to":["Ronald"]}',
    '{"message-type":"ping"}',
  ];
  for (const text of bad) socket.receive(text);
  socket.receive(new Uint8Array([1, 2, 3]).buffer);
  await settle();
  assert.equal(socket.frames.length, bad.length + 1);
  for (const frame of socket.frames) {
    assert.equal(frame["message-type"], "system");
    assert.equal(frame.topic, "__bad_request__");
    assert.equal(frame["content-type"], "application/json");
    assert.equal(typeof (frame.content as { error: unknown }).error, "string");
  }
  assert.equal(socket.closed, undefined);
  assert.equal(connection.closed, false);
  connection.close(Close.loggedOut);
  assert.equal(store.size, 0, "notices are never stored");
});

Deno.test("connection: an oversized frame closes with 1009", () => {
  for (
    const data of [
      "x".repeat(1001),
      "\u20ac".repeat(334), // 1002 bytes in UTF-8, 334 UTF-16 units
      new Uint8Array(1001).buffer,
      new Blob([new Uint8Array(1001)]),
    ]
  ) {
    const { socket, connection, closes } = setup({ maxFrameBytes: 1000 });
    connection.start();
    socket.receive(data);
    assert.equal(socket.closed?.code, Close.tooBig.code, String(data).slice(0, 10));
    assert.equal(closes[0].code, 1009);
    assert.equal(connection.closed, true);
  }
});

Deno.test("connection: a frame of exactly maxFrameBytes is accepted", async () => {
  const { socket, connection } = setup({ maxFrameBytes: 1000 });
  connection.start();
  const ping = '{"message-type":"ping","message-id":"';
  const text = ping + "a".repeat(1000 - ping.length - 2) + '"}';
  assert.equal(text.length, 1000);
  socket.receive(text.replace(/a{256}/, "")); // keep the id within 256 characters
  const exact = JSON.stringify({ "message-type": "ping", "message-id": 1, pad: "" });
  socket.receive(exact.replace('"pad":""', `"pad":"${"p".repeat(1000 - exact.length)}"`));
  await settle();
  assert.equal(socket.closed, undefined);
  assert.deepEqual(socket.frames.at(-1), { "message-type": "ack", "ack-id": 1 });
  connection.close(Close.loggedOut);
});

Deno.test("connection: any frame, even a bad one, updates session.lastSeen", async () => {
  for (
    const text of [
      '{"message-type":"ping","message-id":1}',
      "garbage",
      '{"message-type":"ack","ack-id":99}',
    ]
  ) {
    const { socket, session, connection } = setup();
    connection.start();
    assert.equal(session.lastSeen, 0);
    const before = Date.now();
    socket.receive(text);
    assert.ok(session.lastSeen >= before, text);
    await settle();
    connection.close(Close.loggedOut);
  }
});

Deno.test("connection: probe() sends a pong; a matching ack resets the heartbeat", async () => {
  const { socket, connection } = setup();
  connection.start();
  const now = Date.now() + OPTIONS.probeIntervalMs;
  const verdict = connection.heartbeat.check(now, now);
  assert.deepEqual(verdict, { action: "probe", id: 1 });
  connection.probe(1);
  await settle();
  assert.deepEqual(socket.frames, [{ "message-type": "pong", to: USER, "message-id": 1 }]);
  assert.equal(connection.heartbeat.unanswered, 1);
  socket.receive('{"message-type":"ack","ack-id":2}');
  assert.equal(connection.heartbeat.unanswered, 1, "a future id does not count");
  socket.receive('{"message-type":"ack","ack-id":1}');
  assert.equal(connection.heartbeat.unanswered, 0);
  await settle();
  assert.equal(socket.sent.length, 1, "acks are not answered");
  connection.close(Close.loggedOut);
});

Deno.test("connection: the peer closing the socket ends the connection with its code", async () => {
  const { socket, store, connection, closes } = setup();
  socket.bufferedAmount = HIGH_WATER + 1;
  connection.start();
  connection.deliver(msg("m1"));
  await settle();
  connection.deliver(msg("m2"));
  socket.peerClose(1000, "bye");
  assert.deepEqual(closes, [{ code: 1000, reason: "bye" }]);
  assert.equal(socket.closes.length, 0, "no close() on an already closed socket");
  assert.deepEqual(takeAll(store), ["m2"]);
  socket.receive('{"message-type":"ping","message-id":1}');
  assert.equal(socket.sent.length, 1, "frames after close are ignored");
});

Deno.test("connection: a peer close without a reason, and a socket error, are reported", () => {
  const a = setup();
  a.connection.start();
  a.socket.peerClose(1005);
  assert.deepEqual(a.closes, [{ code: 1005, reason: "closed by client" }]);
  const b = setup();
  b.connection.start();
  b.socket.fail();
  assert.equal(b.closes[0].code, 1006);
  assert.equal(b.connection.closed, true);
});

Deno.test("connection: a frame that finds the socket no longer open goes back to the store first", async () => {
  const { socket, store, connection, closes } = setup();
  connection.start();
  socket.readyState = WebSocket.CLOSED; // closed without an event yet
  connection.deliver(msg("m1"));
  connection.deliver(msg("m2"));
  await settle();
  assert.deepEqual(socket.sent, []);
  assert.equal(closes[0]?.code, 1006);
  assert.deepEqual(takeAll(store), ["m1", "m2"]);
});

Deno.test("connection: an idle writer with room is bypassed; a busy one gets the frame queued", async () => {
  const { socket, connection } = setup();
  connection.start();
  await settle();
  connection.deliver(msg("direct"));
  assert.deepEqual(socket.sent, ["direct"], "written at once, in the caller's turn");
  socket.bufferedAmount = HIGH_WATER + 1;
  connection.deliver(msg("queued"));
  assert.deepEqual(
    socket.sent,
    ["direct"],
    "past the high-water mark the frame goes to the writer",
  );
  await waitFor(() => socket.sent.length === 2, 1000, "the writer takes over");
  assert.deepEqual(socket.sent, ["direct", "queued"]);
  connection.deliver(msg("waits"));
  await settle();
  assert.deepEqual(
    socket.sent,
    ["direct", "queued"],
    "the writer now waits for the socket to drain",
  );
  socket.bufferedAmount = 0;
  await waitFor(() => socket.sent.length === 3, 1000, "written after the drain");
  connection.close(Close.loggedOut);
});
