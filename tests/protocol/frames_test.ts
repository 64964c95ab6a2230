import assert from "node:assert/strict";
import {
  ack,
  badRequest,
  directMessageEncoder,
  parseClientFrame,
  pong,
  systemNotice,
  topicMessage,
} from "../../lib/protocol/frames.ts";

Deno.test("frames: directMessageEncoder produces the contract's one-to-one frame", () => {
  const encode = directMessageEncoder("Harry", "Are you OK ?");
  assert.deepEqual(JSON.parse(encode("Ron")), {
    "message-type": "message",
    from: "Harry",
    to: ["Ron"],
    topic: "",
    "content-type": "text/plain",
    content: "Are you OK ?",
  });
  assert.deepEqual(JSON.parse(encode("Hermione")).to, ["Hermione"]);
});

Deno.test("frames: directMessageEncoder escapes the content", () => {
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
    const text = directMessageEncoder("Harry", content)("Ron");
    const frame = JSON.parse(text);
    assert.equal(frame.content, content);
    assert.equal(frame.from, "Harry");
    assert.deepEqual(Object.keys(frame), [
      "message-type",
      "from",
      "to",
      "topic",
      "content-type",
      "content",
    ]);
  }
});

Deno.test("frames: topicMessage produces the contract's topic frame", () => {
  assert.deepEqual(JSON.parse(topicMessage("Harry", ["Ron"], "philosophers_stone", 'x"y</b>')), {
    "message-type": "message",
    from: "Harry",
    to: ["Ron"],
    topic: "philosophers_stone",
    "content-type": "text/plain",
    content: 'x"y</b>',
  });
  assert.deepEqual(JSON.parse(topicMessage("Harry", [], "philosophers_stone", "")).to, []);
});

Deno.test("frames: systemNotice produces the contract's two notices", () => {
  for (const notice of ["__topic_is_deleted__", "__topic_not_found__"] as const) {
    assert.deepEqual(JSON.parse(systemNotice(notice, "philosophers_stone")), {
      "message-type": "system",
      topic: notice,
      "content-type": "application/json",
      content: { topic: "philosophers_stone" },
    });
  }
});

Deno.test("frames: badRequest produces the __bad_request__ notice with the error", () => {
  assert.deepEqual(JSON.parse(badRequest('bad "frame"')), {
    "message-type": "system",
    topic: "__bad_request__",
    "content-type": "application/json",
    content: { error: 'bad "frame"' },
  });
});

Deno.test("frames: pong and ack produce the contract's heartbeat frames", () => {
  assert.deepEqual(JSON.parse(pong("Ron", 11)), {
    "message-type": "pong",
    to: "Ron",
    "message-id": 11,
  });
  assert.deepEqual(JSON.parse(ack(10)), { "message-type": "ack", "ack-id": 10 });
  assert.deepEqual(JSON.parse(ack('a"b')), { "message-type": "ack", "ack-id": 'a"b' });
});

Deno.test("frames: parseClientFrame reads ping and ack with number and string ids", () => {
  assert.deepEqual(parseClientFrame('{"message-type":"ping","message-id":10,"from":"Ron"}'), {
    ok: true,
    frame: { type: "ping", id: 10 },
  });
  assert.deepEqual(parseClientFrame('{"message-type":"ping","message-id":"abc"}'), {
    ok: true,
    frame: { type: "ping", id: "abc" },
  });
  assert.deepEqual(parseClientFrame('{"message-type":"ack","ack-id":11}'), {
    ok: true,
    frame: { type: "ack", id: 11 },
  });
  assert.deepEqual(parseClientFrame('{"message-type":"ack","ack-id":"11"}'), {
    ok: true,
    frame: { type: "ack", id: "11" },
  });
  assert.deepEqual(parseClientFrame('{"message-type":"ping","message-id":0,"extra":[1]}'), {
    ok: true,
    frame: { type: "ping", id: 0 },
  });
});

Deno.test("frames: parseClientFrame answers malformed input with ok:false and an error", () => {
  const bad = [
    "",
    "not json",
    "{",
    "null",
    "[]",
    "42",
    '"ping"',
    "{}",
    '{"message-type":7}',
    '{"message-type":"message","to":["Ron"],"content":"hi"}',
    '{"message-type":"ping"}',
    '{"message-type":"ping","message-id":null}',
    '{"message-type":"ping","message-id":{"a":1}}',
    '{"message-type":"ping","message-id":[1]}',
    '{"message-type":"ping","message-id":true}',
    `{"message-type":"ping","message-id":"${"x".repeat(257)}"}`,
    '{"message-type":"ack"}',
    '{"message-type":"ack","message-id":3}',
    '{"message-type":"ack","ack-id":false}',
    '{"message-type":"PING","message-id":1}',
  ];
  for (const text of bad) {
    const parsed = parseClientFrame(text);
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) {
      assert.equal(typeof parsed.error, "string");
      assert.ok(parsed.error.length > 0);
    }
  }
});

Deno.test("frames: a huge unknown message-type is not echoed whole in the error", () => {
  const parsed = parseClientFrame(JSON.stringify({ "message-type": "x".repeat(10_000) }));
  assert.equal(parsed.ok, false);
  if (!parsed.ok) assert.ok(parsed.error.length < 200, `${parsed.error.length}`);
});
