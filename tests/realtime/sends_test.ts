import assert from "node:assert/strict";
import { Failure } from "../../lib/protocol/errors.ts";
import { Sender, type SenderDependencies } from "../../lib/realtime/sends.ts";
import { MemoryDirectory } from "../../lib/store/directory_memory.ts";
import { MemoryMailbox } from "../../lib/store/mailbox_memory.ts";
import { createServerMetrics } from "../../lib/telemetry/server_metrics.ts";

function setup(overrides: Partial<SenderDependencies> = {}, mailboxMax = 100) {
  const mailbox = new MemoryMailbox({
    offlineTtlMs: 600_000,
    historyTtlMs: 600_000,
    mailboxMax,
    maxBytes: 1 << 20,
    maxMailboxes: 100,
  });
  const directory = new MemoryDirectory({
    sessionTtlMs: 60_000,
    maxUsers: 100,
    maxTopics: 100,
    maxSessions: 100,
  });
  const metrics = createServerMetrics({
    connectionsOpen: () => 0,
    usersOnline: () => 0,
    mailboxEntries: () => 0,
    storeBytes: () => 0,
    users: () => 0,
    topics: () => 0,
    outboxFrames: () => 0,
  });
  const notices: [string, string][] = [];
  // Ticks from now: the mailbox judges receipts and unread entries by the real clock.
  const start = Date.now();
  let clock = start;
  const sender = new Sender({
    directory,
    mailbox,
    metrics,
    notify: (user, frame) => notices.push([user, frame]),
    now: () => clock++,
    ...overrides,
  });
  const accepted = (kind: string) =>
    metrics.registry.expose().match(
      new RegExp(`^im_messages_accepted_total\\{kind="${kind}"\\} (\\d+)$`, "m"),
    )?.[1] ?? "0";
  return { sender, mailbox, directory, notices, accepted, start };
}

Deno.test("sender: a one-to-one send reaches each recipient once, with the sender's copy", async () => {
  const { sender, mailbox, accepted, start } = setup();
  const sent = await sender.send({
    kind: "direct",
    from: "Harry",
    to: ["Ron_W", "Ron_W", "Hermione"],
    content: "hi",
  });
  assert.equal(sent.sentAt, start);
  for (const user of ["Ron_W", "Hermione"]) {
    const entries = await mailbox.read(user, 0, 10);
    assert.deepEqual(entries.map((e) => [e.seq, e.message.id, e.own]), [[1, sent.id, false]], user);
  }
  const own = await mailbox.read("Harry", 0, 10);
  assert.deepEqual(own.map((e) => [e.message.id, e.own]), [[sent.id, true]]);
  assert.equal(accepted("direct"), "1");
});

Deno.test("sender: a topic send reaches the members but the sender; sender and mentions join", async () => {
  const { sender, mailbox, directory, accepted } = setup();
  await directory.createTopic("quidditch", "Harry");
  await directory.join("quidditch", ["Ron_W"]);
  await sender.send({
    kind: "topic",
    from: "Harry",
    topic: "quidditch",
    mentions: ["Neville"],
    content: "practice",
  });
  assert.equal((await mailbox.read("Ron_W", 0, 10)).length, 1);
  assert.equal((await mailbox.read("Neville", 0, 10)).length, 1);
  assert.deepEqual((await mailbox.read("Harry", 0, 10)).map((e) => e.own), [true]);
  assert.deepEqual([...(await directory.members("quidditch"))!].sort(), [
    "Harry",
    "Neville",
    "Ron_W",
  ]);
  assert.equal(accepted("topic"), "1");
});

Deno.test("sender: an unknown topic tells the sender's socket and throws not_found, storing nothing", async () => {
  const { sender, mailbox, notices } = setup();
  await assert.rejects(
    sender.send({ kind: "topic", from: "Harry", topic: "nowhere", mentions: [], content: "x" }),
    (error) => error instanceof Failure && error.kind === "not_found",
  );
  assert.equal(notices.length, 1);
  assert.equal(notices[0][0], "Harry");
  assert.match(notices[0][1], /__topic_not_found__/);
  assert.equal(mailbox.stats().entries, 0);
});

Deno.test("sender: a refused topic send makes no one a member", async () => {
  const { sender, directory } = setup({}, 1);
  await directory.createTopic("quidditch", "Harry");
  await directory.join("quidditch", ["Ron_W"]);
  const send = {
    kind: "topic",
    from: "Harry",
    topic: "quidditch",
    mentions: ["Neville"],
    content: "x",
  } as const;
  await sender.send(send);
  await assert.rejects(
    sender.send(send),
    (error) => error instanceof Failure && error.kind === "too_many_requests",
  );
  // Neville joined with the first (accepted) send only; nobody new joined with the refused one.
  await assert.rejects(
    sender.send({ ...send, mentions: ["Luna"] }),
    (error) => error instanceof Failure && error.kind === "too_many_requests",
  );
  assert.deepEqual([...(await directory.members("quidditch"))!].sort(), [
    "Harry",
    "Neville",
    "Ron_W",
  ]);
});

Deno.test("sender: an idempotent retry gives the first answer; another body under the key is 422", async () => {
  const { sender, mailbox } = setup();
  const send = { kind: "direct", from: "Harry", to: ["Ron_W"], content: "once" } as const;
  const first = await sender.send(send, { key: "k1", bodyHash: "h1" });
  const again = await sender.send(send, { key: "k1", bodyHash: "h1" });
  assert.deepEqual(again, first);
  await assert.rejects(
    sender.send(send, { key: "k1", bodyHash: "h2" }),
    (error) => error instanceof Failure && error.kind === "unprocessable",
  );
  assert.equal((await mailbox.read("Ron_W", 0, 10)).length, 1);
});

Deno.test("sender: sendAs needs a mailbox that checks sessions, and topic sends never go that way", async () => {
  const { sender, mailbox } = setup();
  assert.equal(sender.checksSessions, false);
  const direct = { kind: "direct", from: "Harry", to: ["Ron_W"], content: "x" } as const;
  assert.equal(await sender.sendAs("sid", direct), undefined);
  assert.equal(mailbox.stats().entries, 0);
});
