import assert from "node:assert/strict";
import type { Session } from "../../lib/core/sessions.ts";
import { Close, type CloseReason } from "../../lib/protocol/close_codes.ts";
import type { Message } from "../../lib/protocol/messages.ts";
import {
  Connection,
  type ConnectionMode,
  type ConnectionOptions,
  HIGH_WATER_BYTES,
  type MailboxReader,
} from "../../lib/realtime/connection.ts";
import { MemoryMailbox } from "../../lib/store/mailbox_memory.ts";
import { FakeSocket, settle, waitFor } from "./fake_socket.ts";

const USER = "Ronald";
const OPTIONS: ConnectionOptions = {
  outboxCapacity: 4,
  maxFrameBytes: 65536,
  offlineTtlMs: 60_000,
  clientTimeoutMs: 60_000,
  probeIntervalMs: 20_000,
  probeMaxMisses: 3,
};

let ids = 0;

/**
 * A connection of USER's over a fake socket, fed by a real memory mailbox:
 * `send()` appends to the mailbox, which offers each entry to the connection.
 */
function setup(
  options: Partial<ConnectionOptions> = {},
  mode: ConnectionMode = { resume: false },
  reader?: (mailbox: MemoryMailbox) => MailboxReader,
) {
  const mailbox = new MemoryMailbox({
    offlineTtlMs: options.offlineTtlMs ?? OPTIONS.offlineTtlMs,
    historyTtlMs: 3_600_000,
    mailboxMax: 100_000,
    maxBytes: 1 << 26,
    maxMailboxes: 100,
    onAppended: (user, entry) => {
      if (user === USER) connection.offer(entry);
    },
  });
  const session: Session = { sid: "sid", username: USER, lastSeen: 0 };
  const socket = new FakeSocket();
  const closes: CloseReason[] = [];
  const errors: unknown[] = [];
  const connection: Connection = new Connection(
    session,
    socket.ws,
    reader ? reader(mailbox) : mailbox,
    { ...OPTIONS, ...options },
    mode,
    (closed, why) => {
      assert.equal(closed, connection);
      closes.push(why);
    },
    (_, error) => errors.push(error),
  );
  const send = async (
    content: string,
    extra: { own?: boolean; topic?: string; sentAt?: number } = {},
  ) => {
    const message: Message = {
      id: `m${++ids}`,
      sentAt: extra.sentAt ?? Date.now(),
      kind: extra.topic ? "topic" : "direct",
      from: extra.own ? USER : "Harry",
      to: extra.topic ? [] : [extra.own ? "Harry" : USER],
      topic: extra.topic ?? "",
      content,
    };
    const result = await mailbox.append({
      message,
      recipients: extra.own ? [] : [USER],
      ownCopy: extra.own ?? false,
    });
    assert.equal(result.kind, "appended");
  };
  return { mailbox, session, socket, connection, closes, errors, send };
}

const contents = (socket: FakeSocket) => socket.frames.map((f) => f.content);

Deno.test("connection: entries offered while caught up are written at once, in order", async () => {
  const { socket, connection, mailbox, send } = setup();
  connection.start(0);
  await settle();
  await send("a");
  assert.deepEqual(contents(socket), ["a"], "written in the sender's turn: the writer was idle");
  await send("b");
  await send("c");
  await waitFor(() => socket.sent.length === 3);
  assert.deepEqual(contents(socket), ["a", "b", "c"]);
  assert.deepEqual(socket.frames.map((f) => f.seq), [1, 2, 3]);
  assert.equal(await mailbox.cursor(USER), 3, "each write moves the mailbox's cursor");
  connection.close(Close.loggedOut);
});

Deno.test("connection: the backlog comes first, then what arrives meanwhile, once each", async () => {
  const { socket, connection, send } = setup();
  for (let i = 0; i < 10; i++) await send(`old${i}`);
  connection.start(0);
  // Sent while the backlog still trickles through a 4-frame outbox.
  for (let i = 0; i < 5; i++) await send(`new${i}`);
  await waitFor(() => socket.sent.length === 15);
  await settle(5);
  assert.deepEqual(contents(socket), [
    ...Array.from({ length: 10 }, (_, i) => `old${i}`),
    ...Array.from({ length: 5 }, (_, i) => `new${i}`),
  ]);
  connection.close(Close.loggedOut);
});

Deno.test("connection: it starts after the cursor it is given", async () => {
  const { socket, connection, send } = setup();
  for (let i = 1; i <= 5; i++) await send(`m${i}`);
  connection.start(3);
  await waitFor(() => socket.sent.length === 2);
  assert.deepEqual(contents(socket), ["m4", "m5"]);
  connection.close(Close.loggedOut);
});

Deno.test("connection: a full outbox leaves entries in the mailbox; the writer reads them in turn", async () => {
  const { socket, connection, mailbox, send } = setup();
  connection.start(0);
  await settle();
  socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  for (let i = 0; i < 20; i++) await send(`m${i}`);
  await settle(5);
  assert.ok(socket.sent.length <= 1, `${socket.sent.length} written past the high-water mark`);
  assert.equal(connection.queued, OPTIONS.outboxCapacity, "the outbox holds what fits");
  assert.ok(connection.fullSince > 0, "and says since when it has been full");
  socket.bufferedAmount = 0;
  await waitFor(() => socket.sent.length === 20, 2000, "the rest, from the mailbox");
  assert.deepEqual(contents(socket), Array.from({ length: 20 }, (_, i) => `m${i}`));
  assert.equal(connection.fullSince, 0);
  assert.equal(await mailbox.cursor(USER), 20);
  connection.close(Close.loggedOut);
});

Deno.test("connection: closing keeps what was not written in the mailbox, after the cursor", async () => {
  const { socket, connection, mailbox, send } = setup();
  connection.start(0);
  await settle();
  await send("written");
  socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  for (let i = 0; i < 10; i++) await send(`later${i}`);
  await settle(5);
  connection.close(Close.slowConsumer);
  const cursor = await mailbox.cursor(USER);
  assert.equal(cursor, socket.sent.length, "the cursor counts exactly what was written");
  const rest = await mailbox.read(USER, cursor, 100);
  assert.deepEqual(
    [...contents(socket), ...rest.map((e) => e.message.content)],
    ["written", ...Array.from({ length: 10 }, (_, i) => `later${i}`)],
    "written + still in the mailbox = everything, once",
  );
});

Deno.test("connection: a v1 socket skips the user's own copies, a resuming one gets them", async () => {
  for (const resume of [false, true]) {
    const { socket, connection, mailbox, send } = setup({}, { resume });
    await send("from Harry");
    await send("my own", { own: true });
    await send("from Harry again");
    connection.start(0);
    await waitFor(() => socket.sent.length === (resume ? 3 : 2));
    await settle(5);
    assert.deepEqual(
      contents(socket),
      resume ? ["from Harry", "my own", "from Harry again"] : ["from Harry", "from Harry again"],
    );
    assert.equal(await mailbox.cursor(USER), 3, "skipped entries are consumed too");
    connection.close(Close.loggedOut);
  }
});

Deno.test("connection: entries that expired before they could be written are skipped", async () => {
  const { socket, connection, send } = setup({ offlineTtlMs: 1000 });
  await send("stale", { sentAt: Date.now() - 2000 });
  await send("fresh");
  connection.start(0);
  await waitFor(() => socket.sent.length === 1);
  await settle(5);
  assert.deepEqual(contents(socket), ["fresh"]);
  connection.close(Close.loggedOut);
});

Deno.test("connection: the first frame it is given goes before every entry", async () => {
  const { socket, connection, send } = setup({}, { resume: true });
  await send("a");
  connection.start(0, '{"message-type":"system","topic":"__resumed__"}');
  socket.receive('{"message-type":"ping","message-id":1}');
  await waitFor(() => socket.sent.length === 3);
  const kinds = socket.frames.map((f) => f.topic ?? f["message-type"]);
  assert.equal(kinds[0], "__resumed__");
  assert.deepEqual(kinds.slice(1).sort(), ["", "ack"], "then the entry and the ack, in any order");
  connection.close(Close.loggedOut);
});

Deno.test("connection: an offer after a gap is read from the mailbox, in order", async () => {
  const { socket, connection, send } = setup();
  connection.start(0);
  await settle();
  await send("one");
  await send("two");
  await send("three");
  await waitFor(() => socket.sent.length === 3);
  // Offered out of turn (as after a missed wake-up in a cluster): seq 5 when 4 never was.
  const message: Message = {
    id: "x",
    sentAt: Date.now(),
    kind: "direct",
    from: "Harry",
    to: [USER],
    topic: "",
    content: "five",
  };
  connection.offer({ seq: 5, message, own: false });
  await settle(5);
  assert.deepEqual(contents(socket), ["one", "two", "three"], "nothing taken out of turn");
  await send("four");
  await waitFor(() => socket.sent.length === 4);
  assert.deepEqual(socket.frames.at(-1)!.seq, 4, "the mailbox's own seq 4, read in turn");
  connection.close(Close.loggedOut);
});

Deno.test("connection: purgeTopic drops queued entries of that topic only", async () => {
  const { socket, connection, send } = setup({ outboxCapacity: 8 });
  connection.start(0);
  await settle();
  socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  await send("first");
  await send("s1", { topic: "stone" });
  await send("direct");
  await send("c1", { topic: "chamber" });
  await send("s2", { topic: "stone" });
  await settle(5);
  connection.purgeTopic("stone");
  socket.bufferedAmount = 0;
  await waitFor(() => socket.sent.length === 3);
  await settle(5);
  assert.deepEqual(contents(socket), ["first", "direct", "c1"]);
  connection.close(Close.loggedOut);
});

Deno.test("connection: a transient frame that finds the outbox full is dropped, never stored", async () => {
  const { socket, connection, mailbox, send } = setup();
  connection.start(0);
  await settle();
  socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  for (let i = 0; i < 10; i++) await send(`m${i}`);
  connection.probe(7);
  socket.bufferedAmount = 0;
  await waitFor(() => socket.sent.length === 10);
  await settle(5);
  assert.equal(socket.frames.filter((f) => f["message-type"] === "pong").length, 0);
  assert.equal(mailbox.stats().entries, 10, "nothing but the entries in the mailbox");
  connection.close(Close.loggedOut);
});

Deno.test("connection: a failing mailbox read closes the socket with 1011 and says why", async () => {
  const failing = (mailbox: MemoryMailbox): MailboxReader => ({
    read: () => Promise.reject(new Error("disk on fire")),
    consumed: (user, entry) => mailbox.consumed(user, entry),
  });
  const { socket, connection, closes, errors } = setup({}, { resume: false }, failing);
  connection.start(0);
  await waitFor(() => closes.length === 1);
  assert.deepEqual(closes[0], Close.internalError);
  assert.equal(socket.closed?.code, 1011);
  assert.match(String(errors[0]), /disk on fire/);
});

Deno.test("connection: offers after close are ignored; closing twice reports once", async () => {
  const { socket, connection, closes, send } = setup();
  connection.start(0);
  connection.close(Close.loggedOut);
  connection.close(Close.sessionReplaced);
  await send("late");
  await settle();
  assert.deepEqual(closes, [Close.loggedOut]);
  assert.deepEqual(socket.closes, [{ code: 4000, reason: "logged out" }]);
  assert.deepEqual(socket.sent, []);
});

Deno.test("connection: a socket found closed by the writer ends the connection; entries stay", async () => {
  const { socket, connection, closes, mailbox, send } = setup();
  connection.start(0);
  await settle();
  socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  await send("m1");
  await send("m2");
  socket.readyState = WebSocket.CLOSED; // closed without an event yet
  socket.bufferedAmount = 0;
  await waitFor(() => closes.length === 1);
  assert.deepEqual(closes[0], Close.abnormal);
  const unwritten = await mailbox.read(USER, await mailbox.cursor(USER), 10);
  assert.deepEqual(
    [...contents(socket), ...unwritten.map((e) => e.message.content)],
    ["m1", "m2"],
  );
});

Deno.test("connection: an idle writer with room is bypassed; a busy one gets the frame queued", async () => {
  const { socket, connection, send } = setup();
  connection.start(0);
  await settle();
  // Larger than the mark on its own, and still in the socket's buffer.
  const direct = "d".repeat(HIGH_WATER_BYTES + 1);
  await send(direct);
  assert.deepEqual(contents(socket), [direct], "written at once, in the caller's turn");
  socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  await send("queued");
  await waitFor(() => socket.sent.length === 2, 1000, "the writer takes over");
  await send("waits");
  await settle();
  assert.deepEqual(contents(socket), [direct, "queued"], "the writer waits for the drain");
  socket.bufferedAmount = 0;
  await waitFor(() => socket.sent.length === 3, 1000, "written after the drain");
  connection.close(Close.loggedOut);
});

Deno.test("connection: bufferedAmount is read only when the writes since could pass the mark", async () => {
  const { socket, connection, send } = setup();
  connection.start(0);
  await settle();
  for (let i = 0; i < 50; i++) await send(`m${i}`);
  assert.equal(socket.sent.length, 50, "every one written at once");
  assert.equal(socket.bufferedReads, 1, "asked once, before the first write");
  await send("x".repeat(Math.ceil(HIGH_WATER_BYTES / 3))); // could fill the buffer on its own
  await send("next");
  assert.equal(socket.bufferedReads, 2, "asked again before the next write");
  assert.equal(socket.sent.length, 52);
  connection.close(Close.loggedOut);
});

// ---- frames from the client ----

Deno.test("connection: a ping is answered with an ack echoing its id, number or string", async () => {
  const { socket, connection } = setup();
  connection.start(0);
  await settle();
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
  const { socket, mailbox, connection } = setup({ outboxCapacity: 16 });
  connection.start(0);
  await settle();
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
  assert.equal(connection.closed, false);
  connection.close(Close.loggedOut);
  assert.equal(mailbox.stats().entries, 0, "notices are never stored");
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
    connection.start(0);
    socket.receive(data);
    assert.equal(socket.closed?.code, Close.tooBig.code, String(data).slice(0, 10));
    assert.deepEqual(closes, [Close.tooBig]);
    assert.equal(connection.closed, true);
  }
});

Deno.test("connection: a frame of exactly maxFrameBytes is accepted", async () => {
  const { socket, connection } = setup({ maxFrameBytes: 1000 });
  connection.start(0);
  await settle();
  const exact = JSON.stringify({ "message-type": "ping", "message-id": 1, pad: "" });
  const text = exact.replace('"pad":""', `"pad":"${"p".repeat(1000 - exact.length)}"`);
  assert.equal(text.length, 1000);
  socket.receive(text);
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
    connection.start(0);
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
  connection.start(0);
  await settle();
  const now = Date.now() + OPTIONS.probeIntervalMs;
  assert.deepEqual(connection.heartbeat.check(now, now), { action: "probe", id: 1 });
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
  const { socket, connection, closes, mailbox, send } = setup();
  connection.start(0);
  await settle();
  socket.bufferedAmount = HIGH_WATER_BYTES + 1;
  await send("m1");
  await send("m2");
  socket.peerClose(1000, "bye");
  assert.deepEqual(closes, [{ code: 1000, reason: "bye" }]);
  assert.equal(socket.closes.length, 0, "no close() on an already closed socket");
  assert.equal(await mailbox.cursor(USER), socket.sent.length, "what was not written stays");
  socket.receive('{"message-type":"ping","message-id":1}');
  await settle();
  assert.ok(
    socket.frames.every((f) => f["message-type"] !== "ack"),
    "frames after close are ignored",
  );
});

Deno.test("connection: a peer close without a reason, and a socket error, are reported", () => {
  const a = setup();
  a.connection.start(0);
  a.socket.peerClose(1005);
  assert.deepEqual(a.closes, [{ code: 1005, reason: "closed by client" }]);
  const b = setup();
  b.connection.start(0);
  b.socket.fail();
  assert.deepEqual(b.closes, [Close.abnormal]);
  assert.equal(b.connection.closed, true);
  const c = setup();
  c.socket.peerClose(1001);
  assert.equal(c.connection.closed, true, "a close before start() ends it too");
  c.connection.start(0);
  assert.equal(c.closes.length, 1);
});
