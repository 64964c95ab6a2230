/**
 * The contract every {@linkcode Mailbox} engine keeps: one suite, run by each
 * engine's own test file with a factory for that engine (the pattern of
 * Hono's `router/common.case.test.ts`). Durable engines also pass `reopen`,
 * and the suite checks what survives closing and opening again.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Message } from "../../lib/protocol/messages.ts";
import type { Entry, Mailbox, MailboxOptions } from "../../lib/store/mailbox.ts";

/** How a test file hands its engine to the suite. */
export interface MailboxEngine {
  /** A fresh, empty mailbox with these options. */
  open(options: MailboxOptions): Promise<Mailbox>;
  /** Closes `mailbox` and opens its storage again with `options` (durable engines only). */
  reopen?(mailbox: Mailbox, options: MailboxOptions): Promise<Mailbox>;
}

const TTL = 10_000;
const HISTORY = 100_000;

/** A clock the tests move by hand. */
function clock(start = 1_000_000) {
  const c = { now: start, read: () => c.now };
  return c;
}

let ids = 0;
function direct(from: string, to: string[], content: string, sentAt: number): Message {
  return { id: `d${++ids}`, sentAt, kind: "direct", from, to, topic: "", content };
}
function topicMessage(from: string, topic: string, content: string, sentAt: number): Message {
  return { id: `t${++ids}`, sentAt, kind: "topic", from, to: [], topic, content };
}
function notice(topic: string, sentAt: number): Message {
  return { id: `n${++ids}`, sentAt, kind: "topic_deleted", from: "", to: [], topic, content: "" };
}

const contents = (entries: readonly Entry[]) => entries.map((e) => e.message.content);
const seqs = (entries: readonly Entry[]) => entries.map((e) => e.seq);

/** Registers the contract's tests for one engine. */
export function testMailbox(name: string, engine: MailboxEngine): void {
  const test = (title: string, fn: () => Promise<void>) =>
    Deno.test(`mailbox (${name}): ${title}`, fn);

  async function setup(overrides: Partial<MailboxOptions> = {}) {
    const time = clock();
    const appended: { user: string; seq: number; content: string }[] = [];
    const options: MailboxOptions = {
      offlineTtlMs: TTL,
      historyTtlMs: HISTORY,
      mailboxMax: 1000,
      maxBytes: 1 << 24,
      maxMailboxes: 1000,
      now: time.read,
      onAppended: (user, entry) =>
        appended.push({ user, seq: entry.seq, content: entry.message.content }),
      ...overrides,
    };
    const mailbox = await engine.open(options);
    return { mailbox, time, appended, options };
  }

  async function send(mailbox: Mailbox, from: string, to: string[], content: string, at: number) {
    const result = await mailbox.append({
      message: direct(from, to, content, at),
      recipients: to,
      ownCopy: true,
    });
    assert.equal(result.kind, "appended", `append ${content}: ${JSON.stringify(result)}`);
    return result.kind === "appended" ? result.seqs : [];
  }

  test("seqs start at 1 per user, rise by one, and the sender's copy has its own", async () => {
    const { mailbox, time } = await setup();
    try {
      assert.deepEqual(await send(mailbox, "Harry", ["Ron_W", "Hermione"], "a", time.now), [
        1,
        1,
        1,
      ]);
      assert.deepEqual(await send(mailbox, "Harry", ["Ron_W"], "b", time.now), [2, 2]);
      assert.deepEqual(await send(mailbox, "Ron_W", ["Harry"], "c", time.now), [3, 3]);
      const ron = await mailbox.read("Ron_W", 0, 10);
      assert.deepEqual(seqs(ron), [1, 2, 3]);
      assert.deepEqual(ron.map((e) => [e.message.content, e.own]), [
        ["a", false],
        ["b", false],
        ["c", true],
      ]);
      const harry = await mailbox.read("Harry", 0, 10);
      assert.deepEqual(harry.map((e) => [e.message.content, e.own]), [
        ["a", true],
        ["b", true],
        ["c", false],
      ]);
      // One message, shared: the same id in every mailbox.
      assert.equal(harry[0].message.id, ron[0].message.id);
      assert.deepEqual(harry[0].message.to, ["Ron_W", "Hermione"]);
    } finally {
      await mailbox.close();
    }
  });

  test("any text comes back as sent: NUL, quotes, emoji, accents, newlines", async () => {
    const { mailbox, time } = await setup();
    try {
      const texts = ["a\u0000b", '"quoted" \\ ,|;', "\u{1F600} café\n\u4E2D\u6587", ""];
      for (const text of texts) await send(mailbox, "Harry", ["Ron_W"], text, time.now);
      assert.deepEqual(contents(await mailbox.read("Ron_W", 0, 10)), texts);
      const page = await mailbox.history("Harry", { limit: 10, after: 0 });
      assert.deepEqual(contents(page.entries), texts);
    } finally {
      await mailbox.close();
    }
  });

  test("read pages after a seq, in order, up to the limit", async () => {
    const { mailbox, time } = await setup();
    try {
      for (let i = 0; i < 25; i++) await send(mailbox, "Harry", ["Ron_W"], `m${i}`, time.now);
      assert.deepEqual(contents(await mailbox.read("Ron_W", 0, 3)), ["m0", "m1", "m2"]);
      assert.deepEqual(contents(await mailbox.read("Ron_W", 20, 10)), [
        "m20",
        "m21",
        "m22",
        "m23",
        "m24",
      ]);
      assert.deepEqual(await mailbox.read("Ron_W", 25, 10), []);
      assert.deepEqual(await mailbox.read("Nobody", 0, 10), []);
      assert.deepEqual(await mailbox.read("Ron_W", 3, 0), []);
    } finally {
      await mailbox.close();
    }
  });

  test("entries are announced after they are appended, per user in seq order", async () => {
    const { mailbox, time, appended } = await setup();
    try {
      await send(mailbox, "Harry", ["Ron_W", "Hermione"], "a", time.now);
      await send(mailbox, "Hermione", ["Ron_W"], "b", time.now);
      assert.deepEqual(appended.filter((a) => a.user === "Ron_W"), [
        { user: "Ron_W", seq: 1, content: "a" },
        { user: "Ron_W", seq: 2, content: "b" },
      ]);
      assert.deepEqual(appended.filter((a) => a.user === "Hermione").map((a) => a.seq), [1, 2]);
      assert.equal(appended.length, 5);
    } finally {
      await mailbox.close();
    }
  });

  test("a topic message is one message in every member's mailbox", async () => {
    const { mailbox, time } = await setup();
    try {
      const message = topicMessage("Harry", "quidditch", "practice", time.now);
      const members = Array.from({ length: 50 }, (_, i) => `member_${i}`);
      const result = await mailbox.append({ message, recipients: members, ownCopy: true });
      assert.equal(result.kind, "appended");
      const before = mailbox.stats();
      assert.equal(before.messages, 1);
      assert.equal(before.entries, 51);
      assert.equal((await mailbox.read("member_7", 0, 1))[0].message.id, message.id);
    } finally {
      await mailbox.close();
    }
  });

  test("the cursor starts at 0, moves as entries are consumed, never back", async () => {
    const { mailbox, time } = await setup();
    try {
      for (let i = 0; i < 5; i++) await send(mailbox, "Harry", ["Ron_W"], `m${i}`, time.now);
      assert.equal(await mailbox.cursor("Ron_W"), 0);
      const entries = await mailbox.read("Ron_W", 0, 5);
      mailbox.consumed("Ron_W", entries[2]);
      assert.equal(await mailbox.cursor("Ron_W"), 3);
      mailbox.consumed("Ron_W", entries[0]);
      assert.equal(await mailbox.cursor("Ron_W"), 3);
      assert.equal(await mailbox.cursor("Nobody"), 0);
    } finally {
      await mailbox.close();
    }
  });

  test("the cursor skips what expired undelivered", async () => {
    const { mailbox, time } = await setup();
    try {
      await send(mailbox, "Harry", ["Ron_W"], "old", time.now);
      time.now += TTL / 2;
      await send(mailbox, "Harry", ["Ron_W"], "new", time.now);
      time.now += TTL / 2; // "old" is exactly TTL old now: expired
      assert.equal(await mailbox.cursor("Ron_W"), 1);
      time.now += TTL / 2;
      assert.equal(await mailbox.cursor("Ron_W"), 2);
      // Still readable as history.
      assert.deepEqual(contents((await mailbox.history("Ron_W", { limit: 10 })).entries), [
        "new",
        "old",
      ]);
    } finally {
      await mailbox.close();
    }
  });

  test("resume: first, last and recovered", async () => {
    const { mailbox, time } = await setup();
    try {
      assert.deepEqual(await mailbox.resume("Ron_W", 0), { first: 1, last: 0, recovered: true });
      assert.deepEqual(await mailbox.resume("Ron_W", 5), { first: 1, last: 0, recovered: false });
      for (let i = 0; i < 3; i++) await send(mailbox, "Harry", ["Ron_W"], `m${i}`, time.now);
      time.now += TTL / 2;
      for (let i = 3; i < 5; i++) await send(mailbox, "Harry", ["Ron_W"], `m${i}`, time.now);
      assert.deepEqual(await mailbox.resume("Ron_W", 0), { first: 1, last: 5, recovered: true });
      assert.deepEqual(await mailbox.resume("Ron_W", 5), { first: 1, last: 5, recovered: true });
      assert.deepEqual(await mailbox.resume("Ron_W", 7), { first: 1, last: 5, recovered: false });
      time.now += TTL / 2; // m0..m2 expire
      assert.deepEqual(await mailbox.resume("Ron_W", 0), { first: 4, last: 5, recovered: false });
      assert.deepEqual(await mailbox.resume("Ron_W", 2), { first: 4, last: 5, recovered: false });
      assert.deepEqual(await mailbox.resume("Ron_W", 3), { first: 4, last: 5, recovered: true });
      time.now += TTL;
      assert.deepEqual(await mailbox.resume("Ron_W", 5), { first: 6, last: 5, recovered: true });
      assert.deepEqual(await mailbox.resume("Ron_W", 4), { first: 6, last: 5, recovered: false });
    } finally {
      await mailbox.close();
    }
  });

  test("resume: entries removed past history count as lost", async () => {
    const { mailbox, time } = await setup();
    try {
      await send(mailbox, "Harry", ["Ron_W"], "a", time.now);
      await send(mailbox, "Harry", ["Ron_W"], "b", time.now);
      time.now += HISTORY + 1;
      await mailbox.sweep();
      assert.deepEqual(await mailbox.read("Ron_W", 0, 10), [], "removed");
      assert.deepEqual(await mailbox.resume("Ron_W", 0), { first: 3, last: 2, recovered: false });
      assert.deepEqual(await mailbox.resume("Ron_W", 2), { first: 3, last: 2, recovered: true });
      assert.deepEqual(await send(mailbox, "Harry", ["Ron_W"], "c", time.now), [3, 3], "no reuse");
    } finally {
      await mailbox.close();
    }
  });

  test("purgeTopic removes its messages everywhere, sender copies too, and leaves the rest", async () => {
    const { mailbox, time } = await setup();
    try {
      const stone = (content: string) => topicMessage("Harry", "stone", content, time.now);
      await mailbox.append({ message: stone("s1"), recipients: ["Ron_W"], ownCopy: true });
      await send(mailbox, "Harry", ["Ron_W"], "direct", time.now);
      await mailbox.append({
        message: topicMessage("Harry", "chamber", "c1", time.now),
        recipients: ["Ron_W"],
        ownCopy: false,
      });
      await mailbox.append({ message: stone("s2"), recipients: ["Ron_W"], ownCopy: true });
      await mailbox.append({
        message: notice("stone", time.now),
        recipients: ["Ron_W"],
        ownCopy: false,
      });
      await mailbox.purgeTopic("stone");
      const ron = await mailbox.read("Ron_W", 0, 10);
      assert.deepEqual(contents(ron), ["direct", "c1", ""]);
      assert.deepEqual(seqs(ron), [2, 3, 5], "seqs may skip; they are not renumbered");
      assert.equal(ron[2].message.kind, "topic_deleted");
      assert.deepEqual(contents(await mailbox.read("Harry", 0, 10)), ["direct"]);
      assert.equal(mailbox.stats().messages, 3);
      // Purged entries are not a loss.
      assert.deepEqual(await mailbox.resume("Ron_W", 0), { first: 2, last: 5, recovered: true });
      await mailbox.purgeTopic("never_existed");
      const next = await mailbox.append({
        message: stone("s3"),
        recipients: ["Ron_W"],
        ownCopy: false,
      });
      assert.deepEqual(next, { kind: "appended", seqs: [6] });
    } finally {
      await mailbox.close();
    }
  });

  test("history: newest first by default, pages both ways with has-more", async () => {
    const { mailbox, time } = await setup();
    try {
      for (let i = 1; i <= 7; i++) await send(mailbox, "Harry", ["Ron_W"], `m${i}`, time.now + i);
      time.now += 10;
      const newest = await mailbox.history("Ron_W", { limit: 3 });
      assert.deepEqual(seqs(newest.entries), [7, 6, 5]);
      assert.equal(newest.hasMore, true);
      const older = await mailbox.history("Ron_W", { before: 5, limit: 3 });
      assert.deepEqual(seqs(older.entries), [4, 3, 2]);
      assert.equal(older.hasMore, true);
      const oldest = await mailbox.history("Ron_W", { before: 2, limit: 3 });
      assert.deepEqual(seqs(oldest.entries), [1]);
      assert.equal(oldest.hasMore, false);
      const forward = await mailbox.history("Ron_W", { after: 4, limit: 3 });
      assert.deepEqual(seqs(forward.entries), [5, 6, 7]);
      assert.equal(forward.hasMore, false);
      assert.equal((await mailbox.history("Ron_W", { after: 3, limit: 3 })).hasMore, true);
      assert.deepEqual(await mailbox.history("Nobody", { limit: 3 }), {
        entries: [],
        hasMore: false,
      });
    } finally {
      await mailbox.close();
    }
  });

  test("history: with= keeps one conversation both ways, topic= one topic", async () => {
    const { mailbox, time } = await setup();
    try {
      await send(mailbox, "Harry", ["Ron_W"], "h->r", time.now);
      await send(mailbox, "Ron_W", ["Harry", "Hermione"], "r->h,h", time.now);
      await send(mailbox, "Hermione", ["Ron_W"], "he->r", time.now);
      await mailbox.append({
        message: topicMessage("Harry", "quidditch", "topic", time.now),
        recipients: ["Ron_W"],
        ownCopy: true,
      });
      await mailbox.append({
        message: topicMessage("Ron_W", "quidditch", "own topic", time.now),
        recipients: ["Harry"],
        ownCopy: true,
      });
      const withHarry = await mailbox.history("Ron_W", { limit: 10, with: "Harry" });
      assert.deepEqual(contents(withHarry.entries), ["r->h,h", "h->r"]);
      const withHermione = await mailbox.history("Ron_W", { limit: 10, with: "Hermione" });
      assert.deepEqual(contents(withHermione.entries), ["he->r", "r->h,h"]);
      const topic = await mailbox.history("Ron_W", { limit: 10, topic: "quidditch" });
      assert.deepEqual(contents(topic.entries), ["own topic", "topic"]);
      assert.equal(
        (await mailbox.history("Ron_W", { limit: 1, topic: "quidditch" })).hasMore,
        true,
      );
      assert.deepEqual((await mailbox.history("Ron_W", { limit: 10, topic: "other" })).entries, []);
    } finally {
      await mailbox.close();
    }
  });

  test("history stops at IM_HISTORY_TTL_MS, delivery at IM_OFFLINE_TTL_MS", async () => {
    const { mailbox, time } = await setup();
    try {
      await send(mailbox, "Harry", ["Ron_W"], "old", time.now);
      time.now += TTL + 1;
      assert.equal(await mailbox.cursor("Ron_W"), 1, "not deliverable");
      assert.deepEqual(contents((await mailbox.history("Ron_W", { limit: 5 })).entries), ["old"]);
      time.now += HISTORY;
      assert.deepEqual((await mailbox.history("Ron_W", { limit: 5 })).entries, [], "not readable");
    } finally {
      await mailbox.close();
    }
  });

  test("mailboxMax refuses a whole send once a recipient has that many undelivered", async () => {
    const { mailbox, time, appended } = await setup({ mailboxMax: 3 });
    try {
      for (let i = 0; i < 3; i++) await send(mailbox, "Harry", ["Ron_W"], `m${i}`, time.now);
      // Own copies do not count: Harry has 3 of his own and still receives.
      await send(mailbox, "Ron_W", ["Harry"], "to harry", time.now);
      const count = appended.length;
      const refused = await mailbox.append({
        message: direct("Hermione", ["Neville", "Ron_W"], "x", time.now),
        recipients: ["Neville", "Ron_W"],
        ownCopy: true,
      });
      assert.deepEqual(refused, { kind: "mailbox_full", user: "Ron_W" });
      assert.equal(appended.length, count, "nothing appended for anyone");
      assert.deepEqual(await mailbox.read("Neville", 0, 5), []);
      assert.deepEqual(await mailbox.read("Hermione", 0, 5), []);
      assert.equal(mailbox.stats().mailboxes, 2, "no mailbox made for the refused send");
      // No seq was spent on it: Neville's and Hermione's first are 1.
      assert.deepEqual(await send(mailbox, "Hermione", ["Neville"], "n", time.now), [1, 1]);
      // Consuming one makes room for one.
      const [first] = await mailbox.read("Ron_W", 0, 1);
      mailbox.consumed("Ron_W", first);
      // Ron_W: 3 received and his copy of "to harry" before.
      assert.deepEqual(await send(mailbox, "Hermione", ["Ron_W"], "fits", time.now), [5, 2]);
      const again = await mailbox.append({
        message: direct("Hermione", ["Ron_W"], "y", time.now),
        recipients: ["Ron_W"],
        ownCopy: true,
      });
      assert.equal(again.kind, "mailbox_full");
      // And expiry drains it too.
      time.now += TTL * 2;
      await send(mailbox, "Hermione", ["Ron_W"], "after expiry", time.now);
    } finally {
      await mailbox.close();
    }
  });

  test("maxMailboxes refuses a send that would make a new mailbox past it", async () => {
    const { mailbox, time } = await setup({ maxMailboxes: 3 });
    try {
      await send(mailbox, "Harry", ["Ron_W"], "a", time.now);
      const refused = await mailbox.append({
        message: direct("Harry", ["Hermione", "Neville"], "b", time.now),
        recipients: ["Hermione", "Neville"],
        ownCopy: true,
      });
      assert.deepEqual(refused, { kind: "mailboxes_full" });
      assert.deepEqual(await mailbox.read("Hermione", 0, 5), []);
      assert.equal(mailbox.stats().mailboxes, 2);
      // Harry's copy of the refused send took no seq.
      assert.deepEqual(await send(mailbox, "Harry", ["Hermione"], "c", time.now), [1, 2]);
      await send(mailbox, "Ron_W", ["Harry", "Hermione"], "d", time.now);
      assert.equal(mailbox.stats().mailboxes, 3);
    } finally {
      await mailbox.close();
    }
  });

  test("maxMailboxes counts a new sender who sent to themselves once", async () => {
    const { mailbox, time } = await setup({ maxMailboxes: 2 });
    try {
      // Harry's mailbox gets his entry and his own copy: one new mailbox, not two.
      assert.deepEqual(await send(mailbox, "Harry", ["Harry", "Ron_W"], "note to self", time.now), [
        1,
        1,
        2,
      ]);
      assert.equal(mailbox.stats().mailboxes, 2);
    } finally {
      await mailbox.close();
    }
  });

  test("maxBytes trims what was delivered, oldest first, then refuses", async () => {
    const body = "x".repeat(1000);
    const { mailbox, time } = await setup({ maxBytes: 5_000 });
    try {
      await send(mailbox, "Harry", ["Ron_W"], `${body}1`, time.now);
      await send(mailbox, "Harry", ["Ron_W"], `${body}2`, time.now);
      await send(mailbox, "Harry", ["Ron_W"], `${body}3`, time.now);
      await send(mailbox, "Harry", ["Ron_W"], `${body}4`, time.now);
      const refused = await mailbox.append({
        message: direct("Harry", ["Ron_W"], `${body}5`, time.now),
        recipients: ["Ron_W"],
        ownCopy: true,
      });
      assert.deepEqual(refused, { kind: "store_full" }, "nothing delivered yet: nothing to trim");
      const [first, second] = await mailbox.read("Ron_W", 0, 2);
      mailbox.consumed("Ron_W", first);
      mailbox.consumed("Ron_W", second);
      assert.deepEqual(await send(mailbox, "Harry", ["Ron_W"], `${body}5`, time.now), [5, 5]);
      assert.ok(mailbox.stats().bytes <= 5_000, `${mailbox.stats().bytes} bytes`);
      const left = await mailbox.read("Ron_W", 0, 10);
      assert.equal(left[0].seq > 1, true, "the oldest went first");
      assert.equal(left.at(-1)!.message.content, `${body}5`);
      // Trimmed entries are a loss for a resume from before them.
      assert.equal((await mailbox.resume("Ron_W", 0)).recovered, false);
      assert.equal((await mailbox.resume("Ron_W", left[0].seq - 1)).recovered, true);
    } finally {
      await mailbox.close();
    }
  });

  test("idempotency: a repeat answers the first result, another body conflicts, both append nothing", async () => {
    const { mailbox, time, appended } = await setup();
    try {
      const message = direct("Harry", ["Ron_W"], "once", time.now);
      const idempotency = { key: "k-1", bodyHash: "hash-a" };
      const first = await mailbox.append({
        message,
        recipients: ["Ron_W"],
        ownCopy: true,
        idempotency,
      });
      assert.equal(first.kind, "appended");
      const repeat = await mailbox.append({
        message: direct("Harry", ["Ron_W"], "once", time.now + 5),
        recipients: ["Ron_W"],
        ownCopy: true,
        idempotency,
      });
      assert.deepEqual(repeat, { kind: "replayed", id: message.id, sentAt: message.sentAt });
      const conflict = await mailbox.append({
        message: direct("Harry", ["Ron_W"], "other", time.now + 6),
        recipients: ["Ron_W"],
        ownCopy: true,
        idempotency: { key: "k-1", bodyHash: "hash-b" },
      });
      assert.deepEqual(conflict, { kind: "key_conflict" });
      assert.equal(appended.length, 2);
      // Keys are per sender.
      const other = await mailbox.append({
        message: direct("Hermione", ["Ron_W"], "once", time.now),
        recipients: ["Ron_W"],
        ownCopy: true,
        idempotency,
      });
      assert.equal(other.kind, "appended");
      // And they expire with the delivery TTL.
      time.now += TTL + 1;
      await mailbox.sweep();
      const later = await mailbox.append({
        message: direct("Harry", ["Ron_W"], "once", time.now),
        recipients: ["Ron_W"],
        ownCopy: true,
        idempotency,
      });
      assert.equal(later.kind, "appended");
    } finally {
      await mailbox.close();
    }
  });

  test("sweep frees messages past both TTLs; stats go back to zero", async () => {
    const { mailbox, time } = await setup();
    try {
      for (let i = 0; i < 20; i++) {
        await send(mailbox, "Harry", ["Ron_W", "Hermione"], `m${i}`, time.now);
      }
      assert.equal(mailbox.stats().messages, 20);
      assert.equal(mailbox.stats().entries, 60);
      time.now += HISTORY + 1;
      for (let i = 0; i < 100 && mailbox.stats().messages > 0; i++) await mailbox.sweep();
      const after = mailbox.stats();
      assert.deepEqual([after.messages, after.entries, after.bytes], [0, 0, 0]);
    } finally {
      await mailbox.close();
    }
  });

  test("a message held by no one (a deleted topic's notice to no members) expires like the rest", async () => {
    const { mailbox, time } = await setup();
    try {
      const nobody = await mailbox.append({
        message: notice("empty", time.now),
        recipients: [],
        ownCopy: false,
      });
      assert.deepEqual(nobody, { kind: "appended", seqs: [] });
      await send(mailbox, "Harry", ["Ron_W"], "after it", time.now + 1);
      time.now += HISTORY + 2;
      for (let i = 0; i < 100 && mailbox.stats().messages > 0; i++) await mailbox.sweep();
      const after = mailbox.stats();
      assert.deepEqual([after.messages, after.entries, after.bytes], [0, 0, 0]);
    } finally {
      await mailbox.close();
    }
  });

  if (engine.reopen) {
    const reopen = engine.reopen.bind(engine);
    test("everything survives reopening: entries, seqs, cursors, losses, receipts", async () => {
      const setupResult = await setup();
      let mailbox = setupResult.mailbox;
      const { time, options } = setupResult;
      try {
        for (let i = 0; i < 5; i++) await send(mailbox, "Harry", ["Ron_W"], `m${i}`, time.now);
        await mailbox.append({
          message: direct("Harry", ["Ron_W"], "keyed", time.now),
          recipients: ["Ron_W"],
          ownCopy: true,
          idempotency: { key: "k", bodyHash: "h" },
        });
        const [, second] = await mailbox.read("Ron_W", 0, 2);
        mailbox.consumed("Ron_W", second);
        mailbox = await reopen(mailbox, options);
        assert.deepEqual(contents(await mailbox.read("Ron_W", 0, 10)), [
          "m0",
          "m1",
          "m2",
          "m3",
          "m4",
          "keyed",
        ]);
        assert.equal(await mailbox.cursor("Ron_W"), 2);
        assert.deepEqual(await send(mailbox, "Harry", ["Ron_W"], "after", time.now), [7, 7]);
        const replay = await mailbox.append({
          message: direct("Harry", ["Ron_W"], "keyed", time.now),
          recipients: ["Ron_W"],
          ownCopy: true,
          idempotency: { key: "k", bodyHash: "h" },
        });
        assert.equal(replay.kind, "replayed");
        // Seqs are never reused, even after everything expired and was swept.
        time.now += HISTORY + 1;
        for (let i = 0; i < 20; i++) await mailbox.sweep();
        mailbox = await reopen(mailbox, options);
        assert.deepEqual(await send(mailbox, "Harry", ["Ron_W"], "later", time.now), [8, 8]);
        assert.deepEqual(await mailbox.resume("Ron_W", 2), { first: 8, last: 8, recovered: false });
        assert.deepEqual(await mailbox.resume("Ron_W", 7), { first: 8, last: 8, recovered: true });
      } finally {
        await mailbox.close();
      }
    });
  }
}
