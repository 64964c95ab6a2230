import assert from "node:assert/strict";
import { Failure } from "../../lib/protocol/errors.ts";
import { parseCreateTopic, parseLogin, parseSend } from "../../lib/protocol/requests.ts";

const direct = {
  "message-type": "message",
  from: "Harry",
  to: ["Ronald", "Hermione"],
  "content-type": "text/plain",
  content: "Are you OK ?",
};
const topic = { ...direct, to: ["Ronald"], topic: "philosophers_stone" };

function badRequest(mention?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof Failure, `expected Failure, got ${error}`);
    assert.equal(error.kind, "bad_request");
    if (mention) assert.ok(error.message.includes(mention), error.message);
    return true;
  };
}

Deno.test("requests: parseSend reads a one-to-one message", () => {
  assert.deepEqual(parseSend(direct), {
    kind: "direct",
    from: "Harry",
    to: ["Ronald", "Hermione"],
    content: "Are you OK ?",
  });
});

Deno.test("requests: parseSend treats a missing or empty topic as one-to-one", () => {
  assert.equal(parseSend({ ...direct, topic: "" }).kind, "direct");
  assert.equal(parseSend(direct).kind, "direct");
});

Deno.test("requests: parseSend reads a topic message; mentions are the to list", () => {
  assert.deepEqual(parseSend(topic), {
    kind: "topic",
    from: "Harry",
    topic: "philosophers_stone",
    mentions: ["Ronald"],
    content: "Are you OK ?",
  });
});

Deno.test("requests: an empty to is allowed for a topic message, not for a direct one", () => {
  const parsed = parseSend({ ...topic, to: [] });
  assert.equal(parsed.kind, "topic");
  assert.deepEqual(parsed.kind === "topic" && parsed.mentions, []);
  assert.throws(() => parseSend({ ...direct, to: [] }), badRequest("to"));
  assert.throws(() => parseSend({ ...direct, to: [], topic: "" }), badRequest("to"));
});

Deno.test("requests: empty content is allowed", () => {
  const parsed = parseSend({ ...direct, content: "" });
  assert.equal(parsed.content, "");
});

Deno.test("requests: each wrong field is a bad_request", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["unknown field", { ...direct, extra: 1 }, "extra"],
    ["message-type wrong", { ...direct, "message-type": "system" }, "message-type"],
    ["message-type missing", { ...direct, "message-type": undefined }, "message-type"],
    ["from missing", { ...direct, from: undefined }, "from"],
    ["from not a string", { ...direct, from: 42 }, "from"],
    ["from invalid", { ...direct, from: "Ha" }, "from"],
    ["from with a space", { ...direct, from: "Harry Potter" }, "from"],
    ["to not an array", { ...direct, to: "Ronald" }, "to"],
    ["to missing", { ...direct, to: undefined }, "to"],
    ["to with a short name", { ...direct, to: ["Ronald", "Al"] }, "to"],
    ["to with a non-string", { ...direct, to: ["Ronald", 7] }, "to"],
    ["to with a Cyrillic look-alike", { ...direct, to: ["H\u0430rry"] }, "to"],
    ["to with a too long name", { ...direct, to: ["a".repeat(31)] }, "to"],
    ["content-type wrong", { ...direct, "content-type": "text/html" }, "content-type"],
    ["content-type missing", { ...direct, "content-type": undefined }, "content-type"],
    ["content not a string", { ...direct, content: 5 }, "content"],
    ["content null", { ...direct, content: null }, "content"],
    ["content an object", { ...direct, content: { text: "hi" } }, "content"],
    ["topic invalid", { ...topic, topic: "ab" }, "topic"],
    ["topic not a string", { ...topic, topic: 12345 }, "topic"],
    ["topic null", { ...topic, topic: null }, "topic"],
    ["topic with a slash", { ...topic, topic: "a/b/c/d" }, "topic"],
    ["invalid mention in a topic message", { ...topic, to: ["Rx"] }, "to"],
  ];
  for (const [what, body, mention] of cases) {
    const cleaned = JSON.parse(JSON.stringify(body));
    assert.throws(() => parseSend(cleaned), badRequest(mention), what);
  }
});

Deno.test("requests: a body that is not an object is a bad_request", () => {
  for (const body of [null, [], "x", 1, true, undefined]) {
    assert.throws(() => parseSend(body), badRequest(), JSON.stringify(body));
    assert.throws(() => parseLogin(body), badRequest(), JSON.stringify(body));
    assert.throws(() => parseCreateTopic(body), badRequest(), JSON.stringify(body));
  }
});

Deno.test("requests: parseLogin returns a valid username, else bad_request", () => {
  assert.deepEqual(parseLogin({ username: "Harry" }), { username: "Harry" });
  assert.deepEqual(parseLogin({ username: "a_b-C_09", other: true }), { username: "a_b-C_09" });
  assert.deepEqual(parseLogin({ username: "Harry", password: 5, token: "t" }), {
    username: "Harry",
    password: 5,
    token: "t",
  }, "password and token are judged later, whatever they are");
  for (const username of ["Ha", "H\u0430rry", "", 5, null, undefined, "x".repeat(31), "Harry!"]) {
    assert.throws(() => parseLogin({ username }), badRequest("username"), String(username));
  }
  assert.throws(() => parseLogin({}), badRequest("username"));
});

Deno.test("requests: parseCreateTopic returns a valid topic name, else bad_request", () => {
  assert.equal(parseCreateTopic({ topic: "philosophers_stone" }), "philosophers_stone");
  for (const name of ["abc", "has space", "", 12345, null, "\u0444\u0444\u0444\u0444"]) {
    assert.throws(() => parseCreateTopic({ topic: name }), badRequest("topic"), String(name));
  }
});

Deno.test("requests: parseSend keeps a lone surrogate as U+FFFD, the rest of the text as sent", () => {
  const sent = JSON.parse('"a\\ud800b \\u00e9\\ud83d\\ude00 \\u0000"') as string;
  assert.equal(parseSend({ ...direct, content: sent }).content, "a\ufffdb é😀 \u0000");
  assert.equal(parseSend({ ...topic, content: "plain" }).content, "plain");
});
