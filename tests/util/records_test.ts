import assert from "node:assert/strict";
import { Records } from "../../lib/util/records.ts";

function values(records: Records): number[][] {
  return Array.from({ length: records.length }, (_, i) => [records.get(i, 0), records.get(i, 1)]);
}

function push(records: Records, a: number, b: number): void {
  const i = records.push();
  records.set(i, 0, a);
  records.set(i, 1, b);
}

Deno.test("Records keeps pushed records in order across growth and shifts", () => {
  const records = new Records(2, 1);
  for (let n = 0; n < 1000; n++) {
    push(records, n, -n);
    if (n % 3 === 0) records.shift();
  }
  assert.equal(records.length, 1000 - 334);
  assert.deepEqual(values(records)[0], [334, -334]);
  assert.deepEqual(values(records).at(-1), [999, -999]);
  for (let i = 1; i < records.length; i++) {
    assert.equal(records.get(i, 0), records.get(i - 1, 0) + 1);
  }
});

Deno.test("Records.shift past the end empties it", () => {
  const records = new Records(2);
  push(records, 1, 1);
  records.shift(5);
  assert.equal(records.length, 0);
  push(records, 2, 3);
  assert.deepEqual(values(records), [[2, 3]]);
});

Deno.test("Records.retain filters in place and keeps order", () => {
  const records = new Records(2);
  for (let n = 0; n < 10; n++) push(records, n, n * 10);
  records.shift();
  records.retain((i) => records.get(i, 0) % 2 === 0);
  assert.deepEqual(values(records), [[2, 20], [4, 40], [6, 60], [8, 80]]);
  records.retain(() => false);
  assert.equal(records.length, 0);
});

Deno.test("Records gives memory back once a large backlog has drained", () => {
  const records = new Records(2);
  for (let n = 0; n < 100_000; n++) push(records, n, n);
  records.shift(99_990);
  assert.equal(records.length, 10);
  assert.deepEqual(values(records)[0], [99_990, 99_990]);
  // Refilling after the shrink still keeps order.
  for (let n = 100_000; n < 100_100; n++) push(records, n, n);
  assert.equal(records.length, 110);
  for (let i = 1; i < records.length; i++) {
    assert.equal(records.get(i, 0), records.get(i - 1, 0) + 1);
  }
});
