import assert from "node:assert/strict";
import {
  entryFrame,
  type Message,
  messageBytes,
  newMessageId,
} from "../../lib/protocol/messages.ts";

const V1_FIELDS = ["message-type", "from", "to", "topic", "content-type", "content"];
const V2_FIELDS = ["id", "sent-at", "seq"];

function direct(content: string, to = ["Ron_W"]): Message {
  return {
    id: "m-1",
    sentAt: 1764579600123,
    kind: "direct",
    from: "Harry",
    to,
    topic: "",
    content,
  };
}

Deno.test("messages: a one-to-one entry is the v1 frame for its receiver plus id, sent-at and seq", () => {
  const message = direct("Are you OK ?", ["Ron_W", "Hermione"]);
  const frame = JSON.parse(entryFrame(message, "Hermione", false, 9));
  assert.deepEqual(frame, {
    "message-type": "message",
    from: "Harry",
    to: ["Hermione"],
    topic: "",
    "content-type": "text/plain",
    content: "Are you OK ?",
    id: "m-1",
    "sent-at": 1764579600123,
    seq: 9,
  });
  assert.deepEqual(Object.keys(frame), [...V1_FIELDS, ...V2_FIELDS], "v1 fields first, in order");
  assert.deepEqual(JSON.parse(entryFrame(message, "Ron_W", false, 3)).to, ["Ron_W"]);
});

Deno.test("messages: the sender's own copy names every recipient as sent", () => {
  const message = direct("hi", ["Ron_W", "Hermione"]);
  const own = JSON.parse(entryFrame(message, "Harry", true, 4));
  assert.deepEqual([own.from, own.to, own.seq], ["Harry", ["Ron_W", "Hermione"], 4]);
  // Encoded parts are cached per message: a second call gives the same text.
  assert.equal(entryFrame(message, "Harry", true, 4), entryFrame(message, "Harry", true, 4));
});

Deno.test("messages: a topic entry is the same for every member but its seq", () => {
  const message: Message = {
    id: "t-1",
    sentAt: 5,
    kind: "topic",
    from: "Harry",
    to: ["Neville"],
    topic: "philosophers_stone",
    content: 'x"y</b>',
  };
  const ron = JSON.parse(entryFrame(message, "Ron_W", false, 1));
  const neville = JSON.parse(entryFrame(message, "Neville", false, 7));
  assert.deepEqual({ ...ron, seq: 0 }, { ...neville, seq: 0 });
  assert.deepEqual([ron.to, ron.topic, ron.content], [
    ["Neville"],
    "philosophers_stone",
    'x"y</b>',
  ]);
});

Deno.test("messages: the deletion notice is an entry with id, sent-at and seq", () => {
  const message: Message = {
    id: "n-1",
    sentAt: 6,
    kind: "topic_deleted",
    from: "",
    to: [],
    topic: "potions",
    content: "",
  };
  assert.deepEqual(JSON.parse(entryFrame(message, "Ron_W", false, 12)), {
    "message-type": "system",
    topic: "__topic_is_deleted__",
    "content-type": "application/json",
    content: { topic: "potions" },
    id: "n-1",
    "sent-at": 6,
    seq: 12,
  });
});

Deno.test("messages: content is escaped whatever it holds", () => {
  const nasty = [
    `say "hi"`,
    "back\\slash \\u0041",
    "line\nbreak\ttab\r\u0000\u001f",
    "\u4f60\u597d \ud83e\udd89 \u2028\u2029",
    "</script><script>alert(1)</script>",
    '{"message-type":"system"}',
    "lone \ud800 surrogate",
  ];
  for (const content of nasty) {
    const frame = JSON.parse(entryFrame(direct(content), "Ron_W", false, 1));
    assert.equal(frame.content, content);
    assert.deepEqual(Object.keys(frame), [...V1_FIELDS, ...V2_FIELDS]);
  }
});

Deno.test("messages: ids are unique and URL-safe; sizes count text and names", () => {
  const ids = new Set(Array.from({ length: 10_000 }, newMessageId));
  assert.equal(ids.size, 10_000);
  // Past the counter's table of last digits (4,096) too.
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{16}$/);
  const small = messageBytes(direct(""));
  assert.equal(messageBytes(direct("x".repeat(1000))), small + 1000);
  assert.equal(messageBytes(direct("", ["Ron_W", "Hermione"])), small + 8 + 3);
});
