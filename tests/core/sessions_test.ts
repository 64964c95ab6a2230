import assert from "node:assert/strict";
import { newSid, SessionRegistry } from "../../lib/core/sessions.ts";

Deno.test("sessions: a sid is base64url of at least 128 bits", () => {
  const sid = newSid();
  assert.match(sid, /^[A-Za-z0-9_-]+$/);
  // Each base64 character carries 6 bits.
  assert.ok(sid.length * 6 >= 128, `${sid.length} characters`);
  const bytes = Uint8Array.fromBase64(sid, { alphabet: "base64url" });
  assert.ok(bytes.length >= 16);
});

Deno.test("sessions: sids are unique and look random", () => {
  const sids = new Set<string>();
  for (let i = 0; i < 10_000; i++) sids.add(newSid());
  assert.equal(sids.size, 10_000);
  // Every base64url character shows up somewhere: not a counter or a timestamp.
  const chars = new Set([...sids].join(""));
  assert.equal(chars.size, 64);
});

Deno.test("sessions: open creates a live session found by sid and by user", () => {
  const sessions = new SessionRegistry();
  const { session, replaced } = sessions.open("Harry", 1234);
  assert.equal(replaced, undefined);
  assert.equal(session.username, "Harry");
  assert.equal(session.lastSeen, 1234);
  assert.equal(sessions.bySid(session.sid), session);
  assert.equal(sessions.byUser("Harry"), session);
  assert.equal(sessions.isLive(session), true);
  assert.equal(sessions.size, 1);
  assert.equal(sessions.bySid("nope"), undefined);
  assert.equal(sessions.byUser("Hermione"), undefined);
});

Deno.test("sessions: a second open replaces the first; the old sid is dead", () => {
  const sessions = new SessionRegistry();
  const first = sessions.open("Harry", 1).session;
  const other = sessions.open("Hermione", 1).session;
  const { session: second, replaced } = sessions.open("Harry", 2);
  assert.equal(replaced, first);
  assert.notEqual(second.sid, first.sid);
  assert.equal(sessions.bySid(first.sid), undefined);
  assert.equal(sessions.isLive(first), false);
  assert.equal(sessions.isLive(second), true);
  assert.equal(sessions.byUser("Harry"), second);
  assert.equal(sessions.isLive(other), true);
  assert.equal(sessions.size, 2);
});

Deno.test("sessions: close ends the session; closing a dead one changes nothing", () => {
  const sessions = new SessionRegistry();
  const first = sessions.open("Harry", 1).session;
  const second = sessions.open("Harry", 2).session;
  sessions.close(first); // already replaced: must not end the live one
  assert.equal(sessions.isLive(second), true);
  assert.equal(sessions.byUser("Harry"), second);
  sessions.close(second);
  assert.equal(sessions.isLive(second), false);
  assert.equal(sessions.bySid(second.sid), undefined);
  assert.equal(sessions.byUser("Harry"), undefined);
  assert.equal(sessions.size, 0);
  sessions.close(second);
  assert.equal(sessions.size, 0);
});

Deno.test("sessions: isLive is false for a look-alike object with the same sid", () => {
  const sessions = new SessionRegistry();
  const session = sessions.open("Harry", 1).session;
  assert.equal(sessions.isLive({ ...session }), false);
});
