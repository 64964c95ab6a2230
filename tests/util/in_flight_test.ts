import assert from "node:assert/strict";
import { eachInFlight } from "../../lib/util/in_flight.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

Deno.test("eachInFlight: every item once, never more than the limit at once", async () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const seen: number[] = [];
  let running = 0;
  let most = 0;
  await eachInFlight(items, 7, async (item) => {
    most = Math.max(most, ++running);
    await tick();
    seen.push(item);
    running--;
  });
  assert.equal(most, 7);
  assert.deepEqual(seen.sort((a, b) => a - b), items);
  await eachInFlight([], 3, () => Promise.reject(new Error("never called")));
});

Deno.test("eachInFlight: a rejection rejects the whole and starts nothing after it", async () => {
  const started: number[] = [];
  await assert.rejects(
    eachInFlight([1, 2, 3, 4, 5, 6], 2, async (item) => {
      started.push(item);
      await tick();
      if (item === 2) throw new Error("store away");
    }),
    /store away/,
  );
  await tick();
  await tick();
  assert.ok(started.length <= 3, `started ${started.join(",")}`);
  await assert.rejects(eachInFlight([1], 0, () => Promise.resolve()), RangeError);
});
