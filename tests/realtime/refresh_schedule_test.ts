import assert from "node:assert/strict";
import { RefreshSchedule } from "../../lib/realtime/refresh_schedule.ts";

Deno.test("refresh schedule: keys added together get first turns spread evenly over the second half-interval", () => {
  const schedule = new RefreshSchedule(1000);
  const keys = Array.from({ length: 1000 }, () => ({}));
  for (const key of keys) schedule.add(key, 0);
  // Ticks of 50 ms, as a hub's clock might run: how many turns each tick takes.
  const perTick: number[] = [];
  const firstTurn = new Map<object, number>();
  for (let now = 0; now <= 1000; now += 50) {
    let taken = 0;
    for (const key of keys) {
      if (schedule.take(key, now)) {
        taken++;
        if (!firstTurn.has(key)) firstTurn.set(key, now);
      }
    }
    perTick.push(taken);
  }
  assert.equal(firstTurn.size, 1000, "every key had its turn within the interval");
  assert.ok([...firstTurn.values()].every((at) => at >= 500), "none before half the interval");
  // 1,000 turns over the ten ticks of (500, 1000]: about 100 each.
  assert.ok(Math.max(...perTick) <= 110, `at most 110 in a tick: ${perTick.join(" ")}`);
});

Deno.test("refresh schedule: each key's turn comes once an interval, unknown keys never", () => {
  const schedule = new RefreshSchedule(1000);
  const key = {};
  schedule.add(key, 10_000);
  assert.equal(schedule.take(key, 10_499), false);
  assert.equal(schedule.take(key, 11_000), true);
  assert.equal(schedule.take(key, 11_999), false);
  assert.equal(
    schedule.take(key, 12_050),
    true,
    "a late tick takes it; the next is an interval after",
  );
  assert.equal(schedule.take(key, 13_000), false);
  assert.equal(schedule.take(key, 13_050), true);
  assert.equal(schedule.take({}, 99_999), false);
  assert.throws(() => new RefreshSchedule(0), RangeError);
});
