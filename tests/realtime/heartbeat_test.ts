import assert from "node:assert/strict";
import { Heartbeat } from "../../lib/realtime/heartbeat.ts";

const timings = { clientTimeoutMs: 60_000, probeIntervalMs: 20_000, probeMaxMisses: 3 };

Deno.test("heartbeat: no probe before the interval, then one at the interval", () => {
  const heartbeat = new Heartbeat(timings, 1000);
  assert.deepEqual(heartbeat.check(1000, 1000), { action: "none" });
  assert.deepEqual(heartbeat.check(20_999, 20_999), { action: "none" });
  assert.deepEqual(heartbeat.check(21_000, 21_000), { action: "probe", id: 1 });
  assert.equal(heartbeat.unanswered, 1);
  // The next one is a full interval later.
  assert.deepEqual(heartbeat.check(40_999, 40_999), { action: "none" });
});

Deno.test("heartbeat: probe ids increase", () => {
  const heartbeat = new Heartbeat({ ...timings, probeMaxMisses: 100 }, 0);
  const ids: number[] = [];
  for (let t = 20_000; t <= 200_000; t += 20_000) {
    const verdict = heartbeat.check(t, t);
    assert.equal(verdict.action, "probe");
    if (verdict.action === "probe") ids.push(verdict.id);
    if (ids.length % 2 === 0) heartbeat.acknowledge(ids.at(-1)!);
  }
  assert.equal(ids.length, 10);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `${ids}`);
});

Deno.test("heartbeat: closes on the tick after probeMaxMisses unanswered probes", () => {
  const heartbeat = new Heartbeat(timings, 0);
  assert.equal(heartbeat.check(20_000, 20_000).action, "probe");
  assert.equal(heartbeat.check(40_000, 40_000).action, "probe");
  assert.equal(heartbeat.check(60_000, 60_000).action, "probe");
  assert.equal(heartbeat.unanswered, 3);
  assert.deepEqual(heartbeat.check(79_999, 79_999), { action: "none" });
  assert.deepEqual(heartbeat.check(80_000, 80_000), { action: "close", why: "probes unanswered" });
});

Deno.test("heartbeat: acknowledging an outstanding probe resets the count", () => {
  const heartbeat = new Heartbeat(timings, 0);
  heartbeat.check(20_000, 20_000); // 1
  heartbeat.check(40_000, 40_000); // 2
  assert.equal(heartbeat.acknowledge(1), true, "an older outstanding id counts");
  assert.equal(heartbeat.unanswered, 0);
  heartbeat.check(60_000, 60_000); // 3
  heartbeat.check(80_000, 80_000); // 4
  assert.equal(heartbeat.acknowledge(4), true);
  assert.equal(heartbeat.unanswered, 0);
  assert.equal(heartbeat.check(100_000, 100_000).action, "probe");
  assert.equal(heartbeat.check(120_000, 120_000).action, "probe");
  assert.equal(heartbeat.check(140_000, 140_000).action, "probe");
  assert.equal(heartbeat.check(160_000, 160_000).action, "close");
});

Deno.test("heartbeat: unknown, future, already answered and string ids do not reset", () => {
  const heartbeat = new Heartbeat(timings, 0);
  assert.equal(heartbeat.acknowledge(1), false, "nothing sent yet");
  heartbeat.check(20_000, 20_000); // 1
  heartbeat.check(40_000, 40_000); // 2
  assert.equal(heartbeat.acknowledge(3), false, "future id");
  assert.equal(heartbeat.acknowledge(0), false);
  assert.equal(heartbeat.acknowledge(-1), false);
  assert.equal(heartbeat.acknowledge("2"), false, "string id");
  assert.equal(heartbeat.unanswered, 2);
  assert.equal(heartbeat.acknowledge(2), true);
  assert.equal(heartbeat.acknowledge(2), false, "already answered");
  assert.equal(heartbeat.acknowledge(1), false, "answered by the reset");
});

Deno.test("heartbeat: closes 'silent' when now - lastSeen > clientTimeoutMs, not at exactly it", () => {
  const heartbeat = new Heartbeat({ ...timings, probeIntervalMs: 1_000_000 }, 0);
  assert.deepEqual(heartbeat.check(60_000, 0), { action: "none" });
  assert.deepEqual(heartbeat.check(60_001, 0), { action: "close", why: "silent" });
  assert.deepEqual(heartbeat.check(70_000, 10_000), { action: "none" }, "a later sign of life");
});

Deno.test("heartbeat: silence wins over a due probe", () => {
  const heartbeat = new Heartbeat(timings, 0);
  assert.deepEqual(heartbeat.check(80_000, 0), { action: "close", why: "silent" });
});

Deno.test({
  name: "heartbeat: a fractional id that was never sent does not reset",
  fn() {
    const heartbeat = new Heartbeat(timings, 0);
    heartbeat.check(20_000, 20_000); // 1
    heartbeat.check(40_000, 40_000); // 2
    assert.equal(heartbeat.acknowledge(1.5), false);
    assert.equal(heartbeat.unanswered, 2);
  },
});
