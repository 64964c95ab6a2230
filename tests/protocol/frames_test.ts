import assert from "node:assert/strict";
import {
  ack,
  badRequest,
  parseClientFrame,
  pong,
  resumed,
  systemNotice,
} from "../../lib/protocol/frames.ts";

Deno.test("frames: resumed produces the __resumed__ notice with its numbers", () => {
  assert.deepEqual(JSON.parse(resumed({ since: 0, first: 1, last: 0, recovered: true })), {
    "message-type": "system",
    topic: "__resumed__",
    "content-type": "application/json",
    content: { since: 0, first: 1, last: 0, recovered: true },
  });
});

Deno.test("frames: systemNotice produces the __topic_not_found__ notice", () => {
  for (const notice of ["__topic_not_found__"] as const) {
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
