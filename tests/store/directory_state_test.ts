import assert from "node:assert/strict";
import type { Session } from "../../lib/core/sessions.ts";
import { DirectoryState } from "../../lib/store/directory_state.ts";

const limits = { sessionTtlMs: 1000, maxUsers: 10, maxTopics: 10, maxSessions: 2 };

Deno.test("DirectoryState: every expiry reaches onExpired, by lookup, by sweep and for room", () => {
  let now = 0;
  const expired: string[] = [];
  const state = new DirectoryState({
    ...limits,
    now: () => now,
    onExpired: (session: Session) => expired.push(session.username),
  });
  const harry = state.openSession("Harry");
  state.openSession("Ron_W");
  assert.equal(harry.kind, "opened");
  now = 1000;
  if (harry.kind === "opened") assert.equal(state.session(harry.session.sid), undefined);
  assert.deepEqual(expired, ["Harry"]);
  assert.equal(state.openSession("Hermione").kind, "opened");
  assert.deepEqual(expired, ["Harry"]);
  assert.equal(state.openSession("Neville").kind, "opened"); // Ron's idle session makes room
  assert.deepEqual(expired, ["Harry", "Ron_W"]);
  now = 2000;
  assert.deepEqual(state.sweep().map((s) => s.username), ["Hermione", "Neville"]);
  assert.deepEqual(expired, ["Harry", "Ron_W", "Hermione", "Neville"]);
  assert.equal(state.stats().sessions, 0);
  assert.equal(state.stats().users, 4);
});

Deno.test("DirectoryState: restore puts back what the caps would refuse, a topic with no members too", () => {
  const state = new DirectoryState({ ...limits, maxUsers: 1, maxTopics: 1 });
  state.restoreUser("Harry", "hash");
  state.restoreUser("Ron_W");
  state.restoreTopic("quidditch", []);
  state.restoreTopic("potions", ["Snape", "Harry"]);
  const session = state.restoreSession("Harry", "sid-1", Date.now());
  assert.equal(state.session("sid-1"), session);
  assert.equal(state.passwordHash("Harry"), "hash");
  assert.equal(state.passwordHash("Ron_W"), undefined);
  assert.deepEqual(state.members("quidditch"), []);
  assert.deepEqual(state.members("potions"), ["Snape", "Harry"]);
  assert.deepEqual(state.topics({}), { names: ["potions", "quidditch"], total: 2 });
  assert.equal(state.register("Neville", "h"), "users_full");
  assert.equal(state.createTopic("charms", "Harry"), "topics_full");
});
