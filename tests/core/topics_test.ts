import assert from "node:assert/strict";
import { Failure } from "../../lib/protocol/errors.ts";
import { TopicRegistry } from "../../lib/core/topics.ts";

const T = "philosophers_stone";

function failure(kind: string) {
  return (error: unknown) => {
    assert.ok(error instanceof Failure, `expected Failure, got ${error}`);
    assert.equal(error.kind, kind);
    assert.ok(error.message.length > 0);
    return true;
  };
}

Deno.test("topics: create adds the creator as the first member", () => {
  const topics = new TopicRegistry();
  assert.equal(topics.size, 0);
  assert.equal(topics.has(T), false);
  topics.create(T, "Harry");
  assert.equal(topics.has(T), true);
  assert.equal(topics.size, 1);
  assert.deepEqual([...topics.members(T)], ["Harry"]);
});

Deno.test("topics: creating an existing topic is a conflict and changes nothing", () => {
  const topics = new TopicRegistry();
  topics.create(T, "Harry");
  assert.throws(() => topics.create(T, "Draco"), failure("conflict"));
  assert.deepEqual([...topics.members(T)], ["Harry"]);
  assert.equal(topics.size, 1);
});

Deno.test("topics: names() lists topics oldest first", () => {
  const topics = new TopicRegistry();
  topics.create("zzzz", "Harry");
  topics.create("aaaa", "Harry");
  topics.create("mmmm", "Harry");
  assert.deepEqual(topics.names(), ["zzzz", "aaaa", "mmmm"]);
});

Deno.test("topics: joining twice is fine; join takes several users", () => {
  const topics = new TopicRegistry();
  topics.create(T, "Harry");
  topics.join(T, "Hermione");
  topics.join(T, "Hermione");
  topics.join(T, "Harry", "Neville", "Luna_L");
  assert.deepEqual([...topics.members(T)].sort(), ["Harry", "Hermione", "Luna_L", "Neville"]);
});

Deno.test("topics: quitting removes the member; quitting a never-joined topic is fine", () => {
  const topics = new TopicRegistry();
  topics.create(T, "Harry");
  topics.join(T, "Hermione");
  topics.quit(T, "Hermione");
  topics.quit(T, "Hermione");
  topics.quit(T, "Neville");
  assert.deepEqual([...topics.members(T)], ["Harry"]);
  topics.quit(T, "Harry");
  assert.equal(topics.has(T), true, "an empty topic still exists");
  assert.equal(topics.members(T).size, 0);
});

Deno.test("topics: delete returns the members and the topic is gone", () => {
  const topics = new TopicRegistry();
  topics.create(T, "Harry");
  topics.join(T, "Hermione");
  const members = topics.delete(T);
  assert.deepEqual([...members].sort(), ["Harry", "Hermione"]);
  assert.equal(topics.has(T), false);
  assert.equal(topics.size, 0);
  topics.create(T, "Neville");
  assert.deepEqual([...topics.members(T)], ["Neville"], "re-created topics start afresh");
  assert.deepEqual([...members].sort(), ["Harry", "Hermione"], "the old set is not reused");
});

Deno.test("topics: unknown topics are not_found for delete, join, quit and members", () => {
  const topics = new TopicRegistry();
  assert.throws(() => topics.delete(T), failure("not_found"));
  assert.throws(() => topics.join(T, "Harry"), failure("not_found"));
  assert.throws(() => topics.quit(T, "Harry"), failure("not_found"));
  assert.throws(() => topics.members(T), failure("not_found"));
  assert.equal(topics.size, 0, "join does not create");
});
